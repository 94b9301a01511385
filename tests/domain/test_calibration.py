"""Win-rate calibration: Wilson intervals, observed rates per stage, the suggested methodology, cycle times."""

from __future__ import annotations

import math
from functools import cache
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from funnel_xl.domain.calibration import (
    cycle_and_stage_days, observed_win_rates, overall_win_rate, suggested_methodology, wilson_interval,
)
from funnel_xl.domain.methodology import Methodology, Stage
from funnel_xl.errors import InputError


def methodology(*rates: float) -> Methodology:
    stages = tuple(Stage(key=f"s{i + 1}", order=i + 1, zh=f"s{i + 1}", en=f"Stage {i + 1}", win_rate=r)
                   for i, r in enumerate(rates))
    return Methodology(key="test", zh="test", en="Test", stages=stages)


def opps(*rows: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["id", "stage", "status"])


# Newcombe (1998), "Two-sided confidence intervals for the single proportion", Statistics in
# Medicine 17:857-872, table I, method 3 (Wilson score, 95 %).
@pytest.mark.parametrize(("won", "n", "low", "high"), [
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0, 0.1611),
    (1, 29, 0.0061, 0.1718),
])
def test_wilson_interval_matches_the_textbook_values(won, n, low, high):
    got = wilson_interval(won, n, 0.95)
    assert got == pytest.approx((low, high), abs=5e-5)


def test_wilson_upper_bound_at_zero_successes_is_z_squared_over_n_plus_z_squared():
    z2 = 1.959963984540054 ** 2
    assert wilson_interval(0, 20)[1] == pytest.approx(z2 / (20 + z2))


def test_wilson_interval_of_no_opportunities_is_undefined():
    assert all(math.isnan(x) for x in wilson_interval(0, 0))


def test_stage_rate_counts_closed_opportunities_that_reached_the_stage():
    history = opps(("A", "s1", "lost"), ("B", "s2", "lost"), ("C", "s3", "won"),
                   ("D", "s2", "won"),  # won with a stale stage: a won deal passed every stage
                   ("E", "s2", "open"))  # no outcome yet: left out
    table = observed_win_rates(history, methodology(0.10, 0.50, 1.0))
    assert table["reached"].tolist() == [4, 3, 2]
    assert table["won"].tolist() == [2, 2, 2]
    assert table["observed_rate"].tolist()[:2] == pytest.approx([2 / 4, 2 / 3])
    # Only won deals reach the last stage: its 100 % would be an artefact, so it shows none.
    assert math.isnan(table.loc["s3", "observed_rate"]) and table.loc["s3", "verdict"] == "won_stage"


def test_configured_rates_outside_the_interval_are_flagged():
    history = opps(("A", "s1", "lost"), ("B", "s2", "lost"), ("C", "s3", "won"), ("D", "s3", "won"))
    table = observed_win_rates(history, methodology(0.10, 0.50, 1.0))
    # 2 of 4 at s1: Wilson 95 % is about 15 %-85 %, so the configured 10 % lies outside it.
    assert table.loc["s1", "ci_low"] == pytest.approx(0.1500, abs=1e-4)
    assert table["configured_outside_ci"].tolist() == [True, False, False]


def test_a_stage_nobody_closed_from_is_not_flagged():
    table = observed_win_rates(opps(("A", "s1", "lost")), methodology(0.1, 0.5, 1.0))
    assert table.loc["s2", "reached"] == 0
    assert math.isnan(table.loc["s2", "observed_rate"])
    assert not table.loc["s2", "configured_outside_ci"]


def test_overall_win_rate_is_won_over_won_plus_lost():
    history = opps(("A", "s1", "lost"), ("B", "s2", "won"), ("C", "s2", "won"), ("D", "s1", "open"))
    assert overall_win_rate(history) == pytest.approx(2 / 3)


def test_a_stage_the_methodology_lacks_is_refused_by_name():
    with pytest.raises(InputError, match=r"'A': 'demo'.*s1, s2"):
        observed_win_rates(opps(("A", "demo", "lost")), methodology(0.1, 1.0))


