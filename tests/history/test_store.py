"""The weekly history, on either backend: last week's snapshot, first-seen dates, re-runs, teams side by side."""

from __future__ import annotations

import datetime as dt
import multiprocessing
from pathlib import Path

import pandas as pd
import pytest

from funnel_xl.domain.figures import weekly_totals
from funnel_xl.errors import InputError
from funnel_xl.history import SnapshotStore, copy_history, history_path, open_history
from funnel_xl.history.postgres import mask_url
from funnel_xl.sample import load_sample
from tests.history.conftest import snapshot_of


def _ids(store, date: str) -> list[str]:
    return list(store.snapshot(dt.date.fromisoformat(date))["id"])


def test_history_lives_beside_the_workbook_under_its_name(tmp_path):
    assert history_path(tmp_path / "Funnel (1).xlsm") == tmp_path / "Funnel (1).history.sqlite"
    with open_history(tmp_path / "Funnel (1).xlsm") as store:
        assert isinstance(store, SnapshotStore) and store.path == history_path(tmp_path / "Funnel (1).xlsm")


def test_only_a_postgresql_url_selects_a_database(tmp_path):
    with pytest.raises(InputError, match="postgresql://") as caught:
        open_history(tmp_path / "华东销售.xlsm", "mysql://root:hunter2@db/funnel")
    assert "hunter2" not in str(caught.value)
    assert mask_url("mysql://root:hunter2@db/funnel") == "mysql://root:***@db/funnel"
    assert mask_url("postgresql://u@h/db?password=hunter2&sslmode=require") == \
        "postgresql://u@h/db?password=***&sslmode=require"


def test_last_week_is_the_latest_snapshot_at_least_seven_days_old(store):
    for d in ("2026-11-06", "2026-11-13", "2026-11-18"):
        store.save(snapshot_of(d, [("A", "intent", 1.0, "open")]))
    assert store.previous_week(dt.date(2026, 11, 20)) == dt.date(2026, 11, 13)
    # with nothing a week old, the latest earlier snapshot stands in
    assert store.previous_week(dt.date(2026, 11, 7)) == dt.date(2026, 11, 6)
    assert store.previous_week(dt.date(2026, 11, 6)) is None


def test_a_rerun_on_the_same_day_replaces_that_days_snapshot(store):
    store.save(snapshot_of("2026-11-13", [("A", "intent", 1.0, "open"), ("B", "intent", 2.0, "open")]))
    store.save(snapshot_of("2026-11-13", [("A", "approved", 5.0, "open")]))
    snap = store.snapshot(dt.date(2026, 11, 13))
    assert list(snap["id"]) == ["A"] and snap.loc[0, "amount"] == 5.0 and snap.loc[0, "stage"] == "approved"
    assert store.dates() == [dt.date(2026, 11, 13)]


def test_first_seen_keeps_the_earliest_date_an_opportunity_appeared(store):
    store.save(snapshot_of("2026-11-13", [("A", "intent", 1.0, "open")]))
    store.save(snapshot_of("2026-11-06", [("A", "potential", 1.0, "open")]))
    store.save(snapshot_of("2026-11-20", [("A", "intent", 1.0, "open"), ("B", "closed", 9.0, "won")]))
    seen = store.first_seen().set_index("id")["snapshot_date"]
    assert seen["A"] == pd.Timestamp("2026-11-06") and seen["B"] == pd.Timestamp("2026-11-20")


def test_opportunity_ids_of_any_text_keep_their_first_seen_dates(store):
    odd = ['OPP "1"', "OPP\\2", "OPP,3", "{OPP-4}", " OPP-5 ", "NULL", "", "商机-7"]
    store.save(snapshot_of("2026-11-06", [(i, "intent", 1.0, "open") for i in odd[:4]]))
    store.save(snapshot_of("2026-11-13", [(i, "intent", 1.0, "open") for i in odd]))
    seen = store.first_seen().set_index("id")["snapshot_date"].to_dict()
    assert seen == {i: pd.Timestamp("2026-11-06" if n < 4 else "2026-11-13") for n, i in enumerate(odd)}
    assert _ids(store, "2026-11-13") == odd


def test_snapshots_read_back_with_their_types(store):
    store.save(snapshot_of("2026-11-13", [("A", "intent", 1234.5, "open")]))
    snap = store.snapshot(dt.date(2026, 11, 13))
    assert snap["close_date"].dtype.kind == "M" and snap.loc[0, "amount"] == 1234.5
    assert store.snapshot(dt.date(2026, 11, 6)).empty


