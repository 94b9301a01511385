"""One form sheet as a template: the first form's sheet part cut at its variable cells, rendered for every form.

openpyxl writes the template once with a placeholder (⟦slot⟧) in each variable cell; each form's sheet part is the
template with the form's texts put in, and the derived-stage formula cell carries its cached value too (openpyxl
cannot write one), so a thousand forms take seconds and every form is laid out identically.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class FormTexts:
    """The text of every cell that differs from one form to the next, keyed by slot name; None leaves it blank."""

    cells: dict[str, str | None]
    derived: str = ""

    def get(self, slot: str) -> str | None:
        return self.cells.get(slot)


def slot(name: str) -> str:
    """The placeholder text of a variable cell in the template."""
    return f"\u27e6{name}\u27e7"


_SI = re.compile(r"<si>(.*?)</si>", re.S)
_T = re.compile(r"<t[^>]*>(.*?)</t>", re.S)
_SLOT_TEXT = re.compile("^\u27e6(.+)\u27e7$")
_SHARED_CELL = re.compile(r'<c r="([A-Z]+\d+)"((?: s="\d+")?) t="s"><v>(\d+)</v></c>')
_INLINE_SLOT = re.compile('<c r="([A-Z]+\\d+)"((?: s="\\d+")?) t="inlineStr"><is><t[^>]*>\u27e6([^<]+)\u27e7</t></is></c>')
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def shared_strings(zf: zipfile.ZipFile) -> list[str]:
    """The shared strings of a package openpyxl just wrote (plain text items)."""
    if "xl/sharedStrings.xml" not in zf.namelist():
        return []
    xml = zf.read("xl/sharedStrings.xml").decode("utf-8")
    return ["".join(_T.findall(si)) for si in _SI.findall(xml)]


@dataclass(frozen=True)
class SheetTemplate:
    """A worksheet part cut at its variable cells: fixed XML pieces and, between them, (slot, ref, style)."""

    pieces: tuple[str, ...]
    slots: tuple[tuple[str, str, str], ...]
    formula: str

    @classmethod
    def compile(cls, sheet_xml: str, strings: list[str], derived_cell: str) -> "SheetTemplate":
        slot_of = {i: m.group(1) for i, text in enumerate(strings) if (m := _SLOT_TEXT.match(text))}
        cuts: list[tuple[int, int, str, str, str]] = []
        for match in _SHARED_CELL.finditer(sheet_xml):
            name = slot_of.get(int(match.group(3)))
            if name is not None:
                cuts.append((match.start(), match.end(), name, match.group(1), match.group(2)))
        for match in _INLINE_SLOT.finditer(sheet_xml):  # openpyxl writes strings inline in some versions
            cuts.append((match.start(), match.end(), match.group(3), match.group(1), match.group(2)))
            slot_of[-len(cuts)] = match.group(3)
        formula = ""
        found = re.search(_FORMULA_CELL.format(ref=derived_cell), sheet_xml, re.S)
        if found is None:
            raise RuntimeError(f"the derived-stage formula cell {derived_cell} is not in the template sheet")
        style = re.search(r'\ss="\d+"', found.group(1))
        cuts.append((found.start(), found.end(), "", derived_cell, style.group(0) if style else ""))
        formula = found.group(2)
        cuts.sort()
        pieces, slots, pos = [], [], 0
        for start, end, name, ref, style_attr in cuts:
            pieces.append(sheet_xml[pos:start])
            slots.append((name, ref, style_attr))
            pos = end
        pieces.append(sheet_xml[pos:])
        missing = set(slot_of.values()) - {s[0] for s in slots}
        if missing:
            raise RuntimeError(f"template slots not found in the sheet: {sorted(missing)}")
        return cls(tuple(pieces), tuple(slots), formula)

    def render(self, texts: FormTexts) -> str:
        out = [self.pieces[0]]
        for (name, ref, style), piece in zip(self.slots, self.pieces[1:]):
            if name == "":
                out.append(f'<c r="{ref}"{style} t="str"><f>{self.formula}</f><v>{_xml_text(texts.derived)}</v></c>')
            else:
                value = texts.get(name)
                if value is None or value == "":
                    out.append(f'<c r="{ref}"{style}/>')
                else:
                    out.append(f'<c r="{ref}"{style} t="inlineStr"><is><t xml:space="preserve">'
                               f"{_xml_text(value)}</t></is></c>")
            out.append(piece)
        return "".join(out)


def _xml_text(value: str) -> str:
    return escape(_ILLEGAL_XML.sub("\ufffd", str(value)))


_FORMULA_CELL = r'<c r="{ref}"([^>]*)><f>(.*?)</f><v\s*(?:/>|>[^<]*</v>)</c>'
