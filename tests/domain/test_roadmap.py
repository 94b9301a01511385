"""The success roadmap (成功路线图): phases by tenure, each milestone met or missed with its figure."""

from __future__ import annotations

import datetime as dt
import itertools

import pandas as pd
import pytest
from factories import make_opps
from rep_and_snapshot_factories import make_reps

from funnel_xl.domain import roadmap as module
from funnel_xl.domain.roadmap import parse_roadmap, roadmap_status, tenure_months
from funnel_xl.errors import InputError
from funnel_xl.labels import label
from funnel_xl.paths import templates_dir

AS_OF = dt.date(2026, 11, 20)
_serial = itertools.count(1)


@pytest.fixture(scope="module")
def roadmap():
    return parse_roadmap((templates_dir() / "roadmap.toml").read_text(encoding="utf-8"), "roadmap.toml")


def deals(rep: str, count: int, stage: str, **fields) -> list[dict]:
    """``count`` opportunities of ``rep`` at ``stage``, each for a different customer."""
    rows = []
    for _ in range(count):
        n = next(_serial)
        rows.append({"id": f"D{n}", "customer": f"Customer {n}", "rep": rep, "stage": stage, **fields})
    return rows


def won(rep: str, amount: float, close_date: str) -> list[dict]:
    return deals(rep, 1, "closed", status="won", amount=amount, close_date=close_date)


def status_of(table: pd.DataFrame, rep: str) -> dict[str, tuple]:
    """milestone → (phase, target, actual, met) for one rep."""
    mine = table[table["rep"].eq(rep)]
    return {r.milestone: (r.phase, r.target, r.actual, r.met) for r in mine.itertuples()}


# ------------------------------------------------------------------------------------------ the file

def test_the_shipped_roadmap_has_the_five_phases_with_the_seed_thresholds(roadmap):
    assert [p.key for p in roadmap.phases] == ["training", "m0_3", "m3_6", "m6_9", "m9_12"]
    m3_6 = {m.key: m for m in roadmap.phases[2].milestones}
    assert m3_6["coverage"].threshold == 0.75          # the file writes 75 (percent)
    assert m3_6["quarter_2_target"].quarter == 2
    assert m3_6["first_large_sale"].threshold == 350_000
    assert (roadmap.phases[4].from_months, roadmap.phases[4].to_months) == (9, None)


def test_every_mistake_in_a_roadmap_file_is_reported_at_once_with_phase_and_milestone():
    text = """
[[phases]]
key = "early"
from_months = 0
to_months = 6
  [[phases.milestones]]
  key = "visits"
  measure = "visits_per_week"
  threshold = 10
  [[phases.milestones]]
  key = "intent"
  measure = "customers_at_or_beyond"
  treshold = 3

[[phases]]
key = "later"
from_months = 3
"""
    with pytest.raises(InputError) as caught:
        parse_roadmap(text, "my_roadmap.toml")
    message = str(caught.value)
    assert message.startswith("my_roadmap.toml: the roadmap is not valid")
    assert "phase 1 (early), milestone 1 (visits): measure 'visits_per_week' is not known" in message
    assert "phase 1 (early), milestone 2 (intent): unknown key 'treshold'" in message
    assert "milestone 2 (intent): measure customers_at_or_beyond needs stage" in message
    assert "phases early and later overlap in tenure" in message


def test_a_roadmap_that_is_not_toml_is_reported_with_its_line():
    with pytest.raises(InputError, match=r"my_roadmap\.toml: line 2, column \d+: TOML syntax error"):
        parse_roadmap("[[phases]]\nkey = = 'early'\n", "my_roadmap.toml")


# ------------------------------------------------------------------------------------ tenure and phase

@pytest.mark.parametrize(("hire", "as_of", "months"), [
    ("2026-01-15", "2026-04-14", 2),
    ("2026-01-15", "2026-04-15", 3),
    ("2026-01-31", "2026-02-28", 1),   # 31 January + 1 month is 28 February
    ("2026-01-31", "2026-02-27", 0),
    ("2026-12-01", "2026-11-20", -1),  # not started yet
])
def test_tenure_counts_whole_calendar_months_from_the_hire_date(hire, as_of, months):
    assert tenure_months(pd.Timestamp(hire), pd.Timestamp(as_of)) == months


