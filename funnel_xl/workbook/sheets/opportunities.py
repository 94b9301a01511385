"""The 商机 sheet: tblOpportunities with its checklist columns and live formulas carrying cached values.

Live formulas (win rate, weighted amount, amount in 万元, assessed stage, stage gap, totals) use only functions
Excel 2016, WPS and LibreOffice share, and name table columns, not addresses. Each formula cell also carries the
value the domain computes (``with_rates``, ``derive_stages``), so mail previews, phones and pandas see numbers
before any spreadsheet recalculates.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from funnel_xl.domain.columns import (
    OPPORTUNITIES, REP, STAGE, STAGES, TOOL, USER, ColumnSpec, columns, table_width,
)
from funnel_xl.domain.kinds import column_format
from funnel_xl.domain.schema import CHECKLIST_PREFIX, checklist_column
from funnel_xl.workbook.cell_values import display_value
from funnel_xl.workbook.contract import (
    TABLE_OPPORTUNITIES, TABLE_STAGES, Column, header, opportunity_columns, sheet_name,
)
from funnel_xl.workbook.formula_cache import derived_cell_values
from funnel_xl.workbook.sheets.context import (
    BuildContext, column_ref, escape_header, is_blank, quoted, this_row, write_value,
)
from funnel_xl.workbook.sheets.reps import NAME_REPS
from funnel_xl.workbook.sheets.stages import NAME_STAGES, claimed_basis_test, stage_name_header
from funnel_xl.workbook.sheets.styles import column_width, header_height
from funnel_xl.workbook.sheets.validation import add_validations

TITLE_ROW, NOTE_ROW, TOTAL_ROW, HEADER_ROW = 0, 1, 2, 3  # 0-based; data starts on the row after the header
FROZEN_COLUMNS = 3  # id, customer, project stay in view while scrolling right
CHECK_WIDTH = 13.0
_MONEY_SAMPLE = "12,345,678"  # a money column is at least as wide as a big amount
_TOTAL_FORMATS = {"in_money": "total_money", "calc_money": "total_money", "calc_wan": "total_money_wan",
                  "calc_integer": "total_integer"}


def write_opportunities_sheet(ctx: BuildContext) -> Worksheet:
    """Write 商机: title, buttons, note, totals, then the table with dropdowns and highlights."""
    sheet = ctx.add_sheet("opportunities", sheet_name("opportunities", ctx.lang))
    columns_ = opportunity_columns(ctx.methodology, ctx.lang)
    headers = {c.key: c.header for c in columns_}
    rows = display_rows(ctx)
    first, last = HEADER_ROW + 1, HEADER_ROW + max(len(rows), 1)

    sheet.add_table(HEADER_ROW, 0, last, len(columns_) - 1, {
        "name": TABLE_OPPORTUNITIES,
        "style": "Table Style Light 1",
        "columns": [_table_column(ctx, c, headers) for c in columns_],
    })
    formulas = row_formulas(ctx, headers)
    cached = cached_rows(ctx)
    for i in range(last - first + 1):
        values = rows[i] if i < len(rows) else {}
        for j, col in enumerate(columns_):
            fmt = ctx.formats[_format_key(col.key)]
            if col.key in formulas:
                sheet.write_formula(first + i, j, formulas[col.key], fmt, cached[i][col.key])
            else:
                write_value(sheet, first + i, j, values.get(col.key), fmt)

    _write_title(ctx, sheet)
    _write_totals(ctx, sheet, columns_, headers, cached)
    _add_validation(ctx, sheet, columns_, first, last)
    _add_highlights(ctx, sheet, columns_, first, last)
    _set_layout(ctx, sheet, columns_, rows, last)
    return sheet


def _specs() -> dict[str, ColumnSpec]:
    return {spec.key: spec for spec in columns(OPPORTUNITIES)}


def _format_key(key: str) -> str:
    if key.startswith(CHECKLIST_PREFIX):
        return "in_check"
    return column_format(_specs()[key])


def _table_column(ctx: BuildContext, col: Column, headers: dict[str, str]) -> dict:
    computed = not col.key.startswith(CHECKLIST_PREFIX) and _specs()[col.key].owner == TOOL
    header_fmt = "calc_header" if computed else "check_header" if col.key.startswith(CHECKLIST_PREFIX) else "in_header"
    spec = {"header": col.header, "header_format": ctx.formats[header_fmt],
            "format": ctx.formats[_format_key(col.key)]}
    if computed:
        # The calculated-column formula makes Excel fill the formula into rows a user adds to the table.
        spec["formula"] = "=" + row_formulas(ctx, headers)[col.key]
    return spec


# --- cell values -----------------------------------------------------------------------------------------

def display_rows(ctx: BuildContext) -> list[dict[str, object]]:
    """The opportunities as the user sees them: stage names, status/category/priority labels, 是/否."""
    keys = [spec.key for spec in columns(OPPORTUNITIES, owner=USER)]
    keys += [checklist_column(c.key) for c in ctx.methodology.criteria()]
    return [{key: display_value(key, r.get(key), ctx.methodology, ctx.lang) for key in keys}
            for _, r in ctx.opportunities.iterrows()]


def cached_rows(ctx: BuildContext) -> list[dict[str, object]]:
    """The cached value of every formula cell, from the domain's figures ("" where the formula shows blank)."""
    # An empty table still has one blank row, whose formulas show what they show for blanks.
    opportunities = ctx.opportunities if not ctx.opportunities.empty else pd.DataFrame(index=[0])
    return derived_cell_values(opportunities, ctx.methodology, ctx.lang, ctx.settings.basis).to_dict("records")


