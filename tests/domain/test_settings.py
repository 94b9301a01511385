"""The workbook's forecast settings: the basis and the fiscal-year start, and the years they give."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from funnel_xl.domain.settings import ASSESSED, CLAIMED, ForecastSettings, current_year, plan_year, read_settings
from funnel_xl.errors import InputError


def test_without_settings_the_basis_is_the_assessed_stage_and_the_year_the_calendar_year():
    settings, problems = read_settings({}, sheet="阶段设置")
    assert settings == ForecastSettings(ASSESSED, 1) and problems == []


def test_the_settings_read_from_the_words_a_manager_types():
    settings, problems = read_settings({"basis": "销售阶段", "fiscal_year_start": "4月"}, sheet="阶段设置")
    assert (settings.basis, settings.fiscal_year_start, problems) == (CLAIMED, 4, [])


def test_the_stall_limit_reads_whole_days_and_a_bad_one_warns_and_keeps_the_default():
    settings, problems = read_settings({"stall_days": "120天"}, sheet="阶段设置")
    assert (settings.stall_days, problems) == (120, [])
    settings, problems = read_settings({"stall_days": "半年"}, sheet="阶段设置", rows={"stall_days": 44})
    assert settings.stall_days == ForecastSettings().stall_days
    assert [(p.row, p.code, p.severity) for p in problems] == [(44, "days_unreadable", "warning")]


def test_a_setting_that_does_not_read_is_a_warning_and_the_default_stands():
    settings, problems = read_settings({"basis": "凭感觉"}, sheet="阶段设置", rows={"basis": 41},
                                       labels={"basis": "预测依据"})
    assert settings.basis == ASSESSED
    (problem,) = problems
    assert (problem.sheet, problem.row, problem.column, problem.value, problem.severity) == (
        "阶段设置", 41, "预测依据", "凭感觉", "warning")


def test_the_plan_year_is_the_calendar_year_after_the_report_date():
    year = plan_year(dt.date(2026, 11, 20))
    assert (year.year, year.start, year.end) == (2027, pd.Timestamp(2027, 1, 1), pd.Timestamp(2027, 12, 31))
    assert plan_year(dt.date(2026, 1, 1)).year == 2027  # even on New Year's Day: the year ahead is planned


@pytest.mark.parametrize(("as_of", "current", "plan"), [
    (dt.date(2026, 11, 20), (2026, "2026-04-01", "2027-03-31"), (2027, "2027-04-01", "2028-03-31")),
    (dt.date(2027, 3, 31), (2026, "2026-04-01", "2027-03-31"), (2027, "2027-04-01", "2028-03-31")),
    (dt.date(2027, 4, 1), (2027, "2027-04-01", "2028-03-31"), (2028, "2028-04-01", "2029-03-31")),
])
def test_a_fiscal_year_from_april_runs_april_to_march_and_is_named_by_the_year_it_starts(as_of, current, plan):
    for got, (year, start, end) in ((current_year(as_of, 4), current), (plan_year(as_of, 4), plan)):
        assert (got.year, got.start, got.end) == (year, pd.Timestamp(start), pd.Timestamp(end))
        assert not got.calendar


def test_settings_outside_their_values_are_refused():
    with pytest.raises(InputError, match="basis"):
        ForecastSettings(basis="gut")
    with pytest.raises(InputError, match="month, 1 to 12"):
        ForecastSettings(fiscal_year_start=13)
