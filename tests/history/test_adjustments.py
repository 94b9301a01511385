"""Manager adjustments kept with the week's snapshot, the adjusted figure and the computed one, on both backends."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pandas as pd

from funnel_xl.history import SnapshotStore
from tests.history.conftest import snapshot_of

WEEK = dt.date(2026, 11, 20)


def adjustments(*rows) -> pd.DataFrame:
    """(team, rep, quarter, adjusted, computed, reason) rows, as the roll-up stores them."""
    return pd.DataFrame([{"team": t, "rep": r, "quarter": q, "adjusted": a, "computed": c, "reason": why, "by": "王总",
                          "entered": pd.Timestamp("2026-11-19")} for t, r, q, a, c, why in rows])


def test_an_adjustment_is_stored_with_its_week_beside_the_computed_forecast(store):
    store.save(snapshot_of(WEEK.isoformat(), [("OPP-1", "intent", 1.0, "open")]))
    typed = adjustments(("华东销售", "张伟", "2026Q4", 8_000_000.0, 2_310_000.0, "客户口头确认"),
                        ("华北销售", None, "2027Q1", 15_000_000.0, 9_586_500.0, None))
    store.save_adjustments(WEEK, typed)
    back = store.adjustments(WEEK)
    assert back[["team", "quarter", "adjusted", "computed"]].values.tolist() == \
        typed[["team", "quarter", "adjusted", "computed"]].values.tolist()
    assert back["rep"].tolist() == ["张伟", None]  # None: the whole team
    assert back["reason"].tolist() == ["客户口头确认", None]
    assert back["entered"].tolist() == [pd.Timestamp("2026-11-19")] * 2
    assert store.adjustments(WEEK - dt.timedelta(days=7)).empty


def test_a_rerun_replaces_that_weeks_adjustments_and_keeps_the_other_weeks(store):
    last = WEEK - dt.timedelta(days=7)
    store.save_adjustments(last, adjustments(("华东销售", None, "2026Q4", 1.0, 2.0, "上周")))
    store.save_adjustments(WEEK, adjustments(("华东销售", None, "2026Q4", 3.0, 4.0, "先写")))
    store.save_adjustments(WEEK, adjustments(("华东销售", None, "2026Q4", 5.0, 4.0, "改了")))
    assert store.adjustments(WEEK)["reason"].tolist() == ["改了"]
    assert store.adjustments(last)["reason"].tolist() == ["上周"]


def test_a_companys_adjustments_are_kept_apart_from_another_history_in_the_same_store(open_team):
    company, other = open_team("公司汇总"), open_team("华东销售")
    company.save_adjustments(WEEK, adjustments(("华东销售", None, "2026Q4", 1.0, 2.0, "公司")))
    assert other.adjustments(WEEK).empty


def test_a_history_file_from_before_adjustments_gains_their_table_when_opened(tmp_path):
    path = tmp_path / "华东销售.history.sqlite"
    with sqlite3.connect(path) as db:  # the file format as released before adjustments
        db.executescript("CREATE TABLE snapshot (snapshot_date TEXT PRIMARY KEY, rows INTEGER NOT NULL, "
                         "data BLOB NOT NULL); CREATE TABLE seen (id TEXT PRIMARY KEY, first_seen TEXT NOT NULL);")
    with SnapshotStore(path, read_only=True) as store:
        assert store.adjustments(WEEK).empty  # read-only: nothing is written, and there is nothing to read
    with SnapshotStore(path) as store:
        store.save_adjustments(WEEK, adjustments(("华东销售", None, "2026Q4", 1.0, 2.0, "有了")))
        assert store.adjustments(WEEK)["reason"].tolist() == ["有了"]
