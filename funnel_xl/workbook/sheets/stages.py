"""The 阶段设置 sheet: the methodology as three named tables the user may edit (stages, criteria, meta).

Win rates and ideal shares are stored as fractions shown as percentages (35 %), the way a manager types them;
the reader accepts 0.35 or 35. The stage-name column of the workbook's language feeds the stage dropdown
(``lstStages``) and the 商机 formulas, so renaming a stage here renames it everywhere it is looked up.
"""

from __future__ import annotations

import pandas as pd
from xlsxwriter.worksheet import Worksheet

from funnel_xl.domain.columns import CRITERIA, META, STAGES, table_width
from funnel_xl.domain.kinds import column_format
from funnel_xl.domain.methodology import methodology_to_tables
from funnel_xl.domain.parsing import basis_words
from funnel_xl.domain.settings import BASES, CLAIMED, DEFAULT_STALL_DAYS
from funnel_xl.labels import label
from funnel_xl.workbook.contract import (
    TABLE_CRITERIA, TABLE_META, TABLE_STAGES, checklist_header, header, sheet_name, shown_columns,
)
from funnel_xl.workbook.sheets.context import BuildContext, column_ref, quoted, write_value
from funnel_xl.workbook.sheets.styles import column_width, header_height, wrapped_lines
from funnel_xl.workbook.sheets.validation import add_validations

NAME_STAGES = "lstStages"
TITLE_ROW, NOTE_ROW, FIRST_SECTION_ROW = 0, 1, 3  # 0-based rows


def stage_name_header(lang: str) -> str:
    """Header of the stage-name column in the workbook's language (what 商机 shows and looks up)."""
    return header(STAGES, "zh" if lang == "zh-CN" else "en", lang)


def claimed_basis_test(lang: str) -> str:
    """A formula that is TRUE when 阶段设置's forecast basis (预测依据) names the claimed stage (销售阶段), read as the
    reader reads it (any of its spellings, surrounding spaces ignored); FALSE when it is blank, missing or anything
    else, the default being the assessed stage."""
    items = column_ref(TABLE_META, header(META, "item", lang))
    values = column_ref(TABLE_META, header(META, "value", lang))
    words = ",".join(quoted(w) for w in dict.fromkeys((label("basis.claimed", lang), *basis_words(CLAIMED))))
    cell = f"INDEX({values},MATCH({quoted(label('meta.basis', lang))},{items},0))"
    return f"IFERROR(ISNUMBER(MATCH(TRIM({cell}),{{{words}}},0)),FALSE)"


def _table_columns(table: str, lang: str) -> list[tuple[str, str, str]]:
    """(column key, label key, format key) of a 阶段设置 table, the workbook language's texts first."""
    return [(spec.key, spec.label, column_format(spec)) for spec in shown_columns(table, lang)]


def write_stages_sheet(ctx: BuildContext) -> Worksheet:
    """Write 阶段设置: title, note, the stage table, the criteria table and the methodology key/value table."""
    sheet = ctx.add_sheet("stages", sheet_name("stages", ctx.lang))
    meta, stages, criteria = methodology_to_tables(ctx.methodology)
    stages = stages.copy()
    stages.insert(0, "order", [s.order for s in ctx.methodology.stages])
    stages["win_rate"] = stages["win_rate"] / 100.0
    criteria = criteria.copy()
    yes, no = ctx.label("out.yes"), ctx.label("out.no")
    criteria["required"] = [yes if r else no for r in criteria["required"]]
    criteria["column"] = [
        checklist_header(stage, i, c, ctx.lang)
        for stage in ctx.methodology.stages for i, c in enumerate(stage.criteria, start=1)
    ]
    sheet.write_string(TITLE_ROW, 0, ctx.label("input.title_stages", name=ctx.methodology.name(ctx.lang)),
                       ctx.formats["title"])
    sheet.set_row(TITLE_ROW, 26)
    sheet.write_string(NOTE_ROW, 0, ctx.label("input.note_stages"), ctx.formats["stamp"])

    stage_cols, crit_cols = _table_columns(STAGES, ctx.lang), _table_columns(CRITERIA, ctx.lang)
    meta_frame_cols = _table_columns(META, ctx.lang)
    # The forecast settings follow, named in the workbook's language: they are the manager's to change.
    meta_rows = [(k, v) for k, v in meta.items()] + [("language", ctx.lang)] + [
        (ctx.label("meta.basis"), ctx.label(f"basis.{ctx.settings.basis}")),
        (ctx.label("meta.fiscal_year_start"),
         None if ctx.settings.fiscal_year_start == 1 else ctx.settings.fiscal_year_start),
        # Blank when it is the default, as the fiscal-year start: the label says what blank means.
        (ctx.label("meta.stall_days"),
         None if ctx.settings.stall_days == DEFAULT_STALL_DAYS else ctx.settings.stall_days)]
    meta_frame = pd.DataFrame(meta_rows, columns=[key for key, _, _ in meta_frame_cols])
    widths = _set_widths(sheet, ctx, [(stage_cols, stages, STAGES), (crit_cols, criteria, CRITERIA),
                                      (meta_frame_cols, meta_frame, META)])

    row = FIRST_SECTION_ROW
    stage_header_row = row + 1
    row = _write_table(ctx, sheet, row, "input.section_stages", TABLE_STAGES, stage_cols, stages, widths)
    criteria_header_row = row + 3
    row = _write_table(ctx, sheet, row + 2, "input.section_criteria", TABLE_CRITERIA, crit_cols, criteria, widths)
    last_row = _write_table(ctx, sheet, row + 2, "input.section_meta", TABLE_META, meta_frame_cols, meta_frame,
                            widths)

    _validate(ctx, sheet, stage_header_row, len(stages), criteria_header_row, len(criteria))
    _validate_settings(ctx, sheet, last_row - 2, last_row - 1, last_row)
    sheet.set_row(stage_header_row, header_height(
        [(ctx.label(lk), widths[i]) for i, (_, lk, _) in enumerate(stage_cols)], minimum=30))
    sheet.set_row(criteria_header_row, header_height(
        [(ctx.label(lk), widths[i]) for i, (_, lk, _) in enumerate(crit_cols)], minimum=30))
    ctx.workbook.define_name(NAME_STAGES, "=" + column_ref(TABLE_STAGES, stage_name_header(ctx.lang)))
    _page_setup(sheet, ctx, last_row, len(stage_cols) - 1)
    sheet.freeze_panes(FIRST_SECTION_ROW, 0)
    return sheet


