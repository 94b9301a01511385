"""数据问题: every problem found in the input, where it is and what was expected."""

from __future__ import annotations

from funnel_xl.domain.schema import Problem, display_value
from funnel_xl.reports.problem_text import problem_messages
from funnel_xl.reports.table import SheetLayout
from funnel_xl.workbook import layout


def problems_sheet(problems: list[Problem], lang: str, stamp: str) -> SheetLayout:
    out = SheetLayout("problems", lang, stamp)
    severity = {s: out.label(f"severity.{s}") for s in {p.severity for p in problems}}
    rows = [[p.sheet, p.row, p.column, None if p.value is None else display_value(p.value), message,
             severity[p.severity]] for p, message in zip(problems, problem_messages(problems, lang))]
    out.block(layout.PROBLEMS, rows)
    out.sheet.widths.update({1: 12, 2: 8, 3: 18, 4: 22, 5: 70, 6: 14})
    return out
