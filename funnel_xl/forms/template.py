"""One form sheet as a template: the first form's sheet part cut at its variable cells, rendered for every form.

openpyxl writes the template once with a placeholder (⟦slot⟧) in each variable cell; each form's sheet part is the
template with the form's texts put in, and each formula cell named to the template (the assessed stage, what is
missing) carries its cached value too (openpyxl cannot write one), so a thousand forms take seconds and every form
is laid out identically.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field

from defusedxml import ElementTree

from funnel_xl.workbook.ooxml import cell_spans, cell_xml


@dataclass(frozen=True)
class FormTexts:
    """The value of every cell that differs from one form to the next, keyed by slot name (None leaves it blank),
    and the cached values of the formula cells, keyed by the name the template gives each."""

    cells: dict[str, object]
    computed: dict[str, object] = field(default_factory=dict)

    def get(self, slot: str) -> str | None:
        return self.cells.get(slot)


def slot(name: str) -> str:
    """The placeholder text of a variable cell in the template."""
    return f"\u27e6{name}\u27e7"


_SLOT_TEXT = re.compile("^\u27e6(.+)\u27e7$")
_NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def shared_strings(zf: zipfile.ZipFile) -> list[str]:
    """The shared strings of a package openpyxl just wrote (plain text items)."""
    if "xl/sharedStrings.xml" not in zf.namelist():
        return []
    root = ElementTree.fromstring(zf.read("xl/sharedStrings.xml"))
    return ["".join(t.text or "" for t in si.iter(f"{_NS_MAIN}t")) for si in root.iter(f"{_NS_MAIN}si")]


@dataclass(frozen=True)
class SheetTemplate:
    """A worksheet part cut at its variable cells: fixed XML pieces and, between them, (slot, ref, style, formula);
    a formula slot's value is the cached value of its formula."""

    pieces: tuple[str, ...]
    slots: tuple[tuple[str, str, int, str | None], ...]

    @classmethod
    def compile(cls, sheet_xml: str, strings: list[str], formula_cells: dict[str, str]) -> "SheetTemplate":
        """``formula_cells``: cell ref -> the name its cached value goes by in ``FormTexts.computed``."""
        slot_of = {i: m.group(1) for i, text in enumerate(strings) if (m := _SLOT_TEXT.match(text))}
        cuts: list[tuple[int, int, str, str, int, str | None]] = []
        for cell in cell_spans(sheet_xml):
            name, formula = None, None
            if cell.kind == "s" and cell.value is not None:
                name = slot_of.get(int(cell.value))
            elif cell.kind == "inlineStr" and (m := _SLOT_TEXT.match(cell.value or "")):
                name = m.group(1)  # openpyxl writes strings inline in some versions
            elif cell.ref in formula_cells and cell.formula is not None:
                name, formula = formula_cells[cell.ref], cell.formula
            if name is not None:
                cuts.append((cell.start, cell.end, name, cell.ref, cell.style, formula))
        pieces, slots, pos = [], [], 0
        for start, end, name, ref, style, formula in cuts:
            pieces.append(sheet_xml[pos:start])
            slots.append((name, ref, style, formula))
            pos = end
        pieces.append(sheet_xml[pos:])
        missing = (set(slot_of.values()) | set(formula_cells.values())) - {s[0] for s in slots}
        if missing:
            raise RuntimeError(f"template slots not found in the sheet: {sorted(missing)}")
        return cls(tuple(pieces), tuple(slots))

    def render(self, texts: FormTexts) -> str:
        out = [self.pieces[0]]
        for (name, ref, style, formula), piece in zip(self.slots, self.pieces[1:]):
            if formula is not None:
                out.append(cell_xml(ref, texts.computed.get(name), style, formula))
            else:
                value = texts.get(name)
                out.append(cell_xml(ref, None if value == "" else value, style))
            out.append(piece)
        return "".join(out)
