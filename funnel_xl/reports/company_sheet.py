"""公司汇总: the roll-up's first sheet. The company's totals, the KPI tables by team, region, manager and any
hierarchy level, where the teams' methodologies differ, the ids found in more than one team, and the teams read."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from funnel_xl.domain.figures import Figures
from funnel_xl.reports.table import SheetLayout, group_name, limited, stage_name, wan

_KPIS = ("weighted_forecast", "claimed_weighted_forecast", "claim_difference", "achieved", "open_pipeline",
         "team_quota", "open_count", "won_count", "lost_count", "left_out_count")
_MONEY = {"weighted_forecast", "claimed_weighted_forecast", "claim_difference", "achieved", "open_pipeline",
          "team_quota", "progress"}
_TABLE_COLUMNS = ("quota_wan", "achieved_wan", "attainment", "weighted_wan", "claimed_weighted_forecast_wan",
                  "weighted_this_year_wan", "coverage", "pipeline_wan", "open_count", "won_count", "progress_wan")


def kpi_strip(out: SheetLayout, row: int, fig: Figures) -> int:
    """The company's headline figures. The one place the first screen's KPI strip (issue 14) takes over when it
    lands: it reads the same ``Figures``."""
    out.sheet.put(row, 1, out.label("block.company_kpi"), "section")
    out.sheet.put_row(row + 1, 1, [out.label("outcol.kpi"), out.label("outcol.value")], "header")
    values = {**fig.kpi, "progress": fig.progress.totals.get("progress")}
    keys = (*_KPIS, "progress") if fig.progress.last_date is not None else _KPIS
    for i, k in enumerate(keys):
        value, style = (wan(values[k]), "money_wan") if k in _MONEY else (values[k], "integer")
        out.sheet.put_row(row + 2 + i, 1, [out.label(f"kpi.{k}"), value], ["text", style])
    return row + 3 + len(keys)


def kpi_table(out: SheetLayout, row: int, block: str, by: str, table: pd.DataFrame, *, title: str | None = None) -> int:
    """One KPI table (``rollup.kpi_by``): a row per group and the total of the same sums."""
    rows = [[group_name(out, by, name), *_kpi_values(r)] for name, r in table.iterrows()]
    totals = table.sum(numeric_only=True, min_count=1)
    quota = totals["quota"] if totals["quota"] > 0 else float("nan")
    totals["attainment"] = totals["achieved"] / quota
    totals["coverage"] = (totals["achieved"] + totals["weighted_this_year"]) / quota
    start = row
    row = out.table(block, row, ((by if by in ("team", "region", "manager") else "group"), *_TABLE_COLUMNS), rows,
                    total=[out.label("out.total"), *_kpi_values(totals)])
    if title:
        out.sheet.put(start, 1, title, "section")
    return row


def _kpi_values(r: pd.Series) -> list:
    return [wan(r.quota), wan(r.achieved), r.attainment, wan(r.weighted), wan(r.claimed_weighted),
            wan(r.weighted_this_year), r.coverage, wan(r.pipeline), r.open_count, r.won_count, wan(r.progress)]


def company_sheet(fig: Figures, lang: str, stamp: str, *, tables: Sequence[tuple[str, str, pd.DataFrame]],
                  levels: Sequence[tuple[str, pd.DataFrame]], differences: pd.DataFrame, duplicates: pd.DataFrame,
                  teams: pd.DataFrame, no_last_week: Sequence[str] = (), skipped: Sequence[str] = ()) -> SheetLayout:
    """``tables``: (block, by, kpi table) for team, region and manager; ``levels``: (level name, kpi table) from a
    hierarchy file; ``teams``: team, file, methodology, problem_count, rejected_count; ``skipped``: the company
    workbooks found among the teams and left out."""
    out = SheetLayout("company", lang, stamp)
    row = kpi_strip(out, 4, fig)
    if no_last_week:
        out.sheet.put(row - 1, 1, out.label("rollup.no_last_week").format(teams=", ".join(no_last_week)), "note")
        row += 1
    for block, by, table in tables:
        row = kpi_table(out, row, block, by, table)
    for level, table in levels:
        row = kpi_table(out, row, "by_level", level, table,
                        title=out.label("block.by_level").format(level=level))
    row = _differences(out, row, fig, differences)
    row = _duplicates(out, row, duplicates)
    rows = [[t.team, t.file, t.methodology, t.problem_count, t.rejected_count] for t in teams.itertuples()]
    out.table("teams", row, ("team", "file", "methodology", "problem_count", "rejected_count"), rows,
              styles=["text", "text", "text", "integer", "integer"],
              note=out.label("rollup.skipped").format(files=", ".join(skipped)) if skipped else None)
    out.widths(first=26, others=13, count=12)
    out.sheet.widths[2] = 16
    out.sheet.widths[3] = 24  # the teams' methodology names
    return out


def _differences(out: SheetLayout, row: int, fig: Figures, differences: pd.DataFrame) -> int:
    if differences.empty:
        out.sheet.put(row, 1, out.label("block.methodology_differences"), "section")
        out.sheet.put(row + 1, 1, out.label("rollup.methodologies_agree"), "note")
        return row + 3
    rows, styles = [], []
    for d in differences.itertuples():
        item = out.label(f"rollup.item_{d.item}")
        if d.item == "win_rate":
            item = item.format(stage=stage_name(fig.methodology, d.stage, out.lang))
        value = out.label(f"basis.{d.value}") if d.item == "basis" else d.value
        rows.append([item, d.team, value])
        styles.append(["text", "text", "percent" if d.item == "win_rate" else "text"])
    start = row
    row = out.table("methodology_differences", row, ("item", "team", "value"), rows)
    for i, s in enumerate(styles):  # a rate is a percentage, a basis a word, a month a number
        out.sheet.put(start + 2 + i, 3, rows[i][2], s[2])
    return row


def _duplicates(out: SheetLayout, row: int, duplicates: pd.DataFrame) -> int:
    if duplicates.empty:
        out.sheet.put(row, 1, out.label("block.duplicate_ids"), "section")
        out.sheet.put(row + 1, 1, out.label("rollup.no_duplicates"), "note")
        return row + 3
    shown, more = limited(duplicates, out.lang)  # a team given twice repeats every id
    rows = [[d.id, d.teams, d.count] for d in shown.itertuples()]
    return out.table("duplicate_ids", row, ("id", "teams", "count"), rows, note=more)
