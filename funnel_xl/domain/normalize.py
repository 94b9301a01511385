"""Turn a raw table, as read from a sheet, into a clean typed table plus the problems found in it.

The raw frame has canonical column names (``schema.py``) and its index holds the row numbers the
user sees in the sheet; clean and rejected rows keep that index so every figure and problem points
back to the row. Nothing is lost: each non-blank input row ends up either in ``clean`` or, unchanged,
in ``rejected``; rows whose every cell is empty are listed in ``blank_rows`` and reported nowhere.

Rules (the domain spec's "which deals count": every row whose amount, stage and status read counts):
- "error" problems put the row in ``rejected``: a required value missing (id, amount, stage, status);
  an amount, date, stage or status that cannot be read (an infinite or absurd amount among them); a negative
  amount; a repeated id (every row after the first, in sheet order, as Excel's Remove Duplicates keeps the
  first; every row with it when duplicates are refused); a won deal without its close (signing) date.
- "warning" problems keep the row: no customer name; no rep (the deal counts under 未分配, unassigned) or a rep
  not in the reps table; an open deal without a close date (it gets a bucket and a category of its own); no created date (the
  days to close are then unknown); a close date or stage-entered date before the created date; an optional
  yes/no, forecast category, priority or customer size that cannot be read is left blank (NA) and reported; a
  checklist column the methodology does not know is kept and reported once.
- A won or lost row may sit at any stage: the stage records how far the deal got, which is what
  win-rate calibration needs. An open row past its close date is not judged here (that needs an
  ``as_of`` date; the figures do it).

Which columns there are, which need a value and how each is read come from the column registry (``columns.py``)
and the kinds (``kinds.py``). Clean output types: text columns, stage, status, category, priority and customer
size use pandas' default ``str`` dtype (missing = NaN); amounts are float64; dates datetime64[ns] at midnight;
yes/no columns (``new_customer``, ``estimated``, the checklist) are the nullable ``boolean`` dtype. The pandera
schemas of the clean frames (``clean_schema.py``, from the same registry) hold every output of this module: the
property tests check it; a run checks only each column's dtype (pandera's import alone cost every command 0.5 s).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from funnel_xl.domain.columns import (
    AMOUNT, DATE, EXPECTED, OPPORTUNITIES, REPS, STAGE, USER, YES_NO, ColumnKeys, columns,
)
from funnel_xl.domain.distinct import distinct_by_type
from funnel_xl.domain.kinds import FIRST_DATE, KINDS, LAST_DATE, TEXT_DTYPE, Kind
from funnel_xl.domain.methodology import Methodology
from funnel_xl.domain.parsing import MAX_AMOUNT, parse_text
from funnel_xl.domain.schema import (
    CHECKLIST_PREFIX, CUSTOMER_SIZES, OPPORTUNITY_COLUMNS, REP_COLUMNS, REQUIRED_OPPORTUNITY_COLUMNS,
    REQUIRED_REP_COLUMNS, Problem, checklist_column,
)
from funnel_xl.errors import InputError

__all__ = [
    "CUSTOMER_SIZES", "DUPLICATE_ID_RULES", "Normalized", "normalize_opportunities", "normalize_reps",
]

# What to do with a repeated opportunity id: keep the first row (sheet order) or refuse every row with it.
DUPLICATE_ID_RULES: tuple[str, ...] = ("keep_first", "refuse")



@dataclass(frozen=True)
class Normalized:
    """The result of normalising one sheet: clean typed rows, rejected raw rows, and the problems.

    ``blank_rows`` holds the index labels of rows whose every cell was empty; they are skipped
    without a problem, so ``len(clean) + len(rejected) + len(blank_rows) == len(raw)``. ``rejected_values``
    holds the rejected rows typed as far as they read (NA where a cell did not), so what a left-out row would
    have carried can be shown.
    """

    clean: pd.DataFrame
    rejected: pd.DataFrame
    problems: list[Problem]
    blank_rows: tuple = field(default=())
    rejected_values: pd.DataFrame | None = None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


# ---------------------------------------------------------------------------------------------
# Column kinds (kinds.py): how each registry column is read, and whether a value it cannot read is an error

_AMOUNT, _DATE, _BOOL = KINDS[AMOUNT], KINDS[DATE], KINDS[YES_NO]


def _table_kinds(table: str) -> dict[str, Kind]:
    """Each column the user types in ``table``, with its kind."""
    return {spec.key: KINDS[spec.kind] for spec in columns(table, owner=USER)}


# ---------------------------------------------------------------------------------------------
# Public entry points


def normalize_opportunities(
    raw: pd.DataFrame,
    methodology: Methodology,
    *,
    reps: Iterable[str] | None = None,
    sheet: str = "opportunities",
    column_labels: Mapping[str, str] | None = None,
    duplicate_ids: str = "keep_first",
) -> Normalized:
    """Clean opportunities (商机) plus problems; stages are read by key, zh/en label or synonym.

    ``reps``, when given, lists the rep names a row should name (another name is warned about).
    ``column_labels`` maps a canonical column to the header the user sees (used in problems); without it the
    canonical name is shown. ``duplicate_ids``: "keep_first" keeps the first row of a repeated id (sheet order)
    and reports the later ones on the id column; "refuse" reports and leaves out every row with it (a CRM
    mapping may ask for that). Raises ``InputError`` if a required column is missing altogether.
    """
    if duplicate_ids not in DUPLICATE_ID_RULES:
        raise ValueError(f"duplicate_ids {duplicate_ids!r} is not one of {', '.join(DUPLICATE_ID_RULES)}")
    kinds = _table_kinds(OPPORTUNITIES)
    stage = replace(KINDS[STAGE], parse=_stage_parser(methodology))
    kinds.update({key: stage for key, kind in kinds.items() if kind.name == STAGE})
    known_checks = [checklist_column(c.key) for c in methodology.criteria()]
    # Every criterion gets a column (blank = no evidence yet) so later steps see a stable shape.
    for col in [*known_checks, *raw.columns]:
        if isinstance(col, str) and col.startswith(CHECKLIST_PREFIX):
            kinds[col] = _BOOL
    run = _Run(raw, kinds, REQUIRED_OPPORTUNITY_COLUMNS, sheet, column_labels,
               headers=tuple(ColumnKeys(OPPORTUNITIES, needs=(EXPECTED,))))
    for col in raw.columns:
        if col in kinds and col.startswith(CHECKLIST_PREFIX) and col not in known_checks:
            run.add(None, col, None, f"this checklist column is not a criterion of methodology "
                    f"{methodology.key!r}; it is kept but counts towards no stage", "warning",
                    code="checklist_unknown", params=(("methodology", methodology.key),))
    typed = run.parse()

    if duplicate_ids == "keep_first":
        run.check_duplicates(typed["id"], "opportunity id", "the first row is kept and counted; give this one its "
                             "own id, or delete it if it is a copy", "duplicate_id_later", first_kept=True)
    else:
        run.check_duplicates(typed["id"], "opportunity id", "each opportunity needs its own id", "duplicate_id")
    _check_blank_customers(run, typed["customer"])
    _check_reps(run, typed["rep"], reps)
    run.check_not_negative(typed["amount"], "amount", "an amount cannot be negative", "amount_negative")
    _check_close_dates(run, typed)
    for pos in np.flatnonzero(typed["created_date"].isna().to_numpy() & ~run.bad):
        run.add(pos, "created_date", None, "no created date: the deal counts, but its days to close are "
                "unknown; expected a date such as 2026-03-05", "warning", code="no_created_date")
    run.check_not_before(typed, "close_date", "created_date", "the close date", "close_before_created")
    run.check_not_before(typed, "stage_entered_date", "created_date", "the date the stage was entered",
                         "stage_entered_before_created")

    order = [*OPPORTUNITY_COLUMNS, *known_checks,
             *(c for c in typed.columns if c not in OPPORTUNITY_COLUMNS and c not in known_checks)]
    return run.finish(typed[order], OPPORTUNITIES)


def normalize_reps(
    raw: pd.DataFrame,
    *,
    sheet: str = "reps",
    column_labels: Mapping[str, str] | None = None,
) -> Normalized:
    """Clean reps (销售人员) plus problems: names unique, hire date and annual quota readable, quota not negative.

    A blank hire date or quota is a warning, not an error: the rep and their deals still count.
    """
    run = _Run(raw, _table_kinds(REPS), REQUIRED_REP_COLUMNS, sheet, column_labels,
               headers=tuple(ColumnKeys(REPS, needs=(EXPECTED,))))
    typed = run.parse()
    run.check_duplicates(typed["rep"], "rep", "each rep is listed once", "duplicate_rep")
    run.check_not_negative(typed["annual_quota"], "annual_quota", "an annual quota cannot be negative",
                           "quota_negative")
    bad_mail = typed["email"].notna() & ~typed["email"].str.contains("@", regex=False, na=False)
    for pos in np.flatnonzero(bad_mail.to_numpy()):
        run.add_at(pos, "email", "expected an e-mail address such as name@example.com; "
                   "forms cannot be mailed to this rep", "warning", code="email_no_at")
    # A rep without a hire date or quota still owns deals (an imported team often lacks both): keep the rep,
    # and say what the blank costs, rather than rejecting every deal of theirs.
    named = typed["rep"].notna().to_numpy()
    for pos in np.flatnonzero(typed["hire_date"].isna().to_numpy() & named):
        run.add_at(pos, "hire_date", "no hire date: the success-roadmap phase cannot be decided; "
                   "expected a date such as 2026-03-05", "warning", code="rep_no_hire_date")
    for pos in np.flatnonzero(typed["annual_quota"].isna().to_numpy() & named):
        run.add_at(pos, "annual_quota", "no annual quota: attainment and coverage cannot be computed and the rep "
                   "counts as in training; expected an amount such as 500万", "warning", code="rep_no_quota")
    order = [*REP_COLUMNS, *(c for c in typed.columns if c not in REP_COLUMNS)]
    return run.finish(typed[order], REPS)


def _check_blank_customers(run: "_Run", customer: pd.Series) -> None:
    """A deal without its customer's name still counts (the name does not weigh it); the rep is asked for it."""
    for pos in np.flatnonzero(customer.isna().to_numpy() & ~run.bad):
        run.add(pos, "customer", None, "no customer name: the deal counts; expected the customer's name", "warning",
                code="no_customer")