def test_a_reruns_weekly_totals_replace_that_dates_and_keep_the_others(store):
    first = snapshot_of("2026-11-06", [("A", "intent", 100.0, "open")])
    store.save(first, weekly_totals(first, dt.date(2026, 11, 6)))
    draft = pd.concat([snapshot_of("2026-11-13", [("A", "intent", 300.0, "open")]),
                       snapshot_of("2026-11-13", [("B", "intent", 50.0, "open")], rep="李娜")])
    store.save(draft, weekly_totals(draft, dt.date(2026, 11, 13)))
    final = snapshot_of("2026-11-13", [("A", "intent", 400.0, "open")])
    store.save(final, weekly_totals(final, dt.date(2026, 11, 13)))

    weekly = store.weekly()
    expected = pd.concat([weekly_totals(first, dt.date(2026, 11, 6)), weekly_totals(final, dt.date(2026, 11, 13))])
    assert list(zip(weekly["snapshot_date"], weekly["rep"])) == list(zip(expected["snapshot_date"], expected["rep"]))
    assert list(weekly["forecast"]) == list(expected["forecast"]) and weekly["snapshot_date"].dtype.kind == "M"


def test_reopening_the_history_keeps_every_snapshot(open_team):
    with open_team() as store:
        store.save(snapshot_of("2026-11-06", [("A", "intent", 1.0, "open")]))
        store.save(snapshot_of("2026-11-13", [("A", "intent", 2.0, "open"), ("B", "intent", 3.0, "open")]))
    reopened = open_team()
    assert reopened.dates() == [dt.date(2026, 11, 6), dt.date(2026, 11, 13)]
    assert _ids(reopened, "2026-11-13") == ["A", "B"]
    assert set(reopened.first_seen()["id"]) == {"A", "B"}


def test_a_save_whose_caller_fails_before_the_commit_leaves_the_history_as_it_was(store):
    store.save(snapshot_of("2026-11-06", [("A", "intent", 1.0, "open")]))
    with pytest.raises(OSError, match="disk full"):
        with store.staged(snapshot_of("2026-11-13", [("B", "intent", 2.0, "open")])):
            raise OSError("disk full while writing the workbook")
    assert store.dates() == [dt.date(2026, 11, 6)]
    assert list(store.first_seen()["id"]) == ["A"]


def test_a_rerun_replaces_that_date_for_that_team_only(open_team):
    east, north = open_team("华东销售"), open_team("华北销售")
    east.save(snapshot_of("2026-11-13", [("OPP-1", "intent", 1.0, "open"), ("OPP-2", "intent", 2.0, "open")]))
    north.save(snapshot_of("2026-11-13", [("OPP-1", "approved", 7.0, "open"), ("OPP-9", "intent", 9.0, "open")]))
    east.save(snapshot_of("2026-11-13", [("OPP-3", "intent", 3.0, "open")]))
    assert _ids(east, "2026-11-13") == ["OPP-3"]
    assert _ids(north, "2026-11-13") == ["OPP-1", "OPP-9"]
    assert north.snapshot(dt.date(2026, 11, 13))["amount"].tolist() == [7.0, 9.0]


def test_first_seen_is_kept_per_team(open_team):
    east, north = open_team("华东销售"), open_team("华北销售")
    east.save(snapshot_of("2026-11-06", [("OPP-1", "intent", 1.0, "open")]))
    north.save(snapshot_of("2026-11-20", [("OPP-1", "intent", 1.0, "open"), ("OPP-2", "intent", 1.0, "open")]))
    north.save(snapshot_of("2026-11-13", [("OPP-2", "intent", 1.0, "open")]))
    east_seen = east.first_seen().set_index("id")["snapshot_date"].to_dict()
    north_seen = north.first_seen().set_index("id")["snapshot_date"].to_dict()
    assert east_seen == {"OPP-1": pd.Timestamp("2026-11-06")}
    assert north_seen == {"OPP-1": pd.Timestamp("2026-11-20"), "OPP-2": pd.Timestamp("2026-11-13")}


