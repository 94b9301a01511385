"""A data issue (数据问题) in the workbook's language: the label of its code, filled with its params.

The domain records what went wrong as a code and params (it may not read the label catalogue); this module
turns them into a sentence for the sheet and the terminal. A problem without a known code keeps its English
``message``, so nothing the domain says is ever lost.
"""

from __future__ import annotations

from typing import Any

from funnel_xl.domain.schema import Problem, display_value
from funnel_xl.labels import catalogue, check_language, label

# How a list param (row numbers, rep names, stage names) reads in each language.
_LIST_SEPARATOR = {"zh-CN": "、", "en": ", "}


def problem_message(problem: Problem, lang: str) -> str:
    """What is wrong and what to type instead, in ``lang``; the English message when the code is unknown."""
    check_language(lang)
    key = f"problem.{problem.code}"
    if problem.code is None or key not in catalogue():
        return problem.message
    params = dict(problem.params)
    fields = {"value": problem.value, "column": problem.column, "sheet": problem.sheet, "row": problem.row,
              **params}
    try:
        text = label(key, lang).format_map({name: _shown(v, lang) for name, v in fields.items()})
    except (KeyError, IndexError, ValueError):  # a label naming a param this problem lacks: keep the message
        return problem.message
    for note in ("left_blank", "not_counted"):
        if params.get(note):
            text += label(f"problem_note.{note}", lang)
    return text


def problem_line(problem: Problem, lang: str) -> str:
    """One problem as a line of the terminal summary: sheet, row, column, the value, then the message; the column
    and the value only where the message does not name them already (it says “预计成交日期” 2026-01-31 once)."""
    message = problem_message(problem, lang)
    parts = [problem.sheet]
    if problem.row is not None:
        parts.append(label("problem_line.row", lang).format(row=problem.row))
    if problem.column and problem.column not in message:
        parts.append(label("problem_line.column", lang).format(column=problem.column))
    line = label("problem_line.separator", lang).join(parts)
    if problem.value is not None and display_value(problem.value) not in message:
        line += label("problem_line.value", lang).format(value=display_value(problem.value))
    return line + label("problem_line.message", lang).format(message=message)


def _shown(value: Any, lang: str) -> str:
    """A param as the user would read it: dates as YYYY-MM-DD, lists joined, blanks empty."""
    if value is None:
        return ""
    if isinstance(value, (tuple, list)):
        return _LIST_SEPARATOR[lang].join(_shown(v, lang) for v in value)
    return display_value(value)
