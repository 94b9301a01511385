"""进展: sales progress this week against the last snapshot, by rep, pipeline movement, never-seen wins."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd

from funnel_xl.domain.figures import Figures
from funnel_xl.labels import label
from funnel_xl.reports.table import SheetLayout, in_rep_order, limited, rep_name, wan
from funnel_xl.reports.widths import DEFAULT_WIDTH, needed_width
from funnel_xl.workbook import layout


def _fmt(value) -> object:
    if isinstance(value, pd.Timestamp):
        return value.date()
    return value


# A company's weeks without some team's snapshot named under its weekly history, up to this many.
GAP_WEEKS_SHOWN = 8


def progress_sheet(fig: Figures, lang: str, stamp: str, weekly: pd.DataFrame | None = None,
                   gaps: Sequence[tuple[pd.Timestamp, Sequence[str]]] = ()) -> SheetLayout:
    """进展; ``gaps``: the company's weeks without some team's snapshot (``rollup.missing_weeks``), noted under the
    weekly history so a dip that is missing data is not read as a fall."""
    out = SheetLayout("progress", lang, stamp)
    p = fig.progress
    t = p.totals
    kpis = [("this_date", p.this_date, "date"), ("last_date", p.last_date, "date"),
            ("this_forecast", wan(t.get("this_forecast")), "money_wan"),
            ("this_achieved", wan(t.get("this_achieved")), "money_wan"),
            ("last_forecast", wan(t.get("last_forecast")), "money_wan"),
            ("last_achieved", wan(t.get("last_achieved")), "money_wan"),
            ("progress", wan(t.get("progress")), "money_wan")]
    out.sheet.put(4, 1, out.label("block.progress_kpi"), "section")
    out.sheet.put_row(5, 1, [out.label("outcol.kpi"), out.label("outcol.value")], "header")
    for i, (k, v, style) in enumerate(kpis):
        out.sheet.put_row(6 + i, 1, [out.label(f"kpi.{k}"), v], ["text", style])
    row = 6 + len(kpis)
    if p.last_date is None:
        out.sheet.put(row, 1, out.label("kpi.no_snapshot"), "note")
        row += 1
    row += 1

    if p.by_rep is not None:
        b = in_rep_order(p.by_rep, fig.quota.index).reset_index()  # the reps table's order, as every list
        rows = [[rep_name(out, r.rep), wan(r.this_forecast + r.this_achieved), wan(r.last_forecast + r.last_achieved),
                 wan(r.progress)] for r in b.itertuples()]
        total = [out.label("out.total"), wan((b["this_forecast"] + b["this_achieved"]).sum()),
                 wan((b["last_forecast"] + b["last_achieved"]).sum()), wan(b["progress"].sum())]
        row = out.table("progress_by_rep", row, ("rep", "this_total_wan", "last_total_wan", "progress_wan"), rows,
                        total=total)
    if p.summary is not None and len(p.summary):
        kinds = list(p.summary.columns)
        out.sheet.put(row, 1, out.label("block.movement_summary"), "section")
        out.sheet.put_row(row + 1, 1, [out.label("outcol.rep")] + [_kind(out, k) for k in kinds], "header")
        for i, (rep, r) in enumerate(p.summary.iterrows()):
            out.sheet.put_row(row + 2 + i, 1, [rep_name(out, rep), *[int(r[k]) for k in kinds]], ["text"] + ["integer"] * len(kinds))
        row += len(p.summary) + 3
    if p.moves is not None and len(p.moves):
        moves, more = limited(p.moves.sort_values("amount", ascending=False, kind="stable"), lang)
        rows = [[m.id, rep_name(out, m.rep), m.customer, _kind(out, m.kind), _value(fig, m.old_value, lang),
                 _value(fig, m.new_value, lang), m.amount / 10_000 if pd.notna(m.amount) else None]
                for m in moves.itertuples()]
        row = out.table("movement", row, ("id", "rep", "customer", "kind", "old", "new", "amount_wan"), rows,
                        note=more)
    ns = fig.never_seen
    rows = [[r.id, rep_name(out, r.rep), r.customer, wan(r.amount), _fmt(r.close_date), _fmt(r.first_seen)]
            for r in ns.itertuples()]
    row = out.table("never_seen", row, ("id", "rep", "customer", "amount_wan", "close_date", "first_seen"), rows)
    rows = []
    if weekly is not None and len(weekly):
        w = weekly.groupby("snapshot_date").agg(forecast=("forecast", "sum"), achieved=("achieved", "sum"))
        # Dates as text: they are the chart's categories, and a date serial would show as a number there.
        rows = [[d.strftime("%Y-%m-%d"), wan(r.forecast), wan(r.achieved), wan(r.forecast + r.achieved)]
                for d, r in w.iterrows()]
    # Written without history too: its header names the chart's series, and says where the weeks will appear.
    end = out.block(layout.PROGRESS_HISTORY, rows)
    if gaps:
        shown = [out.label("rollup.week_gap").format(week=w.strftime("%Y-%m-%d"),
                                                      teams=out.label("rollup.list_sep").join(teams))
                 for w, teams in gaps[:GAP_WEEKS_SHOWN]]
        more = out.label("rollup.more_weeks").format(count=len(gaps)) if len(gaps) > GAP_WEEKS_SHOWN else ""
        out.sheet.put(end - 1, layout.PROGRESS_HISTORY.first_col,
                      out.label("rollup.week_gaps").format(weeks=out.label("rollup.week_sep").join(shown) + more),
                      "note")
    out.sheet.chart_items["progress_history"] = len(rows)
    out.sheet.widths.update({c: 13 for c in range(12, 16)})
    out.widths(first=16, others=14, count=10)
    out.sheet.widths[1] = 30
    _one_line_headers_beside_history(out, len(rows))
    return out


def _one_line_headers_beside_history(out: SheetLayout, weeks: int) -> None:
    """A two-line header row of a table on the left would stretch the week beside it in the weekly history (a gap
    in the list the chart draws): there the header's columns are made wide enough for one line instead."""
    history = layout.PROGRESS_HISTORY
    beside = range(history.section_row + 2, history.section_row + 2 + weeks)
    for r in [r for r in out.sheet.heights if r in beside]:
        del out.sheet.heights[r]
        for (row, col), cell in out.sheet.loose.items():
            if row == r and col < history.first_col and cell.style == "header":
                width = round(needed_width(cell.value, "header") + 0.5, 1)  # half a unit spare
                out.sheet.widths[col] = max(out.sheet.widths.get(col, DEFAULT_WIDTH), width)


def _kind(out: SheetLayout, kind: str) -> str:
    try:
        return out.label(f"movement.{kind}")
    except KeyError:
        return kind


def _value(fig: Figures, value, lang: str):
    """A before/after value in words a manager reads: stage and status names, dates, amounts in 万."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, str) and value in fig.methodology.stage_keys:
        return fig.methodology.stage(value).name(lang)
    if isinstance(value, str) and value in ("open", "won", "lost"):
        return label(f"status.{value}", lang)
    if isinstance(value, (pd.Timestamp, dt.date)):
        return value.strftime("%Y-%m-%d")  # text: the column mixes dates, stages and amounts
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value / 10_000:,.1f}万" if lang == "zh-CN" else f"{value:,.0f}"
    return value
