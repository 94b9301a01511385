"""Build Funnel.xlsm from the sources in the repo: labels, a methodology, sample or empty data, the VBA sources.

XlsxWriter writes every sheet (one small writer per sheet in ``sheets/``), formulas with their cached values,
the VBA project and the buttons; the ribbon part is added to the closed package. The output is reproducible:
fixed document dates and zip member dates, stable ordering, a deterministic VBA project, so two builds of the
same sources are byte for byte the same.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pandas as pd
import xlsxwriter

from funnel_xl.domain.methodology import Methodology
from funnel_xl.domain.schema import OPPORTUNITY_COLUMNS, REP_COLUMNS, checklist_column
from funnel_xl.errors import InputError
from funnel_xl.labels import check_language, label
from funnel_xl.workbook import ribbon
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

DATA_CHOICES = ("sample", "empty")
# Fixed document date: a rebuild of unchanged sources gives the same bytes.
DOCUMENT_DATE = dt.datetime(2026, 1, 1, 0, 0, 0)
# Sheet keys in workbook order, for the code names of the VBA document modules.
SHEET_ORDER = (*SHEET_KEYS, "conf", "styles")


def build_workbook(output: str | Path, *, lang: str = "zh-CN", methodology: str | Path = "big_project",
                   data: str = "sample", vba: bool = True) -> Path:
    """Build the workbook at ``output`` (.xlsm with VBA, .xlsx without) and return its path.

    ``methodology`` is a built-in key or a path to a methodology file; ``data`` is "sample" (the shipped demo
    pipeline, which is written for the big_project methodology) or "empty" (tables with one blank row).
    """
    from funnel_xl.methodologies import load_methodology

    check_language(lang)
    if data not in DATA_CHOICES:
        raise InputError(f"data {data!r} is not one of {', '.join(DATA_CHOICES)}")
    m = load_methodology(methodology)
    as_of = None
    if data == "sample":
        from funnel_xl.sample import SAMPLE_AS_OF, load_sample

        sample = load_sample()
        if getattr(sample, "methodology_key", m.key) != m.key:
            raise InputError(
                f"the sample data is written for the {sample.methodology_key!r} methodology, not {m.key!r}; "
                f"build with data='empty' for another methodology"
            )
        opportunities, reps, as_of = sample.opportunities, sample.reps, SAMPLE_AS_OF
    else:
        opportunities, reps = empty_opportunities(m), empty_reps()
    path = write_workbook(output, lang=lang, methodology=m, opportunities=opportunities, reps=reps, vba=vba,
                          as_of=as_of)
    if as_of is not None:
        fill_output_sheets(path, as_of, sample.history)
    return path


def fill_output_sheets(path: Path, as_of: dt.date, history: pd.DataFrame) -> None:
    """Seed the snapshot history beside the workbook with the sample's weeks, then run Recalculate on the freshly
    built workbook, so the shipped file opens with its figures (and next week's progress) in place."""
    from funnel_xl.domain.figures import weekly_totals
    from funnel_xl.history import SnapshotStore, history_path
    from funnel_xl.services.recalculate import recalculate
    from funnel_xl.workbook.file_adapter import FileWorkbook

    store_path = history_path(path)
    store_path.unlink(missing_ok=True)
    with SnapshotStore(store_path) as store:
        for date, snapshot in history.groupby("snapshot_date", sort=True):
            store.save(snapshot, weekly_totals(snapshot, date.date()))
        book = FileWorkbook(path, quiet=True)
        # The stamp on the sheets is part of the build's output, so it is fixed: the report date's evening.
        recalculate(book, as_of, history=store, source=path.name,
                    run_at=dt.datetime.combine(as_of, dt.time(18, 0)))
    if book.backup is not None:
        book.backup.unlink(missing_ok=True)


def empty_opportunities(m: Methodology) -> pd.DataFrame:
    """An opportunities frame with the canonical and checklist columns and no rows."""
    columns = list(OPPORTUNITY_COLUMNS) + [checklist_column(c.key) for c in m.criteria()]
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


def empty_reps() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in REP_COLUMNS})


def write_workbook(output: str | Path, *, lang: str, methodology: Methodology, opportunities: pd.DataFrame,
                   reps: pd.DataFrame, vba: bool = True, as_of: dt.date | None = None) -> Path:
    """Write the workbook from a methodology and canonical frames (the part of the build after loading)."""
    output = Path(output)
    expected = ".xlsm" if vba else ".xlsx"
    if output.suffix.lower() != expected:
        raise InputError(f"{output.name}: a workbook {'with' if vba else 'without'} macros must be named *{expected}")
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".build.tmp" + expected)
    workbook = xlsxwriter.Workbook(str(tmp), {
        "in_memory": True,  # members get XlsxWriter's fixed 1980 date instead of the file time
        "default_format_properties": dict(DEFAULT_FORMAT),
        "strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False,
    })
    try:
        ctx = BuildContext(workbook=workbook, formats=make_formats(workbook), lang=lang, methodology=methodology,
                           opportunities=opportunities, reps=reps,
                           cached=cached_figures(opportunities, methodology), vba=vba)
        _set_properties(ctx)
        write_guide_sheet(ctx)
        write_stages_sheet(ctx)
        write_opportunities_sheet(ctx)
        write_reps_sheet(ctx)
        write_output_sheets(ctx)
        # The examples' report date is an input cell the user changes; a fixed default keeps builds reproducible.
        write_examples_sheet(ctx, as_of or DOCUMENT_DATE.date())
        write_config_sheet(ctx)
        styles = write_styles_sheet(workbook, ctx.formats)
        if vba:
            styles.set_vba_name(code_name("styles"))
            workbook.set_vba_name("ThisWorkbook")
            workbook.add_vba_project(io.BytesIO(vba_project()), is_stream=True)
    finally:
        workbook.close()
    if vba:
        ribbon.add_ribbon(tmp, lang)
    tmp.replace(output)
    return output


def vba_project() -> bytes:
    """The VBA project with a document module per sheet, named by the sheets' code names."""
    from funnel_xl.workbook.vba import funnel_vba_project

    return funnel_vba_project([code_name(key) for key in SHEET_ORDER])


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
