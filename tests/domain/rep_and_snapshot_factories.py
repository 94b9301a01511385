"""Builders for the reps table and weekly snapshots, beside ``factories.make_opps``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

from funnel_xl.domain.columns import REPS
from funnel_xl.domain.methodology import Methodology
from funnel_xl.domain.progress import take_snapshot
from funnel_xl.domain.schema import REP_COLUMNS
from factories import make_opps, typed


def make_reps(rows: Iterable[Mapping[str, object]]) -> pd.DataFrame:
    """A clean reps frame from dicts (hire_date as ISO text); email, region and manager filled in."""
    records = [{"email": None, "region": "East", "manager": "Boss", "annual_quota": None, **row} for row in rows]
    return typed(pd.DataFrame.from_records(records, columns=list(REP_COLUMNS)), REPS)


def make_snapshot(rows: Iterable[Mapping[str, object]], methodology: Methodology, snapshot_date: str) -> pd.DataFrame:
    """A snapshot taken on ``snapshot_date`` of the opportunities given as dicts (see ``make_opps``)."""
    return take_snapshot(make_opps(rows, methodology), pd.Timestamp(snapshot_date))
