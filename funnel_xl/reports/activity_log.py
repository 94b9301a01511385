"""The master's 工作记录 sheet: the reps' reported weeks, read from it and written back whole by the tool.

Kept apart from the rep's 本周工作 form (``forms/activity.py``): a recalculation reads this table on every run and
needs no spreadsheet library for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from funnel_xl.domain.columns import ACTIVITY, columns
from funnel_xl.labels import LANGUAGES, label
from funnel_xl.workbook.model import OutputSheet

if TYPE_CHECKING:
    from funnel_xl.forms.activity import ActivityReport

HEADER_ROW = 4  # of the master's 工作记录 sheet


def activity_headers(lang: str) -> list[str]:
    return [label(spec.label, lang) for spec in columns(ACTIVITY)]


def existing_activity(rows: list[list[Any]]) -> pd.DataFrame:
    """The activity table as the 工作记录 sheet holds it (under a header in either language), by column key; the
    week as a date and the value as a float."""
    keys = [spec.key for spec in columns(ACTIVITY)]
    headers = {tuple(activity_headers(lang)) for lang in LANGUAGES}
    found: list[list[Any]] = []
    for i, row in enumerate(rows):
        cells = tuple(str(v).strip() if v is not None else "" for v in row[: len(keys)])
        if cells in headers:
            found = [(list(r) + [None] * len(keys))[: len(keys)] for r in rows[i + 1:]
                     if any(v not in (None, "") for v in r)]
            break
    frame = pd.DataFrame(found, columns=keys)
    frame["week"] = pd.to_datetime(frame["week"], errors="coerce").dt.date
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
    return frame


def merged_activity(existing: pd.DataFrame, reports: list[tuple[ActivityReport, str]]) -> pd.DataFrame:
    """The table with each report's values put in: a later value for the same rep, week and measure replaces the
    earlier one (a rep correcting last week's figure)."""
    new = [{"rep": r.rep, "week": r.week, "measure": m, "measure_name": r.names.get(m, m), "value": v,
            "reported": reported} for r, reported in reports for m, v in r.values.items()]
    table = pd.concat([existing, pd.DataFrame(new, columns=existing.columns)], ignore_index=True)
    table = table.drop_duplicates(["rep", "week", "measure"], keep="last")
    return table.sort_values(["rep", "week", "measure"], kind="stable", ignore_index=True)


def activity_log_sheet(table: pd.DataFrame, lang: str) -> OutputSheet:
    """工作记录: title, note, the registry's header, a row per rep, week and measure."""
    sheet = OutputSheet("activity")
    sheet.put(1, 1, label("title.activity", lang), "title")
    sheet.put(2, 1, label("form.activity.log_note", lang), "stamp")
    sheet.put_row(HEADER_ROW, 1, activity_headers(lang), "header")
    for i, row in enumerate(table.itertuples(index=False), start=HEADER_ROW + 1):
        sheet.put_row(i, 1, [row.rep, row.week, row.measure, row.measure_name, row.value, row.reported],
                      ["text", "date", "text", "text", "decimal", "text"])
    sheet.widths.update({1: 12, 2: 12, 3: 20, 4: 30, 5: 10, 6: 36})
    return sheet
