"""Change cells of an existing worksheet part in place: set values, append table rows, grow the table.

Collect and Import write into the user's 商机 and 销售人员 tables. Doing it on the sheet XML keeps every other
cell, style, validation, comment and the VBA project as they were, and a cell keeps its own style. A new row
takes its styles (and formulas, moved down with openpyxl's formula translator) from the row above, so the
table's look and its live formulas carry on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from openpyxl.formula.translate import Translator

from funnel_xl.workbook.package import cell_to_rowcol, col_letter, split_ref
from funnel_xl.workbook.sheet_xml import _cell_xml
from xml.sax.saxutils import escape, unescape

_ROW = re.compile(r'<row\b[^>]*\br="(\d+)"[^>]*?(?:/>|>.*?</row>)', re.S)
_CELL = re.compile(r'<c\b[^>]*\br="([A-Z]+\d+)"[^>]*?(?:/>|>.*?</c>)', re.S)
_STYLE = re.compile(r'\bs="(\d+)"')
_FORMULA = re.compile(r"<f>(.*?)</f>", re.S)
_SQREF = re.compile(r'(sqref|ref)="([^"]+)"')


@dataclass(frozen=True)
class Write:
    """A value for one cell; with ``formula`` (without '='), a formula whose cached value is ``value``."""

    value: Any
    formula: str | None = None


def _render(ref: str, write: Write, style: int) -> str:
    if write.formula is None:
        return _cell_xml(ref, write.value, style)
    s = f' s="{style}"' if style else ""
    f = f"<f>{escape(write.formula)}</f>"
    v = write.value
    if v is None:
        return f'<c r="{ref}"{s}>{f}</c>'
    if isinstance(v, bool):
        return f'<c r="{ref}"{s} t="b">{f}<v>{int(v)}</v></c>'
    if isinstance(v, (int, float)):
        return f'<c r="{ref}"{s}>{f}<v>{v!r}</v></c>'
    return f'<c r="{ref}"{s} t="str">{f}<v>{escape(str(v))}</v></c>'


def _cells(row_xml: str) -> dict[int, str]:
    return {cell_to_rowcol(m.group(1))[1]: m.group(0) for m in _CELL.finditer(row_xml)}


def _row_open_tag(row_xml: str, row: int) -> str:
    tag = re.match(r"<row\b[^>]*?/?>", row_xml).group(0)
    tag = re.sub(r'\br="\d+"', f'r="{row}"', tag)
    tag = re.sub(r'\s*spans="[^"]*"', "", tag)
    return tag[:-2] + ">" if tag.endswith("/>") else tag


def patch_cells(sheet_xml: str, writes: dict[tuple[int, int], Write], *, template_row: int | None = None) -> str:
    """Apply ``writes`` ((row, col) -> Write). Rows that do not exist are created from ``template_row``'s styles."""
    by_row: dict[int, dict[int, Write]] = {}
    for (r, c), w in writes.items():
        by_row.setdefault(r, {})[c] = w
    rows = {int(m.group(1)): m for m in _ROW.finditer(sheet_xml)}
    template = rows.get(template_row) if template_row else None
    template_cells = _cells(template.group(0)) if template else {}
    template_styles = {c: int(m.group(1)) if (m := _STYLE.search(x)) else 0 for c, x in template_cells.items()}

    pieces: list[tuple[int, int, str]] = []  # (start, end, replacement)
    new_rows: list[tuple[int, str]] = []
    for r, cols in sorted(by_row.items()):
        existing = rows.get(r)
        cells = _cells(existing.group(0)) if existing else {}
        merged: dict[int, str] = dict(cells)
        for c, w in cols.items():
            old = cells.get(c)
            style = int(m.group(1)) if old and (m := _STYLE.search(old)) else template_styles.get(c, 0)
            merged[c] = _render(f"{col_letter(c)}{r}", w, style)
        if existing:
            open_tag = _row_open_tag(existing.group(0), r)
        else:
            open_tag = _row_open_tag(template.group(0), r) if template else f'<row r="{r}">'
            for c, x in template_cells.items():  # carry the template row's styled empty cells along
                if c not in merged:
                    style = template_styles.get(c, 0)
                    merged[c] = f'<c r="{col_letter(c)}{r}"' + (f' s="{style}"' if style else "") + "/>"
        xml = open_tag + "".join(merged[c] for c in sorted(merged)) + "</row>"
        if existing:
            pieces.append((existing.start(), existing.end(), xml))
        else:
            new_rows.append((r, xml))

    out = []
    pos = 0
    for start, end, xml in pieces:
        out.append(sheet_xml[pos:start])
        out.append(xml)
        pos = end
    out.append(sheet_xml[pos:])
    result = "".join(out)
    if new_rows:
        result = insert_rows(result, new_rows)
    return result


