"""The company roll-up: every team's figures, each computed alone on its own rates, added up into one set.

A roll-up figure is the sum of the team figures (never a recalculation of a merged pipeline under one methodology),
so a director's total equals what each team's workbook shows. Ratios that do not add up (the funnel's conversions,
ideal against actual) are recomputed from the teams' rated deals taken together. Reps are named with their team
("华东销售 · 张伟"): two teams may each have a 张伟.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from funnel_xl.domain import funnel, outlook
from funnel_xl.domain.figures import Figures, Progress
from funnel_xl.errors import InputError

SEPARATOR = " · "
# The one kpi that does not add up across teams: the company's is the teams' weighted by their won deals.
AVERAGED_KPIS = ("sales_cycle_days",)
# What the KPI tables by team, region and manager show, summed over reps (coverage is derived from the sums).
UNIT_COLUMNS = ("quota", "achieved", "weighted", "claimed_weighted", "weighted_this_year", "pipeline", "open_count",
                "won_count", "progress")


@dataclass(frozen=True)
class TeamFigures:
    """One team as the roll-up reads it: its own recalculation's figures, reps and weekly history, untouched."""

    team: str
    figures: Figures
    reps: pd.DataFrame                  # clean 销售人员: rep, region, manager, annual_quota, ...
    weekly: pd.DataFrame | None = None  # stored weekly totals with this week (the 进展 chart)
    problem_count: int = 0
    rejected_count: int = 0


def qualified(team: str, rep, unassigned: str) -> str:
    """A rep's name in the company view: the team, then the rep (``unassigned`` for deals without one)."""
    blank = rep is None or (not isinstance(rep, str) and pd.isna(rep)) or rep == ""
    return f"{team}{SEPARATOR}{unassigned if blank else rep}"


def _qualified_all(reps, team: str, unassigned: str) -> np.ndarray:
    """``qualified`` for every rep of a column, each distinct name worked out once (a team's deals name few reps)."""
    codes, names = pd.factorize(reps, use_na_sentinel=True)
    # A blank name factorises to -1, which picks the trailing unassigned entry; an empty text is blank too.
    known = np.array([*(qualified(team, r, unassigned) for r in names), qualified(team, None, unassigned)],
                     dtype=object)
    return known[codes]


def _rep_column(frame: pd.DataFrame | None, team: str, unassigned: str) -> pd.DataFrame | None:
    if frame is None or "rep" not in frame.columns:
        return frame
    out = frame.copy(deep=False)  # copy-on-write: the team's own frame is left as it was
    out["rep"] = _qualified_all(out["rep"], team, unassigned) if len(out) else []  # [] types an empty column
    out.insert(0, "team", team)
    return out


def _rep_index(frame: pd.DataFrame | None, team: str, unassigned: str) -> pd.DataFrame | None:
    if frame is None:
        return None
    out = frame.copy(deep=False)
    out.index = pd.Index(_qualified_all(out.index, team, unassigned), name=frame.index.name or "rep")
    return out


def _together(pairs: list[tuple[str, pd.DataFrame | None]], unassigned: str, *, every: bool = False
              ) -> pd.DataFrame | None:
    """``_concat`` of each team's frame through ``_rep_column`` (with ``every``, ``pd.concat`` of all of them on a
    new index), the reps named and the team column set once over the joined rows rather than team by team."""
    present = [(t, f) for t, f in pairs if f is not None]
    if not present:
        return None
    kept = present if every else ([(t, f) for t, f in present if len(f)] or present[:1])
    if not all("rep" in f.columns for _, f in kept) or not any(len(f) for _, f in kept):  # as it was, column types too
        return _concat([_rep_column(f, t, unassigned) for t, f in kept])
    frames = [f for _, f in kept]
    out = (pd.concat(frames, ignore_index=every) if every or len(frames) > 1 else frames[0].copy(deep=False))
    out["rep"] = np.concatenate([_qualified_all(f["rep"], t, unassigned) for t, f in kept])
    out.insert(0, "team", np.repeat(np.array([t for t, _ in kept], dtype=object), [len(f) for f in frames]))
    return out


