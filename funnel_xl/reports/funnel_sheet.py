"""漏斗: the funnel by stage (charted), ideal vs actual, the reverse calculation, stage gaps and stalled deals."""

from __future__ import annotations

import pandas as pd

from funnel_xl.domain.figures import Figures
from funnel_xl.reports.table import SheetLayout, criteria_text, limited, rep_name, stage_name, wan
from funnel_xl.workbook import layout


def funnel_sheet(fig: Figures, lang: str, stamp: str, calibration: pd.DataFrame | None = None) -> SheetLayout:
    out = SheetLayout("funnel", lang, stamp)
    m = fig.methodology
    f = fig.funnel
    rows = [
        [stage_name(m, k, lang), r.win_rate, r.open_count, wan(r.pipeline), wan(r.weighted), r.reached_count,
         r.conversion_to_next, r.conversion_to_won, r.avg_days_in_stage]
        for k, r in f.iterrows()
    ]
    total = [out.label("out.total"), None, f["open_count"].sum(), wan(f["pipeline"].sum()),
             wan(f["weighted"].sum()), None, None, None, None]
    row = out.block(layout.FUNNEL_STAGES, rows, total=total)
    # The funnel's shape: each stage's bar centred on the widest by an invisible offset of half the difference.
    widest = float(f["pipeline"].max()) if len(f) else 0.0
    out.block(layout.FUNNEL_CHART, [[stage_name(m, k, lang), wan((widest - r.pipeline) / 2), wan(r.pipeline)]
                                    for k, r in f.iterrows()])
    out.sheet.chart_items["funnel"] = len(rows)
    row = max(row, layout.FUNNEL_STAGES.first_data_row + 22)  # below the chart

    iva = fig.ideal_vs_actual
    rows = [[stage_name(m, k, lang), r.ideal_share, r.actual_share, r.ideal_count, r.actual_count, r.gap_count]
            for k, r in iva.iterrows()]
    row = out.table("ideal_vs_actual", row,
                    ("stage", "ideal_share", "actual_share", "ideal_count", "actual_count", "gap_count"), rows)

    if len(fig.required):
        rows = [[stage_name(m, k, lang), m.stage(k).win_rate, wan(r.amount_needed), r.count_needed]
                for k, r in fig.required.iterrows()]
        note = out.label("out.required_note").format(
            target=f"{fig.required_target / 10_000:,.1f}", deal=f"{fig.avg_deal_size / 10_000:,.1f}")
        row = out.table("required", row, ("stage", "win_rate", "amount_needed_wan", "count_needed"), rows, note=note)

    if calibration is not None and len(calibration):
        rows = [[stage_name(m, k, lang), r.configured_rate, r.observed_rate, r.reached, r.ci_low,
                 r.ci_high, r.suggested_rate, out.label(f"calibration.verdict.{r.verdict}")]
                for k, r in calibration.iterrows()]
        cycle = calibration.attrs.get("cycle_days", float("nan"))
        confidence = f"{calibration.attrs.get('confidence', 0.95):.0%}"
        note = (out.label("out.calibration_note_all").format(confidence=confidence) if pd.isna(cycle)
                else out.label("out.calibration_note").format(confidence=confidence, cycle=f"{cycle:.0f}"))
        start = row
        row = out.table("calibration", row, ("stage", "win_rate", "observed_rate", "reached_count", "ci_low",
                                             "ci_high", "suggested_rate", "verdict"), rows, note=note)
        for i, verdict in enumerate(calibration["verdict"]):
            if verdict == "suggest":
                out.sheet.put(start + 2 + i, 8, rows[i][-1], "bad")

    g, more = limited(fig.stage_gaps.sort_values(["stage_gap", "amount"], ascending=False, kind="stable"), lang)
    rows = [[r.id, r.customer, rep_name(out, r.rep), stage_name(m, r.claimed_stage, lang),
             stage_name(m, r.derived_stage, lang), r.stage_gap, criteria_text(m, r.missing_criteria, lang)]
            for r in g.itertuples()]
    row = out.table("stage_gaps", row, ("id", "customer", "rep", "claimed_stage", "derived_stage", "stage_gap",
                                        "missing_criteria"), rows, styles=["text"] * 5 + ["integer", "text"],
                    note=more)

    s, more = limited(fig.stalled, lang)  # longest in stage first
    rows = [[r.id, r.customer, rep_name(out, r.rep), stage_name(m, r.stage, lang), r.days_in_stage]
            for r in s.itertuples()]
    out.table("stalled", row, ("id", "customer", "rep", "stage", "days_in_stage"), rows, note=more)
    out.widths(first=20, others=13, count=9)
    out.sheet.widths[2] = 18  # customer names; the unmet criteria in the last column overflow to the right
    return out
