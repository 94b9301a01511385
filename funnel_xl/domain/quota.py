"""Quota figures per rep: the quota proposal read off the funnel, and attainment and coverage of a quota.

The seed's rule (定额): a prospect that means to buy 1,000,000 next year and sits in the funnel's upper
part (25 %) contributes 100 × 25 % = 25 (万) to the rep's annual quota; the rep's quota is the sum over
their prospects.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from funnel_xl.domain.forecast import as_of_timestamp, forecast_by
from funnel_xl.domain.settings import current_year
from funnel_xl.errors import InputError

PROPOSAL_COLUMNS: tuple[str, ...] = ("prospects", "pipeline", "proposal")
ATTAINMENT_COLUMNS: tuple[str, ...] = (
    "quota", "achieved", "attainment", "weighted", "weighted_this_year", "weighted_later", "coverage",
    "in_reps_table",
)


def quota_proposal(
    opps: pd.DataFrame, *, plan_start: dt.date | pd.Timestamp, plan_end: dt.date | pd.Timestamp,
) -> pd.DataFrame:
    """Per rep, the quota the funnel supports for a plan period: Σ amount × win rate of open deals closing in it.

    Only open opportunities whose close_date lies in [plan_start, plan_end] count (a deal expected after the
    plan year belongs to next year's quota; won revenue is already achieved; a deal without a close date has
    no plan year yet). Every rep with any row in ``opps`` gets a row, with zeros when nothing of theirs falls in
    the period, so no rep vanishes from the sheet. Columns: prospects (count), pipeline (Σ amount), proposal
    (Σ amount × win rate); index = rep. The plan year is ``settings.plan_year``.
    """
    start, end = as_of_timestamp(plan_start, "plan_start"), as_of_timestamp(plan_end, "plan_end")
    if start > end:
        raise InputError(
            f"quota proposal: plan_start {start.date()} is after plan_end {end.date()}; "
            "expected a period whose start comes first"
        )
    is_open = opps["status"].eq("open").fillna(False).astype(bool)
    chosen = opps.loc[is_open & opps["close_date"].between(start, end)]
    _refuse_missing_rates(chosen, "quota proposal")
    by_rep = chosen.assign(proposal=chosen["amount"].astype("float64") * chosen["win_rate"]).groupby("rep", sort=True)
    grouped = by_rep[["amount", "proposal"]].sum().rename(columns={"amount": "pipeline"})
    grouped.insert(0, "prospects", by_rep.size())
    reps = pd.Index(sorted(opps["rep"].dropna().unique()), name="rep")
    out = grouped.reindex(reps, fill_value=0)
    out["prospects"] = out["prospects"].astype("int64")
    out[["pipeline", "proposal"]] = out[["pipeline", "proposal"]].astype("float64")
    return out[list(PROPOSAL_COLUMNS)]


def attainment(opps: pd.DataFrame, reps: pd.DataFrame, as_of: dt.date | pd.Timestamp,
               fiscal_year_start: int = 1, *, by_rep: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per rep: quota, achieved (won this year to as_of), attainment, open weighted forecast and coverage.

    "This year" is the fiscal year as_of falls in (the calendar year unless ``fiscal_year_start`` names another
    month). attainment = achieved / quota. coverage = (achieved + this year's weighted pipeline) / quota: the
    seed's roadmap asks for a customer base "able to deliver 75 % of the quota" (客户群能够实现75%的定额) of the
    year's quota, so it counts what is won plus the open deals expected to close by the year's end (overdue ones
    included: they are still expected, and listed to be re-dated). Deals expected later are next year's
    pipeline, shown apart (``weighted_later``); deals without a close date count in neither year. ``weighted`` is
    every open deal's weighted amount, as the forecast by rep shows it. Where the quota is missing or 0 both
    ratios are NA, never inf. Every rep of the reps table has a row (zeros when they have no opportunity); reps
    found only in the opportunities are added with ``in_reps_table`` False and an NA quota, so their figures
    still show and the gap is visible; deals without a rep (未分配) come last, under an NA name. Index = rep,
    reps-table order first. ``by_rep``, when given, is ``forecast_by(opps, "rep", ...)`` over the same year, already
    worked out by the caller.
    """
    year = current_year(as_of, fiscal_year_start)
    if by_rep is None:
        by_rep = forecast_by(opps, "rep", as_of, period_start=year.start)
    known = _rep_index(reps)
    strangers = [r for r in by_rep.index if not pd.isna(r) and r not in set(known)]
    unassigned = [r for r in by_rep.index if pd.isna(r)]
    index = known.append(pd.Index([*sorted(strangers), *unassigned[:1]], name="rep"))
    figures = by_rep.reindex(index)
    is_open = opps["status"].eq("open").fillna(False).astype(bool)
    close = pd.to_datetime(opps["close_date"])
    weighted = opps["weighted"].astype("float64")
    later = weighted.where(is_open & close.gt(year.end), 0.0).groupby(opps["rep"], dropna=False).sum()
    this_year = weighted.where(is_open & close.le(year.end), 0.0).groupby(opps["rep"], dropna=False).sum()
    quota = pd.Series(annual_quotas(reps).to_numpy(), index=known).reindex(index)
    out = pd.DataFrame(index=index)
    out["quota"] = quota
    out["achieved"] = figures["achieved"].fillna(0.0).astype("float64")
    out["weighted"] = figures["weighted"].fillna(0.0).astype("float64")
    out["weighted_this_year"] = this_year.reindex(index).fillna(0.0).astype("float64")
    out["weighted_later"] = later.reindex(index).fillna(0.0).astype("float64")
    usable = out["quota"].gt(0)
    out["attainment"] = (out["achieved"] / out["quota"]).where(usable, np.nan)
    out["coverage"] = ((out["achieved"] + out["weighted_this_year"]) / out["quota"]).where(usable, np.nan)
    out["in_reps_table"] = index.isin(known)
    return out[list(ATTAINMENT_COLUMNS)]