def _concat(frames: list[pd.DataFrame | None]) -> pd.DataFrame | None:
    present = [f for f in frames if f is not None]
    if not present:
        return None
    kept = [f for f in present if len(f)] or present[:1]
    return pd.concat(kept) if len(kept) > 1 else kept[0].copy()


def _summed(frames: list[pd.DataFrame], sort: bool = False) -> pd.DataFrame:
    """Frames indexed by a group (category, bucket, quarter, product, region) added up group by group, the
    groups in the order they first appear (or sorted, blanks last)."""
    joined = pd.concat(frames)
    name = joined.index.name
    return joined.groupby(level=0, dropna=False, sort=sort).sum().rename_axis(name)


def _largest_first(frame: pd.DataFrame) -> pd.DataFrame:
    """Groups by weighted then achieved, largest first, a blank group last (as ``forecast_by`` orders them)."""
    blank = frame.index.isna()
    ordered = frame[~blank].sort_values(["weighted", "achieved"], ascending=False, kind="stable")
    return pd.concat([ordered, frame[blank]])


def check_stages(teams: list[TeamFigures]) -> None:
    """Teams roll up only over one list of stages; rates may differ (each team's own are used)."""
    first = teams[0]
    for t in teams[1:]:
        if t.figures.methodology.stage_keys != first.figures.methodology.stage_keys:
            raise InputError(
                f"{t.team} and {first.team} use different stages ({t.figures.methodology.key}: "
                f"{', '.join(t.figures.methodology.stage_keys)}; {first.figures.methodology.key}: "
                f"{', '.join(first.figures.methodology.stage_keys)}): roll up teams of one methodology at a time")


def methodology_differences(teams: list[TeamFigures]) -> pd.DataFrame:
    """Where the teams' methodologies disagree: one row per team and differing item (a stage's win rate, the
    forecast basis, the fiscal-year start). Columns: item, stage, team, value. Empty when all agree."""
    rows = []
    stages = teams[0].figures.methodology.stage_keys
    for stage in stages:
        rates = {t.team: float(t.figures.methodology.stage(stage).win_rate) for t in teams}
        if len(set(rates.values())) > 1:
            rows += [("win_rate", stage, team, rate) for team, rate in rates.items()]
    for item, get in (("basis", lambda f: f.settings.basis),
                      ("fiscal_year_start", lambda f: f.settings.fiscal_year_start)):
        values = {t.team: get(t.figures) for t in teams}
        if len(set(values.values())) > 1:
            rows += [(item, None, team, value) for team, value in values.items()]
    return pd.DataFrame(rows, columns=["item", "stage", "team", "value"])


def duplicate_ids(teams: list[TeamFigures]) -> pd.DataFrame:
    """Opportunity ids counted by more than one team (the same deal reported twice up the line): id, teams, count.
    A team given twice shows every one of its ids."""
    # A dict in plain Python: 100,000 ids of fifty teams in a few tens of ms (a concat and two groupbys took 0.3 s).
    found: dict[str, list[str]] = {}
    for t in teams:
        for i in dict.fromkeys(_ids(t.figures)):
            found.setdefault(i, []).append(t.team)
    shared = [(i, ts) for i, ts in found.items() if len(ts) > 1]
    return pd.DataFrame({"id": pd.Series([i for i, _ in shared], dtype=object),
                         "teams": pd.Series([", ".join(ts) for _, ts in shared], dtype=object),
                         "count": pd.Series([len(ts) for _, ts in shared], dtype="int64")})


def _ids(fig: Figures) -> list:
    ids = list(fig.opps["id"])
    if fig.closed_after is not None and len(fig.closed_after):
        ids += list(fig.closed_after["id"])
    return [i for i in ids if isinstance(i, str) and i]


