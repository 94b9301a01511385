"""The 函数示例 sheet: each worksheet function used on the sample beside a native formula that computes the same.

A Windows user with the xlwings add-in sees both columns agree; without Python the FUNNEL_ column shows an error
and the native column still works. Native formulas use only functions Excel 2016, WPS and LibreOffice share
(SUMPRODUCT, SUMIFS, INDEX, MATCH, EDATE). Every formula cell carries the value the domain computes, so the sheet
reads right before any recalculation (mail previews, phones, pandas).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from xlsxwriter.utility import xl_rowcol_to_cell
from xlsxwriter.worksheet import Worksheet

from funnel_xl.domain.forecast import time_bucket
from funnel_xl.domain.funnel import required_pipeline
from funnel_xl.domain.schema import CHECKLIST_PREFIX
from funnel_xl.workbook.contract import (
    TABLE_OPPORTUNITIES, TABLE_STAGES, opportunity_columns, opportunity_header, sheet_name,
)
from funnel_xl.workbook.sheets.context import BuildContext, column_ref, quoted
from funnel_xl.workbook.sheets.opportunities import HEADER_ROW
from funnel_xl.workbook.sheets.stages import claimed_basis_test, stage_name_header

TITLE_ROW, NOTE_ROW, INPUT_ROW, HEADER = 0, 1, 3, 6  # 0-based rows
COL_WHAT, COL_UDF, COL_NATIVE, COL_AGREE = 0, 1, 2, 3
EXAMPLE_TARGET, EXAMPLE_AVG_DEAL = 5_000_000.0, 500_000.0
PROGRESS_EXAMPLE = (3_200_000.0, 1_500_000.0, 3_000_000.0, 1_200_000.0)


def write_examples_sheet(ctx: BuildContext, as_of: dt.date) -> Worksheet:
    """Write 函数示例 for the workbook being built (the sample's first opportunity is the worked row)."""
    sheet = ctx.add_sheet("examples", sheet_name("examples", ctx.lang))
    f = ctx.formats
    sheet.write_string(TITLE_ROW, 0, ctx.label("examples.title"), f["title"])
    sheet.write_string(NOTE_ROW, 0, ctx.label("examples.note"), f["note"])
    inputs = [("examples.as_of", dt.datetime.combine(as_of, dt.time()), f["in_date"]),
              ("examples.target", EXAMPLE_TARGET, f["in_money"]), ("examples.avg_deal", EXAMPLE_AVG_DEAL, f["in_money"])]
    cells = {}
    for i, (key, value, fmt) in enumerate(inputs):
        sheet.write_string(INPUT_ROW + i, COL_WHAT, ctx.label(key), f["guide_key"])
        if isinstance(value, dt.datetime):
            sheet.write_datetime(INPUT_ROW + i, COL_UDF, value, fmt)
        else:
            sheet.write_number(INPUT_ROW + i, COL_UDF, value, fmt)
        cells[key] = xl_rowcol_to_cell(INPUT_ROW + i, COL_UDF, row_abs=True, col_abs=True)
    for col, key in ((COL_WHAT, "examples.col_what"), (COL_UDF, "examples.col_udf"),
                     (COL_NATIVE, "examples.col_native"), (COL_AGREE, "examples.col_agree")):
        sheet.write_string(HEADER, col, ctx.label(key), f["in_header"])

    row = HEADER + 1
    for what, udf, native, value, fmt in example_rows(ctx, as_of, cells):
        sheet.write_string(row, COL_WHAT, ctx.label(what) if what.startswith("examples.") else what, f["guide_text"])
        sheet.write_formula(row, COL_UDF, udf, f[fmt], value)
        sheet.write_formula(row, COL_NATIVE, native, f[fmt], value)
        a, b = xl_rowcol_to_cell(row, COL_UDF), xl_rowcol_to_cell(row, COL_NATIVE)
        yes, no = quoted(ctx.label("examples.yes")), quoted(ctx.label("examples.no"))
        sheet.write_formula(row, COL_AGREE, f"=IF(IF(ISNUMBER({a}),ABS({a}-{b})<0.005,{a}={b}),{yes},{no})",
                            f["calc_text"], ctx.label("examples.yes"))
        row += 1
    sheet.set_column(COL_WHAT, COL_WHAT, 40)
    sheet.set_column(COL_UDF, COL_NATIVE, 22)
    sheet.set_column(COL_AGREE, COL_AGREE, 12)
    sheet.set_landscape()
    sheet.set_paper(9)
    sheet.fit_to_pages(1, 0)
    return sheet


def example_rows(ctx: BuildContext, as_of: dt.date, cells: dict[str, str]) -> list[tuple[str, str, str, object, str]]:
    """(what, FUNNEL_ formula, native formula, cached value, format key) for each example row."""
    m, lang, opps = ctx.methodology, ctx.lang, ctx.opportunities
    t = TABLE_OPPORTUNITIES
    col = {k: column_ref(t, opportunity_header(k, lang)) for k in ("amount", "stage", "status", "close_date")}
    col["derived_stage"] = column_ref(t, opportunity_header("derived_stage", lang))
    names = column_ref(TABLE_STAGES, stage_name_header(lang))
    rates = column_ref(TABLE_STAGES, ctx.label("col.stage_win_rate"))
    stages_all = f"{TABLE_STAGES}[#All]"
    open_label, won_label, lost_label = (quoted(ctx.label(f"status.{k}")) for k in ("open", "won", "lost"))
    lang_arg = "" if lang == "zh-CN" else ',"en"'
    rows: list[tuple[str, str, str, object, str]] = []

    rows.append(("examples.row_amount", '=FUNNEL_AMOUNT("120万")', '=LEFT("120万",LEN("120万")-1)*10000',
                 1_200_000.0, "calc_money"))
    probe = m.stages[len(m.stages) // 2]
    probe_name = quoted(probe.name(lang))
    rows.append((ctx.label("examples.row_winrate", stage=probe.name(lang)), f"=FUNNEL_WINRATE({probe_name},{stages_all})",
                 f"=INDEX({rates},MATCH({probe_name},{names},0))", probe.win_rate, "calc_percent"))
    weighted = float(ctx.cached["weighted"].fillna(0).sum()) if not opps.empty else 0.0
    # The function takes the rates 商机 shows (on the basis); the native twin works them out from the stages.
    col["win_rate"] = column_ref(t, opportunity_header("win_rate", lang))
    rows.append(("examples.row_weighted",
                 f"=FUNNEL_WEIGHTED({col['amount']},{col['win_rate']},{col['status']},{stages_all})",
                 _weighted_native(ctx, col, rates, names, open_label), weighted, "calc_money"))
    if not opps.empty:
        first = HEADER_ROW + 1
        keys = [c.key for c in opportunity_columns(m, lang)]  # the registry's columns, then the checklist
        checks = [j for j, key in enumerate(keys) if key.startswith(CHECKLIST_PREFIX)]
        quoted_sheet = "'" + sheet_name("opportunities", lang).replace("'", "''") + "'"
        checklist = (f"{quoted_sheet}!{xl_rowcol_to_cell(first, checks[0])}:"
                     f"{xl_rowcol_to_cell(first, checks[-1])}")
        derived = ctx.cached["derived_stage"].iloc[0]
        answered = bool(ctx.cached["answered"].iloc[0])
        stage_text = m.stage(derived).name(lang) if answered else ctx.label("assessment.not_assessed")
        rows.append(("examples.row_stage", f"=FUNNEL_STAGE({checklist},\"{m.key}\"{lang_arg})",
                     f"=INDEX({col['derived_stage']},1)", stage_text, "calc_text"))
        rows.append(_bucket_row(ctx, as_of, cells["examples.as_of"], col, (open_label, won_label, lost_label),
                                lang_arg))
    tf, ta, lf, la = PROGRESS_EXAMPLE
    rows.append(("examples.row_progress", f"=FUNNEL_PROGRESS({tf:.0f},{ta:.0f},{lf:.0f},{la:.0f})",
                 f"=({tf:.0f}+{ta:.0f})-({lf:.0f}+{la:.0f})", (tf + ta) - (lf + la), "calc_money"))
    table = required_pipeline(EXAMPLE_TARGET, m, avg_deal_size=EXAMPLE_AVG_DEAL)
    target, avg = cells["examples.target"], cells["examples.avg_deal"]
    required = f"{target},{avg},{stages_all}"
    for n, (key, r) in enumerate(table.iterrows(), start=1):
        value = "" if pd.isna(r.amount_needed) else float(r.amount_needed)
        rate = f"INDEX({rates},{n})"
        rows.append((f"{ctx.label('examples.row_required')}: {m.stage(key).name(lang)}",
                     f'=IF(INDEX(FUNNEL_REQUIRED({required}),{n + 1},2)=0,"",INDEX(FUNNEL_REQUIRED({required}),{n + 1},3))',
                     f'=IF({rate}=0,"",{target}/{rate})', value, "calc_money"))
    return rows


def _weighted_native(ctx, col, rates, names, open_label) -> str:
    """Σ amount × rate over open rows, the rate of the assessed stage unless the basis is the claimed stage or the
    row is not assessed: a blend written with arithmetic, since an IF over ranges inside SUMPRODUCT needs an array
    formula in Excel 2016."""
    not_assessed = quoted(ctx.label("assessment.not_assessed"))
    claimed = f"(1-(1-{claimed_basis_test(ctx.lang)})*({col['derived_stage']}<>{not_assessed}))"
    at_derived = f"SUMIFS({rates},{names},{col['derived_stage']})"
    rate = f"({at_derived}+(SUMIFS({rates},{names},{col['stage']})-{at_derived})*{claimed})"
    return f"=SUMPRODUCT({rate}*{col['amount']}*({col['status']}={open_label}))"


def _bucket_row(ctx, as_of, as_of_cell, col, status_labels, lang_arg):
    """The first opportunity's time bucket, natively: EDATE steps of 3 months from the report date."""
    open_label, won_label, lost_label = status_labels
    opps = ctx.opportunities
    bucket = time_bucket(opps.iloc[[0]], as_of).iloc[0]
    value = "" if pd.isna(bucket) else ctx.label(f"bucket.{bucket}")
    d, s = f"INDEX({col['close_date']},1)", f"INDEX({col['status']},1)"
    steps = [("m0_3", 3), ("m3_6", 6), ("m6_9", 9), ("m9_12", 12)]
    native = quoted(ctx.label("bucket.later"))
    for key, months in reversed(steps):
        native = f"IF({d}<EDATE({as_of_cell},{months}),{quoted(ctx.label(f'bucket.{key}'))},{native})"
    native = f"IF({d}<{as_of_cell},{quoted(ctx.label('bucket.overdue'))},{native})"
    native = f'=IF({s}={won_label},{quoted(ctx.label("bucket.closed"))},IF({s}={lost_label},"",{native}))'
    udf = f"=FUNNEL_BUCKET({d},{as_of_cell},{s}{lang_arg})"
    return ("examples.row_bucket", udf, native, value, "calc_text")
