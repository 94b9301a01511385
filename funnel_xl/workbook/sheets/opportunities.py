"""The 商机 sheet: tblOpportunities with its checklist columns and live formulas carrying cached values.

Live formulas (win rate, weighted amount, amount in 万元, assessed stage, stage gap, totals) use only functions
Excel 2016, WPS and LibreOffice share, and name table columns, not addresses. Each formula cell also carries the
value the domain computes (``with_rates``, ``derive_stages``), so mail previews, phones and pandas see numbers
before any spreadsheet recalculates.
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from funnel_xl.domain.schema import OPPORTUNITY_COLUMNS, checklist_column
from funnel_xl.labels import catalogue
from funnel_xl.workbook.contract import (
    TABLE_OPPORTUNITIES, TABLE_STAGES, Column, opportunity_columns, sheet_name,
)
from funnel_xl.workbook.formula_cache import derived_cell_values
from funnel_xl.workbook.sheets.context import (
    BuildContext, column_ref, is_blank, quoted, this_row, write_value,
)
from funnel_xl.workbook.sheets.reps import NAME_REPS
from funnel_xl.workbook.sheets.stages import NAME_STAGES, stage_name_header
from funnel_xl.workbook.sheets.styles import column_width, header_height

TITLE_ROW, NOTE_ROW, TOTAL_ROW, HEADER_ROW = 0, 1, 2, 3  # 0-based; data starts on the row after the header
FROZEN_COLUMNS = 3  # id, customer, project stay in view while scrolling right

_FORMATS = {
    "amount": "in_money", "close_date": "in_date", "created_date": "in_date", "stage_entered_date": "in_date",
    "win_rate": "calc_percent", "weighted": "calc_money", "amount_wan": "calc_wan",
    "derived_stage": "calc_text", "stage_gap": "calc_integer", "new_customer": "in_check",
    "estimated": "in_check",
}
_WIDTH_LIMITS = {"notes": 36, "competitors": 24, "project": 30, "customer": 26}
CHECK_WIDTH = 13.0
# Optional yes/no fields, shown 是/否 with a dropdown like the checklist.
YES_NO_COLUMNS = ("new_customer", "estimated")


def write_opportunities_sheet(ctx: BuildContext) -> Worksheet:
    """Write 商机: title, buttons, note, totals, then the table with dropdowns and highlights."""
    sheet = ctx.add_sheet("opportunities", sheet_name("opportunities", ctx.lang))
    columns = opportunity_columns(ctx.methodology, ctx.lang)
    headers = {c.key: c.header for c in columns}
    rows = display_rows(ctx)
    first, last = HEADER_ROW + 1, HEADER_ROW + max(len(rows), 1)

    sheet.add_table(HEADER_ROW, 0, last, len(columns) - 1, {
        "name": TABLE_OPPORTUNITIES,
        "style": "Table Style Light 1",
        "columns": [_table_column(ctx, c, headers) for c in columns],
    })
    formulas = row_formulas(ctx, headers)
    cached = cached_rows(ctx)
    for i in range(last - first + 1):
        values = rows[i] if i < len(rows) else {}
        for j, col in enumerate(columns):
            fmt = ctx.formats[_format_key(col.key)]
            if col.key in formulas:
                sheet.write_formula(first + i, j, formulas[col.key], fmt, cached[i][col.key])
            else:
                write_value(sheet, first + i, j, values.get(col.key), fmt)

    _write_title(ctx, sheet)
    _write_totals(ctx, sheet, columns, headers, cached)
    _add_validation(ctx, sheet, columns, first, last)
    _add_highlights(ctx, sheet, columns, first, last)
    _set_layout(ctx, sheet, columns, rows, last)
    return sheet


def _format_key(key: str) -> str:
    if key.startswith("chk:"):
        return "in_check"
    return _FORMATS.get(key, "in_text")


def _table_column(ctx: BuildContext, col: Column, headers: dict[str, str]) -> dict:
    computed = col.key in ("win_rate", "weighted", "amount_wan", "derived_stage", "stage_gap")
    header_fmt = "calc_header" if computed else "check_header" if col.key.startswith("chk:") else "in_header"
    spec = {"header": col.header, "header_format": ctx.formats[header_fmt],
            "format": ctx.formats[_format_key(col.key)]}
    if computed:
        # The calculated-column formula makes Excel fill the formula into rows a user adds to the table.
        spec["formula"] = "=" + row_formulas(ctx, headers)[col.key]
    return spec


# --- cell values -----------------------------------------------------------------------------------------

def display_rows(ctx: BuildContext) -> list[dict[str, object]]:
    """The opportunities as the user sees them: stage names, status/category/priority labels, 是/否."""
    m = ctx.methodology
    names = {s.key: s.name(ctx.lang) for s in m.stages}
    yes, no = ctx.label("out.yes"), ctx.label("out.no")
    out = []
    for _, r in ctx.opportunities.iterrows():
        row: dict[str, object] = {}
        for key in OPPORTUNITY_COLUMNS:
            value = r.get(key)
            if is_blank(value):
                row[key] = None
            elif key == "stage":
                row[key] = names.get(str(value), str(value))
            elif key in ("status", "category", "priority", "customer_size"):
                row[key] = _label_or_value(ctx, key, value)
            elif key in YES_NO_COLUMNS:
                row[key] = yes if bool(value) else no
            else:
                row[key] = value
        for criterion in m.criteria():
            value = r.get(checklist_column(criterion.key))
            row[checklist_column(criterion.key)] = None if is_blank(value) else (yes if bool(value) else no)
        out.append(row)
    return out


def _label_or_value(ctx: BuildContext, key: str, value: object) -> str:
    full = f"{key}.{value}"
    return ctx.label(full) if full in catalogue() else str(value)


def cached_rows(ctx: BuildContext) -> list[dict[str, object]]:
    """The cached value of every formula cell, from the domain's figures ("" where the formula shows blank)."""
    if ctx.opportunities.empty:
        # The one blank row of an empty table: no stage (""), not open (0), no amount (0).
        return [{"win_rate": "", "weighted": 0.0, "amount_wan": 0.0, "derived_stage": "", "stage_gap": ""}]
    return derived_cell_values(ctx.opportunities, ctx.methodology, ctx.lang).to_dict("records")


