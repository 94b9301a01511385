"""Weekly history: snapshots, sales progress, movement between weeks and the discipline signals."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from factories import make_opps
from rep_and_snapshot_factories import make_snapshot

from funnel_xl.domain.progress import (
    MOVEMENT_KINDS,
    movement,
    movement_summary,
    never_seen_wins,
    sales_progress,
    snapshot_totals,
    stalled,
    take_snapshot,
)
from funnel_xl.domain.schema import SNAPSHOT_COLUMNS
from funnel_xl.errors import InputError
from funnel_xl.labels import label

LAST, THIS = "2026-11-13", "2026-11-20"


@pytest.fixture
def two_weeks(classic):
    """A hand-made fortnight on the classic funnel (upper 25 %, middle 50 %, lower 75 %)."""
    earlier_win = {"id": "C", "rep": "Wang", "stage": "bottom", "status": "won", "amount": 300_000,
                   "close_date": "2026-05-10"}
    last = make_snapshot([
        {"id": "A", "rep": "Li", "stage": "upper", "amount": 1_000_000},
        {"id": "B", "rep": "Li", "stage": "middle", "amount": 400_000},
        earlier_win,
    ], classic, LAST)
    this = make_snapshot([
        {"id": "A", "rep": "Li", "stage": "middle", "amount": 1_000_000},
        {"id": "B", "rep": "Li", "stage": "bottom", "status": "won", "amount": 400_000, "close_date": "2026-11-18"},
        earlier_win,
        {"id": "D", "rep": "Wang", "stage": "upper", "amount": 200_000},
    ], classic, THIS)
    return last, this


def test_a_snapshot_keeps_every_opportunity_with_the_rate_of_the_day(classic):
    opps = make_opps([{"stage": "upper"}, {"stage": "middle", "status": "lost"}], classic)
    snap = take_snapshot(opps, dt.date(2026, 11, 20))
    assert list(snap.columns) == list(SNAPSHOT_COLUMNS)
    assert snap["snapshot_date"].eq(pd.Timestamp("2026-11-20")).all()
    assert snap["win_rate"].tolist() == [0.25, 0.5]
    assert snap["status"].tolist() == ["open", "lost"]


def test_snapshot_totals_are_the_weighted_open_forecast_and_this_years_wins(two_weeks):
    last, _ = two_weeks
    # Forecast: 1,000,000 × 25 % + 400,000 × 50 % = 450,000; achieved: the May win of 300,000.
    assert snapshot_totals(last, dt.date(2026, 11, 13)) == {"forecast": 450_000.0, "achieved": 300_000.0}


def test_sales_progress_is_this_weeks_forecast_and_achieved_minus_last_weeks(two_weeks):
    last, this = two_weeks
    # Last week: forecast 250,000 (A) + 200,000 (B) = 450,000, achieved 300,000 (C) → 750,000.
    # This week: forecast 500,000 (A, now 50 %) + 50,000 (D, 200,000 × 25 %) = 550,000,
    #            achieved 300,000 (C) + 400,000 (B won) = 700,000 → 1,250,000.
    # Progress = 1,250,000 − 750,000 = 500,000.
    progress = sales_progress(this, last, this_date=dt.date(2026, 11, 20), last_date=dt.date(2026, 11, 13))
    assert progress == 500_000.0


def test_sales_progress_by_rep_splits_the_same_arithmetic_and_adds_up(two_weeks):
    last, this = two_weeks
    table = sales_progress(this, last, this_date=dt.date(2026, 11, 20), last_date=dt.date(2026, 11, 13), by="rep")
    # Li: (500,000 + 400,000) − (450,000 + 0) = 450,000. Wang: (50,000 + 300,000) − (0 + 300,000) = 50,000.
    assert table.loc["Li"].to_dict() == {"last_forecast": 450_000.0, "last_achieved": 0.0,
                                         "this_forecast": 500_000.0, "this_achieved": 400_000.0,
                                         "progress": 450_000.0}
    assert table.loc["Wang", "progress"] == 50_000.0
    assert table["progress"].sum() == 500_000.0


def test_a_week_across_new_year_keeps_last_years_wins_on_both_sides(classic):
    december_win = {"id": "W", "stage": "bottom", "status": "won", "amount": 800_000, "close_date": "2026-12-01"}
    last = make_snapshot([december_win, {"id": "A", "stage": "upper", "amount": 400_000}], classic, "2026-12-28")
    this = make_snapshot([december_win, {"id": "A", "stage": "middle", "amount": 400_000}], classic, "2027-01-04")
    # Only A moved: 400,000 × (50 % − 25 %) = 100,000; the December win is in both weeks, not lost at New Year.
    progress = sales_progress(this, last, this_date=dt.date(2027, 1, 4), last_date=dt.date(2026, 12, 28))
    assert progress == 100_000.0


def test_a_whole_history_passed_as_one_week_is_refused(two_weeks):
    last, this = two_weeks
    with pytest.raises(InputError, match="holds 2 snapshot dates; expected one snapshot"):
        snapshot_totals(pd.concat([last, this]), dt.date(2026, 11, 20))


# ----------------------------------------------------------------------------------------- movement

@pytest.fixture
def moved_week(classic):
    last = make_snapshot([
        {"id": "ADV", "stage": "upper"},
        {"id": "BACK", "stage": "lower"},
        {"id": "SLIP", "stage": "middle", "close_date": "2026-12-15"},
        {"id": "GROW", "stage": "middle", "amount": 100_000},
        {"id": "WIN", "stage": "lower"},
        {"id": "LOSE", "stage": "middle"},
        {"id": "AGAIN", "stage": "middle", "status": "lost"},
        {"id": "GONE", "rep": "Wang", "stage": "upper"},
        {"id": "SAME", "stage": "middle"},
    ], classic, LAST)
    this = make_snapshot([
        {"id": "ADV", "stage": "middle"},
        {"id": "BACK", "stage": "middle"},
        {"id": "SLIP", "stage": "middle", "close_date": "2027-03-31"},
        {"id": "GROW", "stage": "middle", "amount": 150_000},
        {"id": "WIN", "stage": "bottom", "status": "won", "close_date": "2026-11-18"},
        {"id": "LOSE", "stage": "middle", "status": "lost"},
        {"id": "AGAIN", "stage": "middle"},
        {"id": "NEW", "stage": "upper"},
        {"id": "SAME", "stage": "middle"},
    ], classic, THIS)
    return last, this


def test_each_kind_of_movement_is_reported_once_for_the_deal_it_happened_to(moved_week, classic):
    moves = movement(*moved_week, classic)
    assert sorted(zip(moves["id"], moves["kind"])) == sorted([
        ("ADV", "advanced"), ("BACK", "moved_back"), ("SLIP", "slipped"), ("GROW", "amount_changed"),
        ("WIN", "won"), ("LOSE", "lost"), ("AGAIN", "reopened"), ("GONE", "removed"), ("NEW", "new"),
    ])


def test_movement_rows_carry_the_old_and_new_values(moved_week, classic):
    moves = movement(*moved_week, classic).set_index("id")
    assert (moves.loc["ADV", "old_value"], moves.loc["ADV", "new_value"]) == ("upper", "middle")
    assert (moves.loc["SLIP", "old_value"], moves.loc["SLIP", "new_value"]) == (
        pd.Timestamp("2026-12-15"), pd.Timestamp("2027-03-31"))
    assert (moves.loc["GROW", "old_value"], moves.loc["GROW", "new_value"]) == (100_000.0, 150_000.0)
    assert (moves.loc["WIN", "old_value"], moves.loc["WIN", "new_value"]) == ("open", "won")
    assert moves.loc["GONE", "rep"] == "Wang" and pd.isna(moves.loc["GONE", "new_value"])


def test_a_deal_that_advanced_and_grew_is_reported_under_both_kinds(classic):
    last = make_snapshot([{"id": "X", "stage": "upper", "amount": 100_000}], classic, LAST)
    this = make_snapshot([{"id": "X", "stage": "lower", "amount": 300_000}], classic, THIS)
    assert movement(last, this, classic)["kind"].tolist() == ["advanced", "amount_changed"]


def test_movement_summary_counts_every_kind_per_rep_showing_zeros(moved_week, classic):
    summary = movement_summary(movement(*moved_week, classic))
    assert list(summary.columns) == list(MOVEMENT_KINDS)
    assert summary.loc["Li"].sum() == 8 and summary.loc["Li", "new"] == 1
    assert summary.loc["Wang"].to_dict() == {k: int(k == "removed") for k in MOVEMENT_KINDS}


def test_every_kind_of_movement_has_a_label_in_both_languages():
    for kind in MOVEMENT_KINDS:
        assert label(f"movement.{kind}", "zh-CN") and label(f"movement.{kind}", "en")


def test_a_stage_outside_the_methodology_is_named_not_guessed(classic):
    last = make_snapshot([{"id": "X", "stage": "upper"}], classic, LAST)
    this = last.assign(stage="somewhere", snapshot_date=pd.Timestamp(THIS))
    with pytest.raises(InputError, match="id 'X' stage 'somewhere' not in methodology 'classic'"):
        movement(last, this, classic)


# -------------------------------------------------------------------------------------- discipline

@pytest.fixture
def history(classic):
    return pd.concat([
        make_snapshot([{"id": "SEEN", "stage": "lower"}, {"id": "FADED", "stage": "upper"}], classic, "2026-11-06"),
        make_snapshot([{"id": "SEEN", "stage": "lower"}], classic, "2026-11-13"),
        make_snapshot([{"id": "LATE", "stage": "bottom", "status": "won", "close_date": "2026-11-18"}],
                      classic, "2026-11-20"),
    ], ignore_index=True)


@pytest.fixture
def current(classic):
    won = {"stage": "bottom", "status": "won", "close_date": "2026-11-18"}
    return make_opps([
        {"id": "BIG", "rep": "Wang", "amount": 5_000_000, **won},     # never in the funnel
        {"id": "SEEN", **won},
        {"id": "LATE", "amount": 700_000, **won},                     # first shows after it was signed
        {"id": "FADED", **won},                                       # seen on 6 November only
        {"id": "OLD", "stage": "bottom", "status": "won", "close_date": "2026-10-01"},  # before any snapshot
        {"id": "OPEN", "stage": "upper"},
    ], classic)


def test_a_big_win_that_never_appeared_in_the_funnel_is_flagged(history, current):
    found = never_seen_wins(history, current, dt.date(2026, 11, 20))
    assert found["id"].tolist() == ["BIG", "LATE"]
    big = found.iloc[0]
    assert (big["rep"], big["amount"], big["close_date"]) == ("Wang", 5_000_000.0, pd.Timestamp("2026-11-18"))
    assert pd.isna(big["first_seen"])
    assert found.iloc[1]["first_seen"] == pd.Timestamp("2026-11-20")


def test_a_lookback_flags_a_win_seen_only_long_before_it_closed(history, current):
    found = never_seen_wins(history, current, dt.date(2026, 11, 20), lookback_snapshots=1)
    assert set(found["id"]) == {"BIG", "LATE", "FADED"}


def test_stalled_deals_are_those_parked_longer_than_their_stage_allows(classic):
    opps = make_opps([
        {"id": "S1", "stage": "upper", "stage_entered_date": "2026-08-01"},    # 111 days
        {"id": "S2", "stage": "upper", "stage_entered_date": "2026-10-01"},    # 50 days
        {"id": "S3", "stage": "middle", "stage_entered_date": "2026-09-01"},   # 80 days
        {"id": "S4", "stage": "upper", "status": "lost", "stage_entered_date": "2026-01-01"},
        {"id": "S5", "stage": "upper", "stage_entered_date": None},
    ], classic)
    per_stage = stalled(opps, classic, dt.date(2026, 11, 20), max_days={"upper": 60})
    assert per_stage[["id", "days_in_stage", "max_days"]].to_dict("records") == [
        {"id": "S1", "days_in_stage": 111, "max_days": 60}]
    everywhere = stalled(opps, classic, dt.date(2026, 11, 20), max_days=45)
    assert everywhere["id"].tolist() == ["S1", "S3", "S2"]


def test_a_stall_limit_for_an_unknown_stage_is_refused(classic):
    with pytest.raises(InputError, match="'negotiation' not in methodology 'classic'"):
        stalled(make_opps([{"stage": "upper"}], classic), classic, dt.date(2026, 11, 20), max_days={"negotiation": 9})