def _write_table(ctx, sheet, section_row, section_key, table, columns, frame, widths) -> int:
    """Section title, then an Excel table of ``frame`` with rows tall enough for wrapped text; returns the
    0-based last row of the table."""
    sheet.write_string(section_row, 0, ctx.label(section_key), ctx.formats["section"])
    header_row = section_row + 1
    n = max(len(frame), 1)
    last_row = header_row + n
    sheet.add_table(header_row, 0, last_row, len(columns) - 1, {
        "name": table,
        "style": "Table Style Light 1",
        "columns": [{"header": ctx.label(lk), "header_format": ctx.formats["in_header"],
                     "format": ctx.formats[fk]} for _, lk, fk in columns],
    })
    for i, (_, values) in enumerate(frame.iterrows()):
        for j, (key, _, fk) in enumerate(columns):
            write_value(sheet, header_row + 1 + i, j, values[key], ctx.formats[fk])
        wrapped = [(values[key], widths[j]) for j, (key, _, fk) in enumerate(columns)
                   if fk == "in_wrap" and isinstance(values[key], str)]
        lines = max([wrapped_lines(text, width) for text, width in wrapped], default=1)
        if lines > 1:
            sheet.set_row(header_row + 1 + i, 15 * lines + 2)
    return last_row


def _validate(ctx, sheet, stage_header_row, n_stages, crit_header_row, n_criteria) -> None:
    """Win rate and ideal share between 0 and 100 %; required is 是/否 (by the columns' kinds)."""
    for table, header_row, n in ((STAGES, stage_header_row, n_stages), (CRITERIA, crit_header_row, n_criteria)):
        add_validations(ctx, sheet, list(enumerate(shown_columns(table, ctx.lang))), header_row + 1,
                        header_row + max(n, 1))


def _validate_settings(ctx, sheet, basis_row: int, fiscal_row: int, stall_row: int) -> None:
    """The basis is one of its two labels; the fiscal year starts in a month, 1 to 12 (blank: January); a deal is
    stalled after a whole number of days."""
    sheet.data_validation(stall_row, 1, stall_row, 1, {
        "validate": "integer", "criteria": ">=", "value": 1, "ignore_blank": True,
        "input_title": ctx.label("meta.stall_days")[:32], "input_message": ctx.label("input.stall_days_prompt")[:255]})
    sheet.data_validation(basis_row, 1, basis_row, 1, {
        "validate": "list", "source": [ctx.label(f"basis.{b}") for b in BASES],
        "input_title": ctx.label("meta.basis")[:32], "input_message": ctx.label("input.basis_prompt")[:255]})
    sheet.data_validation(fiscal_row, 1, fiscal_row, 1, {
        "validate": "integer", "criteria": "between", "minimum": 1, "maximum": 12, "ignore_blank": True,
        "input_title": ctx.label("meta.fiscal_year_start")[:32],
        "input_message": ctx.label("input.fiscal_year_prompt")[:255]})


def _set_widths(sheet, ctx, tables) -> list[float]:
    """Each column as wide as the widest header or value over the tables stacked in it, wrapped beyond the widest
    its tables allow."""
    n = max(len(cols) for cols, _, _ in tables)
    widths = []
    for j in range(n):
        texts: list[object] = []
        limit = 0.0
        for cols, frame, table in tables:
            if j < len(cols):
                key, lk, _ = cols[j]
                texts.append(ctx.label(lk))
                texts.extend(frame[key].tolist())
                limit = max(limit, table_width(table))
        widths.append(column_width([t if isinstance(t, str) else "100%" for t in texts], maximum=limit))
    for j, w in enumerate(widths):
        sheet.set_column(j, j, w)
    return widths


def _page_setup(sheet, ctx, last_row: int, last_col: int) -> None:
    sheet.set_landscape()
    sheet.set_paper(9)
    sheet.fit_to_pages(1, 0)
    sheet.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
    sheet.print_area(0, 0, last_row, last_col)
    sheet.set_footer("&L&A&R" + ctx.label("input.footer"))
