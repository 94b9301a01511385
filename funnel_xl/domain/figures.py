"""Every figure of one recalculation, computed from clean tables in one pure call.

The recalculate service reads and normalises the tables, then hands them here; the report writers turn the
result into sheets. Keeping the composition pure lets tests check the whole set without a workbook.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from funnel_xl.domain import forecast, funnel, progress, quota
from funnel_xl.domain.methodology import Methodology
from funnel_xl.domain.priority import customer_priority
from funnel_xl.domain.rates import with_rates
from funnel_xl.domain.roadmap import Roadmap, roadmap_status
from funnel_xl.domain.schema import Problem
from funnel_xl.domain.stages import derive_stages

# A deal sitting longer than this in one stage is listed as stalled (days). One limit for every stage keeps
# the rule easy to explain; a team that wants per-stage limits passes them in.
DEFAULT_STALL_DAYS = 90


@dataclass(frozen=True)
class Progress:
    """This week against the last stored snapshot; ``last_date`` is None when there is none yet."""

    this_date: dt.date
    last_date: dt.date | None
    totals: dict[str, float] = field(default_factory=dict)
    by_rep: pd.DataFrame | None = None
    moves: pd.DataFrame | None = None
    summary: pd.DataFrame | None = None


@dataclass(frozen=True)
class Figures:
    as_of: dt.date
    methodology: Methodology
    opps: pd.DataFrame               # clean rows with win_rate, weighted, derived stage, category, bucket, priority
    kpi: dict[str, float]
    by_category: pd.DataFrame
    by_bucket: pd.DataFrame
    by_quarter: pd.DataFrame
    by_rep: pd.DataFrame
    by_product: pd.DataFrame
    by_region: pd.DataFrame
    funnel: pd.DataFrame
    ideal_vs_actual: pd.DataFrame
    required: pd.DataFrame
    required_target: float           # the target the reverse calculation is for (team quota − achieved)
    avg_deal_size: float             # the deal size it assumes (average won amount, else average open)
    stage_gaps: pd.DataFrame
    stalled: pd.DataFrame
    quota: pd.DataFrame              # attainment by rep joined with the funnel-based proposal
    roadmap: pd.DataFrame
    progress: Progress
    never_seen: pd.DataFrame
    snapshot: pd.DataFrame           # this run's snapshot, to be stored
    weekly: pd.DataFrame             # per-rep totals of this snapshot, to be stored


def check_against_report_date(opps: pd.DataFrame, as_of: dt.date, *, sheet: str,
                              labels: dict[str, str] | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """Rows that contradict the report date: a deal marked won with a close date after it cannot be counted."""
    labels = labels or {}
    bad = opps["status"].eq("won") & opps["close_date"].gt(pd.Timestamp(as_of))
    problems = [
        Problem(sheet, int(idx), labels.get("close_date", "close_date"), opps.at[idx, "close_date"],
                f"a won deal must have closed by the report date {as_of.isoformat()}; "
                "expected the actual signing date, or status open if it is not signed yet",
                code="won_after_report_date", params=(("as_of", as_of),))
        for idx in opps.index[bad.to_numpy()]
    ]
    return opps.loc[~bad], problems


def weekly_totals(snapshot: pd.DataFrame, snapshot_date: dt.date) -> pd.DataFrame:
    """Per-rep totals of one snapshot (forecast, achieved this year, open count): the weekly history row."""
    stamp = pd.Timestamp(snapshot_date)
    is_open = snapshot["status"].eq("open")
    won_this_year = (snapshot["status"].eq("won") & snapshot["close_date"].le(stamp)
                     & snapshot["close_date"].ge(pd.Timestamp(stamp.year, 1, 1)))
    frame = pd.DataFrame({
        "rep": snapshot["rep"],
        "forecast": (snapshot["amount"] * snapshot["win_rate"]).where(is_open, 0.0),
        "achieved": snapshot["amount"].where(won_this_year, 0.0),
        "open_count": is_open.astype("int64"),
    })
    out = frame.groupby("rep", dropna=False, sort=True).sum().reset_index()
    out.insert(0, "snapshot_date", stamp)
    return out


def compute_figures(
    opps: pd.DataFrame,
    reps: pd.DataFrame,
    methodology: Methodology,
    as_of: dt.date,
    roadmap: Roadmap,
    *,
    last_snapshot: pd.DataFrame | None = None,
    last_date: dt.date | None = None,
    first_seen: pd.DataFrame | None = None,
    stall_days: int = DEFAULT_STALL_DAYS,
) -> Figures:
    """All figures for a report date from clean opportunities and reps (see ``normalize``)."""
    opps = with_rates(opps, methodology)
    opps = opps.join(derive_stages(opps, methodology))
    # Wins of earlier years are history: they count in the funnel's conversions, not in this year's
    # "closed" category or bucket, which must agree with the year-to-date achieved figure.
    year_start = pd.Timestamp(as_of.year, 1, 1)
    this_year = ~(opps["status"].eq("won") & opps["close_date"].lt(year_start))
    opps["category"] = forecast.forecast_category(opps, as_of).where(this_year)
    opps["bucket"] = forecast.time_bucket(opps, as_of).where(this_year)
    opps["priority"] = customer_priority(opps, as_of=as_of)

    is_open, won, lost = (opps["status"].eq(s) for s in ("open", "won", "lost"))
    reps_quota = quota.annual_quotas(reps) if len(reps) else pd.Series(dtype="float64")
    kpi = {
        "weighted_forecast": forecast.weighted_forecast(opps),
        "achieved": forecast.achieved(opps, as_of),
        "open_pipeline": forecast.open_pipeline(opps),
        "open_count": int(is_open.sum()),
        "won_count": int(won.sum()),
        "lost_count": int(lost.sum()),
        "team_quota": float(reps_quota.sum(skipna=True)) if len(reps_quota) else 0.0,
        "sales_cycle_days": funnel.sales_cycle_days(opps),
    }

    attain = quota.attainment(opps, reps, as_of)
    plan_start = pd.Timestamp(as_of)
    plan_end = plan_start + pd.DateOffset(months=12) - pd.Timedelta(days=1)
    proposal = quota.quota_proposal(opps, plan_start=plan_start, plan_end=plan_end)
    quota_table = attain.join(proposal[["proposal"]], how="left")

    won_amounts = opps.loc[won, "amount"]
    avg_deal = float(won_amounts.mean()) if len(won_amounts) else float(opps.loc[is_open, "amount"].mean() or 0)
    target = max(kpi["team_quota"] - kpi["achieved"], 0.0)
    required = (
        funnel.required_pipeline(target, methodology, avg_deal_size=avg_deal)
        if avg_deal > 0 else pd.DataFrame()
    )

    gaps = opps.loc[is_open & opps["stage_gap"].gt(0).fillna(False)]
    snapshot = progress.take_snapshot(opps, as_of)
    this_totals = progress.snapshot_totals(snapshot, as_of)
    prog = Progress(this_date=as_of, last_date=None, totals={"this_forecast": this_totals["forecast"],
                                                            "this_achieved": this_totals["achieved"]})
    if last_snapshot is not None and last_date is not None and len(last_snapshot):
        total = progress.sales_progress(snapshot, last_snapshot, this_date=as_of, last_date=last_date)
        by_rep = progress.sales_progress(snapshot, last_snapshot, this_date=as_of, last_date=last_date, by="rep")
        moves = progress.movement(last_snapshot, snapshot, methodology)
        last_totals = progress.snapshot_totals(last_snapshot, last_date, period_start=pd.Timestamp(last_date.year, 1, 1))
        prog = Progress(
            this_date=as_of, last_date=last_date,
            totals={"this_forecast": float(by_rep["this_forecast"].sum()),
                    "this_achieved": float(by_rep["this_achieved"].sum()),
                    "last_forecast": last_totals["forecast"], "last_achieved": last_totals["achieved"],
                    "progress": float(total)},
            by_rep=by_rep, moves=moves, summary=progress.movement_summary(moves),
        )
    history = first_seen if first_seen is not None else pd.DataFrame({"snapshot_date": pd.Series(dtype="datetime64[ns]"),
                                                                        "id": pd.Series(dtype=object)})
    weekly = weekly_totals(snapshot, as_of)
    return Figures(
        as_of=as_of, methodology=methodology, opps=opps, kpi=kpi,
        by_category=forecast.forecast_by_category(opps.loc[this_year], as_of),
        by_bucket=forecast.forecast_by_bucket(opps.loc[this_year], as_of),
        by_quarter=forecast.forecast_by(opps, "close_quarter", as_of),
        by_rep=forecast.forecast_by(opps, "rep", as_of),
        by_product=forecast.forecast_by(opps, "product", as_of),
        by_region=forecast.forecast_by(opps, "region", as_of),
        funnel=funnel.funnel_by_stage(opps, methodology, as_of),
        ideal_vs_actual=funnel.ideal_vs_actual(opps, methodology),
        required=required,
        required_target=target,
        avg_deal_size=avg_deal,
        stage_gaps=gaps,
        stalled=progress.stalled(opps, methodology, as_of, max_days=stall_days),
        quota=quota_table,
        roadmap=roadmap_status(opps, reps, methodology, as_of, roadmap),
        progress=prog,
        never_seen=progress.never_seen_wins(history, opps, as_of),
        snapshot=snapshot,
        weekly=weekly,
    )
