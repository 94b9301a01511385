"""The workbook's forecast settings (阶段设置): which stage sets a deal's win rate, and when the plan year starts.

The seed's cure for "the rep says 80 %, the boss says 20 %" is that the stage, and with it the win rate, follows
evidence both can check. So by default a deal is weighted at its assessed stage (评估阶段, what its checklist
supports) wherever the checklist has been answered; a team may switch the basis back to the stage the rep claims
(销售阶段). The fiscal-year start moves the plan year and the year-to-date window; without it the year is the
calendar year.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from funnel_xl.domain.parsing import is_blank, parse_basis, parse_days, parse_month
from funnel_xl.domain.schema import Problem
from funnel_xl.errors import InputError

ASSESSED, CLAIMED = "assessed", "claimed"
# A deal sitting longer than this in one stage is listed as stalled (days), unless 阶段设置 says otherwise. One limit
# for every stage keeps the rule easy to explain.
DEFAULT_STALL_DAYS = 90
BASES: tuple[str, ...] = (ASSESSED, CLAIMED)


@dataclass(frozen=True)
class ForecastSettings:
    """``basis``: the stage that sets the rate (ASSESSED or CLAIMED); ``fiscal_year_start``: the month (1-12) the
    fiscal and plan year starts in, 1 for the calendar year; ``stall_days``: the days a deal may sit in one stage
    before it is listed as stalled."""

    basis: str = ASSESSED
    fiscal_year_start: int = 1
    stall_days: int = DEFAULT_STALL_DAYS

    def __post_init__(self) -> None:
        if self.basis not in BASES:
            raise InputError(f"forecast basis {self.basis!r} is not one of {', '.join(BASES)}")
        start = self.fiscal_year_start
        if isinstance(start, bool) or not isinstance(start, int) or not 1 <= start <= 12:
            raise InputError(f"fiscal-year start {start!r} must be a month, 1 to 12")


def read_settings(values: Mapping[str, object], *, sheet: str, rows: Mapping[str, object] | None = None,
                  labels: Mapping[str, str] | None = None) -> tuple[ForecastSettings, list[Problem]]:
    """The settings from the cells that hold them (``values``: "basis", "fiscal_year_start", "stall_days"; blank or absent: the
    default). A value that does not read is a warning naming its ``sheet``, row and item label, and the default
    is used: a typo in a setting must not stop the forecast."""
    read, problems = {}, []
    for name, parse in (("basis", parse_basis), ("fiscal_year_start", parse_month), ("stall_days", parse_days)):
        value = values.get(name)
        if is_blank(value):
            continue
        try:
            read[name] = parse(value)
        except InputError as exc:
            problems.append(Problem(sheet, (rows or {}).get(name), (labels or {}).get(name, name), value,
                                    f"{exc}; the default is used", "warning", exc.code, exc.params))
    return ForecastSettings(**read), problems


@dataclass(frozen=True)
class Year:
    """One fiscal year, named by the calendar year it starts in: [start, end], both days included."""

    year: int
    start: pd.Timestamp
    end: pd.Timestamp

    @property
    def calendar(self) -> bool:
        """True when the year is a calendar year (starts on 1 January)."""
        return self.start.month == 1


def fiscal_year(year: int, start_month: int = 1) -> Year:
    """The fiscal year that starts in ``start_month`` of calendar year ``year``."""
    start = pd.Timestamp(year, start_month, 1)
    return Year(year, start, start + pd.DateOffset(years=1) - pd.Timedelta(days=1))


def current_year(as_of: dt.date | pd.Timestamp, start_month: int = 1) -> Year:
    """The fiscal year the report date falls in (the year achieved and coverage are counted for)."""
    stamp = pd.Timestamp(as_of)
    year = stamp.year if stamp.month >= start_month else stamp.year - 1
    return fiscal_year(year, start_month)


def plan_year(as_of: dt.date | pd.Timestamp, start_month: int = 1) -> Year:
    """The plan year of a quota proposal: the fiscal year that starts next after the report date (the calendar year
    after it, unless a fiscal-year start is set)."""
    return fiscal_year(current_year(as_of, start_month).year + 1, start_month)
