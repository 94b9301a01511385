"""预测: the weighted forecast at a glance, on its basis beside the claim, by category and close time (charted), the
claim's difference and the deals that carry it, the deals to re-date and the rows left out, then by quarter, rep,
product and region."""

from __future__ import annotations

import pandas as pd

from funnel_xl.domain import outlook
from funnel_xl.domain.attention import attention_summary
from funnel_xl.domain.figures import Figures
from funnel_xl.reports import outlook_blocks
from funnel_xl.reports.problem_text import problem_message
from funnel_xl.reports.table import (
    DETAIL_LIMIT, SheetLayout, criteria_text, group_name, in_rep_order, limited, rep_name, stage_name, wan,
)
from funnel_xl.workbook import layout
from funnel_xl.workbook.contract import sheet_name
from funnel_xl.workbook.ooxml import quote_sheet

_MONEY = {"weighted_forecast", "claimed_weighted_forecast", "claim_difference", "achieved", "open_pipeline",
          "team_quota", "left_out_weighted"}
_GROUP_COLUMNS = ("open_count", "pipeline_wan", "weighted_wan", "won_count", "achieved_wan")
_CLAIM_COLUMNS = ("open_count", "weighted_wan", "claimed_weighted_wan", "evidence_weighted_wan", "difference_wan")


def _group_rows(out: SheetLayout, frame: pd.DataFrame, by: str) -> tuple[list[list], list]:
    rows = [
        [group_name(out, by, name), r.open_count, wan(r.pipeline), wan(r.weighted), r.won_count, wan(r.achieved)]
        for name, r in frame.iterrows()
    ]
    total = [out.label("out.total"), frame["open_count"].sum(), wan(frame["pipeline"].sum()),
             wan(frame["weighted"].sum()), frame["won_count"].sum(), wan(frame["achieved"].sum())]
    return rows, total


def _claim_rows(frame: pd.DataFrame, name) -> list[list]:
    return [[name(key), r.open_count, wan(r.weighted), wan(r.claimed_weighted), wan(r.evidence_weighted),
             wan(r.difference)] for key, r in frame.iterrows()]


def _claim_total(out: SheetLayout, frame: pd.DataFrame) -> list:
    return [out.label("out.total"), frame["open_count"].sum(),
            *(wan(frame[c].sum()) for c in ("weighted", "claimed_weighted", "evidence_weighted", "difference"))]


def quarter_name(start: pd.Timestamp, year) -> str:
    """2026Q1 in a calendar year; a fiscal quarter by the month it starts (2026-04)."""
    return f"{start.year}Q{(start.month - 1) // 3 + 1}" if year.calendar else f"{start:%Y-%m}"


def forecast_sheet(fig: Figures, lang: str, stamp: str, problem_count: int) -> "SheetLayout":
    out = SheetLayout("forecast", lang, stamp)
    outlook_blocks.kpi_strip(out, fig.strip, fig.strip_change)
    outlook_blocks.period_grid_team(out, fig.grid)
    values = {**fig.kpi, "problem_count": problem_count, "basis": out.label(f"basis.{fig.settings.basis}")}
    b = layout.FORECAST_KPI
    out.sheet.put(b.section_row, 1, out.label("block.kpi"), "section")
    out.sheet.put_row(b.header_row, 1, [out.label("outcol.kpi"), out.label("outcol.value")], "header")
    out.sheet.heights[b.header_row] = 20
    for i, k in enumerate(layout.FORECAST_KPIS):
        value, style = (wan(values[k]), "money_wan") if k in _MONEY else (values[k], "integer")
        out.sheet.put_row(b.first_data_row + i, 1, [out.label(f"kpi.{k}"), value],
                          ["text", "text" if k == "basis" else style])

    quarters = outlook.quarters_of_year(fig.opps, fig.strip["target"], fig.as_of, fig.year)
    names = [quarter_name(q, fig.year) for q in quarters.index]
    out.block(layout.FORECAST_QUARTERS, [[n, wan(r.achieved), wan(r.weighted), wan(r.quota)]
                                         for n, (_, r) in zip(names, quarters.iterrows())])
    total_label = out.label("out.total")
    for block, frame, prefix in ((layout.FORECAST_CATEGORY, fig.by_category, "category"),
                                 (layout.FORECAST_BUCKET, fig.by_bucket, "bucket")):
        rows = [[out.label(f"{prefix}.{k}"), r["count"], wan(r["amount"]), wan(r["weighted"])]
                for k, r in frame.iterrows()]
        out.block(block, rows, total=[total_label, frame["count"].sum(), wan(frame["amount"].sum()),
                                      wan(frame["weighted"].sum())])
        out.sheet.chart_items[f"forecast_{prefix}"] = len(rows)

    row, at = outlook_blocks.attention_lists(
        out, fig.attention, layout.FORECAST_FLOW_ROW, methodology=fig.methodology, as_of=fig.as_of,
        opportunity_sheet=sheet_name("opportunities", lang), stall_days=fig.stall_days)
    here = quote_sheet(sheet_name("forecast", lang))
    targets = {k: f"{here}!A{r}" for k, r in at.items()}
    if problem_count:
        targets["data_problems"] = f"{quote_sheet(sheet_name('problems', lang))}!A{layout.PROBLEMS.section_row}"
    outlook_blocks.attention_summary(out, attention_summary(fig.attention),
                                     (problem_count, fig.kpi["left_out_amount"]), targets)
    row = outlook_blocks.period_grid_by_rep(out, fig.grid, row)
    row = _claims(out, fig, row)
    row = _dates_to_update(out, fig, row)
    row = _left_out(out, fig, row)
    for key, frame, first in (("by_quarter", fig.by_quarter, "close_quarter"), ("by_rep", in_rep_order(fig.by_rep, fig.quota.index), "rep"),
                              ("by_product", fig.by_product, "product"), ("by_region", fig.by_region, "region")):
        rows, total = _group_rows(out, frame, first)
        row = out.table(key, row, ("quarter" if first == "close_quarter" else first, *_GROUP_COLUMNS), rows,
                        total=total)
    out.widths(first=24, others=14, count=12)
    out.sheet.widths[layout.FORECAST_ATTENTION.first_col] = 26  # the lists' names, beside the grid
    return out


