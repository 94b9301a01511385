"""Render an OutputSheet into a worksheet part by splicing its <sheetData>, keeping everything else.

Only <dimension>, <cols> and <sheetData> change, and merged ranges and hyperlinks go with the cells they sat on
(the live adapter's clear drops them too); sheet views, page setup, print settings and the drawing that holds the
charts stay byte for byte. The XML itself is written by ``ooxml``; this module maps the sheet model
(cells with palette style keys, widths, heights) onto it.
"""

from __future__ import annotations

from funnel_xl.workbook.model import OutputSheet
from funnel_xl.workbook.ooxml import (
    col_letter, cols_xml, drop_elements, hyperlinks_xml, insert_hyperlinks, sheet_data_xml, splice_sheet_data,
)


def splice_sheet(original: str, sheet: OutputSheet, styles: dict[str, int]) -> str:
    """The original worksheet XML with its cells and dimension replaced by ``sheet``'s, and the widths ``sheet`` sets
    (the other columns keep theirs)."""
    cells = ((r, c, cell.value, styles.get(cell.style, 0)) for (r, c), cell in sheet.loose.items())
    blocks = [(b.first_row, b.first_col, b.columns,
               [styles.get(s, 0) if isinstance(s, str) else [styles.get(x, 0) for x in s] for s in b.styles])
              for b in sheet.blocks]
    original = drop_elements(original, ("mergeCells", "hyperlinks"))
    out = splice_sheet_data(original, sheet_data_xml(cells, sheet.heights, blocks),
                            dimension=f"A1:{col_letter(sheet.max_col)}{sheet.max_row}", cols=cols_xml(sheet.widths, original))
    return insert_hyperlinks(out, hyperlinks_xml(sheet.links, sheet.value)) if sheet.links else out
