"""The 销售人员 sheet: tblReps (name, e-mail, hire date, region, annual quota in 元, manager).

The name column feeds the rep dropdown of 商机 through the defined name ``lstReps``, which names the table
column, so a rep added to the table appears in the dropdown.
"""

from __future__ import annotations

import datetime as dt

from xlsxwriter.worksheet import Worksheet

from funnel_xl.domain.columns import REPS, columns, table_width
from funnel_xl.domain.kinds import column_format
from funnel_xl.workbook.contract import TABLE_REPS, sheet_name
from funnel_xl.workbook.sheets.context import BuildContext, column_ref, is_blank, write_value
from funnel_xl.workbook.sheets.styles import column_width, header_height
from funnel_xl.workbook.sheets.validation import add_validations

NAME_REPS = "lstReps"
TITLE_ROW, NOTE_ROW, HEADER_ROW = 0, 1, 3  # 0-based


def write_reps_sheet(ctx: BuildContext) -> Worksheet:
    """Write 销售人员: title, note and the reps table; define lstReps."""
    sheet = ctx.add_sheet("reps", sheet_name("reps", ctx.lang))
    specs = columns(REPS)
    headers = [ctx.label(spec.label) for spec in specs]
    formats = [ctx.formats[column_format(spec)] for spec in specs]
    sheet.write_string(TITLE_ROW, 0, ctx.label("input.title_reps"), ctx.formats["title"])
    sheet.set_row(TITLE_ROW, 26)
    sheet.write_string(NOTE_ROW, 0, ctx.label("input.note_reps"), ctx.formats["stamp"])
    reps = ctx.reps
    last = HEADER_ROW + max(len(reps), 1)
    sheet.add_table(HEADER_ROW, 0, last, len(specs) - 1, {
        "name": TABLE_REPS,
        "style": "Table Style Light 1",
        "columns": [{"header": h, "header_format": ctx.formats["in_header"], "format": f}
                    for h, f in zip(headers, formats)],
    })
    for i, (_, r) in enumerate(reps.iterrows()):
        for j, spec in enumerate(specs):
            write_value(sheet, HEADER_ROW + 1 + i, j, r.get(spec.key), formats[j])
    ctx.workbook.define_name(NAME_REPS, "=" + column_ref(TABLE_REPS, headers[0]))
    add_validations(ctx, sheet, list(enumerate(specs)), HEADER_ROW + 1, last, earliest=dt.date(1970, 1, 1))

    widths = []
    for j, spec in enumerate(specs):
        values = [v for v in reps[spec.key].tolist() if not is_blank(v)] if spec.key in reps else []
        texts = [headers[j]] + [v if isinstance(v, str) else "12,345,678" for v in values]
        widths.append(column_width(texts, minimum=10, maximum=spec.width or table_width(REPS)))
        sheet.set_column(j, j, widths[-1])
    sheet.set_row(HEADER_ROW, header_height(list(zip(headers, widths))))
    sheet.freeze_panes(HEADER_ROW + 1, 1)
    sheet.set_landscape()
    sheet.set_paper(9)
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(HEADER_ROW)
    sheet.print_area(0, 0, last, len(specs) - 1)
    sheet.set_footer("&L&A&R" + ctx.label("input.footer"))
    return sheet
