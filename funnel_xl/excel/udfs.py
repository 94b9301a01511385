"""Worksheet functions (=FUNNEL_...): thin xlwings wrappers over the pure domain, vectorised over ranges.

Each function turns what Excel passes (a scalar, or a 2-D list of cells with None for blanks and datetime for
dates) into the domain's input, calls the domain, and gives back values shaped like the input range, so dynamic
arrays spill. Bad input never raises into Excel, where xlwings would show a traceback: the cell shows a text that
starts with Excel's error name and says which argument, which row and what was expected.

The workbook's ``xlwings.conf`` sheet names this module under "UDF Modules". The function wizard shows each
docstring and each ``@xw.arg(doc=...)``; the 说明 sheet lists the functions from the labels ``udf.<NAME>.*``.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from decimal import Decimal
from typing import Any

import pandas as pd
import xlwings as xw

from funnel_xl.domain.columns import STAGES
from funnel_xl.domain.forecast import forecast_category, time_bucket, weighted_forecast
from funnel_xl.domain.funnel import required_pipeline
from funnel_xl.domain.methodology import (
    CRITERIA_TABLE_COLUMNS, STAGE_TABLE_COLUMNS, Methodology, methodology_from_tables,
)
from funnel_xl.domain.normalize import normalize_opportunities, normalize_reps
from funnel_xl.domain.parsing import (
    is_blank, parse_amount, parse_bool, parse_date, parse_percent, parse_status, parse_text,
)
from funnel_xl.domain.quota import attainment, quota_proposal
from funnel_xl.domain.rates import with_rates
from funnel_xl.domain.schema import checklist_column
from funnel_xl.domain.stages import derive_stages
from funnel_xl.errors import FunnelError
from funnel_xl.labels import LANGUAGES, label
from funnel_xl.methodologies import load_methodology
from funnel_xl.workbook import contract

CATEGORY = "Funnel (funnel_xl)"
DEFAULT_METHODOLOGY = "big_project"
UDF_NAMES: tuple[str, ...] = (
    "FUNNEL_AMOUNT", "FUNNEL_WINRATE", "FUNNEL_WEIGHTED", "FUNNEL_STAGE", "FUNNEL_BUCKET", "FUNNEL_CATEGORY",
    "FUNNEL_REQUIRED", "FUNNEL_PROGRESS", "FUNNEL_COVERAGE", "FUNNEL_QUOTA",
)
VALUE, NOT_AVAILABLE, DIV0 = "#VALUE!", "#N/A", "#DIV/0!"
_LANGUAGE_WORDS = {"zh": "zh-CN", "zh-cn": "zh-CN", "cn": "zh-CN", "chinese": "zh-CN",
                   "en": "en", "en-us": "en", "en-gb": "en", "english": "en"}


# --------------------------------------------------------------------------------------------- plumbing

class CellError(Exception):
    """Bad input to a worksheet function; ``text`` is what the cell shows instead of a traceback."""

    def __init__(self, kind: str, argument: str, message: str) -> None:
        super().__init__(message)
        self.text = f"{kind} {argument}: {message}"


def _one_line(exc: BaseException) -> str:
    """An exception's message on one line: a cell shows no line breaks, and methodology errors list several."""
    return "; ".join(part.strip() for part in str(exc).splitlines() if part.strip())


def _excel_safe(func):
    """Turn every failure into an error text in the cell; xlwings would otherwise show a Python traceback."""

    @functools.wraps(func)
    def wrapper(*args):
        try:
            return func(*args)
        except CellError as exc:
            return exc.text
        except (FunnelError, ValueError, TypeError, KeyError) as exc:
            return f"{VALUE} {func.__name__}: {_one_line(exc)}"
        except Exception as exc:  # noqa: BLE001 - a worksheet cell must never get a traceback
            return f"{VALUE} {func.__name__}: unexpected error ({type(exc).__name__}: {_one_line(exc)})"

    return wrapper