def _check_reps(run: "_Run", rep: pd.Series, reps: Iterable[str] | None) -> None:
    """A deal without a rep counts under 未分配 (unassigned); a rep missing from the reps table still owns the deal.
    Both are warnings: neither touches the amount, stage or status the forecast weights."""
    for pos in np.flatnonzero(rep.isna().to_numpy() & ~run.bad):
        run.add(pos, "rep", None, "no rep: the deal counts under 未分配 (unassigned) until a rep takes it on",
                "warning", code="rep_missing")
    if reps is None:
        return
    known = {t for t in (parse_text(r) for r in reps) if t is not None}
    unknown = rep.notna() & ~rep.isin(known)
    listed = ", ".join(sorted(known)[:10]) + (", ..." if len(known) > 10 else "")
    names = (*sorted(known)[:10], *(("…",) if len(known) > 10 else ()))
    code, params = ("rep_unknown", (("reps", names),)) if known else ("rep_table_empty", ())
    for pos in np.flatnonzero(unknown.to_numpy()):
        run.add_at(pos, "rep", f"this rep is not in the reps table (the deal still counts); expected one of: "
                   f"{listed or '(none)'}", "warning", code=code, params=params)


def _check_close_dates(run: "_Run", typed: pd.DataFrame) -> None:
    """A won deal needs its signing date (an error); an open one without a close date counts in a bucket and a
    category of its own, listed for its rep to date (a warning). A lost deal needs none."""
    blank = typed["close_date"].isna().to_numpy() & ~run.bad
    status = typed["status"].to_numpy(dtype=object)
    for pos in np.flatnonzero(blank & (status == "won")):
        run.add(pos, "close_date", None, "a won deal needs its close date, the date it was signed",
                code="won_no_close_date")
    for pos in np.flatnonzero(blank & (status == "open")):
        run.add(pos, "close_date", None, "no expected close date yet: the deal counts in its own bucket "
                "(预计成交日期未填) until its rep dates it", "warning", code="no_close_date")