def row_formulas(ctx: BuildContext, headers: dict[str, str]) -> dict[str, str]:
    """The live formula of each computed column (without '='), in structured references."""
    t = TABLE_OPPORTUNITIES
    cell = {key: this_row(t, header) for key, header in headers.items()}
    names = column_ref(TABLE_STAGES, stage_name_header(ctx.lang))
    rates = column_ref(TABLE_STAGES, ctx.label("col.stage_win_rate"))
    open_label = quoted(ctx.label("status.open"))
    return {
        "win_rate": f'IFERROR(INDEX({rates},MATCH({cell["stage"]},{names},0)),"")',
        "weighted": f'IFERROR(IF({cell["status"]}={open_label},{cell["amount"]}*{cell["win_rate"]},0),"")',
        "amount_wan": f'IFERROR({cell["amount"]}/10000,"")',
        "derived_stage": derived_stage_formula(ctx, cell, names),
        "stage_gap": (f'IFERROR(MATCH({cell["stage"]},{names},0)-IF({cell["derived_stage"]}="",0,'
                      f'MATCH({cell["derived_stage"]},{names},0)),"")'),
    }


def derived_stage_formula(ctx: BuildContext, cell: dict[str, str], names: str) -> str:
    """IF(NOT(stage 1 met),"",IF(NOT(stage 2 met),<name 1>,...<name n>)): the highest stage whose required
    criteria, and every earlier stage's, are answered 是. Names come from 阶段设置, so a rename follows."""
    yes = quoted(ctx.label("out.yes"))
    stages = ctx.methodology.stages
    conditions = []
    for stage in stages:
        checks = [f"{cell[checklist_column(c.key)]}={yes}" for c in stage.required_criteria]
        conditions.append("AND(" + ",".join(checks) + ")" if checks else "TRUE")
    formula = f"INDEX({names},{len(stages)})"
    for k in range(len(stages) - 1, -1, -1):
        below = '""' if k == 0 else f"INDEX({names},{k})"
        formula = f"IF(NOT({conditions[k]}),{below},{formula})"
    return formula


# --- sheet furniture -------------------------------------------------------------------------------------

def _write_title(ctx: BuildContext, sheet: Worksheet) -> None:
    sheet.write_string(TITLE_ROW, 0, ctx.label("input.title_opportunities"), ctx.formats["title"])
    sheet.set_row(TITLE_ROW, 30)
    sheet.write_string(NOTE_ROW, 0, ctx.label("input.note_opportunities"), ctx.formats["stamp"])
    if ctx.vba:
        for i, macro in enumerate(("RecalculateForecast", "GenerateAssessmentForms", "CollectAssessments")):
            sheet.insert_button(TITLE_ROW, 1, {
                "macro": macro, "caption": ctx.label(f"command.{macro}"),
                "width": 118, "height": 34, "x_offset": 4 + i * 124, "y_offset": 3,
            })


def _write_totals(ctx, sheet, columns, headers, cached) -> None:
    """合计 over the visible (filtered) rows, and the number of rows whose claimed stage is above the evidence."""
    t = TABLE_OPPORTUNITIES
    keys = [c.key for c in columns]
    sheet.write_string(TOTAL_ROW, 0, ctx.label("input.total"), ctx.formats["total_text"])
    for key, fmt in (("amount", "total_money"), ("weighted", "total_money"), ("amount_wan", "total_money_wan")):
        if key == "amount":
            total = float(pd.to_numeric(ctx.opportunities.get("amount", pd.Series(dtype=float))).fillna(0).sum())
        else:
            total = sum(r[key] for r in cached if r[key] != "")
        sheet.write_formula(TOTAL_ROW, keys.index(key), f"=SUBTOTAL(109,{column_ref(t, headers[key])})",
                            ctx.formats[fmt], total)
    gaps = sum(1 for r in cached if r["stage_gap"] != "" and r["stage_gap"] > 0)
    sheet.write_formula(TOTAL_ROW, keys.index("stage_gap"), f'=COUNTIF({column_ref(t, headers["stage_gap"])},">0")',
                        ctx.formats["total_integer"], gaps)
    sheet.write_string(TOTAL_ROW, keys.index("derived_stage"), ctx.label("input.gap_count"), ctx.formats["total_text"])


