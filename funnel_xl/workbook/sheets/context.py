"""What every sheet writer needs: the open workbook, its formats, the language, the methodology and the data.

Also the small helpers the writers share: writing a Python value into a cell as the right Excel type, and
structured references (``tblX[[#This Row],[header]]``) with Excel's escaping, so formulas name table columns
rather than addresses and keep working when a user adds rows or moves a table.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from funnel_xl.domain.parsing import is_blank  # noqa: F401  (re-exported for the sheet writers)
from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from funnel_xl.domain.methodology import Methodology
from funnel_xl.domain.settings import ForecastSettings
from funnel_xl.labels import label
from funnel_xl.workbook.ooxml import check_sheet_name



def code_name(key: str) -> str:
    """The code name of a sheet (its VBA document module has the same name): 'sh' + the key in CamelCase."""
    return "sh" + "".join(part.capitalize() for part in key.split("_"))


@dataclass
class BuildContext:
    """One build: the workbook being written and everything its sheets are made from."""

    workbook: Workbook
    formats: dict[str, Format]
    lang: str
    methodology: Methodology
    opportunities: pd.DataFrame      # canonical columns (may be empty)
    reps: pd.DataFrame               # canonical columns (may be empty)
    cached: pd.DataFrame             # win_rate, weighted, derived_stage, stage_gap aligned to opportunities
    vba: bool = True
    settings: ForecastSettings = ForecastSettings()  # written to 阶段设置; the cached values follow its basis
    examples: bool = False           # 函数示例 is built (a developer's sheet: behind a build option)
    sheets: dict[str, Worksheet] = field(default_factory=dict)

    def label(self, key: str, **fields: object) -> str:
        text = label(key, self.lang)
        return text.format(**fields) if fields else text

    def add_sheet(self, key: str, name: str) -> Worksheet:
        """A new worksheet with its code name set (the VBA project has a document module of that name); a name
        Excel would refuse (a translation too long, say) stops the build with the reason."""
        sheet = self.workbook.add_worksheet(check_sheet_name(name))
        if self.vba:
            sheet.set_vba_name(code_name(key))
        self.sheets[key] = sheet
        return sheet


def write_value(sheet: Worksheet, row: int, col: int, value: object, fmt: Format | None) -> None:
    """Write a Python value as the matching Excel type: blank, number, date, boolean or text."""
    if is_blank(value):
        sheet.write_blank(row, col, None, fmt)
    elif isinstance(value, (pd.Timestamp, dt.datetime)):
        sheet.write_datetime(row, col, pd.Timestamp(value).to_pydatetime().replace(tzinfo=None), fmt)
    elif isinstance(value, dt.date):
        sheet.write_datetime(row, col, dt.datetime.combine(value, dt.time()), fmt)
    elif isinstance(value, bool):
        sheet.write_boolean(row, col, value, fmt)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        sheet.write_number(row, col, float(value), fmt)
    elif hasattr(value, "item"):  # numpy scalars
        write_value(sheet, row, col, value.item(), fmt)
    else:
        sheet.write_string(row, col, str(value), fmt)


_ESCAPED = "[]#'"


def escape_header(header: str) -> str:
    """A column header as it must appear inside a structured reference (Excel escapes [ ] # ' with ')."""
    return "".join(f"'{ch}" if ch in _ESCAPED else ch for ch in header)


def this_row(table: str, header: str) -> str:
    """Structured reference to the current row's cell of a table column."""
    return f"{table}[[#This Row],[{escape_header(header)}]]"


def column_ref(table: str, header: str) -> str:
    """Structured reference to the data cells of a whole table column."""
    return f"{table}[[#Data],[{escape_header(header)}]]"


def quoted(text: str) -> str:
    """A text as a formula string literal."""
    return '"' + text.replace('"', '""') + '"'


def excel_date(value: object) -> dt.datetime | None:
    """A date-like value as a naive datetime, or None when blank."""
    if is_blank(value):
        return None
    return pd.Timestamp(value).to_pydatetime().replace(tzinfo=None)
