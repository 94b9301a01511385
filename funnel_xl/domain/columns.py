"""The column registry: every column of 商机, 销售人员 and 阶段设置 (and of the weekly snapshot) described once.

Each entry is plain data: the canonical key, the label-catalogue key of its header, its kind (how a cell is read,
typed and shown: ``kinds.py``), whether a value is needed and what a blank means, the palette format, the width
limit, who writes it (the user, or the tool), and for a tool-owned formula column the name of its formula builder.
The normaliser and its pandera schema, the reader, the table writer, the sheet builders, the sample loader, the CRM
import and the forms all derive their column lists from here, so adding a column is an entry here plus its labels.

Lists derived from the registry are computed on demand (``ColumnKeys`` is a live view) or cached under
``version()``, so a column added for a test (``added_column``) reaches every one of them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

# Tables (domain names; the workbook contract maps them to its ListObjects).
OPPORTUNITIES = "opportunities"   # 商机, tblOpportunities
REPS = "reps"                     # 销售人员, tblReps
STAGES = "stages"                 # 阶段设置, tblStages
CRITERIA = "criteria"             # 阶段设置, tblCriteria
META = "meta"                     # 阶段设置, tblMethodology (item, value)
SNAPSHOTS = "snapshots"           # the weekly history (not a sheet)
ADJUSTMENTS = "adjustments"       # 预测调整, tblAdjustments: a manager's adjusted forecast beside the computed one
ACTIVITY = "activity"             # 工作记录: the reps' reported weekly activity, written by collect

# Who writes a column: the user types it (read, normalised, imported), or the tool writes it (formulas, copies).
USER, TOOL = "user", "tool"

# Whether a column needs a value: in every row (a blank rejects the row), in the header only (a blank is kept and
# reported), or not at all (the column may be missing; a blank means what ``blank`` says).
REQUIRED, EXPECTED, OPTIONAL = "required", "expected", "optional"

# Kinds: how a cell is read, typed and shown; kinds.py holds the parser, dtype and format of each.
TEXT = "text"
REP = "rep"                       # text naming a row of 销售人员
AMOUNT = "amount"                 # CNY, >= 0
DATE = "date"
STAGE = "stage"                   # a stage of the methodology: key, name or synonym
STATUS = "status"
CATEGORY = "category"
PRIORITY = "priority"
CUSTOMER_SIZE = "customer_size"
YES_NO = "yes_no"
PERCENT = "percent"               # a fraction shown as a percentage
INTEGER = "integer"
KIND_NAMES: tuple[str, ...] = (TEXT, STAGE, REP, STATUS, CATEGORY, PRIORITY, CUSTOMER_SIZE, YES_NO, AMOUNT, DATE,
                               PERCENT, INTEGER)


@dataclass(frozen=True)
class ColumnSpec:
    """One column of one table.

    ``format`` is a palette key (None: the kind's); ``width`` the widest the column grows, in characters (None: the
    table's); ``total`` what the totals row above 商机 shows ("sum" or "count_positive"); ``language`` marks the
    zh/en text columns of 阶段设置, which the workbook shows in its own language first; ``form`` is the header slot
    of the stage-assessment form that shows the column.
    """

    key: str
    label: str
    kind: str = TEXT
    need: str = OPTIONAL
    blank: str = "not known"
    owner: str = USER
    format: str | None = None
    width: float | None = None
    formula: str | None = None
    unique: bool = False
    total: str | None = None
    language: str | None = None
    form: str | None = None

    @property
    def required(self) -> bool:
        return self.need == REQUIRED

    def __post_init__(self) -> None:
        problems = []
        if self.kind not in KIND_NAMES:
            problems.append(f"kind {self.kind!r} is not one of {', '.join(KIND_NAMES)}")
        if self.need not in (REQUIRED, EXPECTED, OPTIONAL):
            problems.append(f"need {self.need!r} is not required, expected or optional")
        if self.owner not in (USER, TOOL):
            problems.append(f"owner {self.owner!r} is not user or tool")
        if self.formula is not None and self.owner != TOOL:
            problems.append("only a tool-owned column carries a formula")
        if problems:
            raise ValueError(f"column {self.key!r}: " + "; ".join(problems))


@dataclass(frozen=True)
class TableSpec:
    """A table's columns in the order the workbook shows them, and the width limit of a column that names none."""

    key: str
    columns: tuple[ColumnSpec, ...]
    width: float = 20


def _opportunity_columns() -> tuple[ColumnSpec, ...]:
    col = ColumnSpec
    return (
        col("id", "field.id", need=REQUIRED, unique=True, form="opportunity"),
        col("customer", "field.customer", need=EXPECTED, blank="counted without a customer name (warned)", width=26,
            form="customer"),
        col("project", "field.project", width=30, form="project"),
        # A deal without a rep still counts, under 未分配 (unassigned), and is reported.
        col("rep", "field.rep", REP, need=EXPECTED, blank="unassigned (未分配): counted, warned", form="rep_pm"),
        col("project_manager", "field.project_manager", form="rep_pm"),
        col("region", "field.region"),
        col("product", "field.product", blank="no product line", form="products"),
        col("amount", "field.amount", AMOUNT, need=REQUIRED, total="sum"),
        col("close_date", "field.close_date", DATE, need=EXPECTED,
            blank="an open deal has no close date yet: counted in a bucket of its own, warned; a won deal needs "
                  "its signing date"),
        col("stage", "field.stage", STAGE, need=REQUIRED),
        col("status", "field.status", STATUS, need=REQUIRED),
        # The derived columns stand right after the status, beside the stage the rep claims: the assessed stage and
        # the gap are the rep/manager disagreement made visible, so they must not sit thirty columns away.
        col("win_rate", "col.win_rate", PERCENT, owner=TOOL, format="calc_percent", formula="win_rate"),
        col("weighted", "col.weighted", AMOUNT, owner=TOOL, format="calc_money", formula="weighted", total="sum"),
        col("amount_wan", "col.amount_wan", AMOUNT, owner=TOOL, format="calc_wan", formula="amount_wan",
            total="sum"),
        col("derived_stage", "col.derived_stage", STAGE, owner=TOOL, format="calc_text", formula="derived_stage"),
        col("stage_gap", "col.stage_gap", INTEGER, owner=TOOL, format="calc_integer", formula="stage_gap",
            total="count_positive"),
        col("created_date", "field.created_date", DATE, need=EXPECTED, blank="the sales cycle is unknown (warned)"),
        col("stage_entered_date", "field.stage_entered_date", DATE, blank="the stage's age is not known"),
        col("category", "field.category", CATEGORY, blank="derived from the win rate and close date"),
        col("priority", "field.priority", PRIORITY, blank="derived from size, new customer and close date"),
        col("customer_size", "field.customer_size", CUSTOMER_SIZE),
        col("new_customer", "field.new_customer", YES_NO),
        col("competitors", "field.competitors", width=24),
        col("estimated", "field.estimated", YES_NO, blank="the amount is not an estimate"),
        # An import that fills a blank close date from a relative default ([defaults] in the mapping) says so here.
        col("close_date_estimated", "field.close_date_estimated", YES_NO, blank="the close date is not an estimate"),
        col("notes", "field.notes", width=36),
    )


def _rep_columns() -> tuple[ColumnSpec, ...]:
    col = ColumnSpec
    return (
        col("rep", "rep_field.rep", need=REQUIRED, unique=True),
        col("email", "rep_field.email", blank="forms cannot be mailed to the rep"),
        col("hire_date", "rep_field.hire_date", DATE, need=EXPECTED,
            blank="the success-roadmap phase cannot be decided (warned)"),
        col("region", "rep_field.region"),
        col("annual_quota", "rep_field.annual_quota", AMOUNT, need=EXPECTED,
            blank="attainment and coverage cannot be computed (warned)"),
        col("manager", "rep_field.manager"),
    )


def _stage_columns() -> tuple[ColumnSpec, ...]:
    """tblStages as the workbook shows it in Chinese; in English the zh and en columns trade places."""
    col = ColumnSpec
    return (
        col("order", "col.stage_order", INTEGER, owner=TOOL, blank="the row order is the stage order"),
        col("zh", "col.stage_zh", need=REQUIRED, language="zh"),
        col("win_rate", "col.stage_win_rate", PERCENT, need=REQUIRED),
        col("ideal_share", "col.ideal_share", PERCENT, format="in_share", blank="no ideal funnel"),
        col("main_work_zh", "col.main_work_zh", format="in_wrap", language="zh"),
        col("owner_zh", "col.owner_zh", format="in_wrap", language="zh"),
        col("key", "col.stage_key", need=REQUIRED, unique=True),
        col("en", "col.stage_en", need=REQUIRED, language="en"),
        col("synonyms", "col.synonyms", format="in_wrap"),
        col("main_work_en", "col.main_work_en", format="in_wrap", language="en"),
        col("owner_en", "col.owner_en", format="in_wrap", language="en"),
    )


def _criteria_columns() -> tuple[ColumnSpec, ...]:
    col = ColumnSpec
    return (
        col("stage_key", "col.criterion_stage", need=REQUIRED),
        col("zh", "col.criterion_zh", need=REQUIRED, format="in_wrap", language="zh"),
        col("required", "col.criterion_required", YES_NO, blank="required"),
        col("key", "col.criterion_key", need=REQUIRED),
        col("en", "col.criterion_en", need=REQUIRED, format="in_wrap", language="en"),
        col("column", "col.criterion_column", owner=TOOL, format="in_wrap"),
    )


def _meta_columns() -> tuple[ColumnSpec, ...]:
    return (ColumnSpec("item", "input.meta_field", need=REQUIRED),
            ColumnSpec("value", "input.meta_value", format="in_wrap"))


def _adjustment_columns() -> tuple[ColumnSpec, ...]:
    """预测调整: what a manager types (a team, or one of its reps, a quarter, the adjusted forecast, why, who, when)
    and the computed forecast the tool writes beside it, which the adjustment never replaces."""
    col = ColumnSpec
    return (
        col("team", "adjust_field.team", need=REQUIRED),
        col("rep", "adjust_field.rep", REP, blank="the adjustment is for the whole team"),
        col("quarter", "adjust_field.quarter", need=REQUIRED),
        col("adjusted", "adjust_field.adjusted", AMOUNT, need=REQUIRED),
        col("reason", "adjust_field.reason", need=EXPECTED, blank="shown without a reason (warned)"),
        col("by", "adjust_field.by"),
        col("entered", "adjust_field.entered", DATE),
        col("computed", "adjust_field.computed", AMOUNT, owner=TOOL),
        col("difference", "adjust_field.difference", AMOUNT, owner=TOOL),
    )


def _activity_columns() -> tuple[ColumnSpec, ...]:
    """The activity table (工作记录): what reps report on their 本周工作 sheet, one value per rep, week and measure
    (a roadmap standard's key); collect writes it, recalc reads it for 配额, upgrade carries it."""
    col = ColumnSpec
    return (
        col("rep", "field.rep", REP, need=REQUIRED, owner=TOOL),
        col("week", "activity.week", DATE, need=REQUIRED, owner=TOOL),
        col("measure", "activity.measure", need=REQUIRED, owner=TOOL),
        col("measure_name", "activity.measure_name", owner=TOOL, width=30),
        # A count or hours, 0 or more: read as the amount kind reads a number (no unit of its own in the registry).
        col("value", "activity.value", AMOUNT, need=REQUIRED, owner=TOOL),
        col("reported", "activity.reported", owner=TOOL, width=20),
    )


def _snapshot_columns(opportunities: tuple[ColumnSpec, ...]) -> tuple[ColumnSpec, ...]:
    """The state of one opportunity on one snapshot date: a few opportunity columns as the tool copied them."""
    by_key = {c.key: c for c in opportunities}
    copied = ("id", "rep", "customer", "project", "product", "region", "amount", "close_date", "stage", "status")
    return (ColumnSpec("snapshot_date", "outcol.snapshot_date", DATE, need=REQUIRED, owner=TOOL),
            *(by_key[k] for k in copied), by_key["win_rate"])


class ColumnRegistry:
    """The tables and their columns; ``version`` changes whenever a column is added or removed."""

    def __init__(self, tables: Sequence[TableSpec]) -> None:
        self._tables = {t.key: t for t in tables}
        self.version = 0
        self._keys: dict[tuple, tuple[str, ...]] = {}

    def table(self, table: str) -> TableSpec:
        try:
            return self._tables[table]
        except KeyError:
            raise KeyError(f"the column registry has no table {table!r}; it has {', '.join(self._tables)}") from None

    def columns(self, table: str, *, owner: str | None = None) -> tuple[ColumnSpec, ...]:
        """The table's columns in order, limited to one owner when given."""
        return tuple(c for c in self.table(table).columns if owner is None or c.owner == owner)

    def column(self, table: str, key: str) -> ColumnSpec:
        for c in self.table(table).columns:
            if c.key == key:
                return c
        raise KeyError(f"table {table!r} has no column {key!r} in the column registry")

    def keys(self, tables: tuple[str, ...], owner: str | None, kinds: tuple[str, ...] | None,
             needs: tuple[str, ...] | None) -> tuple[str, ...]:
        """The keys of the columns of ``tables`` that pass the filters (None: any), first occurrence kept."""
        cache_key = (self.version, tables, owner, kinds, needs)
        found = self._keys.get(cache_key)
        if found is None:
            found = tuple(dict.fromkeys(
                c.key for t in tables for c in self.columns(t, owner=owner)
                if (kinds is None or c.kind in kinds) and (needs is None or c.need in needs)))
            self._keys = {k: v for k, v in self._keys.items() if k[0] == self.version}
            self._keys[cache_key] = found
        return found

    @contextmanager
    def added(self, table: str, column: ColumnSpec, *, after: str | None = None) -> Iterator[ColumnSpec]:
        """The table with one more column (after ``after``, else at the end) while the block runs."""
        spec = self.table(table)
        keys = [c.key for c in spec.columns]
        if column.key in keys:
            raise ValueError(f"table {table!r} already has a column {column.key!r}")
        at = keys.index(after) + 1 if after is not None else len(keys)
        self._tables[table] = TableSpec(spec.key, (*spec.columns[:at], column, *spec.columns[at:]), spec.width)
        self.version += 1
        try:
            yield column
        finally:
            self._tables[table] = spec
            self.version += 1


def _registry() -> ColumnRegistry:
    opportunities = _opportunity_columns()
    return ColumnRegistry((
        TableSpec(OPPORTUNITIES, opportunities, width=20),
        TableSpec(REPS, _rep_columns(), width=32),
        TableSpec(STAGES, _stage_columns(), width=44),
        TableSpec(CRITERIA, _criteria_columns(), width=44),
        TableSpec(META, _meta_columns(), width=44),
        TableSpec(SNAPSHOTS, _snapshot_columns(opportunities)),
        TableSpec(ADJUSTMENTS, _adjustment_columns(), width=24),
        TableSpec(ACTIVITY, _activity_columns(), width=20),
    ))


REGISTRY = _registry()


def columns(table: str, *, owner: str | None = None) -> tuple[ColumnSpec, ...]:
    """The columns of a table in the order the workbook shows them (``owner``: only the user's or the tool's)."""
    return REGISTRY.columns(table, owner=owner)


def column(table: str, key: str) -> ColumnSpec:
    return REGISTRY.column(table, key)


def table_width(table: str) -> float:
    return REGISTRY.table(table).width


def version() -> int:
    """Changes whenever the registry does: the key for anything cached from it."""
    return REGISTRY.version


def added_column(table: str, column: ColumnSpec, *, after: str | None = None):
    """A context manager: the registry with one more column while the block runs (for tests)."""
    return REGISTRY.added(table, column, after=after)


class ColumnKeys(Sequence[str]):
    """The keys of the registry columns that pass a filter, read afresh on every use: a live, read-only tuple.

    Module constants such as ``OPPORTUNITY_COLUMNS`` are these, so a column added to the registry while a program
    (or a test) runs reaches every list built from them.
    """

    def __init__(self, *tables: str, owner: str | None = USER, kinds: tuple[str, ...] | None = None,
                 needs: tuple[str, ...] | None = None) -> None:
        self._filter = (tables, owner, kinds, needs)

    def _keys(self) -> tuple[str, ...]:
        return REGISTRY.keys(*self._filter)

    def __getitem__(self, index):
        return self._keys()[index]

    def __len__(self) -> int:
        return len(self._keys())

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __contains__(self, key: object) -> bool:
        return key in self._keys()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (ColumnKeys, tuple, list)):
            return self._keys() == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # the contents change with the registry

    def __repr__(self) -> str:
        return f"ColumnKeys{self._keys()!r}"