@pytest.mark.parametrize(("hire", "quota", "phase"), [
    ("2026-08-21", 1_000_000, "m0_3"),      # 2 whole months on 20 November
    ("2026-08-20", 1_000_000, "m3_6"),      # exactly 3 months: the later phase
    ("2026-05-20", 1_000_000, "m6_9"),      # exactly 6
    ("2026-02-20", 1_000_000, "m9_12"),     # exactly 9
    ("2023-02-20", 1_000_000, "m9_12"),     # years on: "9-12 months and on"
    ("2023-02-20", None, "training"),       # no quota yet: still in training (有定额 marks the end)
    ("2026-11-10", 0, "training"),
    ("2026-12-01", 1_000_000, "training"),  # hired after the report date
])
def test_the_phase_follows_quota_and_tenure_at_the_boundaries(roadmap, big_project, hire, quota, phase):
    reps = make_reps([{"rep": "Li", "hire_date": hire, "annual_quota": quota}])
    opps = make_opps(deals("Li", 1, "potential"), big_project)
    table = roadmap_status(opps, reps, big_project, AS_OF, roadmap)
    assert set(table["phase"]) == {phase}


def test_a_rep_without_a_hire_date_gets_one_row_saying_the_hire_date_is_unknown(roadmap, big_project):
    reps = make_reps([{"rep": "Li", "hire_date": None, "annual_quota": 1_000_000}])
    table = roadmap_status(make_opps(deals("Li", 1, "potential"), big_project), reps, big_project, AS_OF, roadmap)
    assert table[["rep", "phase", "reason"]].to_dict("records") == [
        {"rep": "Li", "phase": module.PHASE_HIRE_DATE_UNKNOWN, "reason": "no_hire_date"}]
    assert pd.isna(table.loc[0, "met"]) and pd.isna(table.loc[0, "milestone"])


# ---------------------------------------------------------------------------------------- milestones

def test_training_milestones_count_researched_target_customers_and_potential_ones(roadmap, big_project):
    reps = make_reps([{"rep": "Li", "hire_date": "2026-11-01"}, {"rep": "Wang", "hire_date": "2026-11-01"}])
    rows = (deals("Li", 15, "target") + deals("Li", 5, "potential")
            + deals("Wang", 15, "target") + deals("Wang", 4, "potential"))
    table = roadmap_status(make_opps(rows, big_project), reps, big_project, AS_OF, roadmap)
    # Li: 15 + 5 = 20 customers at target or beyond, 5 at potential: both met.
    assert status_of(table, "Li") == {
        "target_customers_researched": ("training", 20, 20, True),
        "potential_opportunities": ("training", 5, 5, True),
    }
    assert status_of(table, "Wang") == {
        "target_customers_researched": ("training", 20, 19, False),
        "potential_opportunities": ("training", 5, 4, False),
    }


def test_first_three_months_count_distinct_customers_and_ignore_lost_deals(roadmap, big_project):
    reps = make_reps([{"rep": "Li", "hire_date": "2026-10-01", "annual_quota": 1_200_000},
                      {"rep": "Wang", "hire_date": "2026-10-01", "annual_quota": 1_200_000}])
    second_deal = {"id": "W-extra", "customer": "Customer W", "rep": "Wang", "stage": "potential"}
    rows = (deals("Li", 12, "potential") + deals("Li", 2, "intent") + deals("Li", 1, "recognition")
            + deals("Wang", 12, "potential") + deals("Wang", 1, "intent")
            + [{**second_deal, "id": "W-first"}, second_deal]
            + deals("Wang", 1, "recognition", status="lost"))
    table = roadmap_status(make_opps(rows, big_project), reps, big_project, AS_OF, roadmap)
    # Li: 12 + 2 + 1 = 15 at potential or beyond; 2 + 1 = 3 at intent or beyond; 1 at recognition.
    assert status_of(table, "Li") == {
        "potential_customers": ("m0_3", 15, 15, True),
        "intent_customers": ("m0_3", 3, 3, True),
        "recognition_customers": ("m0_3", 1, 1, True),
    }
    # Wang: 12 + 1 + one customer with two deals = 14 customers; the lost deal at recognition counts nowhere.
    assert status_of(table, "Wang") == {
        "potential_customers": ("m0_3", 15, 14, False),
        "intent_customers": ("m0_3", 3, 1, False),
        "recognition_customers": ("m0_3", 1, 0, False),
    }


