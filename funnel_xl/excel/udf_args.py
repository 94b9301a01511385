"""Excel's side of the worksheet functions: what a cell or range argument holds, read into the domain's input,
and results shaped back into cells. Bad input never raises into Excel (where xlwings would show a traceback): it
becomes a text that starts with Excel's error name and says which argument, which row and what was expected.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from decimal import Decimal
from typing import Any

import pandas as pd

from funnel_xl.domain.columns import STAGES
from funnel_xl.domain.methodology import (
    CRITERIA_TABLE_COLUMNS, STAGE_TABLE_COLUMNS, Methodology, methodology_from_tables,
)
from funnel_xl.domain.normalize import normalize_opportunities
from funnel_xl.domain.parsing import (
    is_blank, parse_amount, parse_basis, parse_date, parse_month, parse_percent, parse_status, parse_text,
)
from funnel_xl.domain.rates import with_rates
from funnel_xl.domain.settings import ASSESSED
from funnel_xl.errors import FunnelError
from funnel_xl.labels import LANGUAGES, label
from funnel_xl.methodologies import load_methodology
from funnel_xl.workbook import contract

DEFAULT_METHODOLOGY = "big_project"
VALUE, NOT_AVAILABLE, DIV0 = "#VALUE!", "#N/A", "#DIV/0!"
_LANGUAGE_WORDS = {"zh": "zh-CN", "zh-cn": "zh-CN", "cn": "zh-CN", "chinese": "zh-CN",
                   "en": "en", "en-us": "en", "en-gb": "en", "english": "en"}


# --------------------------------------------------------------------------------------------- plumbing

class CellError(FunnelError, ValueError):
    """Bad input to a worksheet function; ``text`` is what the cell shows instead of a traceback."""

    def __init__(self, kind: str, argument: str, message: str) -> None:
        super().__init__(message)
        self.text = f"{kind} {argument}: {message}"


def one_line(exc: BaseException) -> str:
    """An exception's message on one line: a cell shows no line breaks, and methodology errors list several."""
    return "; ".join(part.strip() for part in str(exc).splitlines() if part.strip())


def excel_safe(func):
    """Turn every failure into an error text in the cell; xlwings would otherwise show a Python traceback."""

    @functools.wraps(func)
    def wrapper(*args):
        try:
            return func(*args)
        except CellError as exc:
            return exc.text
        except (FunnelError, ValueError, TypeError, KeyError) as exc:
            return f"{VALUE} {func.__name__}: {one_line(exc)}"
        except Exception as exc:  # noqa: BLE001 - a worksheet cell must never get a traceback
            return f"{VALUE} {func.__name__}: unexpected error ({type(exc).__name__}: {one_line(exc)})"

    return wrapper


class Cells:
    """The cells of one range argument, row-major, with their shape, so results come back in the same shape."""

    def __init__(self, value: Any, name: str) -> None:
        self.name = name
        if isinstance(value, (list, tuple)):
            rows = [list(r) if isinstance(r, (list, tuple)) else [r] for r in value]
        else:
            rows = [[value]]
        if not rows:
            rows = [[None]]
        self.ncols = max(len(r) for r in rows) or 1
        self.nrows = len(rows)
        self.rows = [r + [None] * (self.ncols - len(r)) for r in rows]
        self.values = [v for r in self.rows for v in r]

    def where(self, i: int) -> str:
        """Where cell i sits in the range, counted from 1 as the user sees it."""
        r, c = divmod(i, self.ncols)
        if self.ncols == 1:
            return f"row {r + 1}"
        if self.nrows == 1:
            return f"column {c + 1}"
        return f"row {r + 1}, column {c + 1}"

    def error(self, kind: str, i: int, message: str) -> str:
        return f"{kind} {self.name}: {self.where(i)} {message}"

    def shaped(self, out: list) -> Any:
        """One result per cell, in the range's shape; a single cell gives a scalar (no spill)."""
        out = [cell_out(v) for v in out]
        if len(out) == 1:
            return out[0]
        return [out[r * self.ncols:(r + 1) * self.ncols] for r in range(self.nrows)]


