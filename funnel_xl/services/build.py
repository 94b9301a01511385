"""Build the workbook (funnel-xl build-workbook): write it from the sources and, with the sample data, seed its
weekly history and run Recalculate, so the shipped file opens with its figures (and next week's progress).

A build is written beside its target under a temporary name and then goes through the one save path, under the
target's lock. A workbook already there is replaced only when it holds nothing the build would lose (its input
tables and sheets are the ones the build writes), or with ``force`` (then it is kept as the backup); a history
already beside it is replaced only when it holds nothing but what the build seeds, and is otherwise left alone.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pandas as pd

from funnel_xl.domain.figures import weekly_totals
from funnel_xl.errors import FunnelError, InputError, WorkbookExistsError
from funnel_xl.history import SnapshotStore, history_path
from funnel_xl.labels import check_language
from funnel_xl.methodologies import load_methodology
from funnel_xl.services.recalculate import recalculate
from funnel_xl.workbook import contract
from funnel_xl.workbook.build import empty_opportunities, empty_reps, write_workbook
from funnel_xl.workbook.file_adapter import FileWorkbook
from funnel_xl.workbook.saving import commit, prepare_write, temp_path

DATA_CHOICES = ("sample", "empty")
TABLES = (contract.TABLE_META, contract.TABLE_STAGES, contract.TABLE_CRITERIA, contract.TABLE_OPPORTUNITIES,
          contract.TABLE_REPS)


def build_workbook(output: str | Path, *, lang: str = "zh-CN", methodology: str | Path = "big_project",
                   data: str = "sample", vba: bool = True, force: bool = False, examples: bool = False) -> Path:
    """Build the workbook at ``output`` (.xlsm with VBA, .xlsx without) and return its path.

    ``methodology`` is a built-in key or a path to a methodology file; ``data`` is "sample" (the shipped demo
    pipeline, which is written for the big_project methodology) or "empty" (tables with one blank row). A
    workbook at ``output`` that holds data of its own is refused (``WorkbookExistsError``) unless ``force``.
    ``examples`` adds 函数示例 (a developer's sheet; the manager's workbook goes without it).
    """
    output = Path(output)
    check_language(lang)
    if data not in DATA_CHOICES:
        raise InputError(f"data {data!r} is not one of {', '.join(DATA_CHOICES)}")
    expected = ".xlsm" if vba else ".xlsx"
    if output.suffix.lower() != expected:
        raise InputError(f"{output.name}: a workbook {'with' if vba else 'without'} macros must be named *{expected}")
    m = load_methodology(methodology)
    sample = None
    if data == "sample":
        from funnel_xl.sample import load_sample

        sample = load_sample()
        if getattr(sample, "methodology_key", m.key) != m.key:
            raise InputError(
                f"the sample data is written for the {sample.methodology_key!r} methodology, not {m.key!r}; "
                f"build with data='empty' for another methodology"
            )
    output.parent.mkdir(parents=True, exist_ok=True)
    locks = prepare_write(output)
    staging = temp_path(output, f"build{output.suffix}")
    try:
        if sample is None:
            write_workbook(staging, lang=lang, methodology=m, opportunities=empty_opportunities(m),
                           reps=empty_reps(), vba=vba, examples=examples)
        else:
            from funnel_xl.sample import SAMPLE_AS_OF

            write_workbook(staging, lang=lang, methodology=m, opportunities=sample.opportunities, reps=sample.reps,
                           vba=vba, as_of=SAMPLE_AS_OF, examples=examples)
            fill_output_sheets(staging, SAMPLE_AS_OF, sample.history)
        if output.exists():
            lost = data_lost(output, staging)
            if lost and not force:
                raise WorkbookExistsError(
                    f"{output.name} holds data this build would replace ({'; '.join(lost)}): build elsewhere with "
                    f"-o, or replace it with --force (it is then kept as its backup, and its history is left alone)")
        commit(output, lambda tmp: os.replace(staging, tmp))
        if sample is not None:
            _place_history(history_path(staging), history_path(output))
    finally:
        staging.unlink(missing_ok=True)
        history_path(staging).unlink(missing_ok=True)
        for held in locks:
            held.release()
    return output


def fill_output_sheets(path: Path, as_of: dt.date, history: pd.DataFrame) -> None:
    """Seed the snapshot history beside the workbook with ``history``'s weeks, then run Recalculate on the
    freshly written workbook as of ``as_of`` (no backup is kept: there was nothing before it)."""
    store_path = history_path(path)
    store_path.unlink(missing_ok=True)
    with SnapshotStore(store_path) as store:
        for date, snapshot in history.groupby("snapshot_date", sort=True):
            store.save(snapshot, weekly_totals(snapshot, date.date()))
        # The stamp on the sheets is part of the build's output, so it is fixed: the report date's evening.
        with FileWorkbook(path, quiet=True) as book:
            result = recalculate(book, as_of, history=store, run_at=dt.datetime.combine(as_of, dt.time(18, 0)))
    if result.saved.backup is not None:
        result.saved.backup.unlink(missing_ok=True)


def data_lost(existing: Path, built: Path) -> list[str]:
    """What of ``existing`` a build replacing it with ``built`` would lose: each input table that differs (with
    its rows), each sheet of the user's own; a workbook that cannot be read is all lost."""
    try:
        with FileWorkbook(existing, read_only=True, quiet=True) as old, \
                FileWorkbook(built, read_only=True, quiet=True) as new:
            lost = []
            for table in TABLES:
                before, after = _comparable(old.read_table(table).frame), _comparable(new.read_table(table).frame)
                if before != after:
                    lost.append(f"the table {table}, {len(before[1])} rows")
            lost += [f"the sheet {name}" for name in old.sheet_names() if name not in new.sheet_names()]
            return lost
    except (FunnelError, OSError, ValueError) as exc:
        return [f"it cannot be read as a workbook ({exc})"]


def _comparable(frame: pd.DataFrame) -> tuple[list[str], list[list[object]]]:
    """A table's header and values, with every kind of blank the same, so two reads of like data compare equal."""
    values = frame.astype(object).where(frame.notna(), None).values.tolist()
    return [str(c) for c in frame.columns], values


def _place_history(built: Path, target: Path) -> None:
    """The seeded history goes beside the workbook unless one is there holding more than the seed: that one is a
    team's and is left alone."""
    if not built.exists():
        return
    if target.exists() and not _only_seeded(target, built):
        return
    os.replace(built, target)


def _only_seeded(existing: Path, built: Path) -> bool:
    """Whether every snapshot of ``existing`` is one ``built`` holds too, with the same rows."""
    try:
        with SnapshotStore(existing) as old, SnapshotStore(built) as new:
            dates = set(new.dates())
            return all(d in dates and old.snapshot(d).equals(new.snapshot(d)) for d in old.dates())
    except FunnelError:
        return False
