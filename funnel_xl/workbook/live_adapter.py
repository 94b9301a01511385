"""The workbook port over a live Excel book (xlwings): bulk reads and writes, a constant number of Range calls.

Each round trip to Excel costs far more than the work in Python, so a table is read with one ``.value`` of its
whole range (header and body), and an output sheet is written with one clear of its used range, one assignment of
a 2-D list, one number-format call per run of like-formatted cells in a column, and one call per column width or
set row height: the count grows with the number of blocks and columns the report has, never with data rows.
Number formats come from the style palette (``layout.PALETTE``), the same keys the file adapter renders.
"""

from __future__ import annotations

import sys
from typing import Any

import pandas as pd

from funnel_xl.errors import WorkbookFormatError
from funnel_xl.workbook import layout
from funnel_xl.workbook.model import OutputSheet
from funnel_xl.workbook.port import RawTable

GENERAL = "General"


class LiveWorkbook:
    """A workbook open in Excel, reached through an ``xlwings.Book`` (``xw.Book.caller()`` behind a button)."""

    def __init__(self, book: Any, *, save_book: bool = True) -> None:
        self.book = book
        self.save_book = save_book
        self._tables: dict[str, tuple[Any, Any]] | None = None
        self._pending: dict[str, OutputSheet] = {}

    # -- reading -------------------------------------------------------------------------------------
    def sheet_names(self) -> list[str]:
        return [s.name for s in self.book.sheets]

    def _table_index(self) -> dict[str, tuple[Any, Any]]:
        """Every Excel table by name, found once: a few calls per sheet, never per row."""
        if self._tables is None:
            self._tables = {}
            for sheet in self.book.sheets:
                for table in sheet.tables:
                    self._tables.setdefault(table.name, (sheet, table))
        return self._tables

    def read_table(self, table: str, *, text_columns: frozenset[str] = frozenset()) -> RawTable:
        found = self._table_index().get(table)
        if found is None:
            raise WorkbookFormatError(
                f"{self.book.name}: the table {table!r} is missing (Excel table names: "
                f"{', '.join(sorted(self._table_index())) or 'none'})"
            )
        sheet, tbl = found
        rng = tbl.range
        block = rng.options(ndim=2).value  # the one read: header and body together
        first_row = rng.row
        header = [("" if h is None else str(h)).strip() for h in block[0]] if block else []
        body = block[1:]
        frame = pd.DataFrame(body, columns=header, index=pd.RangeIndex(first_row + 1, first_row + 1 + len(body)),
                             dtype=object)
        # Excel hands blanks over as None; a cell holding only "" is blank to the user too (the file adapter agrees).
        frame = frame.replace("", None)
        return RawTable(table, sheet.name, frame)

    # -- writing -------------------------------------------------------------------------------------
    def write_sheets(self, sheets: dict[str, OutputSheet]) -> None:
        names = set(self.sheet_names())
        for name in sheets:
            if name not in names:
                raise WorkbookFormatError(f"{self.book.name}: the output sheet {name!r} is missing")
        for name, sheet in sheets.items():
            self._write(self.book.sheets[name], sheet)
        self._pending.update(sheets)

    def _write(self, target: Any, sheet: OutputSheet) -> None:
        target.used_range.clear_contents()
        rows = sheet.rows()
        target.range((1, 1)).value = rows
        for (first, last, col), fmt in number_format_blocks(sheet):
            target.range((first, col), (last, col)).number_format = fmt
        for col, width in sorted(sheet.widths.items()):
            target.range((1, col)).column_width = width
        for row, height in sorted(getattr(sheet, "heights", {}).items()):
            target.range((row, 1)).row_height = height

    def status(self, message: str) -> None:
        """Excel's status bar; engines without one (and a closed app) fall back to stderr, never fail the job."""
        try:
            self.book.app.status_bar = message
        except Exception:  # noqa: BLE001 - a status line must never stop a recalculation
            print(message, file=sys.stderr)

    def clear_status(self) -> None:
        try:
            self.book.app.status_bar = False
        except Exception:  # noqa: BLE001
            pass

    def save(self) -> None:
        if self.save_book:
            self.book.save()
        self._pending.clear()


def number_format(style: str) -> str:
    """The number format of a palette style key ("General" for text styles and unknown keys)."""
    return layout.PALETTE.get(style, {}).get("num_format", GENERAL)


def number_format_blocks(sheet: OutputSheet) -> list[tuple[tuple[int, int, int], str]]:
    """Runs of consecutive rows in one column that share a number format: ((first_row, last_row, col), format).

    General runs are included: clearing contents keeps formats, so a cell that held a percentage last week and
    holds text now must be reset, or a number landing there later would show as a percentage.
    """
    by_col: dict[int, list[tuple[int, str]]] = {}
    for (r, c), cell in sheet.cells.items():
        by_col.setdefault(c, []).append((r, number_format(cell.style)))
    out = []
    for col in sorted(by_col):
        cells = sorted(by_col[col])
        start, prev_row, fmt = cells[0][0], cells[0][0], cells[0][1]
        for r, f in cells[1:]:
            if f == fmt and r == prev_row + 1:
                prev_row = r
                continue
            out.append(((start, prev_row, col), fmt))
            start, prev_row, fmt = r, r, f
        out.append(((start, prev_row, col), fmt))
    return out