def _claims(out: SheetLayout, fig: Figures, row: int) -> int:
    """The claim made visible: per rep and per category, then the deals that carry the difference."""
    by_rep = in_rep_order(fig.claims_by_rep, fig.quota.index)
    row = out.table("claims_by_rep", row, ("rep", *_CLAIM_COLUMNS),
                    _claim_rows(by_rep, lambda k: rep_name(out, k)), total=_claim_total(out, by_rep))
    by_category = fig.claims_by_category.drop(index="closed", errors="ignore")  # a won deal carries no claim
    row = out.table("claims_by_category", row, ("category", *_CLAIM_COLUMNS),
                    _claim_rows(by_category, lambda k: out.label(f"category.{k}")),
                    total=_claim_total(out, by_category))
    m, lang = fig.methodology, out.lang
    deals, more = limited(fig.claim_deals, lang)  # largest difference first
    rows = [[d.id, d.customer, rep_name(out, d.rep), stage_name(m, d.claimed_stage, lang),
             stage_name(m, d.derived_stage, lang), wan(d.amount), wan(d.claimed_weighted), wan(d.evidence_weighted),
             wan(d.difference), criteria_text(m, d.missing_criteria, lang)]
            for d in deals.itertuples()]
    return out.table("claim_deals", row, ("id", "customer", "rep", "claimed_stage", "derived_stage", "amount_wan",
                                          "claimed_weighted_wan", "evidence_weighted_wan", "difference_wan",
                                          "missing_criteria"), rows, note=more)


def _dates_to_update(out: SheetLayout, fig: Figures, row: int) -> int:
    """By rep, so each finds their own; past the list's limit the largest weighted amounts are the ones shown."""
    listed = fig.dates_to_update
    if len(listed) > DETAIL_LIMIT:
        listed = listed.sort_values("weighted", ascending=False, kind="stable")
    shown, more = limited(listed, out.lang)
    shown = in_rep_order(shown.sort_values("weighted", ascending=False, kind="stable"), fig.quota.index, "rep")
    rows = [[rep_name(out, d.rep), d.id, d.customer, None if pd.isna(d.close_date) else d.close_date.date(),
             wan(d.amount), wan(d.weighted), out.label(f"category.{d.issue}")]
            for d in shown.itertuples()]
    return out.table("dates_to_update", row, ("rep", "id", "customer", "close_date", "amount_wan", "weighted_wan",
                                              "issue"), rows, note=more)


def _left_out(out: SheetLayout, fig: Figures, row: int) -> int:
    """The rows not counted, with what they would have carried and why; then deals closed after the report date."""
    left = fig.left_out
    if left is not None and len(left):
        shown, more = limited(left, out.lang)  # every one is on 数据问题; the total here counts them all
        rows = [[r.row, r.id, rep_name(out, r.rep), wan(r.amount), wan(r.weighted),
                 "" if r.reason is None else problem_message(r.reason, out.lang)] for r in shown.itertuples()]
        total = [out.label("out.total"), None, None, wan(left["amount"].sum()), wan(left["weighted"].sum()), None]
        row = out.table("left_out", row, ("row", "id", "rep", "amount_wan", "weighted_wan", "message"), rows,
                        total=total, note=more)
    after = fig.closed_after
    if after is not None and len(after):
        shown, more = limited(after, out.lang)
        rows = [[r.id, r.customer, rep_name(out, r.rep), out.label(f"status.{r.status}"),
                 None if pd.isna(r.close_date) else pd.Timestamp(r.close_date).date(), wan(r.amount)]
                for r in shown.itertuples()]
        row = out.table("closed_after", row, ("id", "customer", "rep", "status", "close_date", "amount_wan"), rows,
                        note=more)
    return row