# ---------------------------------------------------------------------------------------------
# The machinery shared by both tables


def _stage_parser(methodology: Methodology) -> Callable[[Any], str]:
    stages = "; ".join(f"{s.key} ({s.zh} / {s.en})" for s in methodology.stages)
    names = (("stages_zh", tuple(s.zh for s in methodology.stages)),
             ("stages_en", tuple(s.en for s in methodology.stages)))

    def parse_stage(value: object) -> str:
        key = methodology.resolve_stage(parse_text(value))
        if key is None:
            raise InputError(f"{value!r} is not a stage of methodology {methodology.key!r}: "
                             f"expected a stage key, its label or a known synonym: {stages}",
                             code="stage_unknown", params=(("value", value), ("methodology", methodology.key), *names))
        return key

    return parse_stage


class _Run:
    """One normalisation pass: parses columns, collects problems by position, assembles the result."""

    def __init__(self, raw: pd.DataFrame, kinds: dict[str, Kind], required: Sequence[str],
                 sheet: str, column_labels: Mapping[str, str] | None, headers: tuple[str, ...] = ()) -> None:
        if not raw.index.is_unique:
            dupes = raw.index[raw.index.duplicated()].unique().tolist()[:5]
            raise ValueError(f"sheet {sheet!r}: the row numbers in the index repeat ({dupes}); "
                             "the caller must give each raw row its own sheet row number")
        self.sheet = sheet
        self.labels = dict(column_labels or {})
        # ``required`` columns need a value in every row; ``headers`` need only be there (blanks allowed).
        required = tuple(required)
        needed = (*required, *(c for c in headers if c not in required))
        missing = [c for c in needed if c not in raw.columns]
        if missing:
            shown = ", ".join(self.label(c) for c in missing)
            raise InputError(f"sheet {sheet!r} lacks the required column(s) {shown}; "
                             f"expected headers for: {', '.join(self.label(c) for c in needed)}")
        self.raw = raw
        self.kinds = kinds
        self.required = required
        self.column_order = {c: i for i, c in enumerate(raw.columns)}
        blank_cells = pd.DataFrame(_blank_columns(raw), index=raw.index)
        self.blank_row = blank_cells.all(axis=1).to_numpy() if raw.shape[1] else np.ones(len(raw), bool)
        self.work = raw.loc[~self.blank_row]
        self.blank_cells = blank_cells.loc[~self.blank_row]
        self.problems: list[tuple[float, int, Problem]] = []
        self.bad = np.zeros(len(self.work), dtype=bool)
        self._cells: dict[str, np.ndarray] = {}  # raw cells per column, for problems' values

    def label(self, column: str) -> str:
        return self.labels.get(column, column)

    def add(self, pos: int | None, column: str | None, value: Any, message: str, severity: str = "error",
            code: str | None = None, params: tuple = ()) -> None:
        row = None if pos is None else _row_number(self.work.index[pos])
        problem = Problem(self.sheet, row, None if column is None else self.label(column), value, message, severity,
                          code, params)
        self.problems.append((-1 if pos is None else pos, self.column_order.get(column, -1), problem))
        if severity == "error" and pos is not None:
            self.bad[pos] = True

    def add_at(self, pos: int, column: str, message: str, severity: str = "error",
               code: str | None = None, params: tuple = ()) -> None:
        """A problem about the user's value in one cell."""
        cells = self._cells.get(column)
        if cells is None:
            cells = self._cells[column] = self.work[column].to_numpy(dtype=object)
        self.add(pos, column, _plain(cells[pos]), message, severity, code, params)

    def parse(self) -> pd.DataFrame:
        """Every known column typed; unknown columns copied as they are."""
        out: dict[str, Any] = {}
        for col in self.raw.columns:
            series = self.work[col]
            kind = self.kinds.get(col) if isinstance(col, str) else None
            if kind is None:
                out[col] = series
                continue
            blank = self.blank_cells.iloc[:, self.column_order[col]].to_numpy()
            out[col] = self._parse_column(col, series, blank, kind)
            if col in self.required:
                for pos in np.flatnonzero(blank):
                    self.add(pos, col, None, "a value is required here", code="value_required")
        for col, kind in self.kinds.items():
            if col not in out:  # an optional column the sheet does not have
                out[col] = _typed(np.full(len(self.work), kind.missing, dtype=object), kind, self.work.index)
        return pd.DataFrame(out, index=self.work.index)

    def _parse_column(self, col: str, series: pd.Series, blank: np.ndarray, kind: Kind) -> pd.Series:
        fast = _fast_path(series, kind)
        if fast is not None:
            return fast
        parse = kind.parse
        values = np.full(len(series), kind.missing, dtype=object)
        if series.dtype != object and pd.api.types.is_string_dtype(series.dtype):
            # A typed text column (the file reader's): factorise it where it lives, without a trip through
            # Python objects, and parse each distinct text once.
            all_codes, all_uniques = pd.factorize(series)
            wanted = ~blank & (all_codes >= 0)
            raw_values = None
            groups = [(np.flatnonzero(wanted), list(all_uniques), all_codes[wanted])]
        else:
            raw_values = series.to_numpy(dtype=object)
            groups = distinct_by_type(raw_values, ~blank, one_type=_one_type(series))
        for positions, uniques, codes in groups:
            if not len(positions):
                continue
            outcomes = []
            for value in uniques:
                try:
                    outcomes.append((True, parse(value)))
                except InputError as exc:
                    outcomes.append((False, exc))
            ok = np.array([o[0] for o in outcomes], dtype=bool)
            parsed = np.empty(len(outcomes), dtype=object)
            parsed[:] = [o[1] if o[0] else kind.missing for o in outcomes]
            values[positions] = parsed[codes]
            for pos, code in zip(positions[~ok[codes]], codes[~ok[codes]]):
                value, exc = _plain(uniques[code] if raw_values is None else raw_values[pos]), outcomes[code][1]
                if kind.bad_is_error:
                    self.add(pos, col, value, str(exc), code=exc.code, params=exc.params)
                else:
                    self.add(pos, col, value, f"{exc}; left blank", "warning", exc.code,
                             (*exc.params, ("left_blank", True)))
        return _typed(values, kind, series.index)

    def check_duplicates(self, ids: pd.Series, what: str, expected: str, code: str, first_kept: bool = False) -> None:
        """Rows sharing a value: each is reported naming the others; with ``first_kept`` the first (sheet order)
        is not reported, so it stays in."""
        dup = (ids.duplicated(keep=False) & ids.notna()).to_numpy()
        if not dup.any():
            return
        positions = np.flatnonzero(dup)
        groups: dict[str, list[int]] = {}
        for pos in positions:
            groups.setdefault(ids.iat[pos], []).append(pos)
        rows = self.work.index
        shown = 10  # a sheet pasted twice would otherwise give messages as long as the sheet
        for value, members in groups.items():
            for pos in members[1:] if first_kept else members:
                others = [p for p in members[: shown + 1] if p != pos][:shown]
                listed = ", ".join(str(_row_number(rows[p])) for p in others)
                if len(members) - 1 > len(others):
                    listed += f" and {len(members) - 1 - len(others)} more"
                self.add_at(pos, ids.name, f"{what} {value!r} is also on row(s) {listed}; {expected}", code=code,
                            params=(("other_rows", (*(_row_number(rows[p]) for p in others),
                                                    *(("…",) if len(members) - 1 > len(others) else ()))),
                                    ("count", len(members) - 1)))

    def check_not_negative(self, amounts: pd.Series, column: str, message: str, code: str) -> None:
        for pos in np.flatnonzero((amounts < 0).to_numpy()):
            self.add_at(pos, column, message, code=code)

    def check_not_before(self, typed: pd.DataFrame, column: str, reference: str, what: str, code: str) -> None:
        """A date before the created date is a typing slip to point out, not a reason to drop the deal: a warning."""
        later, earlier = typed[column], typed[reference]
        for pos in np.flatnonzero((later < earlier).to_numpy()):
            self.add_at(pos, column, f"{what} {later.iat[pos]:%Y-%m-%d} is before the created date "
                        f"{earlier.iat[pos]:%Y-%m-%d} ({self.label(reference)}); expected the same day or later",
                        "warning", code=code, params=(("date", later.iat[pos]), ("created", earlier.iat[pos]),
                                                      ("created_column", self.label(reference))))

    def finish(self, typed: pd.DataFrame, table: str) -> Normalized:
        clean = typed.loc[~self.bad]
        check_dtypes(clean, table)
        rejected = self.work.loc[self.bad]
        self.problems.sort(key=lambda item: (item[0], item[1]))
        blank_rows = tuple(self.raw.index[self.blank_row])
        return Normalized(clean, rejected, [p for _, _, p in self.problems], blank_rows, typed.loc[self.bad])


