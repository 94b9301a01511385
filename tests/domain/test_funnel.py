"""The funnel figures: stage counts, conversions, days in stage, sales cycle, ideal vs actual, reverse calculation."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from factories import AS_OF, make_methodology, make_opps

from funnel_xl.domain.funnel import (
    funnel_by_stage,
    ideal_vs_actual,
    reached_position,
    required_pipeline,
    sales_cycle_days,
)
from funnel_xl.errors import InputError

# Five stages like the classic funnel (top 0 %, upper 25 %, middle 50 %, lower 75 %, bottom 100 %).
FIVE = make_methodology([0.0, 0.25, 0.50, 0.75, 1.0])


def nine_deals() -> pd.DataFrame:
    """Nine deals whose funnel is worked out by hand in the tests below (report date 2026-11-20).

    Furthest stage reached: A s2, B s2, C s3, D s4, E s5 (won), F s5 (won), G s3 (lost), H s2 (lost), I s1.
    """
    return make_opps([
        {"id": "A", "stage": "s2", "amount": 100_000, "stage_entered_date": "2026-11-10"},  # 10 days
        {"id": "B", "stage": "s2", "amount": 300_000, "stage_entered_date": "2026-11-01"},  # 19 days
        {"id": "C", "stage": "s3", "amount": 200_000},                                      # no entry date
        {"id": "D", "stage": "s4", "amount": 400_000, "stage_entered_date": "2026-10-21"},  # 30 days
        {"id": "E", "stage": "s5", "amount": 500_000, "status": "won",
         "created_date": "2026-01-01", "close_date": "2026-03-01"},                          # 59-day cycle
        {"id": "F", "stage": "s5", "amount": 700_000, "status": "won",
         "created_date": "2026-02-01", "close_date": "2026-05-01"},                          # 89-day cycle
        {"id": "G", "stage": "s3", "amount": 900_000, "status": "lost", "close_date": "2026-06-01"},
        {"id": "H", "stage": "s2", "amount": 800_000, "status": "lost", "close_date": "2026-06-01"},
        {"id": "I", "stage": "s1", "amount": 50_000},
    ], FIVE)


# ------------------------------------------------------------------------------------ reached position

def test_a_deal_has_reached_its_current_stage_and_a_won_deal_the_last_one():
    opps = nine_deals()
    assert reached_position(opps, FIVE).tolist() == [1, 1, 2, 3, 4, 4, 2, 1, 0]


def test_a_won_deal_reaches_the_last_stage_even_when_its_stage_was_left_earlier():
    opps = make_opps([{"stage": "s2", "status": "won", "close_date": "2026-05-01"}], FIVE)
    assert reached_position(opps, FIVE).tolist() == [4]


def test_history_keeps_the_furthest_stage_a_deal_that_slipped_back_had_reached():
    opps = nine_deals()
    history = pd.DataFrame({"snapshot_date": pd.to_datetime(["2026-05-01", "2026-05-08", "2026-05-08"]),
                            "id": ["H", "H", "A"], "stage": ["s4", "s3", "s1"]})
    reached = reached_position(opps, FIVE, history)
    assert reached.tolist() == [1, 1, 2, 3, 4, 4, 2, 3, 0]


def test_a_stage_the_methodology_does_not_know_is_refused_with_the_deal_named():
    opps = make_opps([{"id": "Q-12", "stage": "sideways"}], FIVE)
    with pytest.raises(InputError, match="Q-12.*sideways"):
        reached_position(opps, FIVE)


# -------------------------------------------------------------------------------------- funnel by stage

def test_funnel_counts_what_sits_in_each_stage_now():
    table = funnel_by_stage(nine_deals(), FIVE, AS_OF)
    assert table.index.tolist() == ["s1", "s2", "s3", "s4", "s5"]
    assert table["open_count"].tolist() == [1, 2, 1, 1, 0]
    assert table["pipeline"].tolist() == pytest.approx([50_000, 400_000, 200_000, 400_000, 0])
    assert table["weighted"].tolist() == pytest.approx([0, 100_000, 100_000, 300_000, 0])
    assert table["win_rate"].tolist() == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0])


def test_funnel_counts_every_deal_that_reached_a_stage_whatever_its_status():
    table = funnel_by_stage(nine_deals(), FIVE, AS_OF)
    assert table["reached_count"].tolist() == [9, 8, 5, 3, 2]


def test_conversion_to_the_next_stage_divides_the_deals_that_got_there_by_those_that_started():
    conv = funnel_by_stage(nine_deals(), FIVE, AS_OF)["conversion_to_next"]
    assert conv.iloc[:4].tolist() == pytest.approx([8 / 9, 5 / 8, 3 / 5, 2 / 3])
    assert pd.isna(conv.iloc[4])


def test_conversion_to_won_counts_only_deals_already_won_or_lost():
    conv = funnel_by_stage(nine_deals(), FIVE, AS_OF)["conversion_to_won"]
    # s1, s2: E, F won against G, H lost; s3: E, F against G; s4 and s5: only E and F.
    assert conv.tolist() == pytest.approx([2 / 4, 2 / 4, 2 / 3, 1.0, 1.0])


def test_conversions_are_blank_where_nothing_reached_or_closed():
    opps = make_opps([{"stage": "s1"}, {"stage": "s1"}], FIVE)
    table = funnel_by_stage(opps, FIVE, AS_OF)
    assert table["conversion_to_next"].iloc[0] == 0.0
    assert table["conversion_to_next"].iloc[1:].isna().all()
    assert table["conversion_to_won"].isna().all()


def test_days_in_stage_average_the_open_deals_that_have_an_entry_date():
    days = funnel_by_stage(nine_deals(), FIVE, AS_OF)["avg_days_in_stage"]
    assert days.iloc[1] == pytest.approx((10 + 19) / 2)
    assert days.iloc[3] == pytest.approx(30)
    assert pd.isna(days.iloc[0]) and pd.isna(days.iloc[2]) and pd.isna(days.iloc[4])


def test_days_in_stage_depend_on_the_report_date_given():
    days = funnel_by_stage(nine_deals(), FIVE, dt.date(2026, 12, 20))["avg_days_in_stage"]
    assert days.iloc[3] == pytest.approx(60)


def test_the_funnel_uses_history_for_how_far_deals_got():
    history = pd.DataFrame({"id": ["H"], "stage": ["s4"]})
    table = funnel_by_stage(nine_deals(), FIVE, AS_OF, history=history)
    assert table["reached_count"].tolist() == [9, 8, 6, 4, 2]
    assert table["conversion_to_won"].iloc[3] == pytest.approx(2 / 3)


def test_the_funnel_shows_the_stage_names_of_the_big_project_methodology(big_project):
    opps = make_opps([{"stage": big_project.stages[4].key, "amount": 1_000_000}], big_project)
    table = funnel_by_stage(opps, big_project, AS_OF)
    assert len(table) == 7
    assert table["stage_en"].iloc[4] == big_project.stages[4].en
    assert table["weighted"].iloc[4] == pytest.approx(500_000)  # stage 5, "50 % or more"


# -------------------------------------------------------------------------------------------- sales cycle

def test_the_sales_cycle_averages_days_from_creation_to_signing_over_won_deals():
    assert sales_cycle_days(nine_deals()) == pytest.approx((59 + 89) / 2)


def test_there_is_no_sales_cycle_before_anything_is_won():
    assert sales_cycle_days(make_opps([{"stage": "s1"}], FIVE)) is None


# ---------------------------------------------------------------------------------------- ideal vs actual

def test_the_actual_funnel_is_set_against_the_ideal_one_stage_by_stage():
    shaped = make_methodology([0.1, 0.4, 0.8, 1.0], ideal_shares=[2, 1, 1, None])
    opps = make_opps([{"stage": s} for s in ("s1", "s2", "s2", "s3")]
                     + [{"stage": "s1", "status": "lost", "close_date": "2026-06-01"}], shaped)
    table = ideal_vs_actual(opps, shaped)
    assert table["ideal_share"].iloc[:3].tolist() == pytest.approx([0.5, 0.25, 0.25])
    assert table["actual_share"].tolist() == pytest.approx([0.25, 0.5, 0.25, 0.0])
    assert table["ideal_count"].iloc[:3].tolist() == pytest.approx([2, 1, 1])
    assert table["actual_count"].tolist() == [1, 2, 1, 0]
    assert table["gap_count"].iloc[:3].tolist() == pytest.approx([-1, 1, 0])
    assert table[["ideal_share", "ideal_count", "gap_count"]].iloc[3].isna().all()


def test_the_big_project_ideal_funnel_keeps_the_shares_of_its_file(big_project):
    table = ideal_vs_actual(make_opps([{"stage": big_project.stages[1].key}], big_project), big_project)
    declared = [s.ideal_share for s in big_project.stages]
    assert table["ideal_share"].tolist() == pytest.approx([x / sum(declared) for x in declared])
    assert table["actual_share"].iloc[1] == 1.0


# ---------------------------------------------------------------------------------- reverse calculation

def test_a_million_target_needs_four_two_and_one_and_a_third_million_in_the_classic_funnel(classic):
    table = required_pipeline(1_000_000, classic, avg_deal_size=500_000)
    upper, middle, lower = (classic.stages[i].key for i in (1, 2, 3))
    assert table.loc[[upper, middle, lower], "amount_needed"].tolist() == pytest.approx(
        [4_000_000, 2_000_000, 1_333_333.33], abs=0.01)
    assert table.loc[[upper, middle, lower], "count_needed"].tolist() == [8, 4, 3]


def test_a_stage_that_counts_nothing_yet_needs_no_figure(classic):
    table = required_pipeline(1_000_000, classic, avg_deal_size=500_000)
    top = classic.stages[0].key
    assert classic.stages[0].win_rate == 0
    assert pd.isna(table.loc[top, "amount_needed"]) and pd.isna(table.loc[top, "count_needed"])


def test_whole_numbers_of_deals_are_not_rounded_up_by_floating_point(product_sales):
    # 700,000 / 70 % = 1,000,000 = ten deals of 100,000 exactly; in floating point the quotient is 10.000000000000002.
    table = required_pipeline(700_000, product_sales, avg_deal_size=100_000)
    assert table["count_needed"].tolist() == [70, 24, 14, 10, 10, 7]  # 70, 23.3, 14, 10, 10, 7 deals


def test_observed_rates_replace_the_methodology_and_a_stage_without_one_is_blank():
    table = required_pipeline(600_000, FIVE, avg_deal_size=100_000, rates={"s2": 0.2, "s3": 0.4, "s4": None})
    assert table.loc[["s2", "s3"], "amount_needed"].tolist() == pytest.approx([3_000_000, 1_500_000])
    assert table.loc[["s2", "s3"], "count_needed"].tolist() == [30, 15]
    assert table.loc[["s1", "s4", "s5"], "amount_needed"].isna().all()


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"target": -1, "avg_deal_size": 100_000}, "target"),
        ({"target": 1_000, "avg_deal_size": 0}, "avg_deal_size"),
        ({"target": "lots", "avg_deal_size": 100_000}, "target"),
        ({"target": 1_000, "avg_deal_size": 100_000, "rates": {"s9": 0.5}}, "s9"),
        ({"target": 1_000, "avg_deal_size": 100_000, "rates": {"s2": 25}}, "s2"),
    ],
)
def test_the_reverse_calculation_refuses_bad_arguments_by_name(kwargs, named):
    target = kwargs.pop("target")
    with pytest.raises(InputError, match=named):
        required_pipeline(target, FIVE, **kwargs)
