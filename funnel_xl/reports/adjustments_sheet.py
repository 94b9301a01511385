"""预测调整: the table a manager types adjustments into, with the computed forecast and the difference beside each,
so the sheet shows judgement and evidence side by side and never one in place of the other."""

from __future__ import annotations

import pandas as pd

from funnel_xl.domain.columns import ADJUSTMENTS, columns
from funnel_xl.reports.table import SheetLayout
from funnel_xl.workbook.layout import OWNED_ROW

TABLE = "tblAdjustments"
HEADER_ROW = 5
_STYLES = {"adjusted": "money", "computed": "money", "difference": "money", "entered": "date"}


def adjustments_sheet(adjustments: pd.DataFrame, lang: str, stamp: str) -> tuple[SheetLayout, int]:
    """The sheet and the number of data rows of its table (at least one, blank, for the first entry)."""
    out = SheetLayout("adjustments", lang, stamp)
    specs = columns(ADJUSTMENTS)
    out.sheet.put(OWNED_ROW, 1, out.label("adjust.note"), "note")  # typed here, unlike every other output sheet
    out.sheet.put_row(HEADER_ROW, 1, [out.label(c.label) for c in specs], "header")
    out.sheet.heights[HEADER_ROW] = 30
    styles = [_STYLES.get(c.key, "text") for c in specs]
    for i, r in enumerate(adjustments.itertuples()):
        out.sheet.put_row(HEADER_ROW + 1 + i, 1, [getattr(r, c.key) for c in specs], styles)
    rows = max(len(adjustments), 1)
    if adjustments.empty:
        out.sheet.put_row(HEADER_ROW + 1, 1, [None] * len(specs), styles)
    out.widths(first=16, others=16, count=len(specs))
    out.sheet.widths[5] = 30
    return out, rows