def _add_validation(ctx, sheet, columns, first, last) -> None:
    """Dropdowns for stage, rep, status, category, priority, size and every 是/否 cell; checks on amounts and dates."""
    keys = [c.key for c in columns]
    title = ctx.label("validation.title")
    yes_no = [ctx.label("out.yes"), ctx.label("out.no")]

    def listed(key, source, message):
        col = keys.index(key)
        sheet.data_validation(first, col, last, col, {
            "validate": "list", "source": source, "error_title": title, "error_message": ctx.label(message),
        })

    listed("stage", f"={NAME_STAGES}", "validation.stage")
    listed("rep", f"={NAME_REPS}", "validation.rep")
    listed("status", [ctx.label(f"status.{k}") for k in ("open", "won", "lost")], "validation.status")
    listed("category", [ctx.label(f"category.{k}") for k in
                        ("closed", "commit", "likely_this_quarter", "likely_next_quarter", "intent")],
           "validation.category")
    listed("priority", [ctx.label(f"priority.{k}") for k in ("high", "medium", "low")], "validation.priority")
    listed("customer_size", [ctx.label(f"customer_size.{k}") for k in ("large", "medium", "small")],
           "validation.size")
    for key in YES_NO_COLUMNS:
        listed(key, yes_no, "validation.yes_no")
    checks = [j for j, k in enumerate(keys) if k.startswith("chk:")]
    if checks:
        sheet.data_validation(first, checks[0], last, checks[-1], {
            "validate": "list", "source": yes_no, "error_title": title,
            "error_message": ctx.label("validation.yes_no"),
        })
    col = keys.index("amount")
    sheet.data_validation(first, col, last, col, {
        "validate": "decimal", "criteria": ">=", "value": 0, "error_title": title,
        "error_message": ctx.label("validation.amount"),
    })
    for key in ("close_date", "created_date", "stage_entered_date"):
        col = keys.index(key)
        sheet.data_validation(first, col, last, col, {
            "validate": "date", "criteria": "between", "minimum": _date(1990), "maximum": _date(2100),
            "error_title": title, "error_message": ctx.label("validation.date"),
        })


def _date(year: int) -> dt.date:
    return dt.date(year, 1, 1)


def _add_highlights(ctx, sheet, columns, first, last) -> None:
    """是 green on the checklist; the assessed stage and gap red where the claimed stage is above the evidence."""
    keys = [c.key for c in columns]
    checks = [j for j, k in enumerate(keys) if k.startswith("chk:")]
    if checks:
        sheet.conditional_format(first, checks[0], last, checks[-1], {
            "type": "cell", "criteria": "==", "value": quoted(ctx.label("out.yes")), "format": ctx.formats["good"],
        })
    gap_col = keys.index("stage_gap")
    gap_cell = f"${xl_col_to_name(gap_col)}{first + 1}"
    for key in ("derived_stage", "stage_gap"):
        col = keys.index(key)
        sheet.conditional_format(first, col, last, col, {
            "type": "formula", "criteria": f"=AND(ISNUMBER({gap_cell}),{gap_cell}>0)",
            "format": ctx.formats["bad"],
        })


def _set_layout(ctx, sheet, columns, rows, last) -> None:
    """Column widths for Chinese text, a header tall enough for the criteria, frozen panes, print setup."""
    widths = []
    for j, col in enumerate(columns):
        if col.key.startswith("chk:"):
            width = CHECK_WIDTH
        else:
            values = [r.get(col.key) for r in rows]
            texts = [col.header] + [v if isinstance(v, str) else "2026-11-20" for v in values if not is_blank(v)]
            if col.key in ("amount", "weighted"):
                texts.append("12,345,678")
            width = column_width(texts, maximum=_WIDTH_LIMITS.get(col.key, 20))
        widths.append(width)
        sheet.set_column(j, j, width)
    sheet.set_row(HEADER_ROW, header_height(
        [(c.header, w, 0.8 if c.key.startswith("chk:") else 1.0) for c, w in zip(columns, widths)]))
    sheet.freeze_panes(HEADER_ROW + 1, FROZEN_COLUMNS)
    sheet.set_landscape()
    sheet.set_paper(9)
    sheet.fit_to_pages(1, 0)
    sheet.set_margins(left=0.3, right=0.3, top=0.5, bottom=0.5)
    sheet.repeat_rows(HEADER_ROW)
    sheet.print_area(0, 0, last, len(columns) - 1)
    sheet.set_footer("&L&A&R" + ctx.label("input.footer"))
