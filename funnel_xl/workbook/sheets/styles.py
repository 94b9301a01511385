"""Cell formats of the built workbook, the hidden _styles palette sheet, and column widths for Chinese text.

Every format starts from the workbook default font (DengXian, the Chinese Office default; LibreOffice and WPS
substitute a CJK font). The _styles sheet carries one sample cell per palette key so Recalculate takes its output
formats from the workbook itself (a user who restyles a sample restyles every output).
"""

from __future__ import annotations

import datetime as dt
import unicodedata

from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from funnel_xl.workbook.contract import STYLES_SHEET
from funnel_xl.workbook.layout import PALETTE, PALETTE_KEYS, palette_row

FONT_NAME = "DengXian"
FONT_SIZE = 11
# Theme-independent, so Excel shows DengXian rather than the theme's minor font.
DEFAULT_FORMAT = {"font_name": FONT_NAME, "font_size": FONT_SIZE, "font_scheme": "none"}

_INPUT_BORDER = {"border": 1, "border_color": "#D9D9D9"}
# Formats of the input sheets beyond the shared palette (computed columns are grey: "do not type here").
INPUT_FORMATS: dict[str, dict] = {
    "in_text": {**_INPUT_BORDER, "valign": "top"},
    "in_wrap": {**_INPUT_BORDER, "valign": "top", "text_wrap": True},
    "in_money": {**_INPUT_BORDER, "valign": "top", "num_format": "#,##0"},
    "in_date": {**_INPUT_BORDER, "valign": "top", "num_format": "yyyy-mm-dd"},
    "in_percent": {**_INPUT_BORDER, "valign": "top", "num_format": "0%"},
    "in_share": {**_INPUT_BORDER, "valign": "top", "num_format": "0%"},
    "in_integer": {**_INPUT_BORDER, "valign": "top", "num_format": "0"},
    "in_check": {**_INPUT_BORDER, "valign": "top", "align": "center"},
    "calc_percent": {**_INPUT_BORDER, "valign": "top", "num_format": "0%", "bg_color": "#F2F2F2"},
    "calc_money": {**_INPUT_BORDER, "valign": "top", "num_format": "#,##0", "bg_color": "#F2F2F2"},
    "calc_wan": {**_INPUT_BORDER, "valign": "top", "num_format": "#,##0.0", "bg_color": "#F2F2F2"},
    "calc_text": {**_INPUT_BORDER, "valign": "top", "bg_color": "#F2F2F2"},
    "calc_integer": {**_INPUT_BORDER, "valign": "top", "num_format": "0;-0;0", "align": "center",
                     "bg_color": "#F2F2F2"},
    "in_header": {"bold": True, "font_color": "#FFFFFF", "bg_color": "#2F5597", "text_wrap": True,
                  "valign": "vcenter", "align": "center", "border": 1, "border_color": "#BFBFBF"},
    "calc_header": {"bold": True, "font_color": "#FFFFFF", "bg_color": "#7F7F7F", "text_wrap": True,
                    "valign": "vcenter", "align": "center", "border": 1, "border_color": "#BFBFBF"},
    "check_header": {"bold": False, "font_color": "#1F3864", "bg_color": "#DDEBF7", "text_wrap": True,
                     "valign": "top", "align": "left", "border": 1, "border_color": "#BFBFBF", "font_size": 9},
    "guide_key": {"bold": True, "valign": "top", "text_wrap": True, "font_color": "#1F3864"},
    "guide_text": {"valign": "top", "text_wrap": True},
    "conf_key": {"font_name": "Consolas"},
}

# Sample values of the _styles sheet, so each sample cell shows what its format does.
_SAMPLES: dict[str, object] = {
    "integer": 1234, "money": 1234567, "money_wan": 123.5, "percent": 0.256, "decimal": 12.5,
    "date": dt.date(2026, 11, 20), "total_integer": 1234, "total_money": 1234567, "total_money_wan": 123.5,
    "total_percent": 0.256,
}


def make_formats(workbook: Workbook) -> dict[str, Format]:
    """One XlsxWriter format per palette key and per input-sheet key."""
    formats = {key: workbook.add_format(props) for key, props in PALETTE.items()}
    formats.update({key: workbook.add_format(props) for key, props in INPUT_FORMATS.items()})
    return formats


def write_styles_sheet(workbook: Workbook, formats: dict[str, Format]) -> Worksheet:
    """The hidden _styles sheet: row 1 a header, then per palette key its name (A) and a sample cell (B)."""
    sheet = workbook.add_worksheet(STYLES_SHEET)
    sheet.write_string(0, 0, "key")
    sheet.write_string(0, 1, "sample")
    for key in PALETTE_KEYS:
        row = palette_row(key) - 1
        sheet.write_string(row, 0, key)
        sample = _SAMPLES.get(key, key)
        if isinstance(sample, dt.date):
            sheet.write_datetime(row, 1, dt.datetime.combine(sample, dt.time()), formats[key])
        elif isinstance(sample, str):
            sheet.write_string(row, 1, sample, formats[key])
        else:
            sheet.write_number(row, 1, sample, formats[key])
    sheet.set_column(0, 1, 18)
    sheet.hide()
    return sheet


def text_width(text: object) -> float:
    """Display width of a text in Excel column units: a CJK (wide) character counts two."""
    return float(sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(text)))


def column_width(texts, *, minimum: float = 6.0, maximum: float = 40.0, padding: float = 2.0) -> float:
    """A column width that fits the widest of ``texts`` (header and values), within bounds."""
    widest = max((text_width(t) for t in texts if t is not None and t == t), default=0.0)
    return max(minimum, min(maximum, widest + padding))


def header_height(headers_and_widths, *, line_points: float = 14.0, minimum: float = 30.0,
                  maximum: float = 150.0) -> float:
    """Row height (points) that shows every wrapped header in full.

    Takes (header, column width) or (header, column width, font scale) items; a smaller font (scale < 1)
    fits more characters on a line and needs less height per line.
    """
    height = minimum
    for item in headers_and_widths:
        header, width, scale = (*item, 1.0) if len(item) == 2 else item
        usable = max((width - 1.0) / scale, 2.0)
        lines = -(-int(text_width(header)) // int(usable))
        height = max(height, lines * line_points * scale + 8)
    return min(maximum, height)


def wrapped_lines(text: str, width: float) -> int:
    """How many lines a wrapped text takes in a column of ``width`` units (explicit line breaks count)."""
    usable = max(int(width - 1.5), 2)
    return sum(max(1, -(-int(text_width(part)) // usable)) for part in str(text).split("\n"))
