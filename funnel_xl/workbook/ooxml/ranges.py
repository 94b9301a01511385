"""Ranges that follow a table when it grows: the table part (and its autoFilter), data validations and
conditional formats on the sheet, the print area among the workbook's defined names.
"""

from __future__ import annotations

import re
from dataclasses import replace

from funnel_xl.workbook.ooxml.refs import parse_sheet_ref, range_ref, split_ref
from funnel_xl.workbook.ooxml.text import xml_text, xml_unescape

_TABLE_REF = re.compile(r'<table\b[^>]*\bref="([^"]+)"')
_REF_ATTR = re.compile(r'\b(sqref|ref)="([^"]+)"')
_SQREF = re.compile(r'\b(sqref)="([^"]+)"')
_PRINT_AREA = re.compile(r'(<definedName name="_xlnm\.Print_Area"[^>]*>)([^<]*)(</definedName>)')
_CALC_COLUMN = re.compile(r"<calculatedColumnFormula\b[^>]*/>|<calculatedColumnFormula\b[^>]*>.*?"
                          r"</calculatedColumnFormula>", re.S)


def grow_table(table_xml: str, new_last_row: int) -> str:
    """A table part stretched down to ``new_last_row``: every range in it (the table's, its autoFilter's, a sort
    state's) that ended on the table's last row ends on the new one."""
    old_last = split_ref(_TABLE_REF.search(table_xml).group(1))[2]

    def repl(m: re.Match) -> str:
        try:
            r1, c1, r2, c2 = split_ref(m.group(2))
        except ValueError:
            return m.group(0)
        return f'{m.group(1)}="{range_ref(r1, c1, new_last_row, c2)}"' if r2 == old_last else m.group(0)

    return _REF_ATTR.sub(repl, table_xml)


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
                piece = range_ref(r1, c1, new_last, c2)
            parts.append(piece)
        return f'{m.group(1)}="{" ".join(parts)}"'

    head, sep, tail = sheet_xml.partition("</sheetData>")
    if not sep:
        return sheet_xml
    return head + sep + _SQREF.sub(repl, tail)


def grow_print_area(workbook_xml: str, sheet: str, old_last: int, new_last: int) -> str:
    """``sheet``'s print area, when it ends on the table's old last row, stretched to ``new_last``."""

    def repl(m: re.Match) -> str:
        ref = parse_sheet_ref(xml_unescape(m.group(2)))
        if ref is None or ref.sheet != sheet or ref.r2 != old_last:
            return m.group(0)
        return m.group(1) + xml_text(replace(ref, r2=new_last, is_range=True).text()) + m.group(3)

    return _PRINT_AREA.sub(repl, workbook_xml)


def drop_calculated_columns(table_xml: str) -> str:
    """A table part without its calculated-column formulas (a values-only copy has no formulas to fill down)."""
    return _CALC_COLUMN.sub("", table_xml)
