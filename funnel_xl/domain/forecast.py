"""The forecast figures (销售预计): weighted forecast, achieved, and their splits by group, category and time.

Every function is pure over a clean opportunities frame (the columns of ``schema.py``) that has been
passed through ``rates.with_rates`` (columns ``win_rate`` and ``weighted``). Date-dependent figures
take the report date ``as_of`` explicitly (截止上报时间); there is no hidden "today".
Results carry English keys (category and bucket keys of ``schema.py``); writers turn them into labels.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from funnel_xl.domain.schema import BUCKETS, CATEGORIES, FORECAST_CATEGORIES
from funnel_xl.errors import InputError

GROUPINGS: tuple[str, ...] = ("rep", "product", "region", "close_quarter")
COMMIT_RATE = 0.75  # an open deal closing this quarter at this win rate or above is "committed" (保证实现)

# How many months ahead each time bucket starts; a close date on a boundary belongs to the later bucket.
_BUCKET_STARTS: tuple[tuple[str, int], ...] = (("m0_3", 0), ("m3_6", 3), ("m6_9", 6), ("m9_12", 9), ("later", 12))


# ---------------------------------------------------------------------------------------------- checks

def as_of_timestamp(as_of: object, name: str = "as_of") -> pd.Timestamp:
    """The report date as a midnight Timestamp; refuses a missing or unreadable date rather than assume today."""
    if as_of is None or (not isinstance(as_of, (dt.date, pd.Timestamp))):
        raise InputError(f"{name} must be a date (datetime.date or pandas Timestamp), got {as_of!r}")
    stamp = pd.Timestamp(as_of)
    if pd.isna(stamp):
        raise InputError(f"{name} must be a date, got {as_of!r}")
    return stamp.normalize()


def _require_columns(opps: pd.DataFrame, columns: tuple[str, ...], figure: str) -> None:
    missing = [c for c in columns if c not in opps.columns]
    if missing:
        hint = " (pass the frame through rates.with_rates first)" if {"win_rate", "weighted"} & set(missing) else ""
        raise InputError(f"{figure}: the opportunities table lacks column(s) {', '.join(missing)}{hint}")


def _ids(opps: pd.DataFrame, mask: pd.Series, limit: int = 10) -> str:
    """The ids of the rows under ``mask``, for an error message (falls back to the row index)."""
    rows = opps.loc[mask]
    ids = rows["id"].astype(str).tolist() if "id" in rows.columns else [str(i) for i in rows.index]
    more = f" and {len(ids) - limit} more" if len(ids) > limit else ""
    return ", ".join(ids[:limit]) + more


def _dates(opps: pd.DataFrame, column: str) -> pd.Series:
    """A date column at day precision (time of day carries no meaning for a close date)."""
    return pd.to_datetime(opps[column]).dt.normalize()


def _is(opps: pd.DataFrame, status: str) -> pd.Series:
    return opps["status"].eq(status).fillna(False).astype(bool)


def _require_weighted(opps: pd.DataFrame, figure: str) -> None:
    """Open rows must have a weighted amount: a missing one means an unknown stage or amount, never zero."""
    _require_columns(opps, ("status", "amount", "weighted"), figure)
    bad = _is(opps, "open") & opps["weighted"].isna()
    if bad.any():
        raise InputError(
            f"{figure}: open opportunities {_ids(opps, bad)} have no weighted amount "
            "(the stage is not in the methodology or the amount is blank); expected a known stage and an amount"
        )


def _require_close_dates(opps: pd.DataFrame, figure: str, as_of: pd.Timestamp) -> pd.Series:
    """Close dates (NaT where an open deal has none yet), refusing won rows without one and wins dated after the
    report date: a won deal's close date is its signing date."""
    _require_columns(opps, ("status", "close_date"), figure)
    close = _dates(opps, "close_date")
    blank = _is(opps, "won") & close.isna()
    if blank.any():
        raise InputError(f"{figure}: won opportunities {_ids(opps, blank)} have no close date; expected the "
                         "signing date")
    late_win = _is(opps, "won") & (close > as_of)
    if late_win.any():
        raise InputError(
            f"{figure}: opportunities {_ids(opps, late_win)} are won with a close date after the report date "
            f"{as_of.date()}; a won deal's close date is its signing date, so correct the date or the report date"
        )
    return close


# ------------------------------------------------------------------------------------------- totals

