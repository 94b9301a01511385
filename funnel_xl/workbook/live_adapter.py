"""The workbook port over a live Excel book (xlwings): bulk reads and writes, a constant number of Range calls.

Each round trip to Excel costs far more than the work in Python, so a table is read with one ``.value`` of its
whole range (header and body), and an output sheet is written with one clear of its used range, one assignment of
a 2-D list, one number-format call per run of like-formatted cells in a column, and one call per column width or
set row height: the count grows with the number of blocks and columns the report has, never with data rows.
Number formats come from the style palette (``layout.PALETTE``), the same keys the file adapter renders.

Edits of the input tables go to Excel as they come (Excel has no transaction to stage them in): a changed cell is
one call, appended rows one block per run of the user's columns and one resize of the table; the derived
columns are Excel's calculated columns, which Excel fills and computes itself.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any, ContextManager

import pandas as pd

from funnel_xl.errors import NotSupportedError, WorkbookFormatError
from funnel_xl.workbook import contract, fingerprint, layout
from funnel_xl.workbook.model import OutputSheet
from funnel_xl.workbook.port import RawTable, Saved
from funnel_xl.workbook.reader import Inputs, read_inputs

GENERAL = "General"


class LiveWorkbook:
    """A workbook open in Excel, reached through an ``xlwings.Book`` (``xw.Book.caller()`` behind a button)."""

    def __init__(self, book: Any, *, save_book: bool = True) -> None:
        self.book = book
        self.save_book = save_book
        self._tables: dict[str, tuple[Any, Any]] | None = None
        self._read: dict[str, RawTable] = {}
        self._inputs: Inputs | None = None

    @property
    def name(self) -> str:
        return self.book.name

    @property
    def file(self) -> Path | None:
        """The book's file when it is saved on a local disk (not a new, unsaved book or a SharePoint/OneDrive URL)."""
        fullname = str(self.book.fullname)
        if "://" in fullname:
            return None
        path = Path(fullname)
        return path if path.is_absolute() and path.is_file() else None

    @property
    def unsaved_changes(self) -> bool:
        """Whether Excel holds changes the file lacks (engines without COM cannot tell: False)."""
        try:
            return self.book.api.Saved is False
        except Exception:  # noqa: BLE001 - no COM: the file on disk is what a file-based step uses
            return False

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

    def _table(self, table: str) -> tuple[Any, Any]:
        found = self._table_index().get(table)
        if found is None:
            raise WorkbookFormatError(
                f"{self.book.name}: the table {table!r} is missing (Excel table names: "
                f"{', '.join(sorted(self._table_index())) or 'none'})"
            )
        return found

    def read_table(self, table: str, *, text_columns: frozenset[str] = frozenset()) -> RawTable:
        """One read of the table's range per press (the edits read it again only after changing it)."""
        if table not in self._read:
            sheet, tbl = self._table(table)
            rng = tbl.range
            block = rng.options(ndim=2).value  # the one read: header and body together
            first_row = rng.row
            header = [("" if h is None else str(h)).strip() for h in block[0]] if block else []
            body = block[1:]
            frame = pd.DataFrame(body, columns=header,
                                 index=pd.RangeIndex(first_row + 1, first_row + 1 + len(body)), dtype=object)
            # Excel hands blanks over as None; a cell holding only "" is blank to the user too (as in the file).
            self._read[table] = RawTable(table, sheet.name, frame.replace("", None))
        found = self._read[table]
        return RawTable(found.name, found.sheet, found.frame.copy(deep=False))

    def read_sheet(self, sheet: str) -> list[list[Any]]:
        if sheet not in self.sheet_names():
            raise WorkbookFormatError(f"{self.book.name}: the sheet {sheet!r} is missing")
        used = self.book.sheets[sheet].used_range
        block = used.options(ndim=2).value or []
        pad = [None] * (used.column - 1)
        return [[] for _ in range(used.row - 1)] + [pad + list(row) for row in block]

    def _input_tables(self) -> Inputs:
        if self._inputs is None:
            self._inputs = read_inputs(self, self.name)
        return self._inputs

    def read_rows(self, table: str) -> pd.DataFrame:
        from funnel_xl.workbook.cell_values import canonical_frame

        if table not in (contract.TABLE_OPPORTUNITIES, contract.TABLE_REPS):
            raise WorkbookFormatError(f"{self.book.name}: {table!r} is not an input table")
        inputs = self._input_tables()
        raw = inputs.opportunities if table == contract.TABLE_OPPORTUNITIES else inputs.reps
        return canonical_frame(raw, inputs.methodology)

    # -- writing -------------------------------------------------------------------------------------
    def write_sheets(self, sheets: dict[str, OutputSheet]) -> None:
        names = set(self.sheet_names())
        for name in sheets:
            if name not in names:
                raise WorkbookFormatError(f"{self.book.name}: the output sheet {name!r} is missing")
        for name, sheet in sheets.items():
            self._write(self.book.sheets[name], sheet)
            self._forget_fingerprint(self.book.sheets[name])

    def _forget_fingerprint(self, target: Any) -> None:
        """Drop the fingerprint the file adapter kept of what it last wrote on this sheet: what Excel will store of
        this write is Excel's to say, and a stale fingerprint would later pass the tool's own cells off as a
        user's. The next file save writes a new one."""
        with contextlib.suppress(Exception):  # no such name, or an engine without sheet names: nothing to drop
            target.names[fingerprint.NAME].delete()

    def form_key(self) -> bytes | None:
        """The form key kept in the book as a hidden name (``="<hex>"``), or None."""
        try:
            text = self.book.names[contract.FORM_KEY_NAME].refers_to
        except Exception:  # noqa: BLE001 - no such name (xlwings raises per engine), or no names at all
            return None
        text = str(text).removeprefix("=").strip().strip('"')
        try:
            return bytes.fromhex(text) if text else None
        except ValueError:
            return None

    def set_form_key(self, key: bytes) -> None:
        """Add the key as a hidden name at once (Excel has no staging); ``save`` writes it to the file."""
        name = self.book.names.add(contract.FORM_KEY_NAME, f'="{key.hex()}"')
        with contextlib.suppress(Exception):  # hiding needs COM; elsewhere the name stays visible in Name Manager
            name.api.Visible = False

    def _columns(self, table: str) -> tuple[Any, Any, dict[str, int]]:
        """The table's sheet and object, and canonical column -> sheet column of the columns a user types in."""
        inputs = self._input_tables()
        labels = inputs.opportunity_labels if table == contract.TABLE_OPPORTUNITIES else inputs.rep_labels
        sheet, tbl = self._table(table)
        headers = list(self.read_table(table).frame.columns)
        first_col = tbl.range.column
        return sheet, tbl, {key: first_col + headers.index(header) for key, header in labels.items()
                            if header in headers and key not in contract.DERIVED_OPPORTUNITY_COLUMNS}

    def _shown(self, column: str, value: Any) -> Any:
        from funnel_xl.workbook.cell_values import display_value

        inputs = self._input_tables()
        return display_value(column, value, inputs.methodology, inputs.language)

    def update_cells(self, table: str, values: dict[tuple[int, str], Any]) -> None:
        sheet, _, cols = self._columns(table)
        rows = set(self.read_table(table).frame.index)
        for (row, column), value in sorted(values.items()):
            if column not in cols:
                raise WorkbookFormatError(f"{self.book.name}: table {table} on sheet {sheet.name} has no column for "
                                          f"{column!r}")
            if row not in rows:
                raise WorkbookFormatError(f"{self.book.name}: sheet {sheet.name}, row {row} is not a row of {table}")
            sheet.range((row, cols[column])).value = self._shown(column, value)
        self._forget(table)

    def append_rows(self, table: str, rows: list[dict[str, Any]]) -> None:
        """Fill the table's blank rows at its end first, then grow it: one block per run of adjacent columns."""
        from funnel_xl.workbook.table_writer import blank_rows_at_end

        if not rows:
            return
        sheet, tbl, cols = self._columns(table)
        unknown = sorted({c for r in rows for c, v in r.items() if c not in cols and v is not None})
        if unknown:
            raise WorkbookFormatError(f"{self.book.name}: table {table} on sheet {sheet.name} has no column for "
                                      f"{', '.join(map(repr, unknown))}")
        rng = tbl.range
        below = rng.row + rng.shape[0]
        first = (blank_rows_at_end(self.read_rows(table)) or [below])[0]
        last = first + len(rows) - 1
        key_of = {c: k for k, c in cols.items()}
        for run in _runs(sorted(cols.values())):
            block = [[self._shown(key_of[c], r.get(key_of[c])) for c in run] for r in rows]
            sheet.range((first, run[0]), (last, run[-1])).value = block
        if last >= below:
            tbl.resize(sheet.range((rng.row, rng.column), (last, rng.column + rng.shape[1] - 1)))
        self._forget(table)

    def _forget(self, table: str) -> None:
        """The table changed: read it again when asked."""
        self._read.pop(table, None)
        self._inputs = None

    def values_only_copy(self) -> bytes:
        """The saved file's values-only copy: Excel's open book itself cannot be copied without its macros."""
        from funnel_xl.workbook.file_adapter import FileWorkbook

        path = self.file
        if path is None or self.unsaved_changes:
            raise NotSupportedError(f"{self.book.name}: a values-only copy is made from the saved file; save the "
                                    "workbook on this computer first")
        return FileWorkbook(path, read_only=True).values_only_copy()

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

    def save(self, alongside: ContextManager[None] | None = None) -> Saved:
        """Excel saves the book; ``alongside`` (the history's transaction) commits once that save succeeded."""
        with alongside or contextlib.nullcontext():
            if self.save_book:
                self.book.save()
        return Saved(str(self.book.fullname))


def _runs(cols: list[int]) -> list[list[int]]:
    """Sorted column numbers cut into runs of adjacent ones."""
    runs: list[list[int]] = []
    for c in cols:
        if runs and c == runs[-1][-1] + 1:
            runs[-1].append(c)
        else:
            runs.append([c])
    return runs


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
