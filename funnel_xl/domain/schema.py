"""The canonical shape of the tables the domain works on, and the Problem record for bad input.

Column names are English keys; the labels a user sees come from the label catalogue
(``field.<key>`` and ``rep_field.<key>``). Checklist evidence sits in one column per criterion,
named ``checklist_column(criterion_key)``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# Opportunity (商机) columns, in the order the workbook shows them.
OPPORTUNITY_COLUMNS: tuple[str, ...] = (
    "id",                  # str, unique
    "customer",            # str
    "project",             # str
    "rep",                 # str, must name a row of the reps table
    "project_manager",     # str, optional
    "region",              # str
    "product",             # str (product line)
    "amount",              # float, CNY, >= 0
    "close_date",          # datetime64[ns], expected (open) or actual (won/lost) close
    "stage",               # str: a stage key of the methodology
    "status",              # "open" | "won" | "lost"
    "created_date",        # datetime64[ns]
    "stage_entered_date",  # datetime64[ns], optional
    "category",            # forecast category key, optional (derived when blank)
    "priority",            # "high" | "medium" | "low", optional (derived when blank)
    "customer_size",       # "large" | "medium" | "small", optional, input to priority
    "new_customer",        # bool, optional: a customer we have not sold to before
    "competitors",         # str, optional
    "estimated",           # bool, optional: the amount is an estimate (e.g. a list price filled by an import)
    "notes",               # str, optional
)
REQUIRED_OPPORTUNITY_COLUMNS: tuple[str, ...] = (
    "id", "customer", "rep", "amount", "close_date", "stage", "status", "created_date",
)

# Rep (销售人员) columns.
REP_COLUMNS: tuple[str, ...] = ("rep", "email", "hire_date", "region", "annual_quota", "manager")
REQUIRED_REP_COLUMNS: tuple[str, ...] = ("rep",)  # hire date and quota may be blank (a warning)

# A snapshot row: the state of one opportunity on one snapshot date (weekly history).
SNAPSHOT_COLUMNS: tuple[str, ...] = (
    "snapshot_date", "id", "rep", "customer", "project", "product", "region",
    "amount", "close_date", "stage", "status", "win_rate",
)

STATUSES: tuple[str, ...] = ("open", "won", "lost")
CATEGORIES: tuple[str, ...] = ("closed", "commit", "likely_this_quarter", "likely_next_quarter", "intent")
BUCKETS: tuple[str, ...] = ("closed", "overdue", "m0_3", "m3_6", "m6_9", "m9_12", "later")
PRIORITIES: tuple[str, ...] = ("high", "medium", "low")

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
        d = asdict(self)
        d["value"] = None if self.value is None else display_value(self.value)
        del d["params"]  # raw values (dates, tuples) for the label texts; JSON keeps the English message
        return d

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
