"""Every figure of one recalculation, computed from clean tables in one pure call.

The recalculate service reads and normalises the tables, then hands them here; the report writers turn the
result into sheets. Keeping the composition pure lets tests check the whole set without a workbook.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from funnel_xl.domain import claims, forecast, funnel, outlook, progress, quota
from funnel_xl.domain.attention import attention_lists
from funnel_xl.domain.calibration import observed_win_rates
from funnel_xl.domain.methodology import Methodology
from funnel_xl.domain.priority import customer_priority
from funnel_xl.domain.rates import with_rates
from funnel_xl.domain.report_date import as_of_view
from funnel_xl.domain.roadmap import Roadmap, roadmap_status
from funnel_xl.domain.schema import FORECAST_CATEGORIES, checklist_columns
from funnel_xl.domain.settings import DEFAULT_STALL_DAYS, ForecastSettings, Year, current_year, plan_year

# Figures of a team's own sheets that the company roll-up does not add up: it recomputes the funnel, its ideal
# against actual and the reverse calculation from every team's deals together, and leaves calibration to each
# team. ``compute_figures(skip=TEAM_ONLY)`` leaves them empty (the roll-up pays for each part fifty times).
TEAM_ONLY = frozenset({"funnel", "ideal_vs_actual", "required", "calibration"})


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
    """Every figure of one recalculation. Weighted figures are on ``settings.basis``; the claim fields set the
    forecast at the claimed stages beside the one at the evidence (assessed) stages."""

    as_of: dt.date
    methodology: Methodology
    opps: pd.DataFrame               # counted rows rated by with_rates (stage on the basis), category, bucket, priority
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
    quota: pd.DataFrame              # attainment by rep joined with the funnel-based proposal for the plan year
    roadmap: pd.DataFrame
    progress: Progress
    never_seen: pd.DataFrame
    snapshot: pd.DataFrame           # this run's snapshot, to be stored
    weekly: pd.DataFrame             # per-rep totals of this snapshot, to be stored
    settings: ForecastSettings = ForecastSettings()
    year: Year | None = None         # the fiscal year as_of falls in: achieved, coverage
    plan_year: Year | None = None    # the year the quota proposal is for
    claims_by_rep: pd.DataFrame | None = None       # claims.claims_by: weighted, claimed, evidence, difference
    claims_by_category: pd.DataFrame | None = None
    claim_deals: pd.DataFrame | None = None         # claims.claim_deals: the deals that carry the difference
    dates_to_update: pd.DataFrame | None = None     # forecast.dates_to_update: overdue and undated open deals
    left_out: pd.DataFrame | None = None            # left_out.left_out: rows not counted, with what they carried
    closed_after: pd.DataFrame | None = None        # report_date.as_of_view: closed after as_of, not placed
    calibration: pd.DataFrame | None = None         # calibration.observed_win_rates on the cohort rule
    grid: pd.DataFrame | None = None                # outlook.period_grid: per rep and team, this/next quarter, year
    strip: dict | None = None                       # outlook.kpi_strip: will we make the number?
    strip_change: dict | None = None                # outlook.strip_changes: each strip figure since last week
    attention: dict | None = None                   # attention.attention_lists: the deals to ask about
    stall_days: int = DEFAULT_STALL_DAYS            # the limit the stalled list uses (days in one stage)


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
    settings: ForecastSettings = ForecastSettings(),
    last_snapshot: pd.DataFrame | None = None,
    last_date: dt.date | None = None,
    first_seen: pd.DataFrame | None = None,
    known: pd.DataFrame | None = None,
    left_out: pd.DataFrame | None = None,
    stall_days: int | None = None,
    min_count: int = 30,
    last_strip: dict | None = None,
    skip: frozenset[str] = frozenset(),
) -> Figures:
    """All figures for a report date from clean opportunities and reps (see ``normalize``).

    ``known`` is the latest snapshot on or before as_of, which places deals closed after it (``report_date``);
    ``left_out`` lists the rows the normaliser rejected (``left_out.left_out``), whose total is shown beside the
    forecast; ``min_count`` is the calibration's least number of deals behind a suggested rate; ``last_strip`` is
    the KPI strip stored with last week's snapshot, which the strip's changes are measured against. ``skip``
    names parts of ``TEAM_ONLY`` to leave empty (the funnel tables and the reverse calculation as empty frames,
    the calibration None); every other figure is the same with or without it.
    """
    stall_days = settings.stall_days if stall_days is None else stall_days
    opps, closed_after = as_of_view(opps, as_of, known)
    opps = with_rates(opps, methodology, settings.basis)
    # The checklist has given its stage: no figure reads its answers again, and some forty nullable columns fewer
    # make every selection below cheaper (the roll-up pays each one fifty times).
    opps = opps.drop(columns=checklist_columns(opps.columns))
    year = current_year(as_of, settings.fiscal_year_start)
    plan = plan_year(as_of, settings.fiscal_year_start)
    # Wins of earlier years are history: they count in the funnel's conversions, not in this year's
    # "closed" category or bucket, which must agree with the year-to-date achieved figure.
    this_year = ~(opps["status"].eq("won") & opps["close_date"].lt(year.start))
    opps["category"] = forecast.forecast_category(opps, as_of).where(this_year)
    opps["bucket"] = forecast.time_bucket(opps, as_of).where(this_year)
    opps["priority"] = customer_priority(opps, as_of=as_of)

    is_open, won, lost = (opps["status"].eq(s) for s in ("open", "won", "lost"))
    reps_quota = quota.annual_quotas(reps) if len(reps) else pd.Series(dtype="float64")
    left = left_out if left_out is not None else pd.DataFrame({"weighted": pd.Series(dtype="float64")})
    kpi = {
        "weighted_forecast": forecast.weighted_forecast(opps),
        "claimed_weighted_forecast": forecast.weighted_forecast(opps, "claimed_weighted"),
        "evidence_weighted_forecast": forecast.weighted_forecast(opps, "evidence_weighted"),
        "claim_difference": claims.claim_difference(opps),
        "achieved": forecast.achieved(opps, as_of, period_start=year.start),
        "open_pipeline": forecast.open_pipeline(opps),
        "open_count": int(is_open.sum()),
        "not_assessed_count": int((is_open & ~opps["answered"]).sum()),
        "won_count": int(won.sum()),
        "lost_count": int(lost.sum()),
        "team_quota": float(reps_quota.sum(skipna=True)) if len(reps_quota) else 0.0,
        "sales_cycle_days": funnel.sales_cycle_days(opps),
        "left_out_count": len(left),
        "left_out_weighted": float(left["weighted"].sum(skipna=True)),
        "left_out_amount": float(left["amount"].sum(skipna=True)) if "amount" in left else 0.0,
        "closed_after_count": len(closed_after),
    }

    splits = forecast.forecast_by_each(opps, ("close_quarter", "rep", "product", "region"), as_of,
                                       period_start=year.start)
    attain = quota.attainment(opps, reps, as_of, settings.fiscal_year_start, by_rep=splits["rep"])
    proposal = quota.quota_proposal(opps, plan_start=plan.start, plan_end=plan.end)
    quota_table = attain.join(proposal[["proposal"]], how="left")

    won_amounts = opps.loc[won, "amount"]
    avg_deal = float(won_amounts.mean()) if len(won_amounts) else float(opps.loc[is_open, "amount"].mean() or 0)
    target = max(kpi["team_quota"] - kpi["achieved"], 0.0)
    required = (
        funnel.required_pipeline(target, methodology, avg_deal_size=avg_deal)
        if avg_deal > 0 and "required" not in skip else pd.DataFrame()
    )

    gaps = opps.loc[is_open & opps["stage_gap"].gt(0).fillna(False)]
    snapshot = progress.take_snapshot(opps, as_of)
    this_totals = progress.snapshot_totals(snapshot, as_of)
    prog = Progress(this_date=as_of, last_date=None, totals={"this_forecast": this_totals["forecast"],
                                                            "this_achieved": this_totals["achieved"]})
    if last_snapshot is not None and last_date is not None and len(last_snapshot):
        total, by_rep = progress.sales_progress_and_by_rep(snapshot, last_snapshot, this_date=as_of,
                                                           last_date=last_date)
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
    quotas = pd.Series(reps_quota.to_numpy(), index=reps["rep"]) if len(reps) else pd.Series(dtype="float64")
    grid = outlook.period_grid(opps, quotas, as_of, year)
    strip = outlook.kpi_strip(grid, claim_difference=kpi["claim_difference"],
                              left_out_weighted=kpi["left_out_weighted"])
    stalled = progress.stalled(opps, methodology, as_of, max_days=stall_days)
    claim_list = claims.claim_deals(opps)
    to_update = forecast.dates_to_update(opps, as_of)
    history = first_seen if first_seen is not None else pd.DataFrame({"snapshot_date": pd.Series(dtype="datetime64[ns]"),
                                                                        "id": pd.Series(dtype=object)})
    weekly = weekly_totals(snapshot, as_of)
    counted = opps.loc[this_year]  # this year's rows: their category and bucket were set above
    never_seen = progress.never_seen_wins(history, opps, as_of)
    return Figures(
        as_of=as_of, methodology=methodology, opps=opps, kpi=kpi,
        by_category=forecast.forecast_by_category(counted, as_of, counted["category"]),
        by_bucket=forecast.forecast_by_bucket(counted, as_of, counted["bucket"]),
        by_quarter=splits["close_quarter"],
        by_rep=splits["rep"],
        by_product=splits["product"],
        by_region=splits["region"],
        funnel=pd.DataFrame() if "funnel" in skip else funnel.funnel_by_stage(opps, methodology, as_of),
        ideal_vs_actual=pd.DataFrame() if "ideal_vs_actual" in skip else funnel.ideal_vs_actual(opps, methodology),
        required=required,
        required_target=target,
        avg_deal_size=avg_deal,
        stage_gaps=gaps,
        stalled=stalled,
        quota=quota_table,
        roadmap=roadmap_status(opps, reps, methodology, as_of, roadmap, settings.fiscal_year_start, ratios=attain),
        progress=prog,
        never_seen=never_seen,
        snapshot=snapshot,
        weekly=weekly,
        settings=settings,
        year=year,
        plan_year=plan,
        claims_by_rep=claims.claims_by(opps, opps["rep"]),
        claims_by_category=claims.claims_by(opps, opps["category"], FORECAST_CATEGORIES),
        claim_deals=claim_list,
        dates_to_update=to_update,
        left_out=left,
        closed_after=closed_after,
        calibration=(None if "calibration" in skip
                     else observed_win_rates(opps, methodology, as_of=as_of, min_count=min_count)),
        grid=grid,
        strip=strip,
        stall_days=stall_days,
        strip_change=outlook.strip_changes(strip, last_strip if last_date is not None else None),
        attention=attention_lists(opps, claim_deals=claim_list, dates_to_update=to_update, stalled=stalled,
                                  never_seen=never_seen),
    )
