"""配额: quota, achieved, coverage and the funnel-based quota proposal per rep (charted), then each rep's roadmap."""

from __future__ import annotations

import pandas as pd

from funnel_xl.domain.figures import Figures
from funnel_xl.domain.roadmap import RATIO_MEASURES, tenure_months
from funnel_xl.reports.table import SheetLayout, rep_name, wan
from funnel_xl.workbook import layout


def _reason(out: SheetLayout, reason, stage) -> str:
    if reason is None or (not isinstance(reason, str) and pd.isna(reason)):
        return ""
    return out.label(f"roadmap.reason.{reason}").format(stage=stage or "")


def year_name(out: SheetLayout, year) -> str:
    """A plan year as a manager names it: 2027年, or the months of a fiscal year that does not start in January."""
    if year.calendar:
        return out.label("out.plan_year").format(year=year.year)
    return out.label("out.plan_year_fiscal").format(start=f"{year.start:%Y-%m}", end=f"{year.end:%Y-%m}")


def coverage_chart(out: SheetLayout, quota: pd.DataFrame) -> None:
    """What the coverage chart draws, rep by rep as the table lists them: coverage and the 100 % it is read
    against."""
    rows = [[rep_name(out, rep), r.coverage, 1.0] for rep, r in quota.iterrows()]
    out.block(layout.QUOTA_COVERAGE, rows)
    out.sheet.chart_items["coverage"] = len(rows)


def quota_sheet(fig: Figures, reps: pd.DataFrame, lang: str, stamp: str,
                activity: pd.DataFrame | None = None, standard_names: dict | None = None) -> SheetLayout:
    out = SheetLayout("quota", lang, stamp)
    reps_by_name = reps.set_index("rep") if len(reps) else pd.DataFrame()
    phases = fig.roadmap.drop_duplicates("rep").set_index("rep")["phase"] if len(fig.roadmap) else pd.Series()
    rows = []
    for rep, r in fig.quota.iterrows():
        info = reps_by_name.loc[rep] if rep in reps_by_name.index else None
        region = info["region"] if info is not None and "region" in info else None
        hire = info["hire_date"] if info is not None and "hire_date" in info else None
        tenure = tenure_months(hire, fig.as_of) if hire is not None and not pd.isna(hire) else None
        phase = phases.get(rep)
        phase_label = out.label(f"roadmap.phase.{phase}") if isinstance(phase, str) else "-"
        rows.append([rep_name(out, rep), phase_label, region, tenure, wan(r.quota), wan(r.achieved), r.attainment,
                     wan(r.weighted_this_year), r.coverage, wan(r.weighted_later), wan(r.proposal)])
    q = fig.quota
    team_quota = q["quota"].sum(skipna=True)
    team_att = q["achieved"].sum() / team_quota if team_quota else None
    team_cov = (q["achieved"].sum() + q["weighted_this_year"].sum()) / team_quota if team_quota else None
    total = [out.label("out.total"), None, None, None, wan(team_quota), wan(q["achieved"].sum()), team_att,
             wan(q["weighted_this_year"].sum()), team_cov, wan(q["weighted_later"].sum()), wan(q["proposal"].sum())]
    block = layout.QUOTA_REPS
    row = out.block(block, rows, total=total)
    # The proposal is for the plan year, and its header says which.
    out.sheet.put(block.header_row, block.col("proposal_wan"),
                  out.label("outcol.proposal_for").format(year=year_name(out, fig.plan_year)), "header")
    coverage_chart(out, fig.quota)
    row = max(row, layout.QUOTA_REPS.first_data_row + 20)

    rm = fig.roadmap
    met, missed, na = out.label("out.met"), out.label("out.missed"), out.label("out.not_applicable")
    rows, styles = [], []
    for r in rm.itertuples():
        ratio = r.measure in RATIO_MEASURES
        amount = r.measure == "largest_won_amount"
        value_style = "percent" if ratio else ("money" if amount else "integer")
        verdict = na if pd.isna(r.met) else (met if r.met else missed)
        note = _reason(out, getattr(r, "reason", None), None)
        phase = out.label(f"roadmap.phase.{r.phase}") if isinstance(r.phase, str) else "-"
        # A rep without a hire date has no milestone: the row says why instead (the reason is in the verdict).
        milestone = out.label(f"roadmap.milestone.{r.milestone}") if isinstance(r.milestone, str) else ""
        rows.append([r.rep, phase, r.target, r.actual, f"{verdict} {note}".strip(), milestone])
        styles.append(value_style)
    start = row
    # The milestone text goes last, where it can run on to the right without widening the columns above.
    row = out.table("roadmap", row, ("rep", "phase", "target", "actual", "met", "milestone"), rows)
    # per-row number formats: counts, ratios and amounts share the target/actual columns
    for i, (values, style) in enumerate(zip(rows, styles)):
        r_ = start + 2 + i
        out.sheet.put(r_, 3, values[2], style)
        out.sheet.put(r_, 4, values[3], style)
        out.sheet.put(r_, 5, values[4], "good" if values[4].startswith(met) else ("bad" if values[4].startswith(missed) else "text"))
    if activity is not None:
        row = activity_block(out, row + 1, activity, standard_names or {})
    out.widths(first=12, others=13, count=11)
    out.sheet.widths[2] = 24  # the roadmap phase, in both tables
    return out


def activity_block(out: SheetLayout, row: int, status: pd.DataFrame, names: dict) -> int:
    """The week's activity against the work standards, beside the milestones: per rep and standard, the last
    weeks' values, each met or missed, and a week not reported said so. Returns the row after the block."""
    weeks = sorted(status["week"].unique()) if len(status) else []
    out.sheet.put(row, 1, out.label("block.activity"), "section")
    out.sheet.put(row + 1, 1, out.label("out.activity_note"), "note")
    # The standard's name goes last, where it can run on to the right (as the milestones' text does above).
    header = [out.label("outcol.rep"), out.label("outcol.phase"), out.label("outcol.standard_target"),
              *(f"{w:%m-%d}" for w in weeks), out.label("outcol.standard")]
    out.sheet.put_row(row + 2, 1, header, "header")
    row += 3
    met, missed, none = out.label("out.met"), out.label("out.missed"), out.label("out.not_reported")
    if not len(status):
        out.sheet.put(row, 1, out.label("out.no_standards"), "note")
        return row + 1
    for (rep, phase, standard), group in status.groupby(["rep", "phase", "standard"], sort=False):
        by_week = dict(zip(group["week"], zip(group["value"], group["met"])))
        out.sheet.put_row(row, 1, [rep, out.label(f"roadmap.phase.{phase}"), group["target"].iloc[0]],
                          ["text", "text", "decimal"])
        for i, week in enumerate(weeks):
            value, ok = by_week.get(week, (None, None))
            if pd.isna(ok):
                out.sheet.put(row, 4 + i, none, "text")
            else:
                out.sheet.put(row, 4 + i, f"{value:g} {met if ok else missed}", "good" if ok else "bad")
        out.sheet.put(row, 4 + len(weeks), names.get((phase, standard), standard), "note")
        row += 1
    return row