def cell_out(value: Any) -> Any:
    """A value a cell can show: None for NA/NaN, plain Python numbers, naive datetimes."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item") and not isinstance(value, (str, dt.date)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def as_column(out: list) -> Any:
    """One result per row of a range, as a column (or a scalar for one row)."""
    out = [cell_out(v) for v in out]
    return out[0] if len(out) == 1 else [[v] for v in out]


def scalar(value: Any, name: str) -> Any:
    """A single-cell argument; a range of several cells is refused rather than reduced to its first cell."""
    cells = Cells(value, name)
    if len(cells.values) != 1:
        raise CellError(VALUE, name, f"expected a single cell, got a range of {cells.nrows} × {cells.ncols} cells")
    return cells.values[0]


def read_language(value: Any) -> str:
    if value is None or is_blank(value):
        return "zh-CN"
    lang = _LANGUAGE_WORDS.get(str(value).strip().casefold())
    if lang is None:
        raise CellError(VALUE, "language", f"{value!r} is not a language: expected zh-CN or en")
    return lang


def read_as_of(value: Any) -> dt.date:
    """The report date; omitted means today, the only place a worksheet function reads the clock (Excel's edge)."""
    value = scalar(value, "as_of")
    if value is None or is_blank(value):
        return dt.date.today()
    try:
        return parse_date(value).date()
    except FunnelError as exc:
        raise CellError(VALUE, "as_of", one_line(exc)) from None


def scalar_amount(value: Any, name: str) -> float:
    value = scalar(value, name)
    try:
        return parse_amount(value)
    except FunnelError as exc:
        raise CellError(VALUE, name, one_line(exc)) from None


def amount_at(cells: Cells, i: int) -> float:
    try:
        return parse_amount(cells.values[i])
    except FunnelError as exc:
        raise CellError(VALUE, cells.name, f"{cells.where(i)} {one_line(exc)}") from None


# ------------------------------------------------------------------------------------------ methodology

@functools.cache
def _builtin(key_or_path: str) -> Methodology:
    """A methodology file, loaded once per Excel session (functions recalculate often)."""
    return load_methodology(key_or_path)


def read_methodology(spec: Any, name: str = "stages_table") -> Methodology:
    """The default methodology, a built-in key or file path, or the 阶段设置 stage table passed as a range."""
    if spec is None or (not isinstance(spec, (list, tuple)) and is_blank(spec)):
        return _builtin(DEFAULT_METHODOLOGY)
    if isinstance(spec, str):
        try:
            return _builtin(spec.strip())
        except FunnelError as exc:
            raise CellError(VALUE, name, one_line(exc)) from None
    cells = Cells(spec, name)
    key = tuple(tuple(_hashable(v) for v in row) for row in cells.rows)
    try:
        return _methodology_from_rows(key, name)
    except FunnelError as exc:
        raise CellError(VALUE, name, one_line(exc)) from None


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


_STAGE_HEADERS = {**contract.headers_to_keys(STAGES), **{c: c for c in STAGE_TABLE_COLUMNS}}


@functools.lru_cache(maxsize=32)
def _methodology_from_rows(rows: tuple[tuple, ...], name: str) -> Methodology:
    """A methodology from the stage table with its header row (tblStages[#All]), or from two columns (stage, rate).

    Win rates may be fractions (0.35, as the sheet stores them) or percent (35, 35%); the domain validates the
    rest exactly as it does for the workbook (rates may not fall along the funnel, names must be unique).
    """
    header = [_STAGE_HEADERS.get(h.strip()) if isinstance(h, str) else None for h in rows[0]]
    if "win_rate" in header and {"key", "zh", "en"} & set(header):
        body, first_row = rows[1:], 2
    elif len(rows[0]) == 2:
        header, body, first_row = ["zh", "win_rate"], rows, 1
    else:
        raise CellError(VALUE, name, "expected the stage table with its header row (tblStages[#All]) or two "
                                     "columns: stage name and win rate")
    records, index = [], []
    for n, row in enumerate(body):
        if all(is_blank(v) for v in row):
            continue
        record = {k: v for k, v in zip(header, row) if k is not None}
        rate = record.get("win_rate")
        if not is_blank(rate):
            try:
                record["win_rate"] = float(Decimal(repr(parse_percent(rate))) * 100)
            except FunnelError as exc:
                raise CellError(VALUE, name, f"row {first_row + n} {one_line(exc)}") from None
        record.setdefault("key", f"stage_{len(records) + 1}")
        record.setdefault("zh", record.get("en"))
        record.setdefault("en", record.get("zh"))
        records.append(record)
        index.append(first_row + n)
    stages = pd.DataFrame(records, index=index, columns=list(STAGE_TABLE_COLUMNS), dtype=object)
    criteria = pd.DataFrame(columns=list(CRITERIA_TABLE_COLUMNS), dtype=object)
    meta = {"key": "workbook", "zh": label("udf_text.stages_table", "zh-CN"), "en": label("udf_text.stages_table", "en")}
    return methodology_from_tables(meta, stages, criteria, name)


def stage_list(m: Methodology) -> str:
    return ", ".join(s.name("zh-CN") if s.zh == s.en else f"{s.zh} ({s.en})" for s in m.stages)


def read_rates(cells: Cells, m: Methodology, rows: list[int]) -> dict[int, float]:
    """Win rate of each listed cell: a stage (key, zh/en name, synonym) gives its rate; a number is a rate."""
    out, rates = {}, m.rates()
    for i in rows:
        v = cells.values[i]
        key = m.resolve_stage(v) if isinstance(v, str) else None
        if key is not None:
            out[i] = rates[key]
            continue
        try:
            out[i] = parse_percent(v)
        except FunnelError:
            raise CellError(NOT_AVAILABLE, cells.name, f"{cells.where(i)} {v!r} is neither a stage of "
                            f"{m.name('en')} nor a win rate; expected one of: {stage_list(m)}, "
                            "or a rate such as 35% or 0.35") from None
    return out


def same_size(*cells: Cells) -> None:
    first = cells[0]
    for other in cells[1:]:
        if len(other.values) != len(first.values):
            raise CellError(VALUE, other.name, f"has {len(other.values)} cells but {first.name} has "
                                               f"{len(first.values)}; expected ranges of the same size")


def read_statuses(statuses: Any, n: int, rows: list[int]) -> dict[int, str]:
    """Status key per listed cell; without a statuses range every row counts as open."""
    if statuses is None:
        return {i: "open" for i in rows}
    cells = Cells(statuses, "statuses")
    if len(cells.values) != n:
        raise CellError(VALUE, "statuses", f"has {len(cells.values)} cells; expected {n}, one per row")
    out = {}
    for i in rows:
        try:
            out[i] = parse_status(cells.values[i])
        except FunnelError as exc:
            raise CellError(VALUE, "statuses", f"{cells.where(i)} {one_line(exc)}") from None
    return out


def read_dates(cells: Cells, rows: list[int]) -> tuple[dict[int, pd.Timestamp], dict[int, str]]:
    """The date of each listed cell, and the error text of each listed cell that holds no date."""
    dates, errors = {}, {}
    for i in rows:
        try:
            dates[i] = parse_date(cells.values[i])
        except FunnelError as exc:
            errors[i] = cells.error(VALUE, i, one_line(exc))
    return dates, errors


# -------------------------------------------------------------------------------------- per-rep tables

def read_table(value: Any, name: str, headers: dict[str, str]) -> pd.DataFrame:
    """A table passed with its header row as a frame of canonical columns; the index is the row in the range."""
    cells = Cells(value, name)
    if cells.nrows < 1:
        raise CellError(VALUE, name, "expected a table with its header row, e.g. tblOpportunities[#All]")
    keys = [headers.get(h.strip()) if isinstance(h, str) else None for h in cells.rows[0]]
    if not any(keys):
        raise CellError(VALUE, name, "its first row holds no known column header; pass the table with its "
                                     "header row, e.g. tblOpportunities[#All]")
    keep = [j for j, k in enumerate(keys) if k is not None and k not in keys[:j]]
    frame = pd.DataFrame([[row[j] for j in keep] for row in cells.rows[1:]], columns=[keys[j] for j in keep],
                         index=pd.RangeIndex(2, cells.nrows + 1), dtype=object)
    # The assessed stage is kept: it is the checklist's verdict, which a stage table alone cannot work out.
    return frame.drop(columns=[c for c in contract.DERIVED_OPPORTUNITY_COLUMNS
                               if c in frame.columns and c != "derived_stage"])


def _opportunity_headers(m: Methodology) -> dict[str, str]:
    out: dict[str, str] = {}
    for lang in LANGUAGES:
        for col in contract.opportunity_columns(m, lang):
            out.setdefault(col.header.strip(), col.key)
            out.setdefault(col.key, col.key)
    return out


def rep_headers() -> dict[str, str]:
    return {h: c.key for lang in LANGUAGES for c in contract.rep_columns(lang) for h in (c.header.strip(), c.key)}


def rep_problems(normalized, name: str) -> dict[str, str]:
    """The first error of each rep whose rows were rejected, so that rep's figure is refused, not silently short."""
    out: dict[str, str] = {}
    rejected = normalized.rejected
    for p in normalized.problems:
        if p.severity != "error" or p.row not in rejected.index or "rep" not in rejected.columns:
            continue
        rep = parse_text(rejected.at[p.row, "rep"])
        if rep is not None:
            out.setdefault(rep, f"{VALUE} {name}: {p}")
    return out


def clean_opportunities(opportunities: Any, m: Methodology, reps: list[str] | None, basis: str = ASSESSED):
    """The table's rows, checked and rated on ``basis``; the assessed stage is the table's 评估阶段 column where it
    has one (its live formula read the checklist), else what the methodology's criteria make of the checklist."""
    raw = read_table(opportunities, "opportunities", _opportunity_headers(m))
    shown = raw.pop("derived_stage") if "derived_stage" in raw.columns else None
    normalized = normalize_opportunities(raw, m, reps=reps, sheet="opportunities")
    assessed = None if shown is None else shown.map(lambda v: m.resolve_stage(v) if isinstance(v, str) else None)
    return with_rates(normalized.clean, m, basis, assessed), rep_problems(normalized, "opportunities")


def read_basis(value: Any) -> str:
    """The forecast basis: 评估阶段 (the default) or 销售阶段, as 阶段设置's 预测依据 cell holds it."""
    value = scalar(value, "basis")
    if value is None or is_blank(value):
        return ASSESSED
    try:
        return parse_basis(value)
    except FunnelError as exc:
        raise CellError(VALUE, "basis", one_line(exc)) from None


def read_month(value: Any) -> int:
    """The month a fiscal year starts (1-12); omitted: January, the calendar year."""
    value = scalar(value, "fiscal_year_start")
    if value is None or is_blank(value):
        return 1
    try:
        return parse_month(value)
    except FunnelError as exc:
        raise CellError(VALUE, "fiscal_year_start", one_line(exc)) from None


def per_rep(rep, problems: dict, figure) -> list:
    """One result per rep cell: blank for a blank cell, the rep's row problem if any, else ``figure``'s answer."""
    cells, out = Cells(rep, "rep"), []
    for i, v in enumerate(cells.values):
        name = parse_text(v)
        out.append(None if name is None else problems[name] if name in problems else figure(cells, i, name))
    return cells.shaped(out)


def read_year(value: Any) -> int:
    value = scalar(value, "plan_year")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer() \
            and 1900 <= value <= 9999:
        return int(value)
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) == 4:
        return int(value.strip())
    try:
        return parse_date(value).year
    except FunnelError:
        raise CellError(VALUE, "plan_year", f"{value!r} is not a year: expected a year such as 2027 "
                                            "or a date in it") from None