def test_months_three_to_six_check_coverage_second_quarter_and_a_large_sale(roadmap, big_project):
    reps = make_reps([{"rep": "Li", "hire_date": "2026-07-01", "annual_quota": 2_000_000},
                      {"rep": "Wang", "hire_date": "2026-07-01", "annual_quota": 2_000_000}])
    rows = (
        # Li: tenure quarter 2 runs 1 October - 31 December; its target is 2,000,000 / 4 = 500,000.
        won("Li", 400_000, "2026-10-10") + won("Li", 150_000, "2026-11-01") + won("Li", 360_000, "2026-08-15")
        + deals("Li", 1, "recognition", amount=400_000) + deals("Li", 4, "intent", amount=500_000)
        + won("Wang", 340_000, "2026-10-05")
        + deals("Wang", 2, "recognition", amount=500_000) + deals("Wang", 4, "intent", amount=100_000)
    )
    table = roadmap_status(make_opps(rows, big_project), reps, big_project, AS_OF, roadmap)
    li = status_of(table, "Li")
    # Achieved 400,000 + 150,000 + 360,000 = 910,000; weighted 400,000 × 50 % + 4 × 500,000 × 20 % = 600,000;
    # coverage (910,000 + 600,000) / 2,000,000 = 0.755.
    assert li["coverage"][2] == pytest.approx(0.755) and li["coverage"][3]
    # Quarter 2: (400,000 + 150,000) / 500,000 = 1.1; the August win is in quarter 1.
    assert li["quarter_2_target"][2] == pytest.approx(1.1) and li["quarter_2_target"][3]
    # Intent or beyond: 3 won customers + 1 at recognition + 4 at intent = 8; recognition or beyond: 3 + 1 = 4.
    assert li["intent_customers"][1:] == (8, 8, True)
    assert li["recognition_customers"][1:] == (4, 4, True)
    assert li["first_large_sale"][1:] == (350_000, 400_000, True)

    wang = status_of(table, "Wang")
    # (340,000 + 2 × 250,000 + 4 × 20,000) / 2,000,000 = 0.46; quarter 2: 340,000 / 500,000 = 0.68.
    assert wang["coverage"][2] == pytest.approx(0.46) and not wang["coverage"][3]
    assert wang["quarter_2_target"][2] == pytest.approx(0.68) and not wang["quarter_2_target"][3]
    assert wang["intent_customers"][1:] == (8, 7, False)
    assert wang["recognition_customers"][1:] == (4, 3, False)
    assert wang["first_large_sale"][1:] == (350_000, 340_000, False)


def test_months_six_to_nine_check_half_the_annual_target_and_negotiations(roadmap, big_project):
    reps = make_reps([{"rep": "Li", "hire_date": "2026-03-01", "annual_quota": 1_000_000},
                      {"rep": "Wang", "hire_date": "2026-03-01", "annual_quota": 1_000_000}])
    rows = (
        won("Li", 500_000, "2026-06-01")
        + deals("Li", 3, "negotiation", amount=200_000) + deals("Li", 4, "recognition", amount=200_000)
        + won("Wang", 490_000, "2026-06-01")
        + deals("Wang", 2, "negotiation", amount=200_000) + deals("Wang", 4, "recognition", amount=200_000)
    )
    table = roadmap_status(make_opps(rows, big_project), reps, big_project, AS_OF, roadmap)
    li, wang = status_of(table, "Li"), status_of(table, "Wang")
    # Li: 500,000 / 1,000,000 = 50 % exactly (met: at least); coverage (500,000 + 3 × 150,000 + 4 × 100,000) = 1.35.
    assert li["half_annual_target"][1:] == (0.5, 0.5, True)
    assert li["coverage"][2] == pytest.approx(1.35) and li["coverage"][3]
    assert li["recognition_customers"][1:] == (8, 8, True)   # 1 won + 3 + 4
    assert li["negotiation_customers"][1:] == (4, 4, True)   # 1 won + 3
    # Wang: 49 %; coverage (490,000 + 300,000 + 400,000) / 1,000,000 = 1.19.
    assert wang["half_annual_target"][2] == pytest.approx(0.49) and not wang["half_annual_target"][3]
    assert wang["coverage"][2] == pytest.approx(1.19) and not wang["coverage"][3]
    assert wang["recognition_customers"][1:] == (8, 7, False)
    assert wang["negotiation_customers"][1:] == (4, 3, False)