def row_formulas(ctx: BuildContext, headers: dict[str, str]) -> dict[str, str]:
    """The live formula of each of the tool's columns (without '='), in structured references: each column names
    its builder in the registry."""
    cell = {key: this_row(TABLE_OPPORTUNITIES, header_) for key, header_ in headers.items()}
    return {spec.key: _FORMULAS[spec.formula](ctx, cell)
            for spec in columns(OPPORTUNITIES, owner=TOOL) if spec.formula is not None}


def _stage_names(ctx: BuildContext) -> str:
    return column_ref(TABLE_STAGES, stage_name_header(ctx.lang))


def win_rate_formula(ctx: BuildContext, cell: dict[str, str]) -> str:
    """The rate of the stage on 阶段设置's forecast basis: the assessed stage, unless the basis is the claimed stage
    or the checklist is unanswered (未评估), where the claimed stage counts."""
    rates = column_ref(TABLE_STAGES, header(STAGES, "win_rate", ctx.lang))
    not_assessed = quoted(ctx.label("assessment.not_assessed"))
    stage = f'IF(OR({claimed_basis_test(ctx.lang)},{cell["derived_stage"]}={not_assessed}),{cell["stage"]},' \
            f'{cell["derived_stage"]})'
    return f'IFERROR(INDEX({rates},MATCH({stage},{_stage_names(ctx)},0)),"")'


def weighted_formula(ctx: BuildContext, cell: dict[str, str]) -> str:
    open_label = quoted(ctx.label("status.open"))
    return f'IFERROR(IF({cell["status"]}={open_label},{cell["amount"]}*{cell["win_rate"]},0),"")'


def amount_wan_formula(ctx: BuildContext, cell: dict[str, str]) -> str:
    return f'IFERROR({cell["amount"]}/10000,"")'


def answered_test(ctx: BuildContext) -> str:
    """TRUE where at least one criterion of the row is answered 是 or 否 (the checklist has been answered)."""
    checks = [c.header for c in opportunity_columns(ctx.methodology, ctx.lang) if c.key.startswith(CHECKLIST_PREFIX)]
    if not checks:
        return "FALSE"
    row = f"{TABLE_OPPORTUNITIES}[[#This Row],[{escape_header(checks[0])}]:[{escape_header(checks[-1])}]]"
    return "+".join(f"COUNTIF({row},{quoted(ctx.label(f'out.{w}'))})" for w in ("yes", "no")) + ">0"


def derived_stage_formula(ctx: BuildContext, cell: dict[str, str]) -> str:
    """IF(no answer,"未评估",IF(NOT(stage 2 met),<name 1>,...<name n>)): the highest stage whose required criteria,
    and every earlier stage's, are answered 是; the first stage when not even its own are (the funnel's entry).
    Names come from 阶段设置, so a rename follows."""
    names = _stage_names(ctx)
    yes = quoted(ctx.label("out.yes"))
    stages = ctx.methodology.stages
    conditions = []
    for stage in stages:
        checks = [f"{cell[checklist_column(c.key)]}={yes}" for c in stage.required_criteria]
        conditions.append("AND(" + ",".join(checks) + ")" if checks else "TRUE")
    formula = f"INDEX({names},{len(stages)})"
    for k in range(len(stages) - 1, -1, -1):
        # Below the first stage's own criteria the deal still sits at the first stage, the funnel's entry.
        formula = f"IF(NOT({conditions[k]}),INDEX({names},{max(k, 1)}),{formula})"
    return f"IF(NOT({answered_test(ctx)}),{quoted(ctx.label('assessment.not_assessed'))},{formula})"


