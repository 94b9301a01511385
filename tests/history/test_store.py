"""The snapshot history beside the workbook: last week's snapshot, first-seen dates, replacing a re-run."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from funnel_xl.domain.schema import SNAPSHOT_COLUMNS
from funnel_xl.history import SnapshotStore, history_path


def _snapshot(date: str, rows: list[tuple[str, str, float, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"snapshot_date": pd.Timestamp(date), "id": i, "rep": "张伟", "customer": "客户", "project": "项目",
          "product": "ERP", "region": "华东", "amount": amount, "close_date": pd.Timestamp("2027-01-15"),
          "stage": stage, "status": status, "win_rate": 0.5} for i, stage, amount, status in rows],
        columns=list(SNAPSHOT_COLUMNS),
    )


@pytest.fixture
def store(tmp_path):
    with SnapshotStore(tmp_path / "h.sqlite") as s:
        yield s


def test_history_lives_beside_the_workbook_under_its_name(tmp_path):
    assert history_path(tmp_path / "Funnel (1).xlsm") == tmp_path / "Funnel (1).history.sqlite"


def test_last_week_is_the_latest_snapshot_at_least_seven_days_old(store):
    for d in ("2026-11-06", "2026-11-13", "2026-11-18"):
        store.save(_snapshot(d, [("A", "intent", 1.0, "open")]))
    assert store.previous_week(dt.date(2026, 11, 20)) == dt.date(2026, 11, 13)
    # with nothing a week old, the latest earlier snapshot stands in
    assert store.previous_week(dt.date(2026, 11, 7)) == dt.date(2026, 11, 6)
    assert store.previous_week(dt.date(2026, 11, 6)) is None


def test_a_rerun_on_the_same_day_replaces_that_days_snapshot(store):
    store.save(_snapshot("2026-11-13", [("A", "intent", 1.0, "open"), ("B", "intent", 2.0, "open")]))
    store.save(_snapshot("2026-11-13", [("A", "approved", 5.0, "open")]))
    snap = store.snapshot(dt.date(2026, 11, 13))
    assert list(snap["id"]) == ["A"] and snap.loc[0, "amount"] == 5.0 and snap.loc[0, "stage"] == "approved"
    assert store.dates() == [dt.date(2026, 11, 13)]


def test_first_seen_keeps_the_earliest_date_an_opportunity_appeared(store):
    store.save(_snapshot("2026-11-13", [("A", "intent", 1.0, "open")]))
    store.save(_snapshot("2026-11-06", [("A", "potential", 1.0, "open")]))
    store.save(_snapshot("2026-11-20", [("A", "intent", 1.0, "open"), ("B", "closed", 9.0, "won")]))
    seen = store.first_seen().set_index("id")["snapshot_date"]
    assert seen["A"] == pd.Timestamp("2026-11-06") and seen["B"] == pd.Timestamp("2026-11-20")


def test_snapshots_read_back_with_their_types(store):
    store.save(_snapshot("2026-11-13", [("A", "intent", 1234.5, "open")]))
    snap = store.snapshot(dt.date(2026, 11, 13))
    assert snap["close_date"].dtype.kind == "M" and snap.loc[0, "amount"] == 1234.5
