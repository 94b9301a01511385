"""The index sheet that opens a rep's workbook: their deals, each linked to its tab, and what to fix.

A rep with twenty tabs needs to see at once which deal is which (customer, project, amount), where their own stage
and the evidence part, what each deal still lacks, and which deals recalc could not use and why. Tabs are named by
the customer's short name and the deal's id, so the tab bar reads too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.worksheet import Worksheet

from funnel_xl.forms.cells import Styles, lines_needed, print_setup, protect, put
from funnel_xl.forms.model import FormData
from funnel_xl.forms.settings import FormSettings
from funnel_xl.labels import label

COLUMNS = ("tab", "customer", "project", "amount_wan", "claimed", "assessed", "close_date", "missing", "problems")
WIDTHS = (22, 12, 14, 8, 11, 11, 10, 9, 16)   # 113 units: A4 landscape at 100 % (see form.toml)
HEAD_ROW = 4


@dataclass(frozen=True)
class IndexEntry:
    """One deal as the index lists it (texts in the workbook's language)."""

    tab: str
    customer: str
    project: str
    amount_wan: Any          # 万元, or the amount's text where it does not read
    claimed: str
    assessed: str
    close_date: Any
    missing: str             # numbers of the criteria the claimed stage still lacks
    problems: tuple[str, ...]


def short_customer(name: str, settings: FormSettings) -> str:
    """The customer's short name for a tab: the company-form suffixes dropped (有限公司, Co., Ltd.), cut short."""
    text = name.strip()
    for suffix in settings.layout["customer_suffixes"]:
        if text.endswith(suffix) and len(text) > len(suffix):
            text = text[: -len(suffix)].rstrip(" ,")
    return text[: int(settings.layout["short_name_chars"])]


def tab_name(form: FormData, settings: FormSettings) -> str:
    """"<customer short name> <id>" (the id alone without a customer), before the sheet-name rules apply."""
    short = short_customer(form.fields.get("customer", ""), settings)
    return f"{short} {form.opportunity_id}".strip()


def write_index_sheet(ws: Worksheet, entries: list[IndexEntry], lang: str, settings: FormSettings,
                      st: Styles) -> None:
    """Title and how to use the workbook, a row per deal linked to its tab, then the data problems to fix."""
    put(ws, 1, 1, label("form.index.title", lang), font=st.title)
    ws.row_dimensions[1].height = 28
    put(ws, 2, 1, label("form.index.how", lang), font=st.text, align=st.top_left)
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=len(COLUMNS))
    ws.row_dimensions[2].height = 34
    for col, key in enumerate(COLUMNS, start=1):
        put(ws, HEAD_ROW, col, label(f"form.index.{key}", lang), font=st.header, fill=st.header_fill,
            align=st.centre, border=st.border)
    ws.row_dimensions[HEAD_ROW].height = 30
    row = HEAD_ROW
    separator = label("form.problem_separator", lang)
    for e in entries:
        row += 1
        values = (e.tab, e.customer, e.project, e.amount_wan, e.claimed, e.assessed, e.close_date, e.missing,
                  separator.join(e.problems))
        for col, value in enumerate(values, start=1):
            cell = put(ws, row, col, value, font=st.problem if col == 9 else st.text, border=st.border,
                       align=st.wrap)
            if col == 4:
                cell.number_format = "#,##0.0"
            elif col == 7:
                cell.number_format = "yyyy-mm-dd"
        ws.row_dimensions[row].height = 14 * max(lines_needed(str(v), w) for v, w in zip(values, WIDTHS)
                                                 if v is not None) + 4
        link = ws.cell(row=row, column=1)
        link.hyperlink = Hyperlink(ref=link.coordinate, location=f"'{e.tab}'!A1", display=e.tab)
        link.font = st.link
    row += 2
    problems = [e for e in entries if e.problems]
    put(ws, row, 1, label("form.index.problems_title", lang), font=st.label)
    row += 1
    if not problems:
        put(ws, row, 1, label("form.index.no_problems", lang), font=st.text)
    for e in problems:
        for text in e.problems:
            put(ws, row, 1, e.tab, font=st.text, border=st.border)
            put(ws, row, 2, f"{text}{label('form.index.what_to_do', lang)}", font=st.problem, align=st.wrap,
                border=st.border)
            ws.merge_cells(start_row=row, start_column=2, end_row=row, end_column=len(COLUMNS))
            ws.row_dimensions[row].height = 14 * lines_needed(text, sum(WIDTHS[1:])) + 6
            row += 1
    for col, width in enumerate(WIDTHS, start=1):
        ws.column_dimensions[ws.cell(row=1, column=col).column_letter].width = width
    ws.freeze_panes = ws.cell(row=HEAD_ROW + 1, column=2)
    protect(ws)
    ws.sheet_view.showGridLines = False
    print_setup(ws, max(row, HEAD_ROW + 1), len(COLUMNS), settings, fit_height=False)
    ws.page_setup.orientation = "landscape"
    ws.print_title_rows = f"{HEAD_ROW}:{HEAD_ROW}"