def stage_gap_formula(ctx: BuildContext, cell: dict[str, str]) -> str:
    names = _stage_names(ctx)
    not_assessed = quoted(ctx.label("assessment.not_assessed"))
    return (f'IF({cell["derived_stage"]}={not_assessed},"",IFERROR(MATCH({cell["stage"]},{names},0)-'
            f'MATCH({cell["derived_stage"]},{names},0),""))')


# The formula builders the registry's tool columns name (``ColumnSpec.formula``).
_FORMULAS = {"win_rate": win_rate_formula, "weighted": weighted_formula, "amount_wan": amount_wan_formula,
             "derived_stage": derived_stage_formula, "stage_gap": stage_gap_formula}


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


def _write_totals(ctx, sheet, columns_, headers, cached) -> None:
    """合计 over the visible (filtered) rows of each column the registry totals, and the number of rows whose
    claimed stage is above the evidence (a positive stage gap), labelled in the column to its left."""
    t = TABLE_OPPORTUNITIES
    keys = [c.key for c in columns_]
    sheet.write_string(TOTAL_ROW, 0, ctx.label("input.total"), ctx.formats["total_text"])
    for spec in columns(OPPORTUNITIES):
        if spec.total is None:
            continue
        if spec.owner == USER:
            values = pd.to_numeric(ctx.opportunities.get(spec.key, pd.Series(dtype=float))).fillna(0)
            numbers, total = values.tolist(), float(values.sum())
        else:
            numbers = [r[spec.key] for r in cached if r[spec.key] != ""]
            total = sum(numbers)
        col, fmt = keys.index(spec.key), ctx.formats[_TOTAL_FORMATS[column_format(spec)]]
        if spec.total == "sum":
            sheet.write_formula(TOTAL_ROW, col, f"=SUBTOTAL(109,{column_ref(t, headers[spec.key])})", fmt, total)
        else:
            sheet.write_formula(TOTAL_ROW, col, f'=COUNTIF({column_ref(t, headers[spec.key])},">0")', fmt,
                                sum(1 for v in numbers if v > 0))
            sheet.write_string(TOTAL_ROW, col - 1, ctx.label("input.gap_count"), ctx.formats["total_text"])


def _add_validation(ctx, sheet, columns_, first, last) -> None:
    """Dropdowns for stage, rep, status, category, priority, size and every 是/否 cell; checks on amounts and dates."""
    specs = _specs()
    placed = [(j, specs[c.key]) for j, c in enumerate(columns_) if c.key in specs]
    checks = [j for j, c in enumerate(columns_) if c.key.startswith(CHECKLIST_PREFIX)]
    checklist = [(checks[0], checks[-1])] if checks else []
    add_validations(ctx, sheet, placed, first, last, earliest=dt.date(1990, 1, 1), yes_no_blocks=checklist,
                    lists={STAGE: f"={NAME_STAGES}", REP: f"={NAME_REPS}"})


def _add_highlights(ctx, sheet, columns, first, last) -> None:
    """是 green on the checklist; the assessed stage and gap red where the claimed stage is above the evidence."""
    keys = [c.key for c in columns]
    checks = [j for j, k in enumerate(keys) if k.startswith(CHECKLIST_PREFIX)]
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
    specs = _specs()
    for j, col in enumerate(columns):
        if col.key.startswith(CHECKLIST_PREFIX):
            width = CHECK_WIDTH
        else:
            values = [r.get(col.key) for r in rows]
            texts = [col.header] + [v if isinstance(v, str) else "2026-11-20" for v in values if not is_blank(v)]
            if column_format(specs[col.key]) in ("in_money", "calc_money"):
                texts.append(_MONEY_SAMPLE)
            width = column_width(texts, maximum=specs[col.key].width or table_width(OPPORTUNITIES))
        widths.append(width)
        sheet.set_column(j, j, width)
    sheet.set_row(HEADER_ROW, header_height(
        [(c.header, w, 0.8 if c.key.startswith(CHECKLIST_PREFIX) else 1.0) for c, w in zip(columns, widths)]))
    sheet.freeze_panes(HEADER_ROW + 1, FROZEN_COLUMNS)
    sheet.set_landscape()
    sheet.set_paper(9)
    sheet.fit_to_pages(1, 0)
    sheet.set_margins(left=0.3, right=0.3, top=0.5, bottom=0.5)
    sheet.repeat_rows(HEADER_ROW)
    sheet.print_area(0, 0, last, len(columns) - 1)
    sheet.set_footer("&L&A&R" + ctx.label("input.footer"))
