"""The canonical shape of the tables the domain works on, and the Problem record for bad input.

Column names are English keys, described once in the column registry (``columns.py``) with the label-catalogue
key of the header a user sees. Checklist evidence sits in one column per criterion, named
``checklist_column(criterion_key)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from funnel_xl.domain.columns import EXPECTED, OPPORTUNITIES, REPS, REQUIRED, SNAPSHOTS, ColumnKeys

# Column keys in the order the workbook shows them: live views of the column registry (columns.py), so they follow
# a column added at run time. Opportunity (商机) and rep (销售人员) columns are those the user types.
OPPORTUNITY_COLUMNS: Sequence[str] = ColumnKeys(OPPORTUNITIES)
REQUIRED_OPPORTUNITY_COLUMNS: Sequence[str] = ColumnKeys(OPPORTUNITIES, needs=(REQUIRED,))
# Columns whose blank is refused (required) or kept and reported (expected: no rep, no close date, no created date).
NEEDED_OPPORTUNITY_COLUMNS: Sequence[str] = ColumnKeys(OPPORTUNITIES, needs=(REQUIRED, EXPECTED))
REP_COLUMNS: Sequence[str] = ColumnKeys(REPS)
REQUIRED_REP_COLUMNS: Sequence[str] = ColumnKeys(REPS, needs=(REQUIRED,))  # hire date and quota may be blank
# A snapshot row: the state of one opportunity on one snapshot date (weekly history).
SNAPSHOT_COLUMNS: Sequence[str] = ColumnKeys(SNAPSHOTS, owner=None)

STATUSES: tuple[str, ...] = ("open", "won", "lost")
# The forecast categories a user may type; the forecast adds two the tool alone decides: an open deal past its
# close date is overdue (已逾期) until its date is updated, and one without a close date has a category of its own.
CATEGORIES: tuple[str, ...] = ("closed", "commit", "likely_this_quarter", "likely_next_quarter", "intent")
FORECAST_CATEGORIES: tuple[str, ...] = (*CATEGORIES, "overdue", "no_close_date")
BUCKETS: tuple[str, ...] = ("closed", "overdue", "m0_3", "m3_6", "m6_9", "m9_12", "later", "no_close_date")
PRIORITIES: tuple[str, ...] = ("high", "medium", "low")
CUSTOMER_SIZES: tuple[str, ...] = ("large", "medium", "small")

CHECKLIST_PREFIX = "chk:"


def checklist_column(criterion_key: str) -> str:
    """The DataFrame column holding the yes/no evidence for one criterion."""
    return f"{CHECKLIST_PREFIX}{criterion_key}"


def checklist_columns(columns) -> list[str]:
    """The checklist columns present in a frame's columns, in their order."""
    return [c for c in columns if isinstance(c, str) and c.startswith(CHECKLIST_PREFIX)]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, located the way the user sees it.

    ``row`` is the row number in the sheet (or line in the file) as the user would find it;
    ``column`` is the header the user sees; ``message`` says what was expected.
    ``severity`` is "error" (the row is left out of the figures) or "warning" (it is kept).
    ``code`` names the kind of mistake for the label catalogue (``problem.<code>``) and ``params`` fill
    its placeholders, so reports can speak the workbook's language; ``message`` stays the English text.
    """

    sheet: str
    row: int | None
    column: str | None
    value: Any
    message: str
    severity: str = "error"
    code: str | None = None
    params: tuple[tuple[str, Any], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The fields for a table or JSON (params left out: raw values for the label texts; JSON keeps the English
        message); built directly, as ``dataclasses.asdict`` would deep-copy every value."""
        return {"sheet": self.sheet, "row": self.row, "column": self.column,
                "value": None if self.value is None else display_value(self.value), "message": self.message,
                "severity": self.severity, "code": self.code}

    def __str__(self) -> str:
        where = self.sheet
        if self.row is not None:
            where += f", row {self.row}"
        if self.column:
            where += f", column {self.column}"
        value = "" if self.value is None else f": {display_value(self.value)!r}"
        return f"{where}{value}: {self.message}"


def display_value(value: Any) -> str:
    """A value as the user would recognise it: dates as YYYY-MM-DD, whole numbers without '.0'."""
    if hasattr(value, "strftime") and hasattr(value, "year"):
        if getattr(value, "hour", 0) or getattr(value, "minute", 0):
            return value.strftime("%Y-%m-%d %H:%M")
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