def _progress(teams: list[TeamFigures], unassigned: str) -> Progress:
    """This week summed over every team; last week's figures and the movement over the teams that have a snapshot
    from last week (the others count this week only). Each team compares with its own last week's snapshot (the
    latest at least seven days back); the date shown is the latest of them."""
    progresses = [(t.team, t.figures.progress) for t in teams]
    totals: dict[str, float] = {}
    for _, p in progresses:
        for key, value in p.totals.items():
            totals[key] = totals.get(key, 0.0) + float(value)
    dated = [(team, p) for team, p in progresses if p.last_date is not None]
    if not dated:
        return Progress(this_date=teams[0].figures.as_of, last_date=None, totals=totals)
    summary = _concat([_rep_index(p.summary, team, unassigned) for team, p in dated])
    return Progress(
        this_date=teams[0].figures.as_of, last_date=max(p.last_date for _, p in dated), totals=totals,
        by_rep=_concat([_rep_index(p.by_rep, team, unassigned) for team, p in dated]),
        moves=_together([(team, p.moves) for team, p in dated], unassigned),
        summary=None if summary is None else summary.fillna(0).astype("int64"),
    )


def _grid(teams: list[TeamFigures], unassigned: str) -> pd.DataFrame:
    """The company's period grid: the company rows (each period the sum of the teams' own team rows), then every
    team's reps under their company names."""
    grids = [t.figures.grid for t in teams]
    team_rows = pd.concat([g.loc[[outlook.TEAM]] for g in grids]).groupby(level=["rep", "period"], sort=False).sum()
    reps = []
    for t, g in zip(teams, grids):
        own = g.drop(index=outlook.TEAM, level="rep")
        names = [qualified(t.team, r, unassigned) for r in own.index.get_level_values("rep")]
        own.index = pd.MultiIndex.from_arrays([names, own.index.get_level_values("period")], names=["rep", "period"])
        reps.append(own)
    return pd.concat([team_rows, *reps])


def _strip(teams: list[TeamFigures], grid: pd.DataFrame, kpi: dict) -> tuple[dict, dict]:
    """The KPI strip from the company grid, and its change since last week: last week's company strip is the sum
    of the teams' (each team's figure less its change), so a change is known only where every team's is."""
    strip = outlook.kpi_strip(grid, claim_difference=kpi["claim_difference"],
                              left_out_weighted=kpi["left_out_weighted"])
    last: dict[str, float | None] = {}
    for key in outlook.STRIP_KEYS:
        if key == "outlook":
            continue
        parts = [(t.figures.strip.get(key), (t.figures.strip_change or {}).get(key)) for t in teams]
        last[key] = (None if any(v is None or c is None for v, c in parts) else sum(v - c for v, c in parts))
    if all(last.get(k) is not None for k in ("target", "achieved", "forecast_rest_of_year")) and last["target"] > 0:
        last["outlook"] = (last["achieved"] + last["forecast_rest_of_year"]) / last["target"]
    return strip, outlook.strip_changes(strip, last)


_ATTENTION_ORDER = {"claimed_above_evidence": ("difference", False), "overdue": ("close_date", True),
                    "stalled": ("days_in_stage", False), "never_seen": ("amount", False),
                    "not_assessed": ("amount", False)}


def _attention(teams: list[TeamFigures], unassigned: str) -> dict[str, pd.DataFrame]:
    """Each attention list of every team together (a ``team`` column, reps by their company names), in the order a
    team's own list takes. A deal's id is named with its team ("华东销售 · OPP-1001"), the workbook to open, and its
    row number is dropped: the company workbook has no 商机 sheet to link to."""
    out = {}
    for key in teams[0].figures.attention:
        joined = _together([(t.team, t.figures.attention[key]) for t in teams], unassigned)
        joined["id"] = joined["team"].astype(str) + SEPARATOR + joined["id"].astype(str)
        if "row" in joined.columns:
            joined["row"] = pd.NA
        by, ascending = _ATTENTION_ORDER.get(key, (None, True))
        if by is not None and by in joined.columns:
            joined = joined.sort_values(by, ascending=ascending, kind="stable")
        out[key] = joined.reset_index(drop=True)
    return out