class _Cells:
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
        out = [_cell_out(v) for v in out]
        if len(out) == 1:
            return out[0]
        return [out[r * self.ncols:(r + 1) * self.ncols] for r in range(self.nrows)]


def _cell_out(value: Any) -> Any:
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


def _column(out: list) -> Any:
    """One result per row of a range, as a column (or a scalar for one row)."""
    out = [_cell_out(v) for v in out]
    return out[0] if len(out) == 1 else [[v] for v in out]


def _scalar(value: Any, name: str) -> Any:
    """A single-cell argument; a range of several cells is refused rather than reduced to its first cell."""
    cells = _Cells(value, name)
    if len(cells.values) != 1:
        raise CellError(VALUE, name, f"expected a single cell, got a range of {cells.nrows} × {cells.ncols} cells")
    return cells.values[0]


def _language(value: Any) -> str:
    if value is None or is_blank(value):
        return "zh-CN"
    lang = _LANGUAGE_WORDS.get(str(value).strip().casefold())
    if lang is None:
        raise CellError(VALUE, "language", f"{value!r} is not a language: expected zh-CN or en")
    return lang


def _as_of(value: Any) -> dt.date:
    """The report date; omitted means today, the only place a worksheet function reads the clock (Excel's edge)."""
    value = _scalar(value, "as_of")
    if value is None or is_blank(value):
        return dt.date.today()
    try:
        return parse_date(value).date()
    except FunnelError as exc:
        raise CellError(VALUE, "as_of", _one_line(exc)) from None


def _amount(value: Any, name: str) -> float:
    value = _scalar(value, name)
    try:
        return parse_amount(value)
    except FunnelError as exc:
        raise CellError(VALUE, name, _one_line(exc)) from None


# ------------------------------------------------------------------------------------------ methodology

@functools.cache
def _builtin(key_or_path: str) -> Methodology:
    """A methodology file, loaded once per Excel session (functions recalculate often)."""
    return load_methodology(key_or_path)


def _methodology(spec: Any, name: str = "stages_table") -> Methodology:
    """The default methodology, a built-in key or file path, or the 阶段设置 stage table passed as a range."""
    if spec is None or (not isinstance(spec, (list, tuple)) and is_blank(spec)):
        return _builtin(DEFAULT_METHODOLOGY)
    if isinstance(spec, str):
        try:
            return _builtin(spec.strip())
        except FunnelError as exc:
            raise CellError(VALUE, name, _one_line(exc)) from None
    cells = _Cells(spec, name)
    key = tuple(tuple(_hashable(v) for v in row) for row in cells.rows)
    try:
        return _methodology_from_rows(key, name)
    except FunnelError as exc:
        raise CellError(VALUE, name, _one_line(exc)) from None


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
                raise CellError(VALUE, name, f"row {first_row + n} {_one_line(exc)}") from None
        record.setdefault("key", f"stage_{len(records) + 1}")
        record.setdefault("zh", record.get("en"))
        record.setdefault("en", record.get("zh"))
        records.append(record)
        index.append(first_row + n)
    stages = pd.DataFrame(records, index=index, columns=list(STAGE_TABLE_COLUMNS), dtype=object)
    criteria = pd.DataFrame(columns=list(CRITERIA_TABLE_COLUMNS), dtype=object)
    meta = {"key": "workbook", "zh": label("udf_text.stages_table", "zh-CN"), "en": label("udf_text.stages_table", "en")}
    return methodology_from_tables(meta, stages, criteria, name)


def _stage_list(m: Methodology) -> str:
    return ", ".join(s.name("zh-CN") if s.zh == s.en else f"{s.zh} ({s.en})" for s in m.stages)


def _rates(cells: _Cells, m: Methodology, rows: list[int]) -> dict[int, float]:
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
                            f"{m.name('en')} nor a win rate; expected one of: {_stage_list(m)}, "
                            "or a rate such as 35% or 0.35") from None
    return out


