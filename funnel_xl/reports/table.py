"""Lay out labelled tables on an output sheet: section title, header row, data rows, optional total row.

Each column key decides its style (万元 amounts, percentages, counts, dates), so every report writer lays
tables out the same way and a manager sees the same formats on every sheet.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import pandas as pd

from funnel_xl.labels import label
from funnel_xl.workbook.layout import OWNED_ROW, STAMP_ROW, TITLE_ROW, Block
from funnel_xl.workbook.model import OutputSheet

WAN = 10_000.0
# Detail lists (stage gaps, stalled deals, movement, the deals that carry the claim, those to re-date, the rows left
# out) show the most important rows first and stop here: a manager
# reads the top of such a list, and a 100,000-row pipeline would otherwise write tens of thousands of rows on
# every recalculation. The sheet says how many were left out. Data issues are never cut.
DETAIL_LIMIT = 500

_PERCENT = {"win_rate", "conversion_to_next", "conversion_to_won", "ideal_share", "actual_share", "attainment",
            "coverage", "coverage_target", "observed_rate", "ci_low", "ci_high", "suggested_rate"}
_INTEGER = {"count", "open_count", "won_count", "reached_count", "ideal_count", "actual_count", "count_needed",
            "tenure_months", "row", "closed_count", "errors", "warnings", "days_in_stage",
            "problem_count"}
_DECIMAL = {"avg_days_in_stage", "gap_count"}
_DATE = {"close_date", "first_seen", "snapshot_date"}


def style_for(column: str) -> str:
    if column == "gap_wan":
        return "gap_wan"
    if column.endswith("_wan"):
        return "money_wan"
    if column in _PERCENT:
        return "percent"
    if column in _INTEGER:
        return "integer"
    if column in _DECIMAL:
        return "decimal"
    if column in _DATE:
        return "date"
    return "text"


def total_style(style: str) -> str:
    return {"money_wan": "total_money_wan", "integer": "total_integer", "percent": "total_percent",
            "money": "total_money"}.get(style, "total_text")


def wan(value: Any) -> float | None:
    """CNY to 万元, keeping blanks blank."""
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v / WAN


def group_name(out: "SheetLayout", by: str, name) -> str:
    """A group as the sheets name it: a blank rep is 未分配 (unassigned), a blank close quarter has no close date,
    any other blank group shows "-"."""
    if not (name is None or (not isinstance(name, str) and pd.isna(name)) or name == ""):
        return name
    blank = {"rep": "rep.unassigned", "close_quarter": "category.no_close_date"}.get(by)
    return out.label(blank) if blank else "-"


def rep_name(out: "SheetLayout", rep) -> str:
    return group_name(out, "rep", rep)


def in_rep_order(frame: pd.DataFrame, order, column: str | None = None) -> pd.DataFrame:
    """``frame``'s rows in the one rep order every per-rep list uses (``order``: the reps table's, as
    ``Figures.quota`` lists them), reps not in it after them by name, the unassigned last; by the index, or by
    ``column`` where given. Rows of one rep keep their order."""
    rank = {r: i for i, r in enumerate(o for o in order if not pd.isna(o))}
    reps = frame.index.to_series() if column is None else frame[column]
    key = [(0, rank[r], "") if r in rank else (2, 0, "") if pd.isna(r) else (1, 0, str(r)) for r in reps]
    return frame.iloc[sorted(range(len(frame)), key=key.__getitem__)]


def stage_name(methodology, key, lang: str) -> str:
    """A stage key as the sheet names it ("-" where there is none)."""
    if key is None or (not isinstance(key, str) and pd.isna(key)):
        return "-"
    try:
        return methodology.stage(key).name(lang)
    except KeyError:
        return str(key)


def criteria_text(methodology, keys, lang: str) -> str:
    """Criterion keys ("a, b") in words, so a rep knows what to do next (keys mean nothing to a manager)."""
    if not isinstance(keys, str) or not keys:
        return ""
    texts = {c.key: c.text(lang) for c in methodology.criteria()}
    return label("out.list_separator", lang).join(texts.get(k.strip(), k.strip()) for k in keys.split(","))


def limited(frame, lang: str, limit: int = DETAIL_LIMIT):
    """The first ``limit`` rows of an already ordered frame, and the note saying how many more there are."""
    if len(frame) <= limit:
        return frame, None
    return frame.head(limit), label("out.more_rows", lang).format(shown=limit, count=len(frame) - limit)


class SheetLayout:
    """Writes one output sheet top to bottom in the workbook's language."""

    def __init__(self, key: str, lang: str, stamp: str):
        self.sheet = OutputSheet(key)
        self.lang = lang
        self.sheet.put(TITLE_ROW, 1, label(f"title.{key}", lang), "title")
        self.sheet.heights[TITLE_ROW] = 24
        self.sheet.put(STAMP_ROW, 1, stamp, "stamp")
        self.sheet.put(OWNED_ROW, 1, label("out.owned", lang), "note")

    def label(self, key: str) -> str:
        return label(key, self.lang)

    def table(
        self,
        block_key: str,
        section_row: int,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        total: Sequence[Any] | None = None,
        first_col: int = 1,
        styles: Sequence[str] | None = None,
        note: str | None = None,
    ) -> int:
        """Write a table; returns the first free row after it (one blank row of air included)."""
        styles = list(styles) if styles else [style_for(c) for c in columns]
        r = self._heading(block_key, section_row, columns, first_col)
        for values in rows:
            self.sheet.put_row(r, first_col, list(values), styles)
            r += 1
        if total is not None:
            self.sheet.put_row(r, first_col, list(total), [total_style(s) for s in styles])
            r += 1
        if note:
            self.sheet.put(r, first_col, note, "note")
            r += 1
        return r + 1

    def column_table(self, block_key: str, section_row: int, columns: Sequence[str],
                     values: Sequence[Sequence[Any]], styles: Sequence[str | Sequence[str]]) -> int:
        """``table`` for a long table given column by column (``values[j]`` the rows of ``columns[j]``; a column's
        style, or one per row), kept as a block of columns; returns the first free row after it."""
        r = self._heading(block_key, section_row, columns, 1)
        self.sheet.put_block(r, 1, values, styles)
        return r + (len(values[0]) if values else 0) + 1

    def _heading(self, block_key: str, section_row: int, columns: Sequence[str], first_col: int) -> int:
        """A table's section title and header row; returns the row its body starts on."""
        self.sheet.put(section_row, first_col, self.label(f"block.{block_key}"), "section")
        header = [self.label(f"outcol.{c}") for c in columns]
        self.sheet.put_row(section_row + 1, first_col, header, "header")
        self.sheet.heights[section_row + 1] = 30  # two lines: headers like 加权金额(万元) wrap
        return section_row + 2

    def block(self, block: Block, rows: Sequence[Sequence[Any]], *, total: Sequence[Any] | None = None) -> int:
        return self.table(block.key, block.section_row, block.columns, rows, total=total, first_col=block.first_col)

    def widths(self, first: float = 22, others: float = 14, count: int = 12) -> None:
        self.sheet.widths.update({1: first, **{c: others for c in range(2, count + 1)}})