def test_a_snapshot_history_counts_the_furthest_stage_seen():
    snaps = pd.DataFrame([
        (date(2024, 1, 1), "A", "s1", "open"), (date(2024, 1, 8), "A", "s3", "open"),
        (date(2024, 1, 15), "A", "s1", "lost"),  # moved backwards before it was lost: it reached s3
        (date(2024, 1, 1), "B", "s1", "open"), (date(2024, 1, 8), "B", "s1", "won"),
        (date(2024, 1, 1), "C", "s2", "open"), (date(2024, 1, 8), "C", "s2", "lost"),
    ], columns=["snapshot_date", "id", "stage", "status"])
    table = observed_win_rates(snaps, methodology(0.1, 0.3, 0.6, 1.0))
    assert table["reached"].tolist() == [3, 3, 2, 1]
    assert table["won"].tolist() == [1, 1, 1, 1]


# ------------------------------------------------------------------ synthetic histories

ADVANCE = (0.5, 0.6, 0.7, 0.8)  # chance of moving on from stage i to i+1; the last stage is won
TRUE_RATES = tuple(float(np.prod(ADVANCE[i:])) for i in range(len(ADVANCE))) + (1.0,)
FUNNEL = methodology(0.10, 0.30, 0.50, 0.70, 1.0)


