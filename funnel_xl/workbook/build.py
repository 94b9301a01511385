"""Write Funnel.xlsm from a methodology and canonical tables, with the labels and the VBA sources of the repo.

XlsxWriter writes every sheet (one small writer per sheet in ``sheets/``), formulas with their cached values,
the VBA project and the buttons; the ribbon part is added to the closed package. The output is reproducible:
fixed document dates and zip member dates, stable ordering, a deterministic VBA project, so two builds of the
same sources are byte for byte the same. ``services.build`` chooses the data and, for the sample, fills the
output sheets by running Recalculate on the written file.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pandas as pd
import xlsxwriter

from funnel_xl.domain.methodology import Methodology
from funnel_xl.domain.schema import OPPORTUNITY_COLUMNS, REP_COLUMNS, checklist_column
from funnel_xl.domain.settings import ForecastSettings
from funnel_xl.errors import InputError
from funnel_xl.labels import label
from funnel_xl.workbook import ribbon
from funnel_xl.workbook.saving import temp_path
from funnel_xl.workbook.sheets.config import write_config_sheet
from funnel_xl.workbook.contract import SHEET_KEYS
from funnel_xl.workbook.formula_cache import cached_figures
from funnel_xl.workbook.sheets.context import BuildContext, code_name
from funnel_xl.workbook.sheets.guide import write_guide_sheet
from funnel_xl.workbook.sheets.opportunities import write_opportunities_sheet
from funnel_xl.workbook.sheets.examples import write_examples_sheet
from funnel_xl.workbook.sheets.outputs import write_output_sheets
from funnel_xl.workbook.sheets.reps import write_reps_sheet
from funnel_xl.workbook.sheets.stages import write_stages_sheet
from funnel_xl.workbook.sheets.styles import DEFAULT_FORMAT, make_formats, write_styles_sheet

# Fixed document date: a rebuild of unchanged sources gives the same bytes.
DOCUMENT_DATE = dt.datetime(2026, 1, 1, 0, 0, 0)
# Sheet keys in workbook order, for the code names of the VBA document modules.
SHEET_ORDER = (*SHEET_KEYS, "conf", "styles")


def empty_opportunities(m: Methodology) -> pd.DataFrame:
    """An opportunities frame with the canonical and checklist columns and no rows."""
    columns = list(OPPORTUNITY_COLUMNS) + [checklist_column(c.key) for c in m.criteria()]
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


def empty_reps() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in REP_COLUMNS})


def write_workbook(output: str | Path, *, lang: str, methodology: Methodology, opportunities: pd.DataFrame,
                   reps: pd.DataFrame, vba: bool = True, as_of: dt.date | None = None,
                   settings: ForecastSettings = ForecastSettings(), examples: bool = False) -> Path:
    """Write the workbook from a methodology and canonical frames (the part of the build after loading); ``settings``
    are the forecast settings 阶段设置 starts with (the 商机 formulas' cached values follow its basis). ``examples``
    adds 函数示例, the worksheet functions beside their native twins: a developer's sheet, which without the
    add-in is a wall of #NAME?, so a manager's workbook goes without it."""
    output = Path(output)
    expected = ".xlsm" if vba else ".xlsx"
    if output.suffix.lower() != expected:
        raise InputError(f"{output.name}: a workbook {'with' if vba else 'without'} macros must be named *{expected}")
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(output, f"build{expected}")
    workbook = xlsxwriter.Workbook(str(tmp), {
        "in_memory": True,  # members get XlsxWriter's fixed 1980 date instead of the file time
        "default_format_properties": dict(DEFAULT_FORMAT),
        "strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False,
    })
    try:
        _write_sheets(workbook, lang, methodology, opportunities, reps, vba, as_of, settings, examples)
    except BaseException:
        workbook.fileclosed = True  # nothing of a failed build is written: no half-built file is left behind
        tmp.unlink(missing_ok=True)
        raise
    workbook.close()
    try:
        if vba:
            ribbon.add_ribbon(tmp, lang)
        tmp.replace(output)
    finally:
        tmp.unlink(missing_ok=True)
    return output


def _write_sheets(workbook: xlsxwriter.Workbook, lang: str, methodology: Methodology, opportunities: pd.DataFrame,
                  reps: pd.DataFrame, vba: bool, as_of: dt.date | None, settings: ForecastSettings,
                  examples: bool = False) -> None:
    """Every sheet, the palette and the VBA project into the open XlsxWriter workbook."""
    ctx = BuildContext(workbook=workbook, formats=make_formats(workbook), lang=lang, methodology=methodology,
                       opportunities=opportunities, reps=reps,
                       cached=cached_figures(opportunities, methodology, settings.basis), vba=vba,
                       settings=settings, examples=examples)
    _set_properties(ctx)
    write_guide_sheet(ctx)
    write_stages_sheet(ctx)
    write_opportunities_sheet(ctx)
    write_reps_sheet(ctx)
    write_output_sheets(ctx)
    if examples:
        # The examples' report date is an input cell the user changes; a fixed default keeps builds reproducible.
        write_examples_sheet(ctx, as_of or DOCUMENT_DATE.date())
    write_config_sheet(ctx)
    styles = write_styles_sheet(workbook, ctx.formats)
    if vba:
        styles.set_vba_name(code_name("styles"))
        workbook.set_vba_name("ThisWorkbook")
        keys = [k for k in SHEET_ORDER if k in ctx.sheets or k == "styles"]
        workbook.add_vba_project(io.BytesIO(vba_project(keys)), is_stream=True)


def vba_project(keys: tuple[str, ...] | list[str] = SHEET_ORDER) -> bytes:
    """The VBA project with a document module per sheet written (``keys``), named by the sheets' code names."""
    from funnel_xl.workbook.vba import funnel_vba_project

    return funnel_vba_project([code_name(key) for key in keys])


def _set_properties(ctx: BuildContext) -> None:
    ctx.workbook.set_properties({
        "title": label("guide.title", ctx.lang),
        "subject": ctx.methodology.name(ctx.lang),
        "author": "funnel_xl",
        "company": "",
        "comments": "Built by funnel-xl build-workbook from the sources in the funnel_xl repository.",
        "created": DOCUMENT_DATE,
    })
    ctx.workbook.set_calc_mode("auto")