def combine(teams: list[TeamFigures], *, unassigned: str) -> Figures:
    """The company's figures: every additive figure the sum of the teams' own, ratios recomputed from the teams'
    rated deals together. ``unassigned`` names a team's deals without a rep. The calibration is left to each
    team (its cohorts are its own); the reverse calculation is kept only where every team has the same rates."""
    if not teams:
        raise InputError("no team workbook to roll up")
    check_stages(teams)
    figs = [t.figures for t in teams]
    first = figs[0]
    # Every other kpi is an amount or a count: the company's is the sum (a count stays an integer).
    kpi = {k: sum(f.kpi[k] for f in figs) for k in first.kpi if k not in AVERAGED_KPIS}
    won = sum(f.kpi["won_count"] for f in figs)
    kpi["sales_cycle_days"] = (sum(f.kpi["sales_cycle_days"] * f.kpi["won_count"] for f in figs if f.kpi["won_count"])
                               / won if won else float("nan"))

    opps = _together([(t.team, f.opps) for t, f in zip(teams, figs)], unassigned, every=True)
    m = first.methodology
    rates_agree = methodology_differences(teams).query("item == 'win_rate'").empty
    company_funnel = funnel.funnel_by_stage(opps, m, first.as_of)
    if not rates_agree:
        company_funnel["win_rate"] = float("nan")  # each team's own rate weighted its deals
    target = max(kpi["team_quota"] - kpi["achieved"], 0.0)
    won_amounts = opps.loc[opps["status"].eq("won"), "amount"]
    avg_deal = float(won_amounts.mean()) if len(won_amounts) else 0.0
    required = (funnel.required_pipeline(target, m, avg_deal_size=avg_deal)
                if rates_agree and avg_deal > 0 else pd.DataFrame())

    def reps_of(name: str) -> pd.DataFrame:
        return _largest_first(pd.concat([_rep_index(getattr(f, name), t.team, unassigned)
                                         for t, f in zip(teams, figs)]))

    def listed(name: str) -> pd.DataFrame | None:
        return _together([(t.team, getattr(f, name)) for t, f in zip(teams, figs)], unassigned)

    claim_deals = listed("claim_deals")
    stalled = listed("stalled")
    grid = _grid(teams, unassigned)
    strip, strip_change = _strip(teams, grid, kpi)
    return replace(
        first,
        opps=opps, kpi=kpi,
        by_category=_summed([f.by_category for f in figs]),
        by_bucket=_summed([f.by_bucket for f in figs]),
        by_quarter=_summed([f.by_quarter for f in figs], sort=True),
        by_rep=reps_of("by_rep"),
        by_product=_largest_first(_summed([f.by_product for f in figs])),
        by_region=_largest_first(_summed([f.by_region for f in figs])),
        funnel=company_funnel,
        ideal_vs_actual=funnel.ideal_vs_actual(opps, m),
        required=required, required_target=target, avg_deal_size=avg_deal,
        stage_gaps=listed("stage_gaps"),
        stalled=stalled.sort_values("days_in_stage", ascending=False, kind="stable"),
        quota=pd.concat([_rep_index(f.quota, t.team, unassigned) for t, f in zip(teams, figs)]),
        roadmap=listed("roadmap"),
        progress=_progress(teams, unassigned),
        never_seen=listed("never_seen"),
        snapshot=listed("snapshot"),
        weekly=listed("weekly"),
        claims_by_rep=pd.concat([_rep_index(f.claims_by_rep, t.team, unassigned) for t, f in zip(teams, figs)]),
        claims_by_category=_summed([f.claims_by_category for f in figs]),
        claim_deals=claim_deals.sort_values("difference", ascending=False, kind="stable"),
        dates_to_update=listed("dates_to_update"),
        left_out=listed("left_out"),
        closed_after=listed("closed_after"),
        calibration=None,
        grid=grid, strip=strip, strip_change=strip_change, attention=_attention(teams, unassigned),
    )


def company_reps(teams: list[TeamFigures], unassigned: str) -> pd.DataFrame:
    """Every team's 销售人员 rows with the reps named as in the company view (the 配额 sheet reads them)."""
    return _together([(t.team, t.reps) for t in teams], unassigned)


