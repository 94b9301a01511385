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
    assert table["reached_closed"].tolist() == [4, 3, 2]
    assert table["won"].tolist() == [2, 2, 2]
    assert table["observed_rate"].tolist() == pytest.approx([2 / 4, 2 / 3, 1.0])


def test_configured_rates_outside_the_interval_are_flagged():
    history = opps(("A", "s1", "lost"), ("B", "s2", "lost"), ("C", "s3", "won"), ("D", "s3", "won"))
    table = observed_win_rates(history, methodology(0.10, 0.50, 1.0))
    # 2 of 4 at s1: Wilson 95 % is about 15 %-85 %, so the configured 10 % lies outside it.
    assert table.loc["s1", "ci_low"] == pytest.approx(0.1500, abs=1e-4)
    assert table["configured_outside_ci"].tolist() == [True, False, False]


def test_a_stage_nobody_closed_from_is_not_flagged():
    table = observed_win_rates(opps(("A", "s1", "lost")), methodology(0.1, 0.5, 1.0))
    assert table.loc["s2", "reached_closed"] == 0
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
    assert table["reached_closed"].tolist() == [3, 3, 2, 1]
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
    assert table["observed_rate"].tolist() == pytest.approx(TRUE_RATES, abs=0.02)


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


# ------------------------------------------------------------------ suggestion and cycle

def calibration_rows(*rows) -> pd.DataFrame:
    keys = [f"s{i + 1}" for i in range(len(rows))]
    frame = pd.DataFrame(rows, columns=["reached_closed", "lost", "observed_rate"], index=keys)
    return frame


def test_the_suggestion_takes_observed_rates_only_where_history_is_strong_enough():
    base = methodology(0.10, 0.30, 0.50, 0.70, 1.0)
    table = calibration_rows((200, 120, 0.40),   # strong: 40 %
                             (10, 4, 0.60),      # too few (10 < 30): keeps 30 %... then lifted to 40 %
                             (100, 30, 0.70),    # strong: 70 %
                             (80, 0, 1.0),       # nobody lost here: cannot tell, keeps 70 %
                             (50, 0, 1.0))
    suggested = suggested_methodology(base, table, min_count=30)
    assert [s.win_rate for s in suggested.stages] == [0.40, 0.40, 0.70, 0.70, 1.0]
    assert suggested.stage_keys == base.stage_keys
    assert base.stages[0].win_rate == 0.10  # the original is left alone


def test_the_suggestion_never_lets_a_later_stage_fall_below_an_earlier_one():
    base = methodology(0.10, 0.30, 1.0)
    table = calibration_rows((500, 200, 0.60), (300, 150, 0.50), (200, 0, 1.0))
    assert [s.win_rate for s in suggested_methodology(base, table).stages] == [0.60, 0.60, 1.0]


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