def _same_size(*cells: _Cells) -> None:
    first = cells[0]
    for other in cells[1:]:
        if len(other.values) != len(first.values):
            raise CellError(VALUE, other.name, f"has {len(other.values)} cells but {first.name} has "
                                               f"{len(first.values)}; expected ranges of the same size")


def _statuses(statuses: Any, n: int, rows: list[int]) -> dict[int, str]:
    """Status key per listed cell; without a statuses range every row counts as open."""
    if statuses is None:
        return {i: "open" for i in rows}
    cells = _Cells(statuses, "statuses")
    if len(cells.values) != n:
        raise CellError(VALUE, "statuses", f"has {len(cells.values)} cells; expected {n}, one per row")
    out = {}
    for i in rows:
        try:
            out[i] = parse_status(cells.values[i])
        except FunnelError as exc:
            raise CellError(VALUE, "statuses", f"{cells.where(i)} {_one_line(exc)}") from None
    return out


# ------------------------------------------------------------------------------------------- functions

@xw.func(category=CATEGORY)
@xw.arg("text", ndim=2, doc="Amounts as typed: 120万, ¥1,200,000, 1.2亿, 一百二十万 or plain numbers (a cell or a range).")
@_excel_safe
def FUNNEL_AMOUNT(text):
    """The amount in CNY (元) of each cell: 120万 gives 1200000. Blank cells stay blank; estimates (约100万),
    ranges (100-200万) and other currencies are refused with a reason."""
    cells = _Cells(text, "text")
    out = []
    for i, v in enumerate(cells.values):
        if is_blank(v):
            out.append(None)
            continue
        try:
            out.append(parse_amount(v))
        except FunnelError as exc:
            out.append(cells.error(VALUE, i, _one_line(exc)))
    return cells.shaped(out)


@xw.func(category=CATEGORY)
@xw.arg("stage", ndim=2, doc="A stage name (中文 or English), stage key or synonym; a cell or a range.")
@xw.arg("stages_table", ndim=2, doc="Optional: tblStages[#All] (the 阶段设置 stage table) or two columns "
                                    "(stage, win rate); omitted: the built-in big_project methodology.")
@_excel_safe
def FUNNEL_WINRATE(stage, stages_table=None):
    """The win rate (赢率, 0-1) of each stage. An unknown stage shows #N/A with the stages expected."""
    m = _methodology(stages_table)
    cells = _Cells(stage, "stage")
    rates = m.rates()
    out = []
    for i, v in enumerate(cells.values):
        if is_blank(v):
            out.append(None)
            continue
        key = m.resolve_stage(v)
        out.append(rates[key] if key is not None else cells.error(
            NOT_AVAILABLE, i, f"{v!r} is not a stage of {m.name('en')}; expected one of: {_stage_list(m)}"))
    return cells.shaped(out)


@xw.func(category=CATEGORY)
@xw.arg("amounts", ndim=2, doc="The amounts (元), e.g. tblOpportunities[预计金额]; text such as 120万 is read.")
@xw.arg("stages_or_rates", ndim=2, doc="One stage or win rate per amount (same size as amounts).")
@xw.arg("statuses", ndim=2, doc="Optional: one status per amount (进行中/赢单/丢单); only open rows count. "
                                "Omitted: every row counts.")
