"""Quota figures: the quota proposal read off the funnel, attainment and coverage per rep."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from factories import make_opps
from rep_and_snapshot_factories import make_reps

from funnel_xl.domain.quota import attainment, quota_proposal
from funnel_xl.errors import InputError

PLAN = {"plan_start": dt.date(2027, 1, 1), "plan_end": dt.date(2027, 12, 31)}


def test_a_million_at_the_classic_upper_stage_proposes_a_quarter_million(classic):
    # The seed: 下一年有意向购买100万元 ... 上部 100 × 25 % = 25万.
    opps = make_opps([{"rep": "Li", "stage": "upper", "amount": 1_000_000, "close_date": "2027-06-30"}], classic)
    proposal = quota_proposal(opps, **PLAN)
    assert proposal.loc["Li"].to_dict() == {"prospects": 1, "pipeline": 1_000_000.0, "proposal": 250_000.0}


def test_a_prospect_closing_after_the_plan_year_contributes_nothing(classic):
    opps = make_opps([{"rep": "Li", "stage": "upper", "amount": 1_000_000, "close_date": "2028-01-01"}], classic)
    proposal = quota_proposal(opps, **PLAN)
    assert proposal.loc["Li"].to_dict() == {"prospects": 0, "pipeline": 0.0, "proposal": 0.0}


def test_the_proposal_adds_every_open_prospect_of_the_rep_at_its_rate(classic):
    opps = make_opps([
        {"rep": "Li", "stage": "upper", "amount": 1_000_000, "close_date": "2027-03-01"},   # 250,000
        {"rep": "Li", "stage": "middle", "amount": 400_000, "close_date": "2027-12-31"},    # 200,000
        {"rep": "Li", "stage": "lower", "amount": 200_000, "close_date": "2027-01-01"},     # 150,000
        {"rep": "Li", "stage": "bottom", "status": "won", "amount": 900_000, "close_date": "2027-02-01"},
        {"rep": "Li", "stage": "middle", "status": "lost", "amount": 900_000, "close_date": "2027-02-01"},
        {"rep": "Wang", "stage": "top", "amount": 5_000_000, "close_date": "2027-05-01"},   # 0 %: not yet counted
    ], classic)
    proposal = quota_proposal(opps, **PLAN)
    # Li: 250,000 + 200,000 + 150,000 = 600,000 from three prospects worth 1,600,000; won and lost rows excluded.
    assert proposal.loc["Li"].to_dict() == {"prospects": 3, "pipeline": 1_600_000.0, "proposal": 600_000.0}
    assert proposal.loc["Wang", "proposal"] == 0.0


def test_a_plan_period_ending_before_it_starts_is_refused(classic):
    opps = make_opps([{"stage": "upper"}], classic)
    with pytest.raises(InputError, match="plan_start 2027-12-31 is after plan_end 2027-01-01"):
        quota_proposal(opps, plan_start=dt.date(2027, 12, 31), plan_end=dt.date(2027, 1, 1))


@pytest.fixture
def tiny_team(classic):
    reps = make_reps([
        {"rep": "Li", "hire_date": "2024-01-01", "annual_quota": 2_000_000},
        {"rep": "Wang", "hire_date": "2024-01-01", "annual_quota": 1_000_000},
        {"rep": "Zhao", "hire_date": "2024-01-01", "annual_quota": 0},
    ])
    opps = make_opps([
        {"rep": "Li", "stage": "bottom", "status": "won", "amount": 500_000, "close_date": "2026-03-01"},
        {"rep": "Li", "stage": "bottom", "status": "won", "amount": 300_000, "close_date": "2025-12-20"},
        {"rep": "Li", "stage": "upper", "amount": 1_000_000, "close_date": "2027-03-01"},
        {"rep": "Wang", "stage": "lower", "amount": 800_000, "close_date": "2026-12-01"},
        {"rep": "Sun", "stage": "middle", "amount": 100_000, "close_date": "2026-12-01"},
    ], classic)
    return opps, reps


def test_attainment_and_coverage_per_rep_on_a_tiny_team(tiny_team):
    opps, reps = tiny_team
    table = attainment(opps, reps, dt.date(2026, 11, 20))
    li = table.loc["Li"]
    # Li: achieved this year 500,000 (the 2025 win is last year's) of 2,000,000 → 25 %; open 1,000,000 × 25 % =
    # 250,000, expected in March 2027: next year's pipeline, so this year's coverage is 500,000 / 2,000,000 = 25 %.
    assert (li["achieved"], li["weighted"]) == (500_000.0, 250_000.0)
    assert (li["weighted_this_year"], li["weighted_later"]) == (0.0, 250_000.0)
    assert li["attainment"] == pytest.approx(0.25)
    assert li["coverage"] == pytest.approx(0.25)
    # Wang: nothing won, 800,000 × 75 % = 600,000 open → coverage 600,000 / 1,000,000 = 60 %.
    assert table.loc["Wang", "attainment"] == 0.0
    assert table.loc["Wang", "coverage"] == pytest.approx(0.6)


def test_coverage_counts_the_pipeline_closing_in_the_fiscal_year_the_report_date_falls_in(tiny_team):
    opps, reps = tiny_team
    # With a fiscal year from April, 2026-11-20 falls in April 2026 - March 2027: Li's March deal closes this year,
    # and the win of 2026-03-01 was last year's.
    li = attainment(opps, reps, dt.date(2026, 11, 20), fiscal_year_start=4).loc["Li"]
    assert (li["achieved"], li["weighted_this_year"], li["weighted_later"]) == (0.0, 250_000.0, 0.0)
    assert li["coverage"] == pytest.approx(250_000 / 2_000_000)


def test_an_open_deal_without_a_close_date_counts_in_the_forecast_but_in_no_years_coverage(classic, tiny_team):
    _, reps = tiny_team
    opps = make_opps([{"rep": "Wang", "stage": "lower", "amount": 800_000, "close_date": None}], classic)
    wang = attainment(opps, reps, dt.date(2026, 11, 20)).loc["Wang"]
    assert (wang["weighted"], wang["weighted_this_year"], wang["weighted_later"]) == (600_000.0, 0.0, 0.0)
    assert quota_proposal(opps, **PLAN).loc["Wang", "prospects"] == 0


def test_deals_without_a_rep_come_last_under_no_name(classic, tiny_team):
    _, reps = tiny_team
    opps = make_opps([{"rep": None, "stage": "lower", "amount": 800_000, "close_date": "2026-12-01"}], classic)
    table = attainment(opps, reps, dt.date(2026, 11, 20))
    assert pd.isna(table.index[-1]) and table["weighted"].iloc[-1] == 600_000.0
    assert not table["in_reps_table"].iloc[-1]


def test_a_rep_without_opportunities_or_quota_shows_na_ratios_not_infinity(tiny_team):
    opps, reps = tiny_team
    zhao = attainment(opps, reps, dt.date(2026, 11, 20)).loc["Zhao"]
    assert (zhao["achieved"], zhao["weighted"]) == (0.0, 0.0)
    assert pd.isna(zhao["attainment"]) and pd.isna(zhao["coverage"])


def test_a_rep_found_only_in_the_opportunities_is_kept_and_flagged(tiny_team):
    opps, reps = tiny_team
    table = attainment(opps, reps, dt.date(2026, 11, 20))
    assert list(table.index) == ["Li", "Wang", "Zhao", "Sun"]
    assert table["in_reps_table"].tolist() == [True, True, True, False]
    assert table.loc["Sun", "weighted"] == 50_000.0   # 100,000 × 50 %
    assert pd.isna(table.loc["Sun", "quota"]) and pd.isna(table.loc["Sun", "coverage"])


def test_a_rep_listed_twice_in_the_reps_table_is_refused(tiny_team):
    opps, _ = tiny_team
    reps = make_reps([{"rep": "Li", "hire_date": "2024-01-01", "annual_quota": 1},
                      {"rep": "Li", "hire_date": "2025-01-01", "annual_quota": 2}])
    with pytest.raises(InputError, match="'Li' listed more than once"):
        attainment(opps, reps, dt.date(2026, 11, 20))


def test_a_quota_that_is_not_a_number_is_refused_naming_the_rep(tiny_team):
    opps, _ = tiny_team
    reps = make_reps([{"rep": "Li", "hire_date": "2024-01-01"}])
    reps["annual_quota"] = reps["annual_quota"].astype(object)
    reps.loc[0, "annual_quota"] = "about 1m"
    with pytest.raises(InputError, match="rep 'Li': 'about 1m'; expected a number"):
        attainment(opps, reps, dt.date(2026, 11, 20))


def test_an_open_prospect_of_an_unknown_stage_is_named_rather_than_counted_as_zero(classic):
    opps = make_opps([{"id": "Q9", "stage": "upper", "close_date": "2027-06-30"}], classic)
    opps.loc[0, ["stage", "win_rate"]] = ["somewhere", float("nan")]
    with pytest.raises(InputError, match="id 'Q9' stage 'somewhere'"):
        quota_proposal(opps, **PLAN)