def insert_rows(xml: str, new_rows: list[tuple[int, str]]) -> str:
    """Insert whole new rows at their place in row order inside <sheetData>, in one pass."""
    import bisect

    existing = [(int(m.group(1)), m.end()) for m in _ROW.finditer(xml)]
    numbers = [n for n, _ in existing]
    if "<sheetData/>" in xml:
        xml = xml.replace("<sheetData/>", "<sheetData></sheetData>", 1)
    start = xml.index("<sheetData>") + len("<sheetData>")
    inserts: dict[int, list[str]] = {}
    for r, row_xml in sorted(new_rows):
        i = bisect.bisect_left(numbers, r)
        inserts.setdefault(existing[i - 1][1] if i else start, []).append(row_xml)
    out, pos = [], 0
    for at in sorted(inserts):
        out += [xml[pos:at], *inserts[at]]
        pos = at
    out.append(xml[pos:])
    return "".join(out)


def formula_of(sheet_xml: str, row: int, col: int) -> str | None:
    """The formula text (without '=') of one cell, or None."""
    for m in _ROW.finditer(sheet_xml):
        if int(m.group(1)) == row:
            cell = _cells(m.group(0)).get(col)
            if cell and (f := _FORMULA.search(cell)):
                return unescape(f.group(1), {"&quot;": '"', "&apos;": "'"})
            return None
    return None


def move_formula(formula: str, from_row: int, to_row: int, col: int) -> str:
    """A formula copied from one row to another, relative references moved as Excel would."""
    origin = f"{col_letter(col)}{from_row}"
    return Translator("=" + formula, origin=origin).translate_formula(f"{col_letter(col)}{to_row}")[1:]


def grow_table_xml(table_xml: str, new_last_row: int) -> str:
    """A table part (and its autoFilter) stretched down to ``new_last_row``."""
    old = re.search(r'<table\b[^>]*\bref="([^"]+)"', table_xml).group(1)
    _, _, old_last, _ = split_ref(old)

    def repl(m: re.Match) -> str:
        r1, c1, r2, c2 = split_ref(m.group(2))
        return f'{m.group(1)}="{col_letter(c1)}{r1}:{col_letter(c2)}{new_last_row}"' if r2 == old_last else m.group(0)

    return _SQREF.sub(repl, table_xml)


def grow_sheet_ranges(sheet_xml: str, first_row: int, old_last: int, new_last: int, first_col: int,
                      last_col: int) -> str:
    """Data validations and conditional formats that cover a table's rows down to its old last row, stretched
    to the new last row. A one-row table's ranges are single cells (sqref="J5"), so those count too."""

    def repl(m: re.Match) -> str:
        parts = []
        for piece in m.group(2).split():
            try:
                r1, c1, r2, c2 = split_ref(piece)
            except ValueError:
                parts.append(piece)
                continue
            if r2 == old_last and r1 >= first_row and first_col <= c1 and c2 <= last_col:
                piece = f"{col_letter(c1)}{r1}:{col_letter(c2)}{new_last}"
            parts.append(piece)
        return f'{m.group(1)}="{" ".join(parts)}"'

    head, sep, tail = sheet_xml.partition("</sheetData>")
    if not sep:
        return sheet_xml
    return head + sep + re.sub(r'(sqref)="([^"]+)"', repl, tail)