def company_weekly(teams: list[TeamFigures], unassigned: str) -> pd.DataFrame | None:
    """The teams' weekly history together, week by week, so the 进展 chart's company line is the sum of the teams in
    each week even where they snapshot on different weekdays. A week is the seven days ending on the report date, or
    7, 14, … days before it (the span ``previous_week`` compares with), and is dated by its last day. In each week
    a team counts with its latest snapshot (a team that recalculated twice that week counts once, the later);
    snapshots after the report date are left out."""
    as_of = pd.Timestamp(teams[0].figures.as_of)
    return _together([(t.team, _by_week(t.weekly, as_of)) for t in teams], unassigned)


def missing_weeks(weekly: pd.DataFrame | None, teams: Sequence[str]) -> list[tuple[pd.Timestamp, list[str]]]:
    """The weeks of the company's weekly line (``company_weekly``) without some team's snapshot, each with those
    teams in the order given: that week's point lacks what they would add, and the sheet says so rather than
    filling a number in."""
    if weekly is None or not len(weekly):
        return []
    present = weekly.groupby("snapshot_date", sort=True)["team"].agg(set)
    gaps = [(w, [t for t in teams if t not in have]) for w, have in present.items()]
    return [(w, missing) for w, missing in gaps if missing]


def _by_week(weekly: pd.DataFrame | None, as_of: pd.Timestamp) -> pd.DataFrame | None:
    """One team's weekly rows of its latest snapshot in each week up to ``as_of``, dated by the week's last day."""
    if weekly is None or not len(weekly):
        return weekly
    dates = pd.to_datetime(weekly["snapshot_date"])
    days_before = (as_of - dates).dt.days
    week_end = as_of - pd.to_timedelta(days_before // 7 * 7, unit="D")
    latest = dates.groupby(week_end).transform("max")
    out = weekly[days_before.ge(0) & dates.eq(latest)].copy()
    out["snapshot_date"] = week_end[out.index]
    return out


def rep_units(team: TeamFigures) -> pd.DataFrame:
    """One row per rep of a team (and one for its deals without a rep) with what the KPI tables add up, and the
    rep's region and manager from 销售人员: team, rep, region, manager, then ``UNIT_COLUMNS``."""
    f = team.figures
    units = f.quota[["quota", "achieved", "weighted", "weighted_this_year"]].copy()
    units["claimed_weighted"] = f.claims_by_rep["claimed_weighted"].reindex(units.index)
    units["pipeline"] = f.by_rep["pipeline"].reindex(units.index)
    units["open_count"] = f.by_rep["open_count"].reindex(units.index)
    units["won_count"] = f.by_rep["won_count"].reindex(units.index)
    units["progress"] = (f.progress.by_rep["progress"].reindex(units.index)
                         if f.progress.by_rep is not None else float("nan"))
    units = units.fillna({c: 0 for c in UNIT_COLUMNS if c not in ("quota", "progress")})
    reps = team.reps.set_index("rep")
    units.insert(0, "manager", [reps["manager"].get(r) if isinstance(r, str) else None for r in units.index])
    units.insert(0, "region", [reps["region"].get(r) if isinstance(r, str) else None for r in units.index])
    units.insert(0, "team", team.team)
    return units.rename_axis("rep").reset_index()


def kpi_by(units: pd.DataFrame, by: str) -> pd.DataFrame:
    """The KPI table by ``by`` (team, region, manager or a hierarchy level): the unit columns summed, coverage and
    attainment from the sums (NA without a quota), largest weighted forecast first, a blank group last."""
    table = units.groupby(by, dropna=False, sort=False)[list(UNIT_COLUMNS)].sum(min_count=1)
    for c in UNIT_COLUMNS:
        if c not in ("quota", "progress"):
            table[c] = table[c].fillna(0)
    quota = table["quota"].where(table["quota"].gt(0))
    table["attainment"] = table["achieved"] / quota
    table["coverage"] = (table["achieved"] + table["weighted_this_year"]) / quota
    return _largest_first(table)