def test_one_teams_save_in_progress_never_blocks_another_teams(open_team):
    """Team east holds its save open (as while its workbook is written); team north, with the same opportunity
    ids, saves and commits meanwhile. Blocked, north's save would wait (PostgreSQL gives up after its lock timeout)."""
    east, north = open_team("华东销售"), open_team("华北销售")
    rows = [(f"OPP-{i}", "intent", float(i), "open") for i in range(500)]
    east.save(snapshot_of("2026-11-06", rows))
    north.save(snapshot_of("2026-11-06", rows))
    with east.staged(snapshot_of("2026-11-13", rows)):
        north.save(snapshot_of("2026-11-13", rows[:250]))
        assert north.dates() == [dt.date(2026, 11, 6), dt.date(2026, 11, 13)]
    assert east.dates() == [dt.date(2026, 11, 6), dt.date(2026, 11, 13)]
    assert len(_ids(east, "2026-11-13")) == 500 and len(_ids(north, "2026-11-13")) == 250


def _save_as_team(url: str | None, folder: str, team: str, size: int, barrier) -> None:
    """One team's recalc, in a process of its own: open the history, wait for the other team, save."""
    with open_history(Path(folder) / f"{team}.xlsm", url) as store:
        snap = snapshot_of("2026-11-20", [(f"OPP-{i}", "intent", float(i), "open") for i in range(size)], rep=team)
        barrier.wait(timeout=120)
        store.save(snap, weekly_totals(snap, dt.date(2026, 11, 20)))


def test_two_teams_saving_their_snapshot_at_the_same_moment_both_land(open_team, request, tmp_path):
    url = request.getfixturevalue("postgres_url") if "postgres" in request.node.callspec.id else None
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    sizes = {"华东销售": 20_000, "华北销售": 15_000}  # the same opportunity ids in both teams
    workers = [context.Process(target=_save_as_team, args=(url, str(tmp_path), team, size, barrier))
               for team, size in sizes.items()]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
    assert [w.exitcode for w in workers] == [0, 0]
    for team, size in sizes.items():
        store = open_team(team)
        assert store.dates() == [dt.date(2026, 11, 20)]
        assert len(store.snapshot(dt.date(2026, 11, 20))) == size and len(store.first_seen()) == size
        assert store.weekly()["rep"].tolist() == [team]


def test_the_kpi_strip_is_kept_per_date_and_replaced_by_a_rerun(store):
    store.save(snapshot_of("2026-11-13", [("A", "intent", 1.0, "open")]), strip={"target": 35.0, "outlook": None})
    store.save(snapshot_of("2026-11-20", [("A", "intent", 1.0, "open")]), strip={"target": 40.0, "achieved": 2.5})
    store.save(snapshot_of("2026-11-20", [("A", "intent", 1.0, "open")]), strip={"target": 41.0})
    assert store.strip(dt.date(2026, 11, 13)) == {"target": 35.0}  # a figure without a value is not stored
    assert store.strip(dt.date(2026, 11, 20)) == {"target": 41.0}
    assert store.strip(dt.date(2026, 11, 6)) == {}


def test_a_history_file_from_before_the_strip_opens_and_stores_it(tmp_path):
    path = tmp_path / "old.history.sqlite"
    with SnapshotStore(path) as old:
        old.save(snapshot_of("2026-11-13", [("A", "intent", 1.0, "open")]))
        old._db.execute("DROP TABLE strip")
        old._db.commit()
    with SnapshotStore(path) as reopened:
        assert reopened.strip(dt.date(2026, 11, 13)) == {}
        reopened.save(snapshot_of("2026-11-20", [("A", "intent", 1.0, "open")]), strip={"target": 1.0})
        assert reopened.strip(dt.date(2026, 11, 20)) == {"target": 1.0}


def test_a_teams_whole_history_copies_into_another_store(tmp_path, store):
    history = load_sample().history
    with SnapshotStore(tmp_path / "source.history.sqlite") as source:
        for i, (date, snapshot) in enumerate(history.groupby("snapshot_date", sort=True)):
            source.save(snapshot, weekly_totals(snapshot, date.date()), strip={"target": float(i)})
        assert copy_history(source, store) == history["snapshot_date"].nunique()
        assert store.dates() == source.dates()
        for date in source.dates():
            pd.testing.assert_frame_equal(store.snapshot(date), source.snapshot(date))
        pd.testing.assert_frame_equal(store.weekly(), source.weekly())
        assert [store.strip(d) for d in store.dates()] == [source.strip(d) for d in source.dates()]
        by_id = lambda frame: frame.sort_values("id").reset_index(drop=True)  # noqa: E731
        pd.testing.assert_frame_equal(by_id(store.first_seen()), by_id(source.first_seen()))
