"""The first screen's blocks: the KPI strip, the period grid and what needs attention, written over computed figures.

Each writer takes the figures it shows (``domain.outlook`` / ``domain.attention``), not a whole recalculation, so
the same block heads a team's 预测, a subset of its reps, or a company roll-up.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from funnel_xl.domain.attention import ATTENTION_LISTS
from funnel_xl.domain.outlook import PERIODS, RATIO_KEYS, STRIP_KEYS, TEAM
from funnel_xl.reports.table import SheetLayout, limited, rep_name, stage_name, wan
from funnel_xl.workbook import layout
from funnel_xl.workbook.ooxml import quote_sheet

# The lists are short, so a manager reads them at the top of the sheet: the largest cases, then how many more (each
# list is whole where it lives: the claims and the dates to update below on 预测, stalled deals on 漏斗).
ATTENTION_LIMIT = 20


def kpi_strip(out: SheetLayout, strip: dict, change: dict | None, row: int = layout.FORECAST_STRIP_ROW) -> int:
    """The strip at ``row``: a section title, then per figure its name, its value (万元, or % for the outlook) and
    its change since last week (▲/▼ and the amount; a note instead when there is no earlier snapshot).
    Returns the first free row."""
    out.sheet.put(row, 1, out.label("block.strip"), "section")
    has_change = bool(change) and any(v is not None for v in change.values())
    for i, key in enumerate(STRIP_KEYS, start=1):
        ratio = key in RATIO_KEYS
        out.sheet.put(row + 1, i, out.label(f"strip.{key}"), "kpi_label")
        value = strip.get(key)
        style = "kpi_percent" if ratio else "kpi_gap" if key == "gap_to_target" else "kpi_value"
        out.sheet.put(row + 2, i, value if ratio else wan(value), style)
        moved = (change or {}).get(key)
        if moved is None:
            out.sheet.put(row + 3, i, "-" if has_change else None, "kpi_none")
        else:
            out.sheet.put(row + 3, i, moved if ratio else wan(moved), "kpi_change_percent" if ratio else "kpi_change")
    out.sheet.heights[row + 1] = 32
    out.sheet.heights[row + 2] = 26
    if not has_change:
        out.sheet.put(row + 4, 1, out.label("strip.no_previous"), "note")
    return row + 5


def _grid_row(out: SheetLayout, r: pd.Series) -> list:
    return [wan(r[c]) for c in ("quota", "closed", "commit", "best_case", "pipeline", "weighted", "gap")]


def period_grid_team(out: SheetLayout, grid: pd.DataFrame, block: layout.Block = layout.FORECAST_GRID) -> int:
    """The team's three periods (this quarter, next quarter, this year) at a fixed block."""
    rows = [[out.label(f"period.{p}"), *_grid_row(out, grid.loc[(TEAM, p)])] for p in PERIODS]
    return out.block(block, rows)


def period_grid_by_rep(out: SheetLayout, grid: pd.DataFrame, row: int) -> int:
    """Each rep's three periods, in the grid's order (the reps table's), the rep named on the first row only."""
    rows = []
    for (rep, period), r in grid.iterrows():
        if rep == TEAM:
            continue
        rows.append([rep_name(out, rep) if period == PERIODS[0] else "", out.label(f"period.{period}"),
                     *_grid_row(out, r)])
    return out.table("period_grid", row, ("rep", *layout.GRID_COLUMNS), rows)


def _link(opportunity_sheet: str, row) -> str | None:
    return None if row is None or pd.isna(row) else f"{quote_sheet(opportunity_sheet)}!A{int(row)}"


def _date(value) -> str:
    return "" if value is None or pd.isna(value) else pd.Timestamp(value).date().isoformat()


def _detail(out: SheetLayout, key: str, d, methodology, as_of: dt.date) -> str:
    """What makes a deal a case of list ``key``, in one line."""
    lang, fmt = out.lang, lambda name, **v: out.label(f"attention.{name}").format(**v)
    if key == "claimed_above_evidence":
        return fmt("claim_detail", claimed=stage_name(methodology, d.claimed_stage, lang),
                   assessed=stage_name(methodology, d.derived_stage, lang), difference=wan(d.difference))
    if key == "overdue":
        return fmt("overdue_detail", date=_date(d.close_date), days=(pd.Timestamp(as_of) - d.close_date).days)
    if key == "stalled":
        return fmt("stalled_detail", stage=stage_name(methodology, d.stage, lang), days=int(d.days_in_stage))
    if key == "never_seen":
        return fmt("never_seen_detail", date=_date(d.close_date))
    return fmt("not_assessed_detail", stage=stage_name(methodology, d.claimed_stage, lang))


def attention_lists(out: SheetLayout, lists: dict[str, pd.DataFrame], row: int, *, methodology, as_of: dt.date,
                    opportunity_sheet: str, stall_days: int) -> tuple[int, dict[str, int]]:
    """Each non-empty list of deals: ID (a link to its row on 商机), customer, rep, amount and what makes it a case.
    Returns the first free row and the section row of each list written (for the summary's links)."""
    at = {}
    for key in ATTENTION_LISTS:
        frame = lists[key]
        if not len(frame):
            continue
        shown, more = limited(frame, out.lang, ATTENTION_LIMIT)
        first = row + 2
        rows = [[d.id, d.customer, rep_name(out, d.rep), wan(d.amount), _detail(out, key, d, methodology, as_of)]
                for d in shown.itertuples()]
        at[key] = row
        title = f"attention_{key}"
        end = out.table(title, row, ("id", "customer", "rep", "amount_wan", "detail"), rows, note=more)
        targets = [_link(opportunity_sheet, d.row) for d in shown.itertuples()]
        if key == "stalled":
            out.sheet.put(row, 1, out.label(f"block.{title}").format(days=stall_days), "section")
        elif key == "claimed_above_evidence" and any(targets):  # the hint only where a click opens the deal
            out.sheet.put(row, 1, out.label(f"block.{title}") + out.label("attention.click_id"), "section")
        for i, (d, target) in enumerate(zip(shown.itertuples(), targets)):
            if target:
                out.sheet.links[(first + i, 1)] = target
                out.sheet.put(first + i, 1, d.id, "link")
        row = end
    return row, at


def attention_summary(out: SheetLayout, summary: pd.DataFrame, problems: tuple[int, float], targets: dict[str, str],
                      block: layout.Block = layout.FORECAST_ATTENTION) -> int:
    """Count and amount per list (the data issues: their count and the amount left out), each name a link to its
    list (``targets``: list key -> reference) where it has one."""
    rows = [[out.label(f"attention.{k}"), int(r["count"]), wan(r["amount"])] for k, r in summary.iterrows()]
    rows.append([out.label("attention.data_problems"), problems[0], wan(problems[1])])
    end = out.block(block, rows)
    keys = [*summary.index, "data_problems"]
    for i, key in enumerate(keys):
        if key in targets:
            cell = (block.first_data_row + i, block.first_col)
            out.sheet.links[cell] = targets[key]
            out.sheet.put(*cell, out.sheet.value(*cell), "link")
    return end
