"""The week's activity against the roadmap's work standards (工作标准): what each rep reported for the last weeks,
met or missed, and the weeks not reported, said so.

Reps report on the 本周工作 sheet of their form workbook; collect keeps each (rep, week, measure, value) in the
master's activity table (columns in the registry, ``columns.ACTIVITY``). A week is named by its Monday.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from funnel_xl.domain.quota import annual_quotas
from funnel_xl.domain.roadmap import Roadmap, Standard, tenure_months

WEEKS_SHOWN = 4
STATUS_COLUMNS: tuple[str, ...] = ("rep", "phase", "standard", "target", "week", "value", "met")


def week_of(day: dt.date | pd.Timestamp) -> dt.date:
    """The Monday of the week ``day`` falls in: the name of a reported week."""
    day = pd.Timestamp(day).date()
    return day - dt.timedelta(days=day.weekday())


def weeks_up_to(as_of: dt.date | pd.Timestamp, count: int = WEEKS_SHOWN) -> list[dt.date]:
    """The Mondays of the ``count`` weeks ending with the report date's week, oldest first."""
    last = week_of(as_of)
    return [last - dt.timedelta(weeks=k) for k in range(count - 1, -1, -1)]


def standards_of(rep_row: pd.Series, roadmap: Roadmap, as_of: dt.date | pd.Timestamp) -> tuple[str | None,
                                                                                                  tuple[Standard, ...]]:
    """The phase key and weekly standards of one rep of 销售人员 (none without a hire date)."""
    hire = rep_row.get("hire_date")
    if hire is None or pd.isna(hire):
        return None, ()
    quota = float(annual_quotas(pd.DataFrame([rep_row])).iloc[0])
    phase = roadmap.phase_for(bool(quota > 0), tenure_months(hire, as_of))
    return (None, ()) if phase is None else (phase.key, phase.standards)


def activity_status(activity: pd.DataFrame, reps: pd.DataFrame, roadmap: Roadmap,
                    as_of: dt.date | pd.Timestamp, weeks: int = WEEKS_SHOWN) -> pd.DataFrame:
    """One row per rep × standard of the rep's phase × week of the last ``weeks``: the value reported (NA for a
    week not reported) and whether it reaches the standard (NA when not reported). A later report of the same
    rep, week and measure replaces an earlier one (the table holds one value each)."""
    shown = weeks_up_to(as_of, weeks)
    reported: dict[tuple[str, dt.date, str], float] = {}
    if not activity.empty:
        for rep, week, measure, value in activity[["rep", "week", "measure", "value"]].itertuples(index=False):
            if pd.notna(week) and pd.notna(value):
                reported[(rep, week_of(week), measure)] = float(value)
    rows = []
    for _, rep_row in reps.iterrows():
        phase, standards = standards_of(rep_row, roadmap, as_of)
        for std in standards:
            for week in shown:
                value = reported.get((rep_row["rep"], week, std.key))
                rows.append({"rep": rep_row["rep"], "phase": phase, "standard": std.key, "target": std.threshold,
                             "week": week, "value": value,
                             "met": None if value is None else bool(value >= std.threshold)})
    out = pd.DataFrame(rows, columns=list(STATUS_COLUMNS))
    out["value"] = out["value"].astype("float64")
    out["met"] = out["met"].astype("boolean")
    return out