def check_dtypes(clean: pd.DataFrame, table: str) -> None:
    """Every column the user types in ``table`` has its kind's dtype in ``clean`` (what ``clean_schema`` asks first,
    at a fraction of its cost); a difference is the normaliser's bug, not the user's."""
    for spec in columns(table, owner=USER):
        expected = pd.api.types.pandas_dtype(KINDS[spec.kind].dtype)
        if spec.key in clean.columns and clean[spec.key].dtype != expected:
            raise TypeError(f"normalised {table}.{spec.key} is {clean[spec.key].dtype}, not {expected}")


def _row_number(label: Any) -> Any:
    """The sheet row number as a plain int (index labels are often numpy integers)."""
    return int(label) if isinstance(label, (int, np.integer)) else label


def _plain(value: Any) -> Any:
    """A cell value fit for a Problem: numpy scalars become Python ones, and a blank cell (NaN, NaT, NA) None, so
    数据问题 and the JSON show an empty value rather than "nan"."""
    if value is pd.NA or value is pd.NaT or (isinstance(value, (float, np.floating)) and value != value):
        return None
    return value.item() if isinstance(value, np.generic) else value


def _one_type(series: pd.Series) -> bool:
    """True when the dtype itself guarantees one Python type per cell (a typed reader's text or number column)."""
    return series.dtype != object and (pd.api.types.is_string_dtype(series.dtype)
                                       or pd.api.types.is_numeric_dtype(series.dtype))