@xw.arg("stages_table", ndim=2, doc="Optional: tblStages[#All]; omitted: the built-in big_project methodology.")
@_excel_safe
def FUNNEL_WEIGHTED(amounts, stages_or_rates, statuses=None, stages_table=None):
    """The weighted forecast (销售预计): Σ amount × win rate over the open rows. Rows blank in both ranges are
    skipped; any other unreadable cell makes the whole result an error naming its row."""
    m = _methodology(stages_table)
    amount_cells, stage_cells = _Cells(amounts, "amounts"), _Cells(stages_or_rates, "stages_or_rates")
    _same_size(amount_cells, stage_cells)
    rows = [i for i in range(len(amount_cells.values))
            if not (is_blank(amount_cells.values[i]) and is_blank(stage_cells.values[i]))]
    for i in rows:
        if is_blank(amount_cells.values[i]):
            raise CellError(VALUE, "amounts", f"{amount_cells.where(i)} is blank but its stage is "
                                              f"{stage_cells.values[i]!r}; expected an amount")
    parsed = {}
    for i in rows:
        try:
            parsed[i] = parse_amount(amount_cells.values[i])
        except FunnelError as exc:
            raise CellError(VALUE, "amounts", f"{amount_cells.where(i)} {_one_line(exc)}") from None
    rates = _rates(stage_cells, m, rows)
    status = _statuses(statuses, len(amount_cells.values), rows)
    frame = pd.DataFrame({"amount": [parsed[i] for i in rows], "status": [status[i] for i in rows],
                          "stage": None}, index=rows)
    rated = with_rates(frame, m)
    rated["win_rate"] = pd.Series(rates, dtype="float64").reindex(rated.index)
    rated["weighted"] = (rated["amount"] * rated["win_rate"]).where(rated["status"].eq("open"), 0.0)
    return weighted_forecast(rated)


@xw.func(category=CATEGORY)
@xw.arg("checklist_range", ndim=2, doc="The 是/否 answers of one or more opportunities: one row each, one column "
                                       "per criterion in the order of 阶段设置 (as in the 商机 table).")
@xw.arg("methodology", doc="Optional: a built-in methodology key (big_project, classic, product_sales) or a .toml "
                           "file path; omitted: big_project.")
@xw.arg("language", doc="Optional: zh-CN (default) or en, the language of the stage name returned.")
@_excel_safe
def FUNNEL_STAGE(checklist_range, methodology=None, language=None):
    """The assessed stage (评估阶段) of each row: the highest stage whose required criteria, and those of every
    earlier stage, are answered 是. Blank when not even the first stage is met."""
    if isinstance(methodology, (list, tuple)):
        raise CellError(VALUE, "methodology", "expected a methodology key such as big_project, not a range: "
                                              "a stage table has no criteria")
    m = _methodology(methodology, "methodology")
    lang = _language(language)
    cells = _Cells(checklist_range, "checklist_range")
    criteria = m.criteria()
    if cells.ncols != len(criteria):
        raise CellError(VALUE, "checklist_range", f"has {cells.ncols} columns; methodology {m.name('en')} has "
                        f"{len(criteria)} criteria: pass one column per criterion, in the order of the stage sheet")
    answers: dict[str, list] = {checklist_column(c.key): [] for c in criteria}
    bad: dict[int, str] = {}
    for r, row in enumerate(cells.rows):
        for c, (criterion, value) in enumerate(zip(criteria, row)):
            try:
                answer = parse_bool(value)
            except FunnelError as exc:
                bad.setdefault(r, cells.error(VALUE, r * cells.ncols + c, _one_line(exc)))
                answer = None
            answers[checklist_column(criterion.key)].append(answer)
    derived = derive_stages(pd.DataFrame(answers, dtype=object), m)["derived_stage"]
    out = [bad.get(r) or ("" if key is None else m.stage(key).name(lang)) for r, key in enumerate(derived)]
    return _column(out)


