"""A team's figures as the roll-up asks for them (``skip=TEAM_ONLY``): the recalculation's own, but for the parts the
company recomputes from every team's deals or leaves to each team."""

from __future__ import annotations

import dataclasses

import pandas as pd

from funnel_xl.domain.figures import TEAM_ONLY, Figures, Progress
from funnel_xl.history import SnapshotStore
from funnel_xl.sample import SAMPLE_AS_OF
from funnel_xl.services.master import read_master
from funnel_xl.services.recalculate import team_figures
from funnel_xl.workbook.file_adapter import FileWorkbook


def assert_same(mine, theirs, where: str) -> None:
    """Equal to the cent and in type: frames and series exactly (dtypes included), dicts and progress key by key."""
    if isinstance(mine, pd.DataFrame):
        pd.testing.assert_frame_equal(mine, theirs, check_exact=True, obj=where)
    elif isinstance(mine, pd.Series):
        pd.testing.assert_series_equal(mine, theirs, check_exact=True, obj=where)
    elif isinstance(mine, Progress):
        for f in dataclasses.fields(Progress):
            assert_same(getattr(mine, f.name), getattr(theirs, f.name), f"{where}.{f.name}")
    elif isinstance(mine, dict):
        assert mine.keys() == theirs.keys(), where
        for key in mine:
            assert_same(mine[key], theirs[key], f"{where}[{key}]")
    else:
        assert mine == theirs or (mine != mine and theirs != theirs), where  # NaN equals NaN here


def test_the_rollups_team_figures_are_the_recalcs_but_for_the_parts_the_company_recomputes(workbook):
    with FileWorkbook(workbook, read_only=True, quiet=True) as book:
        master = read_master(book)
    with SnapshotStore.for_workbook(workbook) as store:
        recalc = team_figures(master, SAMPLE_AS_OF, history=store)
        rollup = team_figures(master, SAMPLE_AS_OF, history=store, skip=TEAM_ONLY)
    assert recalc.progress.last_date is not None  # the sample's history has last week: the progress is compared too
    for f in dataclasses.fields(Figures):
        mine, theirs = getattr(rollup, f.name), getattr(recalc, f.name)
        if f.name in TEAM_ONLY:
            assert mine is None or mine.empty, f.name
            assert theirs is not None and not theirs.empty, f.name  # the recalculation still has them
        else:
            assert_same(mine, theirs, f.name)
