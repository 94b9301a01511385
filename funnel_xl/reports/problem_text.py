"""A data issue (数据问题) in the workbook's language: the label of its code, filled with its params.

The domain records what went wrong as a code and params (it may not read the label catalogue); this module
turns them into a sentence for the sheet and the terminal. A problem without a known code keeps its English
``message``, so nothing the domain says is ever lost.
"""

from __future__ import annotations

import re
import string
from functools import lru_cache
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
    template = label(key, lang)
    try:
        text = template.format_map({name: _shown(fields[name], lang) for name in _placeholders(template)
                                    if name in fields})
    except (KeyError, IndexError, ValueError):  # a label naming a param this problem lacks: keep the message
        return problem.message
    for note in ("left_blank", "not_counted"):
        if params.get(note):
            text += label(f"problem_note.{note}", lang)
    return text


def problem_messages(problems: list[Problem], lang: str) -> list[str]:
    """``problem_message`` of each problem, worked out once per kind of problem and value (a recalculation of an
    imported table may find tens of thousands, most of them alike); the row counts only where a label shows it."""
    seen: dict[tuple, str] = {}
    out = []
    for problem in problems:
        key = (problem.code, problem.sheet, problem.column, problem.value.__class__, problem.value, problem.params,
               problem.row if _shows_row(problem.code, lang) else None, problem.message)
        try:
            text = seen.get(key)
        except TypeError:  # a value or param that cannot be a key
            out.append(problem_message(problem, lang))
            continue
        if text is None:
            text = seen[key] = problem_message(problem, lang)
        out.append(text)
    return out


@lru_cache(maxsize=None)
def _shows_row(code: str | None, lang: str) -> bool:
    key = f"problem.{code}"
    return code is not None and key in catalogue() and "row" in _placeholders(label(key, lang))


@lru_cache(maxsize=None)
def _placeholders(template: str) -> frozenset[str]:
    """The names a label's placeholders use ({value}, {rows[0]} -> value, rows): only those are shown."""
    return frozenset(re.split(r"[.\[!:]", name, maxsplit=1)[0]
                     for _, name, _, _ in string.Formatter().parse(template) if name)


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