def annual_quotas(reps: pd.DataFrame) -> pd.Series:
    """The reps' annual quotas as floats (NA where blank), refusing text or a negative quota by rep name."""
    values = pd.to_numeric(reps["annual_quota"], errors="coerce").astype("float64")
    unreadable = values.isna() & reps["annual_quota"].notna()
    negative = values.lt(0)
    for bad, expected in ((unreadable, "a number"), (negative, "a quota of 0 or more")):
        if bad.any():
            listed = "; ".join(
                f"rep {r!r}: {q!r}" for r, q in reps.loc[bad, ["rep", "annual_quota"]].itertuples(index=False))
            raise InputError(f"reps table, column annual_quota: {listed}; expected {expected}")
    return values


def _rep_index(reps: pd.DataFrame) -> pd.Index:
    """The reps table's names as an index, refusing a name listed twice (whose quota would be ambiguous)."""
    names = pd.Index(reps["rep"], name="rep")
    twice = names[names.duplicated()].unique().tolist()
    if twice:
        raise InputError(f"reps table, column rep: {', '.join(map(repr, twice))} listed more than once; "
                         "expected one row per rep")
    return names


def _refuse_missing_rates(opps: pd.DataFrame, what: str) -> None:
    """A row without a win rate or amount would silently add 0; name it instead."""
    missing = opps["win_rate"].isna() | opps["amount"].isna()
    if missing.any():
        rows = opps.loc[missing, ["id", "stage", "amount"]].head(5)
        listed = "; ".join(f"id {i!r} stage {s!r} amount {a!r}" for i, s, a in rows.itertuples(index=False))
        raise InputError(
            f"{what}: {int(missing.sum())} open opportunities have no win rate or no amount ({listed}); "
            "expected a stage of the methodology and an amount"
        )