def _blank_cells(series: pd.Series) -> pd.Series:
    """True where a cell is empty: NA, or text of nothing but white space (full-width space too)."""
    blank = series.isna().to_numpy(copy=True)
    if series.dtype != object and pd.api.types.is_string_dtype(series.dtype):
        # a typed text column: str.strip knows every Unicode space, the full-width one included
        return pd.Series(blank | series.str.strip().eq("").fillna(False).to_numpy(dtype=bool), index=series.index)
    if series.dtype == object:
        values = series.to_numpy(dtype=object)
        for group, uniques, codes in distinct_by_type(values, ~blank):
            empty = np.array([isinstance(u, str) and not u.strip() for u in uniques], dtype=bool)
            blank[group] = empty[codes]
    return pd.Series(blank, index=series.index)


def _blank_columns(raw: pd.DataFrame) -> dict[int, pd.Series]:
    """``_blank_cells`` of every column by position. The typed text columns' distinct values are stripped together
    in one call (the same string kernel): a table of fifty text columns would otherwise pay pandas' fixed cost per
    operation fifty times over."""
    columns = [raw.iloc[:, i] for i in range(raw.shape[1])]
    text = [i for i, c in enumerate(columns) if c.dtype != object and pd.api.types.is_string_dtype(c.dtype)]
    text = [i for i in text if columns[i].dtype == columns[text[0]].dtype]
    out = {i: _blank_cells(c) for i, c in enumerate(columns) if i not in set(text)}
    if text:
        factorised = [pd.factorize(columns[i], use_na_sentinel=True) for i in text]
        distinct = pd.Series(np.concatenate([np.asarray(u, dtype=object) for _, u in factorised]),
                             dtype=columns[text[0]].dtype)
        empty = distinct.str.strip().eq("").fillna(False).to_numpy(dtype=bool)
        start = 0
        for i, (codes, uniques) in zip(text, factorised):
            mine = np.append(empty[start:start + len(uniques)], True)  # code -1 (NA) is blank
            start += len(uniques)
            out[i] = pd.Series(mine[codes], index=columns[i].index)
    return dict(sorted(out.items()))


