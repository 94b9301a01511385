"""The forecast figures: weighted forecast, achieved, and the splits by group, category and time bucket."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from factories import AS_OF, funnels_with_opportunities, make_methodology, make_opps
from hypothesis import given, settings

from funnel_xl.domain.forecast import (
    achieved,
    close_quarter,
    dates_to_update,
    forecast_by,
    forecast_by_bucket,
    forecast_by_category,
    forecast_category,
    open_pipeline,
    time_bucket,
    weighted_forecast,
)
from funnel_xl.domain.schema import BUCKETS, FORECAST_CATEGORIES
from funnel_xl.errors import InputError

# A small funnel for hand arithmetic: s1 10 %, s2 50 %, s3 75 %, s4 100 %.
QUARTERLY = make_methodology([0.10, 0.50, 0.75, 1.0])


# ------------------------------------------------------------------------------------ weighted forecast

def test_one_million_at_the_classic_upper_stage_contributes_a_quarter_million(classic):
    upper = classic.stages[1]
    assert upper.win_rate == pytest.approx(0.25)
    opps = make_opps([{"stage": upper.key, "amount": 1_000_000}], classic)
    assert weighted_forecast(opps) == pytest.approx(250_000)
    assert open_pipeline(opps) == pytest.approx(1_000_000)


def test_product_sales_weighs_one_hundred_thousand_per_stage_as_one_three_five_seven_seven_ten(product_sales):
    opps = make_opps([{"stage": s.key, "amount": 100_000} for s in product_sales.stages], product_sales)
    assert opps["weighted"].tolist() == pytest.approx([10_000, 30_000, 50_000, 70_000, 70_000, 100_000])
    assert weighted_forecast(opps) == pytest.approx(330_000)
    assert open_pipeline(opps) == pytest.approx(600_000)


def test_won_and_lost_deals_add_nothing_to_the_weighted_forecast_or_the_pipeline():
    opps = make_opps([
        {"stage": "s2", "amount": 200_000},
        {"stage": "s4", "amount": 900_000, "status": "won", "close_date": "2026-06-01"},
        {"stage": "s3", "amount": 700_000, "status": "lost", "close_date": "2026-06-01"},
    ], QUARTERLY)
    assert weighted_forecast(opps) == pytest.approx(100_000)
    assert open_pipeline(opps) == pytest.approx(200_000)


def test_weighted_forecast_refuses_an_open_deal_whose_stage_the_methodology_does_not_know():
    opps = make_opps([{"id": "P-7", "stage": "nowhere", "amount": 1}], QUARTERLY)
    with pytest.raises(InputError, match="P-7"):
        weighted_forecast(opps)


def test_figures_refuse_a_frame_that_has_not_been_given_its_rates():
    with pytest.raises(InputError, match="with_rates"):
        weighted_forecast(make_opps([{"stage": "s1"}]))


# ---------------------------------------------------------------------------------------------- achieved

WINS = [
    {"stage": "s4", "status": "won", "amount": 1_000, "close_date": "2025-12-31"},   # last year
    {"stage": "s4", "status": "won", "amount": 20_000, "close_date": "2026-01-01"},  # first day of the year
    {"stage": "s4", "status": "won", "amount": 300_000, "close_date": "2026-09-30"},
    {"stage": "s4", "status": "won", "amount": 4_000_000, "close_date": "2026-11-20"},  # the report date
    {"stage": "s3", "status": "lost", "amount": 50_000_000, "close_date": "2026-05-05"},
    {"stage": "s3", "status": "open", "amount": 600_000_000, "close_date": "2026-11-01"},
]


def test_achieved_counts_won_deals_from_the_first_of_january_through_the_report_date():
    opps = make_opps(WINS, QUARTERLY)
    assert achieved(opps, AS_OF) == pytest.approx(20_000 + 300_000 + 4_000_000)


def test_achieved_in_a_given_period_counts_only_wins_inside_it():
    opps = make_opps(WINS, QUARTERLY)
    assert achieved(opps, AS_OF, period_start=dt.date(2026, 10, 1)) == pytest.approx(4_000_000)
    assert achieved(opps, dt.date(2026, 11, 19), period_start=dt.date(2025, 12, 31)) == pytest.approx(321_000)


def test_achieved_refuses_a_period_that_starts_after_the_report_date():
    with pytest.raises(InputError, match="period_start"):
        achieved(make_opps(WINS, QUARTERLY), AS_OF, period_start=dt.date(2026, 12, 1))


def test_a_missing_report_date_is_refused_rather_than_taken_as_today():
    with pytest.raises(InputError, match="as_of"):
        achieved(make_opps(WINS, QUARTERLY), None)


# ------------------------------------------------------------------------------------------- by group

def test_close_quarter_names_the_calendar_quarter_and_leaves_blank_dates_blank():
    dates = pd.Series(pd.to_datetime(["2026-03-31", "2026-04-01", "2026-12-31", None]))
    got = close_quarter(dates)
    assert got.iloc[:3].tolist() == ["2026Q1", "2026Q2", "2026Q4"]
    assert pd.isna(got.iloc[3])


def test_forecast_by_rep_lists_each_rep_largest_weighted_first_with_won_only_reps_included():
    opps = make_opps([
        {"rep": "Li", "stage": "s2", "amount": 500_000},                      # weighted 250,000
        {"rep": "Wang", "stage": "s3", "amount": 400_000},                    # weighted 300,000
        {"rep": "Wang", "stage": "s4", "amount": 80_000, "status": "won", "close_date": "2026-02-01"},
        {"rep": "Zhao", "stage": "s4", "amount": 200_000, "status": "won", "close_date": "2026-07-01"},
        {"rep": "Chen", "stage": "s2", "amount": 999_000, "status": "lost", "close_date": "2026-07-01"},
    ], QUARTERLY)
    table = forecast_by(opps, "rep", AS_OF)
    assert table.index.tolist() == ["Wang", "Li", "Zhao"]
    assert table.loc["Wang"].tolist() == pytest.approx([1, 400_000, 300_000, 1, 80_000])
    assert table.loc["Li"].tolist() == pytest.approx([1, 500_000, 250_000, 0, 0])
    assert table.loc["Zhao"].tolist() == pytest.approx([0, 0, 0, 1, 200_000])
    assert list(table.columns) == ["open_count", "pipeline", "weighted", "won_count", "achieved"]


def test_forecast_by_close_quarter_runs_in_calendar_order():
    opps = make_opps([
        {"stage": "s2", "amount": 100_000, "close_date": "2027-02-10"},
        {"stage": "s2", "amount": 100_000, "close_date": "2026-12-31"},
        {"stage": "s1", "amount": 100_000, "close_date": "2027-01-01"},
        {"stage": "s4", "amount": 70_000, "status": "won", "close_date": "2026-05-01"},
    ], QUARTERLY)
    table = forecast_by(opps, "close_quarter", AS_OF)
    assert table.index.tolist() == ["2026Q2", "2026Q4", "2027Q1"]
    assert table.loc["2027Q1", "weighted"] == pytest.approx(50_000 + 10_000)
    assert table.loc["2026Q2", "achieved"] == pytest.approx(70_000)


def test_deals_without_a_region_form_their_own_group_shown_last():
    opps = make_opps([
        {"region": None, "stage": "s3", "amount": 1_000_000},
        {"region": "South", "stage": "s1", "amount": 100_000},
    ], QUARTERLY)
    table = forecast_by(opps, "region", AS_OF)
    assert table.index[0] == "South"
    assert pd.isna(table.index[1])
    assert table["weighted"].iloc[1] == pytest.approx(750_000)


def test_forecast_by_refuses_a_grouping_it_does_not_know():
    with pytest.raises(InputError, match="customer"):
        forecast_by(make_opps([{"stage": "s1"}], QUARTERLY), "customer", AS_OF)


# -------------------------------------------------------------------------------- forecast categories
# Report date 2026-11-20: this quarter runs 2026-10-01 .. 2026-12-31, next quarter is 2027Q1.

@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"stage": "s4", "status": "won", "close_date": "2026-03-01"}, "closed"),
        ({"stage": "s3", "close_date": "2026-12-31"}, "commit"),               # 75 % on the quarter's last day
        ({"stage": "s3", "close_date": "2026-11-20"}, "commit"),               # closing on the report date
        ({"stage": "s2", "close_date": "2026-12-31"}, "likely_this_quarter"),  # 50 %
        ({"stage": "s3", "close_date": "2027-01-01"}, "likely_next_quarter"),
        ({"stage": "s1", "close_date": "2027-03-31"}, "likely_next_quarter"),
        ({"stage": "s3", "close_date": "2027-04-01"}, "intent"),
        ({"stage": "s3", "close_date": "2026-10-01"}, "overdue"),   # this quarter but past: never committed
        ({"stage": "s3", "close_date": "2026-09-30"}, "overdue"),              # overdue from last quarter
        ({"stage": "s3", "close_date": "2026-11-19", "category": "commit"}, "overdue"),  # until it is re-dated
        ({"stage": "s3", "close_date": None, "category": "commit"}, "no_close_date"),
        ({"stage": "s1", "close_date": "2027-06-01", "category": "commit"}, "commit"),  # the rep's call stands
        ({"stage": "s4", "status": "won", "close_date": "2026-11-20", "category": "intent"}, "closed"),
    ],
)
def test_forecast_category_follows_the_quarter_and_the_win_rate(row, expected):
    opps = make_opps([row], QUARTERLY)
    assert forecast_category(opps, AS_OF).tolist() == [expected]


def test_lost_deals_have_no_forecast_category_even_when_one_was_typed():
    opps = make_opps([{"stage": "s3", "status": "lost", "close_date": "2026-12-01", "category": "commit"}], QUARTERLY)
    assert forecast_category(opps, AS_OF).isna().all()


def test_an_open_deal_typed_closed_is_refused_because_closed_means_won():
    opps = make_opps([{"id": "X1", "stage": "s3", "category": "closed"}], QUARTERLY)
    with pytest.raises(InputError, match="X1"):
        forecast_category(opps, AS_OF)


def test_a_deal_won_after_the_report_date_is_refused_rather_than_counted_as_closed():
    opps = make_opps([{"id": "W9", "stage": "s4", "status": "won", "close_date": "2026-11-21"}], QUARTERLY)
    with pytest.raises(InputError, match="W9.*after the report date"):
        forecast_category(opps, AS_OF)
    with pytest.raises(InputError, match="W9"):
        time_bucket(opps, AS_OF)


def test_forecast_by_category_lists_every_category_with_won_amounts_counted_in_full():
    opps = make_opps([
        {"stage": "s4", "status": "won", "amount": 300_000, "close_date": "2026-08-01"},
        {"stage": "s3", "amount": 400_000, "close_date": "2026-12-01"},   # commit, weighted 300,000
        {"stage": "s3", "amount": 200_000, "close_date": "2026-11-30"},   # commit, weighted 150,000
        {"stage": "s1", "amount": 500_000, "close_date": "2027-08-01"},   # intent, weighted 50,000
        {"stage": "s2", "amount": 800_000, "status": "lost", "close_date": "2026-10-01"},
    ], QUARTERLY)
    table = forecast_by_category(opps, AS_OF)
    assert table.index.tolist() == list(FORECAST_CATEGORIES)
    assert table.loc[["overdue", "no_close_date"]].to_numpy().sum() == 0
    assert table.loc["closed"].tolist() == pytest.approx([1, 300_000, 300_000])
    assert table.loc["commit"].tolist() == pytest.approx([2, 600_000, 450_000])
    assert table.loc["likely_this_quarter"].tolist() == [0, 0, 0]
    assert table.loc["likely_next_quarter"].tolist() == [0, 0, 0]
    assert table.loc["intent"].tolist() == pytest.approx([1, 500_000, 50_000])


def test_open_deals_past_or_without_their_close_date_are_listed_for_their_rep_to_date():
    opps = make_opps([
        {"id": "A", "rep": "王芳", "stage": "s2", "amount": 100_000, "close_date": "2026-11-19"},  # a day overdue
        {"id": "B", "rep": "张伟", "stage": "s3", "amount": 400_000, "close_date": None},
        {"id": "C", "rep": "张伟", "stage": "s1", "amount": 300_000, "close_date": "2026-01-31"},
        {"id": "D", "rep": "张伟", "stage": "s2", "amount": 900_000, "close_date": "2026-11-20"},  # due today
        {"id": "E", "rep": "张伟", "stage": "s4", "status": "won", "close_date": "2026-01-01"},
    ], QUARTERLY)
    listed = dates_to_update(opps, AS_OF)
    # By rep, then the weighted amount: 张伟's B (400,000 × 75 %) before C (300,000 × 10 %), then 王芳's A.
    assert listed["id"].tolist() == ["B", "C", "A"]
    assert listed["issue"].tolist() == ["no_close_date", "overdue", "overdue"]
    assert listed["weighted"].tolist() == pytest.approx([300_000, 30_000, 50_000])


# --------------------------------------------------------------------------------------- time buckets

@pytest.mark.parametrize(
    ("close", "expected"),
    [
        ("2026-11-19", "overdue"),
        ("2026-11-20", "m0_3"),    # closing on the report date
        ("2027-02-19", "m0_3"),
        ("2027-02-20", "m3_6"),    # exactly three months out belongs to the later bucket
        ("2027-05-19", "m3_6"),
        ("2027-05-20", "m6_9"),
        ("2027-08-20", "m9_12"),
        ("2027-11-19", "m9_12"),
        ("2027-11-20", "later"),
        (None, "no_close_date"),
    ],
)
def test_time_bucket_counts_calendar_months_from_the_report_date(close, expected):
    opps = make_opps([{"stage": "s2", "close_date": close}], QUARTERLY)
    assert time_bucket(opps, AS_OF).tolist() == [expected]


def test_three_months_after_the_thirtieth_of_november_is_the_end_of_february():
    opps = make_opps([{"stage": "s2", "close_date": "2027-02-27"}, {"stage": "s2", "close_date": "2027-02-28"}],
                     QUARTERLY)
    assert time_bucket(opps, dt.date(2026, 11, 30)).tolist() == ["m0_3", "m3_6"]


def test_won_deals_are_closed_and_lost_deals_have_no_time_bucket():
    opps = make_opps([
        {"stage": "s4", "status": "won", "close_date": "2026-01-15"},
        {"stage": "s2", "status": "lost", "close_date": "2027-01-15"},
    ], QUARTERLY)
    got = time_bucket(opps, AS_OF)
    assert got.iloc[0] == "closed"
    assert pd.isna(got.iloc[1])


def test_forecast_by_bucket_lists_every_bucket_in_order_with_hand_summed_amounts():
    opps = make_opps([
        {"stage": "s4", "status": "won", "amount": 50_000, "close_date": "2026-02-01"},
        {"stage": "s2", "amount": 100_000, "close_date": "2026-12-01"},   # m0_3, weighted 50,000
        {"stage": "s1", "amount": 300_000, "close_date": "2027-01-10"},   # m0_3, weighted 30,000
        {"stage": "s3", "amount": 400_000, "close_date": "2027-09-01"},   # m9_12, weighted 300,000
    ], QUARTERLY)
    table = forecast_by_bucket(opps, AS_OF)
    assert table.index.tolist() == list(BUCKETS)
    assert table.loc["closed"].tolist() == pytest.approx([1, 50_000, 50_000])
    assert table.loc["m0_3"].tolist() == pytest.approx([2, 400_000, 80_000])
    assert table.loc["m9_12"].tolist() == pytest.approx([1, 400_000, 300_000])
    assert table["count"].sum() == 4


# ---------------------------------------------------------------------------------------- properties

@settings(max_examples=50, deadline=None)
@given(funnels_with_opportunities())
def test_the_weighted_forecast_never_exceeds_the_open_pipeline(drawn):
    _, opps = drawn
    assert weighted_forecast(opps) <= open_pipeline(opps)


@settings(max_examples=50, deadline=None)
@given(funnels_with_opportunities())
def test_the_rows_of_every_grouping_add_up_to_the_grand_totals(drawn):
    _, opps = drawn
    for by in ("rep", "product", "close_quarter"):
        table = forecast_by(opps, by, AS_OF)
        assert table["weighted"].sum() == pytest.approx(weighted_forecast(opps), rel=1e-9, abs=1e-6)
        assert table["pipeline"].sum() == pytest.approx(open_pipeline(opps), rel=1e-9, abs=1e-6)
        assert table["achieved"].sum() == pytest.approx(achieved(opps, AS_OF), rel=1e-9, abs=1e-6)


@settings(max_examples=50, deadline=None)
@given(funnels_with_opportunities())
def test_every_deal_not_lost_has_exactly_one_category_and_one_time_bucket(drawn):
    _, opps = drawn
    not_lost = int((opps["status"] != "lost").sum())
    assert forecast_category(opps, AS_OF).notna().sum() == not_lost
    assert time_bucket(opps, AS_OF).notna().sum() == not_lost
    by_category, by_bucket = forecast_by_category(opps, AS_OF), forecast_by_bucket(opps, AS_OF)
    assert by_category["count"].sum() == not_lost
    assert by_bucket["count"].sum() == not_lost
    for table in (by_category, by_bucket):
        open_weighted = table.drop(index="closed")["weighted"].sum()
        assert open_weighted == pytest.approx(weighted_forecast(opps), rel=1e-9, abs=1e-6)
