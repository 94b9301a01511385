"""Will we make the number? The KPI strip, the period grid and the change since last week, over rated deals.

Pure functions over a rated opportunities frame (``rates.with_rates``: ``win_rate``, ``weighted``,
``claimed_weighted``, ``evidence_weighted``) and the annual quotas, so a report for one team, a subset of its reps
or a whole company (the frames of several teams concatenated) is the same call.

Periods are calendar quarters (as the forecast categories count them) and the fiscal year. In a period:
closed = won deals dated in it up to the report date; commit (承诺) = open deals dated in it, not overdue, at a
win rate of ``COMMIT_RATE`` or more on the basis; best case (最佳情况) = the same at ``BEST_CASE_RATE`` or more
(commit included); pipeline = every open deal dated in it (overdue ones included: they are still expected, and
listed to be re-dated); weighted = Σ amount × win rate of that pipeline; gap = quota − closed.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from funnel_xl.domain.forecast import COMMIT_RATE, as_of_timestamp
from funnel_xl.domain.settings import Year

BEST_CASE_RATE = 0.5  # a deal the customer has endorsed (the sample's 赢得客户认可) may close: the best case

# The strip, in the order a manager reads it: the target, how far we are, what this quarter brings, the year's
# outlook, then what the figures do not yet show (the claim above the evidence, the rows left out).
STRIP_KEYS: tuple[str, ...] = (
    "target", "achieved", "gap_to_target", "commit_this_quarter", "likely_this_quarter", "forecast_rest_of_year",
    "outlook", "claim_difference", "left_out_weighted",
)
RATIO_KEYS = frozenset({"outlook"})
PERIODS: tuple[str, ...] = ("this_quarter", "next_quarter", "year")
TEAM = "__team__"  # the grid's row key for the whole team (no rep is named so: names are trimmed, this is a key)
GRID_COLUMNS: tuple[str, ...] = ("quota", "closed", "commit", "best_case", "pipeline", "weighted", "gap")


def quarter_bounds(as_of: dt.date | pd.Timestamp, ahead: int = 0) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last day of the calendar quarter ``ahead`` quarters after the one as_of falls in."""
    stamp = as_of_timestamp(as_of)
    start = pd.Timestamp(stamp.year, 3 * ((stamp.month - 1) // 3) + 1, 1) + pd.DateOffset(months=3 * ahead)
    return start, start + pd.DateOffset(months=3) - pd.Timedelta(days=1)


def period_bounds(as_of: dt.date | pd.Timestamp, year: Year) -> dict[str, tuple[pd.Timestamp, pd.Timestamp]]:
    return {"this_quarter": quarter_bounds(as_of), "next_quarter": quarter_bounds(as_of, 1),
            "year": (year.start, year.end)}


def _period_parts(opps: pd.DataFrame, as_of: pd.Timestamp,
                  periods: dict[str, tuple[pd.Timestamp, pd.Timestamp]]) -> dict[str, pd.DataFrame]:
    """Per period, per deal, what the deal adds to each grid column (zeros elsewhere). The columns are read once
    for every period and compared as numpy arrays (a blank close date is in no period)."""
    close = pd.to_datetime(opps["close_date"]).to_numpy()
    status = opps["status"]
    amount = opps["amount"].astype("float64").fillna(0.0).to_numpy()
    weighted = opps["weighted"].astype("float64").fillna(0.0).to_numpy()
    rate = opps["win_rate"].astype("float64").fillna(-1.0).to_numpy()  # no rate: neither commit nor best case
    open_rows = status.eq("open").fillna(False).to_numpy(dtype=bool)
    won_rows = status.eq("won").fillna(False).to_numpy(dtype=bool)
    stamp = as_of.to_datetime64()
    out = {}
    for period, (start, end) in periods.items():
        in_period = (close >= start.to_datetime64()) & (close <= end.to_datetime64())
        is_open = open_rows & in_period
        current = is_open & (close >= stamp)
        won = won_rows & in_period & (close <= stamp)
        out[period] = pd.DataFrame({
            "closed": np.where(won, amount, 0.0),
            "commit": np.where(current & (rate >= COMMIT_RATE), amount, 0.0),
            "best_case": np.where(current & (rate >= BEST_CASE_RATE), amount, 0.0),
            "pipeline": np.where(is_open, amount, 0.0),
            "weighted": np.where(is_open, weighted, 0.0),
        }, index=opps.index)
    return out


def period_grid(opps: pd.DataFrame, quotas: pd.Series, as_of: dt.date | pd.Timestamp, year: Year) -> pd.DataFrame:
    """Per rep (``quotas``' order, then reps found only in the deals, then the unassigned under NA) and the team,
    per period: GRID_COLUMNS. A quarter's quota is a quarter of the annual one. Index: (rep, period), the team's
    rows first under ``TEAM``, each rep's three periods together."""
    stamp = as_of_timestamp(as_of)
    reps = list(quotas.index)
    extra = [r for r in pd.unique(opps["rep"]) if not pd.isna(r) and r not in set(reps)]
    order = [*reps, *sorted(extra)] + ([np.nan] if opps["rep"].isna().any() else [])
    parts = _period_parts(opps, stamp, period_bounds(stamp, year))
    # One groupby for the three periods: each column sums on its own, so the sums are those of three.
    summed = pd.concat(parts, axis=1).groupby(opps["rep"], dropna=False).sum().reindex(order, fill_value=0.0)
    frames = []
    for period in parts:
        by_rep = summed[period].copy()
        share = 1.0 if period == "year" else 0.25
        by_rep.insert(0, "quota", quotas.reindex(order).astype("float64") * share)
        team = by_rep.sum(numeric_only=True).to_frame(TEAM).T
        team["quota"] = float(quotas.sum(skipna=True)) * share
        table = pd.concat([team, by_rep])
        table["gap"] = table["quota"] - table["closed"]
        table.index = pd.MultiIndex.from_arrays([table.index, [period] * len(table)], names=["rep", "period"])
        frames.append(table)
    out = pd.concat(frames)
    rep_rank = {r: i for i, r in enumerate([TEAM, *order])}
    keys = [(rep_rank.get(r, len(rep_rank) - 1) if not pd.isna(r) else len(rep_rank), PERIODS.index(p))
            for r, p in out.index]
    return out.iloc[sorted(range(len(out)), key=keys.__getitem__)][list(GRID_COLUMNS)]


def quarters_of_year(opps: pd.DataFrame, quota: float, as_of: dt.date | pd.Timestamp, year: Year) -> pd.DataFrame:
    """Each quarter of the (fiscal) year: achieved (won in it to date), the weighted pipeline dated in it, and a
    quarter of the annual ``quota``. Index: the quarter's first day."""
    stamp = as_of_timestamp(as_of)
    starts = [year.start + pd.DateOffset(months=3 * i) for i in range(4)]
    periods = {start: (start, start + pd.DateOffset(months=3) - pd.Timedelta(days=1)) for start in starts}
    rows = []
    for parts in _period_parts(opps, stamp, periods).values():
        rows.append({"achieved": float(parts["closed"].sum()), "weighted": float(parts["weighted"].sum()),
                     "quota": quota / 4})
    return pd.DataFrame(rows, index=pd.DatetimeIndex(starts, name="quarter"))


def kpi_strip(grid: pd.DataFrame, *, claim_difference: float, left_out_weighted: float) -> dict[str, float | None]:
    """The strip from a period grid (``period_grid``) and the two figures it cannot hold.

    target = the annual quota; achieved = won this year to date; gap_to_target = target − achieved; commit and
    likely this quarter (likely = closed this quarter + its weighted pipeline); forecast_rest_of_year = the
    weighted pipeline dated this year; outlook = (achieved + that forecast) ÷ target (NA without a target)."""
    year = grid.loc[(TEAM, "year")]
    quarter = grid.loc[(TEAM, "this_quarter")]
    target = float(year["quota"])
    achieved = float(year["closed"])
    forecast = float(year["weighted"])
    return {
        "target": target,
        "achieved": achieved,
        "gap_to_target": target - achieved,
        "commit_this_quarter": float(quarter["commit"]),
        "likely_this_quarter": float(quarter["closed"] + quarter["weighted"]),
        "forecast_rest_of_year": forecast,
        "outlook": (achieved + forecast) / target if target > 0 else None,
        "claim_difference": float(claim_difference),
        "left_out_weighted": float(left_out_weighted),
    }


def strip_changes(strip: dict[str, float | None], previous: dict[str, float | None] | None) -> dict[str, float | None]:
    """Each figure minus last week's (None where either is missing: no snapshot yet, or a figure not stored then)."""
    previous = previous or {}
    return {k: (None if strip.get(k) is None or previous.get(k) is None else strip[k] - previous[k])
            for k in STRIP_KEYS}
