"""A values-only .xlsx made of output sheets (no macros, no input tables): the company roll-up's workbook.

The report writers' ``OutputSheet``s are written with the palette's formats and, on the sheets that have them in
the master, the same charts over the rows written, so a director reads the roll-up as a team reads its 预测.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import xlsxwriter

from funnel_xl.errors import InputError
from funnel_xl.workbook.layout import CHARTS, PALETTE
from funnel_xl.workbook.model import OutputSheet
from funnel_xl.workbook.ooxml import check_sheet_name, parse_sheet_ref
from funnel_xl.workbook.sheets.outputs import chart_over
from funnel_xl.workbook.lock import excel_lock

@dataclass(frozen=True)
class BookTable:
    """An Excel table over cells a sheet already holds: a table the user types into (预测调整), read back by name."""

    sheet: str
    name: str
    header_row: int
    headers: tuple[str, ...]
    rows: int


# A bar per rep is readable up to about this many reps; a company has hundreds, which the table beside lists.
MAX_CHART_ITEMS = 60


def write_values_book(path: str | Path, sheets: list[tuple[str, OutputSheet]], lang: str,
                      tables: tuple[BookTable, ...] = ()) -> Path:
    """Write ``sheets`` (visible name, sheet) in order into ``path`` (.xlsx), replacing it atomically; ``tables``
    are Excel tables laid over cells of those sheets."""
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise InputError(f"{path.name}: the company workbook holds values only and must be named *.xlsx")
    if excel_lock(path) is not None:
        raise InputError(f"{path.name} is open in Excel: close it and run again")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.xlsx")
    book = xlsxwriter.Workbook(str(tmp), {"in_memory": True, "strings_to_numbers": False,
                                          "strings_to_formulas": False, "strings_to_urls": False})
    formats = {key: book.add_format(props) for key, props in PALETTE.items()}
    names = {name for name, _ in sheets}
    for name, sheet in sheets:
        ws = book.add_worksheet(check_sheet_name(name))
        links = _links_within(sheet, names)
        cells = sheet.cells
        for r, c in sorted(cells):  # the keys alone: a sort of (key, cell) pairs compares pairs, twice as slow
            cell = cells[(r, c)]
            fmt = formats.get(cell.style)
            value = cell.value
            if (r, c) in links:
                ws.write_url(r - 1, c - 1, f"internal:{links[(r, c)]}", fmt, str(value))
            elif value is None:
                ws.write_blank(r - 1, c - 1, None, fmt)
            elif isinstance(value, bool):
                ws.write_boolean(r - 1, c - 1, value, fmt)
            elif isinstance(value, (int, float)):
                ws.write_number(r - 1, c - 1, value, fmt)
            elif isinstance(value, dt.date):
                stamp = value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())
                ws.write_datetime(r - 1, c - 1, stamp, fmt)
            else:
                ws.write_string(r - 1, c - 1, str(value), formats["text"] if cell.style == "link" else fmt)
        for col, width in sheet.widths.items():
            ws.set_column(col - 1, col - 1, width)
        for row, height in sheet.heights.items():
            ws.set_row(row - 1, height)
        for spec in CHARTS:
            items = sheet.chart_items.get(spec.key)
            if spec.block.sheet == sheet.key and items is not None and items <= MAX_CHART_ITEMS:
                ws.insert_chart(spec.anchor, chart_over(book, spec, ws.name, items, lang), {"x_offset": 8, "y_offset": 4})
        for t in tables:
            if t.sheet == name:
                ws.add_table(t.header_row - 1, 0, t.header_row - 1 + t.rows, len(t.headers) - 1, {
                    "name": t.name, "style": "Table Style Light 9",
                    "columns": [{"header": h, "header_format": formats["header"]} for h in t.headers]})
        ws.set_landscape()
        ws.set_paper(9)
        ws.fit_to_pages(1, 0)
    book.close()
    tmp.replace(path)
    return path


def _links_within(sheet: OutputSheet, names: set[str]) -> dict[tuple[int, int], str]:
    """The sheet's links whose target is a sheet of this book; a link to a sheet the book has not (the team's 商机
    or 问题) is left out, and its text is written plain rather than looking like a link."""
    kept = {}
    for cell, target in sheet.links.items():
        ref = parse_sheet_ref(target)
        if ref is not None and ref.sheet in names and sheet.value(*cell) is not None:
            kept[cell] = target
    return kept
