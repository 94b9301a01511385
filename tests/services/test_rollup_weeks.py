"""The company's week-over-week line (进展): each team's snapshot counted in its week, whatever weekday the team
recalculates on, so every point is the sum of the teams that week."""

from __future__ import annotations

import datetime as dt

import pytest
import python_calamine

from funnel_xl.history import SnapshotStore, history_path
from funnel_xl.sample import SAMPLE_AS_OF
from funnel_xl.services.rollup import rollup_workbooks
from funnel_xl.workbook.layout import PROGRESS_HISTORY
from tests.services.conftest import TEAMS, own_recalc

FRIDAY_TEAM, MONDAY_TEAM = TEAMS[0], TEAMS[1]
DAY = dt.timedelta(days=1)


def refile_history(workbook, moves: list[tuple[dt.date, dt.date]]) -> None:
    """A team's history as if its manager had recalculated on other days: each (stored date, new date) re-filed."""
    with SnapshotStore(history_path(workbook), read_only=True) as old:
        weekly = old.weekly()
        saved = [(new, old.snapshot(d), weekly[weekly["snapshot_date"].dt.date == d], old.strip(d)) for d, new in moves]
    history_path(workbook).unlink()
    with SnapshotStore.for_workbook(workbook) as store:
        for new, snapshot, rows, strip in sorted(saved, key=lambda s: s[0]):
            stamp = dt.datetime.combine(new, dt.time())
            store.save(snapshot.assign(snapshot_date=stamp), rows.assign(snapshot_date=stamp), strip or None)


def totals_by_date(workbook) -> dict[dt.date, float]:
    """A team's own weekly forecast + achieved per snapshot date, as its history holds them."""
    with SnapshotStore(history_path(workbook), read_only=True) as store:
        weekly = store.weekly()
    summed = weekly.groupby(weekly["snapshot_date"].dt.date)[["forecast", "achieved"]].sum()
    return (summed["forecast"] + summed["achieved"]).to_dict()


def chart_points(path) -> dict[str, float]:
    """The 进展 sheet's weekly block, as the chart draws it: date text -> forecast + achieved (万元)."""
    rows = python_calamine.CalamineWorkbook.from_path(path).get_sheet_by_name("进展").to_python()
    col = PROGRESS_HISTORY.first_col - 1
    return {r[col]: r[col + 3] for r in rows[PROGRESS_HISTORY.section_row + 1:] if len(r) > col and r[col]}


@pytest.fixture
def two_teams(teams):
    """The Friday team's and the Monday team's workbooks alone in the folder, and the Fridays of their history."""
    friday, monday = teams / f"{FRIDAY_TEAM}.xlsm", teams / f"{MONDAY_TEAM}.xlsm"
    for other in TEAMS[2:]:
        (teams / f"{other}.xlsm").unlink()
    with SnapshotStore(history_path(monday), read_only=True) as store:
        return friday, monday, store.dates()


def test_teams_snapshotting_on_different_weekdays_add_up_week_by_week(two_teams, tmp_path):
    friday, monday, fridays = two_teams
    # The Monday team recalculates four days before each Friday; in the week before the report it also recalculated
    # on the Thursday, on the report date's deals: that later snapshot is the one its week counts.
    last_week = SAMPLE_AS_OF - 7 * DAY
    refile_history(monday, [(d, d - 4 * DAY) for d in fridays] + [(SAMPLE_AS_OF, last_week - DAY)])
    assert totals_by_date(monday)[last_week - DAY] != totals_by_date(monday)[last_week - 4 * DAY]

    out = tmp_path / "公司汇总.xlsx"
    rollup_workbooks([friday, monday], SAMPLE_AS_OF, output=out, workers=1)
    points = chart_points(out)

    assert list(points) == [d.isoformat() for d in fridays]  # one point a week, each dated by the week's last day
    team_a, team_b = totals_by_date(friday), totals_by_date(monday)
    for day in fridays[:-2]:
        assert points[day.isoformat()] * 10_000 == pytest.approx(team_a[day] + team_b[day - 4 * DAY]), day
    assert points[last_week.isoformat()] * 10_000 == pytest.approx(team_a[last_week] + team_b[last_week - DAY])
    now = sum(float((w["forecast"] + w["achieved"]).sum()) for w in (own_recalc(p).figures.weekly
                                                                      for p in (friday, monday)))
    assert points[SAMPLE_AS_OF.isoformat()] * 10_000 == pytest.approx(now)


def test_a_week_a_team_did_not_snapshot_counts_the_others_and_the_sheet_names_it(two_teams, tmp_path):
    friday, monday, fridays = two_teams
    skipped = fridays[3:5]  # the team's manager was away two weeks
    refile_history(monday, [(d, d) for d in fridays if d not in skipped])

    out = tmp_path / "公司汇总.xlsx"
    result = rollup_workbooks([friday, monday], SAMPLE_AS_OF, output=out, workers=1)
    points = chart_points(out)
    team_a = totals_by_date(friday)
    for day in skipped:  # the other team alone: nothing is estimated for the missing one
        assert points[day.isoformat()] * 10_000 == pytest.approx(team_a[day]), day
    assert result.summary()["weeks_missing_teams"] == [{"week": d.isoformat(), "teams": [MONDAY_TEAM]} for d in skipped]

    rows = python_calamine.CalamineWorkbook.from_path(out).get_sheet_by_name("进展").to_python()
    col = PROGRESS_HISTORY.first_col - 1
    notes = [r[col] for r in rows if len(r) > col and isinstance(r[col], str) and "没有快照" in r[col]]
    assert notes == [f"以下各周有团队没有快照，该周合计不含这些团队(不作估算)：{skipped[0]}(缺 {MONDAY_TEAM})；"
                     f"{skipped[1]}(缺 {MONDAY_TEAM})"]


def test_a_team_without_history_counts_in_this_week_and_is_named_for_the_weeks_before(two_teams, tmp_path):
    friday, monday, fridays = two_teams
    history_path(monday).unlink()  # a team that has never kept its weekly history

    out = tmp_path / "公司汇总.xlsx"
    result = rollup_workbooks([friday, monday], SAMPLE_AS_OF, output=out, workers=1)
    points = chart_points(out)
    now = sum(float((w["forecast"] + w["achieved"]).sum()) for w in (own_recalc(p).figures.weekly
                                                                      for p in (friday, monday)))
    assert points[SAMPLE_AS_OF.isoformat()] * 10_000 == pytest.approx(now)  # both teams this week
    missing = result.summary()["weeks_missing_teams"]
    assert [m["week"] for m in missing] == [d.isoformat() for d in fridays if d < SAMPLE_AS_OF]
    assert {tuple(m["teams"]) for m in missing} == {(MONDAY_TEAM,)}
