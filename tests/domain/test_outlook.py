"""Will we make the number: the period grid, the KPI strip and its change since last week, on hand-made deals."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from funnel_xl.domain.attention import attention_lists, attention_summary
from funnel_xl.domain.outlook import TEAM, kpi_strip, period_grid, quarter_bounds, strip_changes
from funnel_xl.domain.settings import current_year
from tests.domain.factories import make_methodology, make_opps

AS_OF = dt.date(2026, 11, 20)
YEAR = current_year(AS_OF)
RATES = make_methodology([0.1, 0.5, 0.8, 1.0])  # s1 10 %, s2 50 %, s3 80 %, s4 100 %


@pytest.fixture
def deals() -> pd.DataFrame:
    return make_opps([
        {"rep": "Li", "stage": "s4", "status": "won", "amount": 300_000, "close_date": "2026-10-10"},
        {"rep": "Li", "stage": "s4", "status": "won", "amount": 200_000, "close_date": "2026-03-01"},
        {"rep": "Li", "stage": "s3", "amount": 100_000, "close_date": "2026-12-10"},   # commit this quarter
        {"rep": "Wang", "stage": "s2", "amount": 400_000, "close_date": "2026-12-20"},  # best case, not commit
        {"rep": "Wang", "stage": "s3", "amount": 50_000, "close_date": "2026-11-01"},   # overdue: never commit
        {"rep": "Wang", "stage": "s1", "amount": 1_000_000, "close_date": "2027-02-01"},  # next quarter
        {"rep": "Wang", "stage": "s2", "status": "lost", "amount": 70_000, "close_date": "2026-11-02"},
    ], RATES)


QUOTAS = pd.Series([1_000_000.0, 600_000.0], index=["Li", "Wang"])


def test_commit_counts_deals_closing_this_quarter_at_the_commit_rate_and_never_an_overdue_one(deals):
    grid = period_grid(deals, QUOTAS, AS_OF, YEAR)
    quarter = grid.loc[(TEAM, "this_quarter")]
    assert quarter["commit"] == 100_000            # the 80 % deal; the overdue 80 % deal waits for a new date
    assert quarter["best_case"] == 100_000 + 400_000
    assert quarter["pipeline"] == 100_000 + 400_000 + 50_000   # the overdue deal is still expected this quarter
    assert quarter["closed"] == 300_000            # the March win is in the year, not the quarter
    assert quarter["quota"] == (1_000_000 + 600_000) / 4


def test_the_team_rows_are_the_sum_of_the_reps_in_every_period(deals):
    grid = period_grid(deals, QUOTAS, AS_OF, YEAR)
    for period in ("this_quarter", "next_quarter", "year"):
        reps = grid.xs(period, level="period").drop(index=TEAM)
        assert grid.loc[(TEAM, period)].to_dict() == pytest.approx(reps.sum().to_dict())


def test_reps_keep_the_reps_table_order(deals):
    grid = period_grid(deals, pd.Series([600_000.0, 1_000_000.0], index=["Wang", "Li"]), AS_OF, YEAR)
    assert list(dict.fromkeys(grid.index.get_level_values("rep"))) == [TEAM, "Wang", "Li"]


def test_the_strip_answers_how_far_from_the_target_and_what_the_year_brings(deals):
    strip = kpi_strip(period_grid(deals, QUOTAS, AS_OF, YEAR), claim_difference=12.0, left_out_weighted=34.0)
    won = 300_000 + 200_000
    open_this_year = 100_000 * 0.8 + 400_000 * 0.5 + 50_000 * 0.8
    assert strip["target"] == 1_600_000
    assert strip["achieved"] == won
    assert strip["gap_to_target"] == 1_600_000 - won
    assert strip["forecast_rest_of_year"] == pytest.approx(open_this_year)
    assert strip["outlook"] == pytest.approx((won + open_this_year) / 1_600_000)
    assert strip["likely_this_quarter"] == pytest.approx(300_000 + open_this_year)
    assert (strip["claim_difference"], strip["left_out_weighted"]) == (12.0, 34.0)


def test_without_a_target_the_outlook_is_not_a_division_by_zero(deals):
    strip = kpi_strip(period_grid(deals, pd.Series(dtype="float64"), AS_OF, YEAR), claim_difference=0.0,
                      left_out_weighted=0.0)
    assert strip["target"] == 0 and strip["outlook"] is None


def test_changes_are_measured_against_last_weeks_strip_and_blank_where_it_had_none(deals):
    strip = kpi_strip(period_grid(deals, QUOTAS, AS_OF, YEAR), claim_difference=0.0, left_out_weighted=0.0)
    changes = strip_changes(strip, {"achieved": strip["achieved"] - 300_000, "target": strip["target"]})
    assert changes["achieved"] == 300_000 and changes["target"] == 0
    assert changes["commit_this_quarter"] is None
    assert all(v is None for v in strip_changes(strip, None).values())


def test_quarters_are_calendar_quarters():
    assert quarter_bounds(AS_OF) == (pd.Timestamp(2026, 10, 1), pd.Timestamp(2026, 12, 31))
    assert quarter_bounds(AS_OF, 1) == (pd.Timestamp(2027, 1, 1), pd.Timestamp(2027, 3, 31))


def test_attention_lists_carry_each_deals_row_on_the_sheet_and_sum_their_amounts(deals):
    deals.index = deals.index + 5  # the sheet rows of the deals
    deals.loc[deals["id"].eq("O4"), "answered"] = False
    overdue = pd.DataFrame({"id": ["O5"], "customer": ["C"], "rep": ["Wang"], "close_date": [pd.Timestamp(2026, 11, 1)],
                            "amount": [50_000.0], "weighted": [40_000.0], "issue": ["overdue"]})
    empty = pd.DataFrame({c: [] for c in ("id", "customer", "rep", "amount", "difference", "close_date")})
    lists = attention_lists(deals, claim_deals=empty, dates_to_update=overdue, stalled=empty, never_seen=empty)
    assert lists["overdue"]["row"].tolist() == [deals.index[deals["id"].eq("O5")][0]]
    unanswered = deals[deals["status"].eq("open") & ~deals["answered"].astype(bool)]
    assert set(lists["not_assessed"]["id"]) == set(unanswered["id"])
    summary = attention_summary(lists)
    assert summary.loc["not_assessed", "amount"] == unanswered["amount"].sum()
    assert summary.loc["overdue", "count"] == 1


def test_an_empty_pipeline_gives_zeros_not_blanks(deals):
    grid = period_grid(deals.iloc[0:0], pd.Series(dtype="float64"), AS_OF, YEAR)
    strip = kpi_strip(grid, claim_difference=0.0, left_out_weighted=0.0)
    assert {k: v for k, v in strip.items() if k != "outlook"} == dict.fromkeys(
        ("target", "achieved", "gap_to_target", "commit_this_quarter", "likely_this_quarter",
         "forecast_rest_of_year", "claim_difference", "left_out_weighted"), 0.0)
