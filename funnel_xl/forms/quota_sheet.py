"""The rep's quota sheet in their form workbook: their own figures and roadmap milestones, as values."""

from __future__ import annotations

from openpyxl.worksheet.worksheet import Worksheet

from funnel_xl.forms.cells import Styles, print_setup, protect, put
from funnel_xl.forms.model import QuotaData
from funnel_xl.forms.settings import FormSettings
from funnel_xl.labels import label


def write_quota_sheet(ws: Worksheet, quota: QuotaData, lang: str, settings: FormSettings, st: Styles) -> None:
    """The rep's own figures and roadmap milestones, as values (it is a snapshot, not a live report)."""
    put(ws, 1, 1, label("form.quota.title", lang), font=st.title)
    ws.row_dimensions[1].height = 28
    put(ws, 2, 1, f'{label("form.quota.rep", lang)}: {quota.rep}    '
                  f'{label("form.quota.as_of", lang)}: {quota.as_of.isoformat()}', font=st.text)
    put(ws, 3, 1, label("form.quota.values_only", lang), font=st.small)
    row = 5
    for col, key in enumerate(("item", "value"), start=1):
        put(ws, row, col, label(f"form.quota.{key}", lang), font=st.header, fill=st.header_fill, align=st.centre,
            border=st.border)
    figures = (("quota", quota.quota, "#,##0"), ("achieved", quota.achieved, "#,##0"),
               ("attainment", quota.attainment, "0.0%"), ("weighted", quota.weighted, "#,##0"),
               ("coverage", quota.coverage, "0.0%"), ("proposal", quota.proposal, "#,##0"))
    for key, value, fmt in figures:
        row += 1
        put(ws, row, 1, label(f"form.quota.{key}", lang), font=st.text, border=st.border, align=st.wrap)
        put(ws, row, 2, value, font=st.text, border=st.border).number_format = fmt
    row += 2
    put(ws, row, 1, label("form.quota.roadmap", lang), font=st.label)
    row += 1
    heads = ("phase", "milestone", "target", "actual", "met")
    for col, key in enumerate(heads, start=1):
        put(ws, row, col, label(f"form.quota.{key}", lang), font=st.header, fill=st.header_fill, align=st.centre,
            border=st.border)
    for ms in quota.milestones:
        row += 1
        met = label("form.quota.unknown" if ms.met is None else "form.quota.met_yes" if ms.met
                    else "form.quota.met_no", lang)
        values = (ms.phase, ms.milestone, ms.target, ms.actual, met)
        for col, value in enumerate(values, start=1):
            cell = put(ws, row, col, value, font=st.text, border=st.border, align=st.wrap)
            if col in (3, 4):
                cell.number_format = "0%" if ms.is_ratio else "#,##0"
    for col, width in zip("ABCDE", (34, 30, 14, 14, 12)):
        ws.column_dimensions[col].width = width
    protect(ws)
    ws.sheet_view.showGridLines = False
    print_setup(ws, row, 5, settings)
    ws.page_setup.orientation = "landscape"  # its five columns print at full size across A4 landscape