@cache  # each seed's history is drawn once and shared by the tests below (never mutated)
def simulate(seed: int, n: int = 1500, still_open: float = 0.1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Opportunities walking the funnel with known odds, as final rows and as weekly snapshots.

    Each stage i lasts exactly 7 × (i + 1) days, so the days per stage are known too. A deal is
    still open with a chance drawn apart from its fate (cut at a random stage of its path), so the
    closed ones are an unbiased sample.
    """
    rng = np.random.default_rng(seed)
    rows, snaps = [], []
    for k in range(n):
        last = 0
        while last < len(ADVANCE) and rng.random() < ADVANCE[last]:
            last += 1
        status = "won" if last == len(ADVANCE) else "lost"
        if rng.random() < still_open:
            last, status = int(rng.integers(0, last + 1)), "open"
        ident = f"O{k}"
        created = day = date(2024, 1, 1) + timedelta(days=int(rng.integers(0, 7)))
        for stage in range(last + 1):
            for week in range(stage + 1):
                snaps.append((day + timedelta(days=7 * week), ident, f"s{stage + 1}", "open"))
            day += timedelta(days=7 * (stage + 1))
        if status != "open":
            snaps.append((day, ident, f"s{last + 1}", status))
        rows.append((ident, f"s{last + 1}", status, pd.Timestamp(created),
                     pd.Timestamp(day) if status != "open" else pd.NaT))
    return (pd.DataFrame(rows, columns=["id", "stage", "status", "created_date", "close_date"]),
            pd.DataFrame(snaps, columns=["snapshot_date", "id", "stage", "status"]))


def coverage(confidence: float, use_snapshots: bool, seeds=range(40)) -> float:
    hits = total = 0
    for seed in seeds:
        final, snaps = simulate(seed)
        table = observed_win_rates(snaps if use_snapshots else final, FUNNEL, confidence=confidence)
        for key, true in zip(FUNNEL.stage_keys[:-1], TRUE_RATES):  # the last stage is 100 % by definition
            hits += table.loc[key, "ci_low"] <= true <= table.loc[key, "ci_high"]
            total += 1
    return hits / total


@pytest.mark.parametrize("use_snapshots", [False, True], ids=["final_rows", "snapshots"])
def test_known_true_rates_fall_inside_the_stated_99_percent_interval(use_snapshots):
    assert coverage(0.99, use_snapshots) >= 0.95


def test_known_true_rates_fall_inside_the_stated_95_percent_interval_nearly_always():
    # 160 intervals (40 seeds × 4 stages) at 95 %: below 90 % would be far from chance.
    assert coverage(0.95, use_snapshots=False) >= 0.90


def test_a_large_history_recovers_the_true_rates_closely():
    final, _ = simulate(seed=7, n=20000)
    table = observed_win_rates(final, FUNNEL)
    assert table["observed_rate"].tolist()[:-1] == pytest.approx(TRUE_RATES[:-1], abs=0.02)


def test_days_per_stage_from_snapshots_are_the_simulated_stay_lengths():
    final, snaps = simulate(seed=3, n=300)
    stats = cycle_and_stage_days(final, FUNNEL, snaps)
    days = stats.stage_days
    assert days["mean_days"].tolist() == pytest.approx([7, 14, 21, 28, 35])
    assert (days["stays"] > 0).all()
    # A won deal passes all five stages: 7 + 14 + 21 + 28 + 35 = 105 days from created to won.
    assert stats.mean_cycle_days == 105.0 and stats.won_counted == (final["status"] == "won").sum()
    # Still-open deals are in the middle of a stay, counted apart.
    assert days["unfinished_stays"].sum() == (final["status"] == "open").sum()


# ------------------------------------------------------------------ cohorts, suggestions and cycle

REPORT = date(2026, 12, 31)


def dated(*rows: tuple[str, str, str, str, str | None]) -> pd.DataFrame:
    """(id, stage, status, created, closed) rows as plain opportunities."""
    frame = pd.DataFrame(rows, columns=["id", "stage", "status", "created_date", "close_date"])
    for column in ("created_date", "close_date"):
        frame[column] = pd.to_datetime(frame[column])
    return frame


def test_a_cohort_counts_deals_old_enough_to_have_closed_and_its_stalled_deals_as_not_won():
    history = dated(
        ("W1", "s3", "won", "2026-01-01", "2026-04-11"),    # 100 days to win
        ("W2", "s3", "won", "2026-02-01", "2026-05-02"),    # 90
        ("W3", "s3", "won", "2026-03-01", "2026-06-18"),    # 109: the typical cycle is the median, 100 days
        ("L1", "s2", "lost", "2026-03-01", "2026-05-01"),
        ("S1", "s2", "open", "2026-04-01", None),           # open for nine months: stalled, counted as not won
        ("Y1", "s1", "lost", "2026-11-01", "2026-11-10"),   # too young: a quick loss among deals not yet decided
        ("Y2", "s2", "open", "2026-12-01", None),           # too young
    )
    table = observed_win_rates(history, methodology(0.1, 0.5, 1.0), as_of=REPORT, min_count=1)
    assert table.attrs["cycle_days"] == 100
    assert table.attrs["cohort_end"] == pd.Timestamp(REPORT) - pd.Timedelta(days=100)
    # By hand: of the five old deals, three were won; the lost one and the stalled one reached s2.
    assert table.loc["s1", ["reached", "won", "lost", "stalled"]].tolist() == [5, 3, 1, 1]
    assert table.loc["s2", "observed_rate"] == pytest.approx(3 / 5)


def test_a_deal_closed_after_the_report_date_counts_as_the_open_deal_it_then_was():
    history = dated(
        ("W1", "s2", "won", "2026-01-01", "2026-04-11"),
        ("W2", "s2", "won", "2026-01-01", "2027-02-01"),    # won after the report date: open on it, and stalled
    )
    table = observed_win_rates(history, methodology(0.1, 1.0), as_of=REPORT, min_count=1)
    assert table.loc["s1", ["won", "stalled"]].tolist() == [1, 1]


def test_without_a_won_deal_to_give_a_cycle_every_closed_deal_counts_and_open_ones_do_not():
    history = dated(("L1", "s1", "lost", "2026-01-01", "2026-02-01"), ("O1", "s2", "open", "2026-01-01", None))
    table = observed_win_rates(history, methodology(0.1, 1.0), as_of=REPORT)
    assert math.isnan(table.attrs["cycle_days"])
    assert table.loc["s1", ["reached", "stalled"]].tolist() == [1, 0]


def rates_table(configured: tuple[float, ...], reached: tuple[int, ...], won: tuple[int, ...], min_count=30):
    """observed_win_rates of plain closed deals: per stage, reached[i] deals got that far and won[i] of them won."""
    rows, n = [], 0
    last = len(configured) - 1
    for i in range(last):
        lost_here = (reached[i] - won[i]) - (reached[i + 1] - won[i + 1] if i + 1 < last else 0)
        rows += [(f"L{n + j}", f"s{i + 1}", "lost") for j in range(lost_here)]
        n += lost_here
    rows += [(f"W{j}", f"s{last + 1}", "won") for j in range(won[0])]
    return observed_win_rates(opps(*rows), methodology(*configured), min_count=min_count)


def test_a_rate_is_suggested_only_where_enough_deals_show_the_configured_one_is_off():
    # 200 deals reach s1 and 40 of them win: 20 %, far from the configured 50 %; 100 reach s2, 40 win: 40 %,
    # inside the interval around the configured 45 %.
    table = rates_table((0.50, 0.45, 1.0), (200, 100, 40), (40, 40, 40))
    assert table["verdict"].tolist() == ["suggest", "within_interval", "won_stage"]
    assert table.loc["s1", "suggested_rate"] == pytest.approx(0.2)
    assert math.isnan(table.loc["s2", "suggested_rate"])


def test_too_few_deals_keep_the_configured_rate_however_far_the_observed_one_is():
    table = rates_table((0.90, 0.95, 1.0), (10, 5, 1), (1, 1, 1))
    assert table.loc["s1", "configured_outside_ci"] and table.loc["s1", "verdict"] == "too_few"
    assert math.isnan(table.loc["s1", "suggested_rate"])


def test_where_no_deal_lost_or_stalled_at_a_stage_is_recorded_the_data_cannot_tell_and_shows_no_100_percent():
    # Every lost deal was filed at s1 (an export that records no stage for lost deals does that): at s2 every
    # deal is won, which says nothing about where lost deals stopped.
    table = rates_table((0.10, 0.50, 1.0), (300, 60, 60), (60, 60, 60))
    assert table.loc["s2", "verdict"] == "cannot_tell"
    assert math.isnan(table.loc["s2", "observed_rate"]) and math.isnan(table.loc["s2", "suggested_rate"])
    assert not (table["observed_rate"] == 1.0).any()


def test_the_suggested_rate_never_falls_below_the_stage_before_it_and_is_the_rate_shown():
    # s1 observed 50 % (suggested); s2 would keep its configured 30 % (no deal lost there tells otherwise), which
    # would fall below s1's new rate.
    table = rates_table((0.10, 0.30, 1.0), (500, 250, 250), (250, 250, 250))
    assert table["verdict"].tolist()[:2] == ["suggest", "follows_earlier"]
    assert table["suggested_rate"].tolist()[:2] == pytest.approx([0.5, 0.5])
    suggested = suggested_methodology(FUNNEL3 := methodology(0.10, 0.30, 1.0), table)
    assert [s.win_rate for s in suggested.stages] == [0.5, 0.5, 1.0]
    assert suggested.stage_keys == FUNNEL3.stage_keys and FUNNEL3.stages[0].win_rate == 0.10


def test_sales_cycle_is_days_from_created_to_won():
    frame = pd.DataFrame({
        "id": ["A", "B", "C", "D"],
        "status": ["won", "won", "won", "lost"],
        "created_date": pd.to_datetime(["2024-01-01", "2024-03-01", None, "2024-01-01"]),
        "close_date": pd.to_datetime(["2024-01-11", "2024-03-21", "2024-05-01", "2024-12-31"]),
    })
    stats = cycle_and_stage_days(frame, FUNNEL)
    assert (stats.mean_cycle_days, stats.median_cycle_days) == (15.0, 15.0)  # 10 and 20 days
    assert (stats.won_counted, stats.won_without_dates) == (2, 1)
    assert (stats.stage_days["stays"] == 0).all()  # no snapshots, no days per stage


def test_a_pipeline_with_no_deal_won_yet_has_no_cohort_and_no_phantom_rows(big_project):
    """No won deal means no typical cycle; the open deals alone then count in no stage (not as rows without an id)."""
    opps = pd.DataFrame({"id": ["A1", "A2"], "stage": ["potential", "intent"], "status": ["open", "open"],
                         "created_date": pd.to_datetime(["2026-01-01", "2026-02-01"]),
                         "close_date": pd.to_datetime(["2026-12-01", "2027-01-01"]), "amount": [1.0, 2.0]})
    table = observed_win_rates(opps, big_project, as_of=date(2026, 11, 20))
    assert table["reached"].sum() == 0
