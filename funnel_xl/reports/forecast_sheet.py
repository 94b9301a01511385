"""预测: the weighted forecast at a glance, by category and close time (charted), then by quarter, rep, product, region."""

from __future__ import annotations

import pandas as pd

from funnel_xl.domain.figures import Figures
from funnel_xl.reports.table import SheetLayout, wan
from funnel_xl.workbook import layout

_KPIS = ("weighted_forecast", "achieved", "open_pipeline", "team_quota", "open_count", "won_count", "lost_count",
         "problem_count")
_GROUP_COLUMNS = ("open_count", "pipeline_wan", "weighted_wan", "won_count", "achieved_wan")


def _group_rows(frame: pd.DataFrame, blank: str) -> tuple[list[list], list]:
    rows = [
        [blank if pd.isna(name) or name == "" else name, r.open_count, wan(r.pipeline), wan(r.weighted),
         r.won_count, wan(r.achieved)]
        for name, r in frame.iterrows()
    ]
    total = [None, frame["open_count"].sum(), wan(frame["pipeline"].sum()), wan(frame["weighted"].sum()),
             frame["won_count"].sum(), wan(frame["achieved"].sum())]
    return rows, total


def forecast_sheet(fig: Figures, lang: str, stamp: str, problem_count: int) -> "SheetLayout":
    out = SheetLayout("forecast", lang, stamp)
    money = {"weighted_forecast", "achieved", "open_pipeline", "team_quota"}
    values = {**fig.kpi, "problem_count": problem_count}
    kpi_rows = [[out.label(f"kpi.{k}"), wan(values[k]) if k in money else values[k]] for k in _KPIS]
    styles = [["text", "money_wan" if k in money else "integer"] for k in _KPIS]
    b = layout.FORECAST_KPI
    out.sheet.put(b.section_row, 1, out.label("block.kpi"), "section")
    out.sheet.put_row(b.header_row, 1, [out.label("outcol.kpi"), out.label("outcol.value")], "header")
    out.sheet.heights[b.header_row] = 20
    for i, (row, st) in enumerate(zip(kpi_rows, styles)):
        out.sheet.put_row(b.first_data_row + i, 1, row, st)

    total_label = out.label("out.total")
    for block, frame, prefix in ((layout.FORECAST_CATEGORY, fig.by_category, "category"),
                                 (layout.FORECAST_BUCKET, fig.by_bucket, "bucket")):
        rows = [[out.label(f"{prefix}.{k}"), r["count"], wan(r["amount"]), wan(r["weighted"])]
                for k, r in frame.iterrows()]
        out.block(block, rows, total=[total_label, frame["count"].sum(), wan(frame["amount"].sum()),
                                      wan(frame["weighted"].sum())])
        out.sheet.chart_items[f"forecast_{prefix}"] = len(rows)

    row = layout.FORECAST_FLOW_ROW
    for key, frame, first in (("by_quarter", fig.by_quarter, "quarter"), ("by_rep", fig.by_rep, "rep"),
                              ("by_product", fig.by_product, "product"), ("by_region", fig.by_region, "region")):
        rows, total = _group_rows(frame, "-")
        total[0] = total_label
        row = out.table(key, row, (first, *_GROUP_COLUMNS), rows, total=total)
    out.widths(first=24, others=14, count=6)
    return out
