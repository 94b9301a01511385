"""漏斗: the funnel by stage (charted), ideal vs actual, the reverse calculation, stage gaps and stalled deals."""

from __future__ import annotations

import pandas as pd

from funnel_xl.domain.figures import Figures
from funnel_xl.reports.table import SheetLayout, limited, wan
from funnel_xl.workbook import layout


def _stage_name(fig: Figures, key, lang: str) -> str:
    if key is None or (not isinstance(key, str) and pd.isna(key)):
        return "-"
    try:
        return fig.methodology.stage(key).name(lang)
    except KeyError:
        return str(key)


def _criteria_text(fig: Figures, keys, lang: str) -> str:
    """The unmet criteria in words, so a rep knows what to do next (keys mean nothing to a manager)."""
    if not isinstance(keys, str) or not keys:
        return ""
    texts = {c.key: c.text(lang) for c in fig.methodology.criteria()}
    return "；".join(texts.get(k.strip(), k.strip()) for k in keys.split(","))


def funnel_sheet(fig: Figures, lang: str, stamp: str, calibration: pd.DataFrame | None = None) -> SheetLayout:
    out = SheetLayout("funnel", lang, stamp)
    f = fig.funnel
    rows = [
        [_stage_name(fig, k, lang), r.win_rate, r.open_count, wan(r.pipeline), wan(r.weighted), r.reached_count,
         r.conversion_to_next, r.conversion_to_won, r.avg_days_in_stage]
        for k, r in f.iterrows()
    ]
    total = [out.label("out.total"), None, f["open_count"].sum(), wan(f["pipeline"].sum()),
             wan(f["weighted"].sum()), None, None, None, None]
    row = out.block(layout.FUNNEL_STAGES, rows, total=total)
    out.sheet.chart_items["funnel"] = len(rows)
    row = max(row, layout.FUNNEL_STAGES.first_data_row + 22)  # below the chart

    iva = fig.ideal_vs_actual
    rows = [[_stage_name(fig, k, lang), r.ideal_share, r.actual_share, r.ideal_count, r.actual_count, r.gap_count]
            for k, r in iva.iterrows()]
    row = out.table("ideal_vs_actual", row,
                    ("stage", "ideal_share", "actual_share", "ideal_count", "actual_count", "gap_count"), rows)

    if len(fig.required):
        rows = [[_stage_name(fig, k, lang), fig.methodology.stage(k).win_rate, wan(r.amount_needed), r.count_needed]
                for k, r in fig.required.iterrows()]
        note = out.label("out.required_note").format(
            target=f"{fig.required_target / 10_000:,.1f}", deal=f"{fig.avg_deal_size / 10_000:,.1f}")
        row = out.table("required", row, ("stage", "win_rate", "amount_needed_wan", "count_needed"), rows, note=note)

    if calibration is not None and len(calibration):
        flag = out.label("out.outside_interval")
        rows = [[_stage_name(fig, k, lang), r.configured_rate, r.observed_rate, r.reached_closed, r.ci_low,
                 r.ci_high, flag if r.configured_outside_ci else ""]
                for k, r in calibration.iterrows()]
        note = out.label("out.calibration_note").format(confidence=f"{calibration.attrs.get('confidence', 0.95):.0%}")
        start = row
        row = out.table("calibration", row, ("stage", "win_rate", "observed_rate", "closed_count", "ci_low",
                                             "ci_high", "flag"), rows, note=note)
        for i, values in enumerate(rows):
            if values[-1]:
                out.sheet.put(start + 2 + i, 7, values[-1], "bad")

    g, more = limited(fig.stage_gaps.sort_values(["stage_gap", "amount"], ascending=False, kind="stable"), lang)
    rows = [[r.id, r.customer, r.rep, _stage_name(fig, r.stage, lang), _stage_name(fig, r.derived_stage, lang),
             r.stage_gap, _criteria_text(fig, r.missing_criteria, lang)] for r in g.itertuples()]
    row = out.table("stage_gaps", row, ("id", "customer", "rep", "claimed_stage", "derived_stage", "stage_gap",
                                        "missing_criteria"), rows, styles=["text"] * 5 + ["integer", "text"],
                    note=more)

    s, more = limited(fig.stalled, lang)  # longest in stage first
    rows = [[r.id, r.customer, r.rep, _stage_name(fig, r.stage, lang), r.days_in_stage] for r in s.itertuples()]
    out.table("stalled", row, ("id", "customer", "rep", "stage", "days_in_stage"), rows, note=more)
    out.widths(first=20, others=13, count=9)
    out.sheet.widths[2] = 18  # customer names; the unmet criteria in the last column overflow to the right
    return out
