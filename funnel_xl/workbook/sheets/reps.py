"""The 销售人员 sheet: tblReps (name, e-mail, hire date, region, annual quota in 元, manager).

The name column feeds the rep dropdown of 商机 through the defined name ``lstReps``, which names the table
column, so a rep added to the table appears in the dropdown.
"""

from __future__ import annotations

import datetime as dt

from xlsxwriter.worksheet import Worksheet

from funnel_xl.workbook.contract import TABLE_REPS, rep_columns, sheet_name
from funnel_xl.workbook.sheets.context import BuildContext, column_ref, is_blank, write_value
from funnel_xl.workbook.sheets.styles import column_width, header_height

NAME_REPS = "lstReps"
TITLE_ROW, NOTE_ROW, HEADER_ROW = 0, 1, 3  # 0-based
_FORMATS = {"hire_date": "in_date", "annual_quota": "in_money"}


def write_reps_sheet(ctx: BuildContext) -> Worksheet:
    """Write 销售人员: title, note and the reps table; define lstReps."""
    sheet = ctx.add_sheet("reps", sheet_name("reps", ctx.lang))
    columns = rep_columns(ctx.lang)
    sheet.write_string(TITLE_ROW, 0, ctx.label("input.title_reps"), ctx.formats["title"])
    sheet.set_row(TITLE_ROW, 26)
    sheet.write_string(NOTE_ROW, 0, ctx.label("input.note_reps"), ctx.formats["stamp"])
    reps = ctx.reps
    last = HEADER_ROW + max(len(reps), 1)
    sheet.add_table(HEADER_ROW, 0, last, len(columns) - 1, {
        "name": TABLE_REPS,
        "style": "Table Style Light 1",
        "columns": [{"header": c.header, "header_format": ctx.formats["in_header"],
                     "format": ctx.formats[_FORMATS.get(c.key, "in_text")]} for c in columns],
    })
    for i, (_, r) in enumerate(reps.iterrows()):
        for j, c in enumerate(columns):
            write_value(sheet, HEADER_ROW + 1 + i, j, r.get(c.key), ctx.formats[_FORMATS.get(c.key, "in_text")])
    ctx.workbook.define_name(NAME_REPS, "=" + column_ref(TABLE_REPS, columns[0].header))

    title = ctx.label("validation.title")
    keys = [c.key for c in columns]
    col = keys.index("annual_quota")
    sheet.data_validation(HEADER_ROW + 1, col, last, col, {
        "validate": "decimal", "criteria": ">=", "value": 0, "error_title": title,
        "error_message": ctx.label("validation.amount")})
    col = keys.index("hire_date")
    sheet.data_validation(HEADER_ROW + 1, col, last, col, {
        "validate": "date", "criteria": "between", "minimum": dt.date(1970, 1, 1), "maximum": dt.date(2100, 1, 1),
        "error_title": title, "error_message": ctx.label("validation.date")})

    widths = []
    for j, c in enumerate(columns):
        values = [v for v in reps[c.key].tolist() if not is_blank(v)] if c.key in reps else []
        texts = [c.header] + [v if isinstance(v, str) else "12,345,678" for v in values]
        widths.append(column_width(texts, minimum=10, maximum=32))
        sheet.set_column(j, j, widths[-1])
    sheet.set_row(HEADER_ROW, header_height([(c.header, w) for c, w in zip(columns, widths)]))
    sheet.freeze_panes(HEADER_ROW + 1, 1)
    sheet.set_landscape()
    sheet.set_paper(9)
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(HEADER_ROW)
    sheet.print_area(0, 0, last, len(columns) - 1)
    sheet.set_footer("&L&A&R" + ctx.label("input.footer"))
    return sheet