def test_from_month_nine_on_the_whole_annual_quota_counts_this_year_only(roadmap, big_project):
    reps = make_reps([{"rep": "Li", "hire_date": "2025-01-10", "annual_quota": 1_000_000},
                      {"rep": "Wang", "hire_date": "2025-11-20", "annual_quota": 1_000_000}])
    rows = (
        won("Li", 1_000_000, "2026-05-01") + deals("Li", 1, "negotiation", amount=1_000_000)
        + won("Wang", 800_000, "2025-12-15") + won("Wang", 900_000, "2026-02-01")
        + deals("Wang", 1, "recognition", amount=400_000)
    )
    table = roadmap_status(make_opps(rows, big_project), reps, big_project, AS_OF, roadmap)
    li, wang = status_of(table, "Li"), status_of(table, "Wang")
    assert li["annual_quota"] == ("m9_12", 1.0, 1.0, True)
    assert li["coverage"][2] == pytest.approx(1.75) and li["coverage"][3]       # (1,000,000 + 750,000) / 1,000,000
    # Wang (exactly 12 months): the December 2025 win is last year's; 900,000 / 1,000,000 = 90 %.
    assert wang["annual_quota"] == ("m9_12", 1.0, 0.9, False)
    assert wang["coverage"][2] == pytest.approx(1.1) and not wang["coverage"][3]  # (900,000 + 200,000) / 1,000,000


def test_a_milestone_on_a_stage_the_methodology_lacks_is_not_applicable(roadmap, classic):
    reps = make_reps([{"rep": "Li", "hire_date": "2026-10-01", "annual_quota": 1_000_000}])
    opps = make_opps(deals("Li", 3, "upper"), classic)
    table = roadmap_status(opps, reps, classic, AS_OF, roadmap)
    assert table["reason"].tolist() == ["stage_not_in_methodology"] * 3
    assert table["met"].isna().all() and table["actual"].isna().all()


def test_a_ratio_milestone_without_a_quota_is_not_applicable(big_project):
    custom = parse_roadmap("""
[[phases]]
key = "training"
requires_quota = false
  [[phases.milestones]]
  key = "coverage"
  measure = "coverage"
  threshold = 10
""")
    reps = make_reps([{"rep": "Li", "hire_date": "2026-10-01", "annual_quota": None}])
    table = roadmap_status(make_opps(deals("Li", 1, "intent"), big_project), reps, big_project, AS_OF, custom)
    assert table.loc[0, "reason"] == "no_quota" and pd.isna(table.loc[0, "met"])


def test_an_edited_roadmap_can_count_opportunities_rather_than_customers(big_project):
    custom = parse_roadmap("""
[[phases]]
key = "first_year"
from_months = 0
  [[phases.milestones]]
  key = "deals_in_negotiation"
  measure = "opps_at_or_beyond"
  stage = "negotiation"
  threshold = 2
""")
    reps = make_reps([{"rep": "Li", "hire_date": "2026-10-01", "annual_quota": 1_000_000}])
    one_customer = [{"id": f"N{i}", "customer": "Same Co", "rep": "Li", "stage": "negotiation"} for i in (1, 2)]
    table = roadmap_status(make_opps(one_customer, big_project), reps, big_project, AS_OF, custom)
    # Two deals with one customer: 2 opportunities, though only 1 customer.
    assert status_of(table, "Li") == {"deals_in_negotiation": ("first_year", 2, 2, True)}


def test_every_phase_milestone_and_reason_has_a_label_in_both_languages(roadmap):
    keys = [f"roadmap.phase.{p.key}" for p in roadmap.phases] + [f"roadmap.phase.{module.PHASE_HIRE_DATE_UNKNOWN}"]
    keys += [f"roadmap.milestone.{m.key}" for p in roadmap.phases for m in p.milestones]
    keys += [f"roadmap.measure.{m}" for m in module.MEASURES]
    keys += [f"roadmap.reason.{r}" for r in (module.REASON_STAGE_NOT_IN_METHODOLOGY, module.REASON_NO_QUOTA,
                                             module.REASON_NO_HIRE_DATE)]
    for key in keys:
        assert label(key, "zh-CN") and label(key, "en")
