"""Stretch a tool-owned chart to the rows its block now fills, and refresh the chart's cached values.

Charts are drawn once by the builder; when Recalculate writes a block with a different number of rows (a rep
added, a stage added), the series references and their caches follow, so Excel, LibreOffice and mail previews
all show the new figures.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

from funnel_xl.workbook.layout import ChartSpec
from funnel_xl.workbook.model import OutputSheet
from funnel_xl.workbook.package import cell_to_rowcol, col_letter

_REF = re.compile(
    r"<c:(?P<kind>strRef|numRef)><c:f>(?P<f>[^<]*)</c:f>"
    r"(?:<c:(?:str|num)Cache>.*?</c:(?:str|num)Cache>)?</c:(?P=kind)>",
    re.S,
)
_F = re.compile(r"^(?:'(?P<q>(?:[^']|'')+)'|(?P<u>[^!']+))!(?P<a>\$?[A-Z]+\$?\d+)(?::(?P<b>\$?[A-Z]+\$?\d+))?$")


def quote_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _cache(kind: str, values: list) -> str:
    if kind == "strRef":
        pts = "".join(
            f'<c:pt idx="{i}"><c:v>{escape(str(v))}</c:v></c:pt>' for i, v in enumerate(values) if v is not None
        )
        return f'<c:strCache><c:ptCount val="{len(values)}"/>{pts}</c:strCache>'
    pts = "".join(
        f'<c:pt idx="{i}"><c:v>{float(v)!r}</c:v></c:pt>'
        for i, v in enumerate(values) if isinstance(v, (int, float)) and not isinstance(v, bool)
    )
    return f'<c:numCache><c:formatCode>General</c:formatCode><c:ptCount val="{len(values)}"/>{pts}</c:numCache>'


def patch_chart(xml: str, sheet_name: str, sheet: OutputSheet, specs: list[ChartSpec]) -> str:
    """Rewrite every series reference into one of ``specs``' blocks on ``sheet_name`` to the rows written."""

    def repl(m: re.Match) -> str:
        f = _F.match(m.group("f").strip())
        if not f:
            return m.group(0)
        ref_sheet = (f.group("q") or "").replace("''", "'") or f.group("u")
        if ref_sheet != sheet_name:
            return m.group(0)
        r1, c1 = cell_to_rowcol(f.group("a"))
        r2, c2 = cell_to_rowcol(f.group("b") or f.group("a"))
        is_range = bool(f.group("b"))
        # A series over one data row is written as a single cell; it belongs to a block all the same (series
        # names point at the header row, so they never match a block's first data row).
        for spec in specs:
            if r1 == spec.block.first_data_row and spec.block.first_col <= c1 < spec.block.first_col + len(
                spec.block.columns
            ):
                r1, r2 = spec.data_rows(sheet.chart_items.get(spec.key, 0))
                is_range = True
                break
        ref = f"{quote_sheet(sheet_name)}!${col_letter(c1)}${r1}"
        if is_range:
            ref += f":${col_letter(c2)}${r2}"
        values = [sheet.value(r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)]
        kind = m.group("kind")
        if any(isinstance(v, str) for v in values):
            kind = "strRef"  # the builder drew the chart over empty cells, which it took for numbers
        return f"<c:{kind}><c:f>{escape(ref)}</c:f>{_cache(kind, values)}</c:{kind}>"

    return _REF.sub(repl, xml)