def _fast_path(series: pd.Series, kind: Kind) -> pd.Series | None:
    """Vectorised typing for columns that arrive already typed (the common case from a reader)."""
    dtype = series.dtype
    if kind is _AMOUNT and pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        values = series.astype("float64")
        if (np.abs(values.to_numpy()) > MAX_AMOUNT).any():
            return None  # let the per-value path report infinite and absurd amounts
        return values
    if kind is _DATE and pd.api.types.is_datetime64_any_dtype(dtype):
        values = series
        if getattr(dtype, "tz", None) is not None:
            values = values.dt.tz_localize(None)
        values = values.dt.normalize()
        outside = (values < FIRST_DATE) | (values > LAST_DATE)
        if outside.any():
            return None
        return values.astype("datetime64[ns]")
    if kind is _BOOL and pd.api.types.is_bool_dtype(dtype):
        return series.astype("boolean")
    if kind.parse is parse_text and pd.api.types.is_string_dtype(dtype) and dtype != object:
        stripped = series.str.strip()
        return stripped.where(stripped.str.len() > 0).astype(TEXT_DTYPE)
    return None


def _typed(values: np.ndarray, kind: Kind, index: pd.Index) -> pd.Series:
    if kind.dtype == "datetime64[ns]":
        return pd.Series(pd.to_datetime(values), index=index).astype("datetime64[ns]")
    if kind.dtype == "float64":
        return pd.Series(values.astype("float64"), index=index)
    if kind.dtype == "boolean":
        # True/False/None objects straight into the masked array: pd.array's coercion of objects took 0.4 s over
        # a 100,000-deal checklist
        missing = pd.isna(values)
        data = np.zeros(len(values), dtype=bool)
        data[~missing] = values[~missing].astype(bool)
        return pd.Series(pd.arrays.BooleanArray(data, missing), index=index)
    return pd.Series(values, index=index, dtype=kind.dtype)