def weighted_forecast(opps: pd.DataFrame, column: str = "weighted") -> float:
    """Σ amount × win rate over open opportunities (销售预计): the ``weighted`` column of the open rows (on the
    forecast basis); ``column="claimed_weighted"`` gives the same at the claimed stages."""
    _require_weighted(opps, "weighted forecast")
    return float(opps.loc[_is(opps, "open"), column].sum())


def open_pipeline(opps: pd.DataFrame) -> float:
    """Σ amount over open opportunities, unweighted (the pipeline the forecast is drawn from)."""
    _require_columns(opps, ("status", "amount"), "open pipeline")
    open_rows = _is(opps, "open")
    blank = open_rows & opps["amount"].isna()
    if blank.any():
        raise InputError(f"open pipeline: open opportunities {_ids(opps, blank)} have no amount; expected a number")
    return float(opps.loc[open_rows, "amount"].sum())


def period_bounds(as_of: object, period_start: object = None) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The achieved window [period_start, as_of]; period_start defaults to 1 January of as_of's year.

    Quotas are annual (the seed's 年度定额), so "achieved" means year to date unless told otherwise.
    """
    end = as_of_timestamp(as_of)
    start = pd.Timestamp(year=end.year, month=1, day=1) if period_start is None else as_of_timestamp(
        period_start, "period_start")
    if start > end:
        raise InputError(
            f"period_start {start.date()} is after the report date as_of {end.date()}; expected start ≤ as_of")
    return start, end


def _won_in_window(opps: pd.DataFrame, as_of: object, period_start: object, figure: str) -> pd.Series:
    start, end = period_bounds(as_of, period_start)
    _require_columns(opps, ("status", "amount", "close_date"), figure)
    won = _is(opps, "won")
    close = _dates(opps, "close_date")
    blank = won & (close.isna() | opps["amount"].isna())
    if blank.any():
        raise InputError(f"{figure}: won opportunities {_ids(opps, blank)} lack a close date or an amount")
    return won & close.between(start, end)


def achieved(opps: pd.DataFrame, as_of: object, period_start: object = None) -> float:
    """Σ amount of won deals closed in [period_start, as_of], both ends included (已完成 / 已落单).

    ``period_start`` defaults to 1 January of ``as_of``'s year, because quotas are annual.
    """
    in_window = _won_in_window(opps, as_of, period_start, "achieved")
    return float(opps.loc[in_window, "amount"].sum())


# ----------------------------------------------------------------------------------------- by group

def close_quarter(dates: pd.Series) -> pd.Series:
    """The calendar quarter of each date as text like "2026Q4" (sorts chronologically); NA where the date is blank."""
    stamps = pd.to_datetime(dates)
    text = stamps.dt.year.astype("Int64").astype("string") + "Q" + stamps.dt.quarter.astype("Int64").astype("string")
    return text.rename(dates.name)


def forecast_by(opps: pd.DataFrame, by: str, as_of: object, period_start: object = None) -> pd.DataFrame:
    """Forecast and achieved per rep, product, region or close quarter.

    Columns: open_count, pipeline, weighted (open rows), won_count, achieved (won in the achieved
    window, see ``achieved``). A group appears when it has an open row or a win in the window; a blank
    group value (e.g. no region) is its own group, shown last, so no row goes missing. Quarters sort
    chronologically, other groups by weighted then achieved, largest first. No total row: the column sums
    equal ``weighted_forecast``, ``open_pipeline`` and ``achieved`` (same rows, same amounts).
    """
    return forecast_by_each(opps, (by,), as_of, period_start)[by]


def forecast_by_each(opps: pd.DataFrame, groupings: tuple[str, ...], as_of: object,
                     period_start: object = None) -> dict[str, pd.DataFrame]:
    """``forecast_by`` for each of ``groupings``, the rows checked and their amounts split once for all of them."""
    for by in groupings:
        if by not in GROUPINGS:
            raise InputError(f"forecast_by: cannot group by {by!r}; expected one of {', '.join(GROUPINGS)}")
    figure = f"forecast by {', '.join(groupings)}"
    _require_weighted(opps, figure)
    won_in = _won_in_window(opps, as_of, period_start, figure)
    _require_columns(opps, tuple(by for by in groupings if by != "close_quarter"), figure)
    is_open = _is(opps, "open")
    parts = pd.DataFrame(
        {
            "open_count": is_open.astype("int64"),
            "pipeline": opps["amount"].astype("float64").where(is_open, 0.0),
            "weighted": opps["weighted"].astype("float64").where(is_open, 0.0),
            "won_count": won_in.astype("int64"),
            "achieved": opps["amount"].astype("float64").where(won_in, 0.0),
        },
        index=opps.index,
    )
    counted = (is_open | won_in).to_numpy()
    parts = parts[counted]
    return {by: _grouped(parts, (close_quarter(opps["close_date"]) if by == "close_quarter" else opps[by])[counted],
                         by)
            for by in groupings}


def _grouped(parts: pd.DataFrame, key: pd.Series, by: str) -> pd.DataFrame:
    """The counted rows' parts summed per group of ``key``, in ``forecast_by``'s order."""
    table = parts.groupby(key.rename(by), dropna=False, sort=False).sum()
    blank_last = table.index.isna()
    if by == "close_quarter":
        ordered = table[~blank_last].sort_index()
    else:
        named = table[~blank_last]
        ordered = named.assign(_name=named.index.astype(str)).sort_values(
            ["weighted", "achieved", "_name"], ascending=[False, False, True], kind="stable").drop(columns="_name")
    out = pd.concat([ordered, table[blank_last]])
    out.index.name = by
    return out


# -------------------------------------------------------------------------------- forecast category

def _quarter_start(stamp: pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(year=stamp.year, month=3 * ((stamp.month - 1) // 3) + 1, day=1)


def forecast_category(opps: pd.DataFrame, as_of: object) -> pd.Series:
    """The forecast category (按销售预测) of each row, index aligned, keys from ``schema.FORECAST_CATEGORIES``.

    Status and dates beat opinion: a won row (close date ≤ as_of) is "closed" and a lost row is NA (not in the
    forecast), whatever category was typed; an open row past its close date is "overdue" (已逾期) and one without
    a close date "no_close_date", until the date is updated. For any other open row the user's category is kept
    where set; otherwise it is derived from as_of's calendar quarter: closing this quarter with win rate ≥ 0.75 →
    "commit"; closing this quarter at a lower rate → "likely_this_quarter"; closing next quarter →
    "likely_next_quarter"; later → "intent".
    Refused (InputError): an open row typed "closed" (closed means won), an unknown category, a won row without
    a close date, a win dated after as_of.
    """
    stamp = as_of_timestamp(as_of)
    _require_columns(opps, ("status", "win_rate"), "forecast category")
    close = _require_close_dates(opps, "forecast category", stamp)
    is_open, is_won = _is(opps, "open"), _is(opps, "won")

    this_q = _quarter_start(stamp)
    next_q = this_q + pd.DateOffset(months=3)
    after_next = this_q + pd.DateOffset(months=6)
    in_this = close.ge(this_q) & close.lt(next_q)
    in_next = close.ge(next_q) & close.lt(after_next)
    high = opps["win_rate"].astype("float64").ge(COMMIT_RATE).fillna(False).astype(bool)

    out = pd.Series(pd.NA, index=opps.index, dtype="string", name="category")
    out[is_open] = "intent"
    out[is_open & in_next] = "likely_next_quarter"
    out[is_open & in_this] = "likely_this_quarter"
    out[is_open & in_this & high] = "commit"

    if "category" in opps.columns:
        typed = opps["category"].astype("string").str.strip()
        # The categories the dates decide are decided again here (a frame may carry an earlier result).
        typed = typed.mask(typed.eq("") | typed.isin(FORECAST_CATEGORIES[len(CATEGORIES):]))
        given = is_open & typed.notna()
        unknown = given & ~typed.isin(CATEGORIES).fillna(False).astype(bool)
        if unknown.any():
            raise InputError(
                f"forecast category: opportunities {_ids(opps, unknown)} have an unknown category; "
                f"expected one of {', '.join(CATEGORIES)}")
        typed_closed = given & typed.eq("closed").fillna(False).astype(bool)
        if typed_closed.any():
            raise InputError(
                f"forecast category: open opportunities {_ids(opps, typed_closed)} are typed 'closed'; "
                "closed means won: set the status to won or choose another category")
        out[given] = typed[given]
    out[is_open & close.lt(stamp)] = "overdue"
    out[is_open & close.isna()] = "no_close_date"
    out[is_won] = "closed"
    return out


def forecast_by_category(opps: pd.DataFrame, as_of: object, categories: pd.Series | None = None) -> pd.DataFrame:
    """Count, amount and weighted amount per forecast category, all of them in order (zeros when empty).

    For "closed" the weighted amount is the amount (a won deal counts in full); for the open categories it
    is the ``weighted`` column, so their weighted sum equals ``weighted_forecast``. ``categories``, when given,
    is ``forecast_category(opps, as_of)`` already worked out by the caller.
    """
    _require_weighted(opps, "forecast by category")
    return _summarise(opps, forecast_category(opps, as_of) if categories is None else categories,
                      FORECAST_CATEGORIES)


def _summarise(opps: pd.DataFrame, key: pd.Series, order: tuple[str, ...], column: str = "weighted") -> pd.DataFrame:
    """Count, amount, weighted per key value, in ``order``; won rows weigh their full amount."""
    counted = key.notna()
    weighted = opps[column].astype("float64").where(~_is(opps, "won"), opps["amount"].astype("float64"))
    parts = pd.DataFrame(
        {"count": 1, "amount": opps["amount"].astype("float64"), "weighted": weighted}, index=opps.index)
    table = parts[counted].groupby(key[counted].astype(str)).sum()
    out = table.reindex(list(order), fill_value=0)
    out["count"] = out["count"].astype("int64")
    out.index.name = key.name
    return out


# ------------------------------------------------------------------------------------- time buckets

def time_bucket(opps: pd.DataFrame, as_of: object) -> pd.Series:
    """The time bucket (按时间) of each row, index aligned, keys from ``schema.BUCKETS``.

    Won (close date ≤ as_of) → "closed"; lost → NA. An open row goes by its close date against as_of in
    calendar months (as_of + n months via pd.DateOffset, so 30 November + 3 months is 28 February):
    before as_of → "overdue"; [as_of, +3) → "m0_3"; [+3, +6) → "m3_6"; [+6, +9) → "m6_9";
    [+9, +12) → "m9_12"; +12 or later → "later"; no close date → "no_close_date". A date on a boundary belongs
    to the later bucket (exactly 3 months out is "m3_6"); closing on as_of itself is "m0_3".
    """
    stamp = as_of_timestamp(as_of)
    close = _require_close_dates(opps, "time bucket", stamp)
    is_open = _is(opps, "open")
    out = pd.Series(pd.NA, index=opps.index, dtype="string", name="bucket")
    out[is_open & close.lt(stamp)] = "overdue"
    for bucket, months in _BUCKET_STARTS:
        out[is_open & close.ge(stamp + pd.DateOffset(months=months))] = bucket
    out[is_open & close.isna()] = "no_close_date"
    out[_is(opps, "won")] = "closed"
    return out


def forecast_by_bucket(opps: pd.DataFrame, as_of: object, buckets: pd.Series | None = None) -> pd.DataFrame:
    """Count, amount and weighted amount per time bucket, all of ``BUCKETS`` in order (zeros when empty).

    For "closed" the weighted amount is the amount; the open buckets' weighted sum equals ``weighted_forecast``.
    ``buckets``, when given, is ``time_bucket(opps, as_of)`` already worked out by the caller.
    """
    _require_weighted(opps, "forecast by time")
    return _summarise(opps, time_bucket(opps, as_of) if buckets is None else buckets, BUCKETS)


# ------------------------------------------------------------------------------------ dates to update

DATE_ISSUES: tuple[str, ...] = ("overdue", "no_close_date")


def dates_to_update(opps: pd.DataFrame, as_of: object) -> pd.DataFrame:
    """Open deals whose close date needs its rep: past it (已逾期) or never given (预计成交日期未填).

    Columns: id, customer, rep, close_date, amount, weighted, issue (one of DATE_ISSUES); sorted by rep, then
    the weighted amount, largest first, so each rep finds their own list together.
    """
    stamp = as_of_timestamp(as_of)
    _require_weighted(opps, "dates to update")
    close = _dates(opps, "close_date")
    is_open = _is(opps, "open")
    issue = pd.Series(pd.NA, index=opps.index, dtype="string")
    issue[is_open & close.lt(stamp)] = "overdue"
    issue[is_open & close.isna()] = "no_close_date"
    hit = issue.notna()
    out = pd.DataFrame({
        "id": opps["id"], "customer": opps.get("customer"), "rep": opps["rep"], "close_date": close,
        "amount": opps["amount"].astype("float64"), "weighted": opps["weighted"].astype("float64"), "issue": issue,
    })[hit.to_numpy()]
    return out.sort_values(["rep", "weighted"], ascending=[True, False], kind="stable",
                           na_position="last").reset_index(drop=True)