@xw.func(category=CATEGORY)
@xw.arg("close_dates", ndim=2, doc="Expected (or, for won deals, actual) close dates; a cell or a range.")
@xw.arg("as_of", doc="Optional: the report date (截止日期); omitted: today.")
@xw.arg("statuses", ndim=2, doc="Optional: one status per date (进行中/赢单/丢单); omitted: all open.")
@xw.arg("language", doc="Optional: zh-CN (default) or en.")
@_excel_safe
def FUNNEL_BUCKET(close_dates, as_of=None, statuses=None, language=None):
    """The time bucket (按时间) of each close date: already closed, past the expected date, within 3 months, 3-6,
    6-9, 9-12 months or later. Lost deals show blank (they are not in the forecast)."""
    report = _as_of(as_of)
    lang = _language(language)
    cells = _Cells(close_dates, "close_dates")
    status_cells = None if statuses is None else _Cells(statuses, "statuses")
    rows = [i for i, v in enumerate(cells.values)
            if not (is_blank(v) and (status_cells is None or is_blank(status_cells.values[i])))]
    status = _statuses(statuses, len(cells.values), rows)
    dates, out = _dates(cells, rows), {}
    good = [i for i in rows if i in dates]
    out.update({i: cells.error(VALUE, i, msg) for i, msg in _date_errors(cells, rows, dates).items()})
    if good:
        frame = pd.DataFrame({"id": [cells.where(i) for i in good], "status": [status[i] for i in good],
                              "close_date": [dates[i] for i in good]}, index=good)
        buckets = time_bucket(frame, report)
        out.update({i: None if pd.isna(b) else label(f"bucket.{b}", lang) for i, b in buckets.items()})
    return cells.shaped([out.get(i) for i in range(len(cells.values))])


def _dates(cells: _Cells, rows: list[int]) -> dict[int, pd.Timestamp]:
    out = {}
    for i in rows:
        try:
            out[i] = parse_date(cells.values[i])
        except FunnelError:
            pass
    return out


def _date_errors(cells: _Cells, rows: list[int], dates: dict) -> dict[int, str]:
    out = {}
    for i in rows:
        if i not in dates:
            try:
                parse_date(cells.values[i])
            except FunnelError as exc:
                out[i] = _one_line(exc)
    return out


@xw.func(category=CATEGORY)
@xw.arg("close_dates", ndim=2, doc="Expected (or actual) close dates; a cell or a range.")
@xw.arg("stages_or_rates", ndim=2, doc="One stage or win rate per date (same size).")
@xw.arg("statuses", ndim=2, doc="Optional: one status per date (进行中/赢单/丢单); omitted: all open.")
@xw.arg("as_of", doc="Optional: the report date; omitted: today.")
@xw.arg("stages_table", ndim=2, doc="Optional: tblStages[#All]; omitted: the built-in big_project methodology.")
@xw.arg("language", doc="Optional: zh-CN (default) or en.")
@_excel_safe
def FUNNEL_CATEGORY(close_dates, stages_or_rates, statuses=None, as_of=None, stages_table=None, language=None):
    """The forecast category (按销售预测) of each row: won → closed; open and closing this quarter at a win rate of
    75 % or more → committed; this quarter below 75 % → likely this quarter; next quarter → likely next quarter;
    otherwise → has intent. Lost deals show blank."""
    m = _methodology(stages_table)
    report = _as_of(as_of)
    lang = _language(language)
    cells, stage_cells = _Cells(close_dates, "close_dates"), _Cells(stages_or_rates, "stages_or_rates")
    _same_size(cells, stage_cells)
    rows = [i for i in range(len(cells.values)) if not (is_blank(cells.values[i]) and is_blank(stage_cells.values[i]))]
    rates = _rates(stage_cells, m, rows)
    status = _statuses(statuses, len(cells.values), rows)
    dates, out = _dates(cells, rows), {}
    out.update({i: cells.error(VALUE, i, msg) for i, msg in _date_errors(cells, rows, dates).items()})
    good = [i for i in rows if i in dates]
    if good:
        frame = pd.DataFrame({"id": [cells.where(i) for i in good], "status": [status[i] for i in good],
                              "close_date": [dates[i] for i in good], "win_rate": [rates[i] for i in good]},
                             index=good)
        categories = forecast_category(frame, report)
        out.update({i: None if pd.isna(c) else label(f"category.{c}", lang) for i, c in categories.items()})
    return cells.shaped([out.get(i) for i in range(len(cells.values))])


