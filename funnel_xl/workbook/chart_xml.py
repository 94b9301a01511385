"""Stretch a tool-owned chart to the rows its block now fills, and refresh the chart's cached values.

Charts are drawn once by the builder; when Recalculate writes a block with a different number of rows (a rep
added, a stage added), the series references and their caches follow, so Excel, LibreOffice and mail previews
all show the new figures. The chart XML is written by ``ooxml``; this module knows the blocks.
"""

from __future__ import annotations

from dataclasses import replace

from funnel_xl.workbook.layout import ChartSpec
from funnel_xl.workbook.model import OutputSheet
from funnel_xl.workbook.ooxml import SheetRef, refresh_series


def patch_chart(xml: str, sheet_name: str, sheet: OutputSheet, specs: list[ChartSpec]) -> str:
    """Rewrite every series reference into one of ``specs``' blocks on ``sheet_name`` to the rows written."""

    def stretch(ref: SheetRef) -> SheetRef:
        # A series over one data row is written as a single cell; it belongs to a block all the same (series
        # names point at the header row, so they never match a block's first data row).
        for spec in specs:
            block = spec.block
            if ref.r1 == block.first_data_row and block.first_col <= ref.c1 < block.first_col + len(block.columns):
                r1, r2 = spec.data_rows(sheet.chart_items.get(spec.key, 0))
                return replace(ref, r1=r1, r2=r2, is_range=True)
        return ref

    return refresh_series(xml, sheet_name, sheet.value, stretch)
