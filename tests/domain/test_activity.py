"""The week's activity against the roadmap's work standards: met, missed, and a week not reported said so."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from rep_and_snapshot_factories import make_reps

from funnel_xl.domain.activity import activity_status, week_of, weeks_up_to
from funnel_xl.domain.roadmap import parse_roadmap
from funnel_xl.errors import InputError
from funnel_xl.paths import templates_dir

AS_OF = dt.date(2026, 11, 20)   # a Friday


@pytest.fixture(scope="module")
def roadmap():
    return parse_roadmap((templates_dir() / "roadmap.toml").read_text(encoding="utf-8"), "roadmap.toml")


def reported(*rows: tuple[str, dt.date, str, float]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["rep", "week", "measure", "value"])


def test_a_week_is_named_by_its_monday_and_the_last_four_end_with_the_report_dates_week():
    assert week_of(AS_OF) == dt.date(2026, 11, 16)
    assert weeks_up_to(AS_OF) == [dt.date(2026, 10, 26), dt.date(2026, 11, 2), dt.date(2026, 11, 9),
                                  dt.date(2026, 11, 16)]


def test_the_seeds_first_quarter_standards_are_read_from_the_roadmap_file(roadmap):
    phase = next(p for p in roadmap.phases if p.key == "m0_3")
    # 每周至少收集5家客户资料; 每周至少花8小时在寻找潜在商机; 每周至少花10个小时进行拜访客户
    assert {s.key: s.threshold for s in phase.standards} == {
        "customer_profiles": 5, "prospecting_hours": 8, "visit_hours": 10}


def test_each_week_is_met_missed_or_not_reported(roadmap):
    reps = make_reps([{"rep": "新人", "hire_date": "2026-10-01", "annual_quota": 1_000_000}])   # months 0-3
    weeks = weeks_up_to(AS_OF)
    table = reported(("新人", weeks[-1], "customer_profiles", 6), ("新人", weeks[-2], "customer_profiles", 4),
                     ("新人", weeks[-1] + dt.timedelta(days=2), "prospecting_hours", 8))   # any day names its week
    status = activity_status(table, reps, roadmap, AS_OF)
    profiles = status[status["standard"] == "customer_profiles"].set_index("week")
    assert bool(profiles.at[weeks[-1], "met"]) is True            # 6 >= 5
    assert bool(profiles.at[weeks[-2], "met"]) is False           # 4 < 5
    assert profiles.loc[weeks[:2], "met"].isna().all()            # not reported
    hours = status[status["standard"] == "prospecting_hours"].set_index("week")
    assert hours.at[weeks[-1], "value"] == 8 and bool(hours.at[weeks[-1], "met"]) is True
    assert set(status["standard"]) == {"customer_profiles", "prospecting_hours", "visit_hours"}


def test_a_rep_without_a_hire_date_has_no_standard_to_report(roadmap):
    reps = make_reps([{"rep": "无日期", "hire_date": None, "annual_quota": 1_000_000}])
    assert activity_status(reported(), reps, roadmap, AS_OF).empty


def test_a_standard_without_its_name_or_threshold_is_reported_with_its_phase():
    text = """
[[phases]]
key = "m0_3"
from_months = 0
  [[phases.standards]]
  key = "visits"
  zh = "拜访客户(次)"
  [[phases.standards]]
  key = "calls"
  threshold = 3
"""
    with pytest.raises(InputError) as err:
        parse_roadmap(text, "roadmap.toml")
    message = str(err.value)
    assert "standard 1 (visits): threshold None" in message and "standard 2 (calls): en" in message