@xw.func(category=CATEGORY)
@xw.arg("target", doc="The revenue target (元), e.g. 5000000 or 500万.")
@xw.arg("avg_deal_size", doc="The average deal size (元), to turn amounts into numbers of opportunities.")
@xw.arg("stages_table", ndim=2, doc="Optional: tblStages[#All]; omitted: the built-in big_project methodology.")
@xw.arg("language", doc="Optional: zh-CN (default) or en.")
@_excel_safe
def FUNNEL_REQUIRED(target, avg_deal_size, stages_table=None, language=None):
    """The reverse calculation (漏斗计算), spilled as a table: per stage, its win rate, the amount that must sit
    there to reach the target (target ÷ rate) and how many deals that is. Blank where the rate is 0."""
    m = _methodology(stages_table)
    lang = _language(language)
    table = required_pipeline(_amount(target, "target"), m, avg_deal_size=_amount(avg_deal_size, "avg_deal_size"))
    header = [label(f"udf_col.{k}", lang) for k in ("stage", "win_rate", "amount_needed", "count_needed")]
    body = [[m.stage(key).name(lang), _cell_out(r.rate), _cell_out(r.amount_needed), _cell_out(r.count_needed)]
            for key, r in table.iterrows()]
    return [header, *body]


@xw.func(category=CATEGORY)
@xw.arg("this_forecast", ndim=2, doc="This week's weighted forecast (元); a cell or a range (one per rep).")
@xw.arg("this_achieved", ndim=2, doc="Achieved (won) to date as of this week.")
@xw.arg("last_forecast", ndim=2, doc="Last week's weighted forecast.")
@xw.arg("last_achieved", ndim=2, doc="Achieved to date as of last week.")
@_excel_safe
def FUNNEL_PROGRESS(this_forecast, this_achieved, last_forecast, last_achieved):
    """Sales progress (销售进展) = (this forecast + this achieved) − (last forecast + last achieved), cell by cell."""
    parts = [_Cells(v, n) for v, n in ((this_forecast, "this_forecast"), (this_achieved, "this_achieved"),
                                       (last_forecast, "last_forecast"), (last_achieved, "last_achieved"))]
    _same_size(*parts)
    out = []
    for i in range(len(parts[0].values)):
        values = [p.values[i] for p in parts]
        if all(is_blank(v) for v in values):
            out.append(None)
            continue
        try:
            tf, ta, lf, la = (_read_amount(p, i) for p in parts)
        except CellError as exc:
            out.append(exc.text)
            continue
        out.append((tf + ta) - (lf + la))
    return parts[0].shaped(out)


def _read_amount(cells: _Cells, i: int) -> float:
    try:
        return parse_amount(cells.values[i])
    except FunnelError as exc:
        raise CellError(VALUE, cells.name, f"{cells.where(i)} {_one_line(exc)}") from None


# -------------------------------------------------------------------------------------- per-rep figures

def _table(value: Any, name: str, headers: dict[str, str]) -> pd.DataFrame:
    """A table passed with its header row as a frame of canonical columns; the index is the row in the range."""
    cells = _Cells(value, name)
    if cells.nrows < 1:
        raise CellError(VALUE, name, "expected a table with its header row, e.g. tblOpportunities[#All]")
    keys = [headers.get(h.strip()) if isinstance(h, str) else None for h in cells.rows[0]]
    if not any(keys):
        raise CellError(VALUE, name, "its first row holds no known column header; pass the table with its "
                                     "header row, e.g. tblOpportunities[#All]")
    keep = [j for j, k in enumerate(keys) if k is not None and k not in keys[:j]]
    frame = pd.DataFrame([[row[j] for j in keep] for row in cells.rows[1:]], columns=[keys[j] for j in keep],
                         index=pd.RangeIndex(2, cells.nrows + 1), dtype=object)
    return frame.drop(columns=[c for c in contract.DERIVED_OPPORTUNITY_COLUMNS if c in frame.columns])


def _opportunity_headers(m: Methodology) -> dict[str, str]:
    out: dict[str, str] = {}
    for lang in LANGUAGES:
        for col in contract.opportunity_columns(m, lang):
            out.setdefault(col.header.strip(), col.key)
            out.setdefault(col.key, col.key)
    return out


def _rep_headers() -> dict[str, str]:
    return {h: c.key for lang in LANGUAGES for c in contract.rep_columns(lang) for h in (c.header.strip(), c.key)}


