"""Build the workbook (funnel-xl build-workbook): write it from the sources and, with the sample data, seed its
weekly history and run Recalculate, so the shipped file opens with its figures (and next week's progress)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from funnel_xl.domain.figures import weekly_totals
from funnel_xl.errors import InputError
from funnel_xl.history import SnapshotStore, history_path
from funnel_xl.labels import check_language
from funnel_xl.methodologies import load_methodology
from funnel_xl.services.recalculate import recalculate
from funnel_xl.workbook.build import empty_opportunities, empty_reps, write_workbook
from funnel_xl.workbook.file_adapter import FileWorkbook

DATA_CHOICES = ("sample", "empty")


def build_workbook(output: str | Path, *, lang: str = "zh-CN", methodology: str | Path = "big_project",
                   data: str = "sample", vba: bool = True, examples: bool = False) -> Path:
    """Build the workbook at ``output`` (.xlsm with VBA, .xlsx without) and return its path.

    ``methodology`` is a built-in key or a path to a methodology file; ``data`` is "sample" (the shipped demo
    pipeline, which is written for the big_project methodology) or "empty" (tables with one blank row).
    """
    check_language(lang)
    if data not in DATA_CHOICES:
        raise InputError(f"data {data!r} is not one of {', '.join(DATA_CHOICES)}")
    m = load_methodology(methodology)
    if data == "empty":
        return write_workbook(output, lang=lang, methodology=m, opportunities=empty_opportunities(m),
                              reps=empty_reps(), vba=vba, examples=examples)
    from funnel_xl.sample import SAMPLE_AS_OF, load_sample

    sample = load_sample()
    if getattr(sample, "methodology_key", m.key) != m.key:
        raise InputError(
            f"the sample data is written for the {sample.methodology_key!r} methodology, not {m.key!r}; "
            f"build with data='empty' for another methodology"
        )
    path = write_workbook(output, lang=lang, methodology=m, opportunities=sample.opportunities, reps=sample.reps,
                          vba=vba, as_of=SAMPLE_AS_OF, examples=examples)
    fill_output_sheets(path, SAMPLE_AS_OF, sample.history)
    return path


def fill_output_sheets(path: Path, as_of: dt.date, history: pd.DataFrame) -> None:
    """Seed the snapshot history beside the workbook with ``history``'s weeks, then run Recalculate on the
    freshly written workbook as of ``as_of`` (no backup is kept: there was nothing before it)."""
    store_path = history_path(path)
    store_path.unlink(missing_ok=True)
    with SnapshotStore(store_path) as store:
        for date, snapshot in history.groupby("snapshot_date", sort=True):
            store.save(snapshot, weekly_totals(snapshot, date.date()))
        # The stamp on the sheets is part of the build's output, so it is fixed: the report date's evening.
        result = recalculate(FileWorkbook(path, quiet=True), as_of, history=store,
                             run_at=dt.datetime.combine(as_of, dt.time(18, 0)))
    if result.saved.backup is not None:
        result.saved.backup.unlink(missing_ok=True)
