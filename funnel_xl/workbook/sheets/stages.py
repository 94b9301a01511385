"""The 阶段设置 sheet: the methodology as three named tables the user may edit (stages, criteria, meta).

Win rates and ideal shares are stored as fractions shown as percentages (35 %), the way a manager types them;
the reader accepts 0.35 or 35. The stage-name column of the workbook's language feeds the stage dropdown
(``lstStages``) and the 商机 formulas, so renaming a stage here renames it everywhere it is looked up.
"""

from __future__ import annotations

import pandas as pd
from xlsxwriter.worksheet import Worksheet

from funnel_xl.domain.methodology import methodology_to_tables
from funnel_xl.labels import label
from funnel_xl.workbook.contract import (
    TABLE_CRITERIA, TABLE_META, TABLE_STAGES, checklist_header, sheet_name,
)
from funnel_xl.workbook.sheets.context import BuildContext, column_ref, write_value
from funnel_xl.workbook.sheets.styles import column_width, header_height, wrapped_lines

NAME_STAGES = "lstStages"
TITLE_ROW, NOTE_ROW, FIRST_SECTION_ROW = 0, 1, 3  # 0-based rows


def stage_name_header(lang: str) -> str:
    """Header of the stage-name column in the workbook's language (what 商机 shows and looks up)."""
    return label("col.stage_zh" if lang == "zh-CN" else "col.stage_en", lang)


def _stage_columns(lang: str) -> list[tuple[str, str, str]]:
    """(column key in the methodology table, label key, format key), the workbook language's texts first."""
    mine, other = ("zh", "en") if lang == "zh-CN" else ("en", "zh")
    return [
        ("order", "col.stage_order", "in_integer"),
        (mine, f"col.stage_{mine}", "in_text"),
        ("win_rate", "col.stage_win_rate", "in_percent"),
        ("ideal_share", "col.ideal_share", "in_share"),
        (f"main_work_{mine}", f"col.main_work_{mine}", "in_wrap"),
        (f"owner_{mine}", f"col.owner_{mine}", "in_wrap"),
        ("key", "col.stage_key", "in_text"),
        (other, f"col.stage_{other}", "in_text"),
        ("synonyms", "col.synonyms", "in_wrap"),
        (f"main_work_{other}", f"col.main_work_{other}", "in_wrap"),
        (f"owner_{other}", f"col.owner_{other}", "in_wrap"),
    ]


def _criteria_columns(lang: str) -> list[tuple[str, str, str]]:
    mine, other = ("zh", "en") if lang == "zh-CN" else ("en", "zh")
    return [
        ("stage_key", "col.criterion_stage", "in_text"),
        (mine, f"col.criterion_{mine}", "in_wrap"),
        ("required", "col.criterion_required", "in_check"),
        ("key", "col.criterion_key", "in_text"),
        (other, f"col.criterion_{other}", "in_wrap"),
        ("column", "col.criterion_column", "in_wrap"),
    ]


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

    stage_cols, crit_cols = _stage_columns(ctx.lang), _criteria_columns(ctx.lang)
    meta_rows = [(k, v) for k, v in meta.items()] + [("language", ctx.lang)]
    meta_frame_cols = [("field", "input.meta_field", "in_text"), ("value", "input.meta_value", "in_wrap")]
    meta_frame = pd.DataFrame(meta_rows, columns=["field", "value"])
    widths = _set_widths(sheet, ctx, [(stage_cols, stages), (crit_cols, criteria), (meta_frame_cols, meta_frame)])

    row = FIRST_SECTION_ROW
    stage_header_row = row + 1
    row = _write_table(ctx, sheet, row, "input.section_stages", TABLE_STAGES, stage_cols, stages, widths)
    criteria_header_row = row + 3
    row = _write_table(ctx, sheet, row + 2, "input.section_criteria", TABLE_CRITERIA, crit_cols, criteria, widths)
    last_row = _write_table(ctx, sheet, row + 2, "input.section_meta", TABLE_META, meta_frame_cols, meta_frame,
                            widths)

    _validate(ctx, sheet, stage_header_row, len(stages), stage_cols, criteria_header_row, len(criteria), crit_cols)
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


def _validate(ctx, sheet, stage_header_row, n_stages, stage_cols, crit_header_row, n_criteria, crit_cols) -> None:
    """Win rate and ideal share between 0 and 100 %; required is 是/否."""
    keys = [k for k, _, _ in stage_cols]
    for key in ("win_rate", "ideal_share"):
        col = keys.index(key)
        sheet.data_validation(stage_header_row + 1, col, stage_header_row + max(n_stages, 1), col, {
            "validate": "decimal", "criteria": "between", "minimum": 0, "maximum": 1,
            "error_title": ctx.label("validation.title"), "error_message": ctx.label("validation.win_rate"),
        })
    col = [k for k, _, _ in crit_cols].index("required")
    sheet.data_validation(crit_header_row + 1, col, crit_header_row + max(n_criteria, 1), col, {
        "validate": "list", "source": [ctx.label("out.yes"), ctx.label("out.no")],
        "error_title": ctx.label("validation.title"), "error_message": ctx.label("validation.yes_no"),
    })


def _set_widths(sheet, ctx, tables) -> list[float]:
    """Each column as wide as the widest header or value over the tables stacked in it (wrapped beyond 44)."""
    n = max(len(cols) for cols, _ in tables)
    widths = []
    for j in range(n):
        texts: list[object] = []
        for cols, frame in tables:
            if j < len(cols):
                key, lk, _ = cols[j]
                texts.append(ctx.label(lk))
                texts.extend(frame[key].tolist())
        widths.append(column_width([t if isinstance(t, str) else "100%" for t in texts], maximum=44))
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