def _rep_problems(normalized, name: str) -> dict[str, str]:
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


def _clean_opportunities(opportunities: Any, m: Methodology, reps: list[str] | None):
    raw = _table(opportunities, "opportunities", _opportunity_headers(m))
    normalized = normalize_opportunities(raw, m, reps=reps, sheet="opportunities")
    return with_rates(normalized.clean, m), _rep_problems(normalized, "opportunities")


@xw.func(category=CATEGORY)
@xw.arg("rep", ndim=2, doc="A rep's name, or a range of names.")
@xw.arg("opportunities", ndim=2, doc="tblOpportunities[#All]: the 商机 table with its header row.")
@xw.arg("reps", ndim=2, doc="tblReps[#All]: the 销售人员 table with its header row.")
@xw.arg("as_of", doc="Optional: the report date; omitted: today.")
@xw.arg("stages_table", ndim=2, doc="Optional: tblStages[#All]; omitted: the built-in big_project methodology.")
@_excel_safe
def FUNNEL_COVERAGE(rep, opportunities, reps, as_of=None, stages_table=None):
    """Each rep's coverage of the annual quota: (achieved this year + open weighted pipeline) ÷ quota, the figure
    the success roadmap asks to reach 75 %, 125 % and 150 %."""
    m = _methodology(stages_table)
    report = _as_of(as_of)
    rep_table = normalize_reps(_table(reps, "reps", _rep_headers()), sheet="reps")
    opps, problems = _clean_opportunities(opportunities, m, list(rep_table.clean["rep"]))
    problems = {**problems, **_rep_problems(rep_table, "reps")}
    figures = attainment(opps, rep_table.clean, report)

    def coverage(cells, i, name):
        if name not in figures.index or not figures.at[name, "in_reps_table"]:
            return cells.error(NOT_AVAILABLE, i, f"{name!r} is not in the reps table")
        if pd.isna(figures.at[name, "coverage"]):
            return cells.error(DIV0, i, f"{name!r} has no annual quota (blank or 0), so there is no coverage")
        return float(figures.at[name, "coverage"])

    return _per_rep(rep, problems, coverage)


@xw.func(category=CATEGORY)
@xw.arg("rep", ndim=2, doc="A rep's name, or a range of names.")
@xw.arg("opportunities", ndim=2, doc="tblOpportunities[#All]: the 商机 table with its header row.")
@xw.arg("plan_year", doc="The plan year, e.g. 2027 (or any date in it).")
@xw.arg("stages_table", ndim=2, doc="Optional: tblStages[#All]; omitted: the built-in big_project methodology.")
@_excel_safe
def FUNNEL_QUOTA(rep, opportunities, plan_year, stages_table=None):
    """Each rep's quota proposal from the funnel (定额): Σ amount × win rate of the rep's open deals expected to
    close in the plan year. The seed's example: 1,000,000 at 25 % contributes 250,000."""
    m = _methodology(stages_table)
    year = _year(plan_year)
    opps, problems = _clean_opportunities(opportunities, m, None)
    proposal = quota_proposal(opps, plan_start=dt.date(year, 1, 1), plan_end=dt.date(year, 12, 31))

    def quota(cells, i, name):
        if name not in proposal.index:
            return cells.error(NOT_AVAILABLE, i, f"{name!r} owns no opportunity in the table")
        return float(proposal.at[name, "proposal"])

    return _per_rep(rep, problems, quota)


def _per_rep(rep, problems: dict, figure) -> list:
    """One result per rep cell: blank for a blank cell, the rep's row problem if any, else ``figure``'s answer."""
    cells, out = _Cells(rep, "rep"), []
    for i, v in enumerate(cells.values):
        name = parse_text(v)
        out.append(None if name is None else problems[name] if name in problems else figure(cells, i, name))
    return cells.shaped(out)


def _year(value: Any) -> int:
    value = _scalar(value, "plan_year")
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
