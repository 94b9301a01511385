"""The workbook port over a live Excel book (xlwings): bulk reads and writes, a constant number of Range calls.

Each round trip to Excel costs far more than the work in Python, so a table is read with one ``.value`` of its
whole range (header and body), and an output sheet is written as the file adapter writes it, in calls that grow
with the blocks a report has, never with its data rows: one clear (contents, formats, hyperlinks), one unmerge and
one row autofit of the old used range (no row keeps last week's height), one copy of the palette's sample cell
(the hidden _styles sheet, whose style index the file adapter writes) per rectangle of like-styled cells, one
assignment of a 2-D list, one call per run of equal column widths and per set row height, and, per chart whose
rows follow its block, its source range and categories. So a press gives the sheets ``funnel-xl recalc`` gives, fonts, fills, borders,
number formats, widths and chart ranges included (``tests/workbook/test_both_doors.py`` compares them).

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

from funnel_xl.domain.parsing import looks_like_formula
from funnel_xl.errors import NotSupportedError, WorkbookFormatError
from funnel_xl.workbook import contract, fingerprint, layout
from funnel_xl.workbook.model import OutputSheet
from funnel_xl.workbook.port import RawTable, Saved, row_records
from funnel_xl.workbook.reader import Inputs, read_inputs

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
        """The form key kept in the book as a hidden name (``="<hex>"``); an engine that does not hand names over
        gets it from the saved file (the key is written once and never changes), else None."""
        try:
            text = str(self.book.names[contract.FORM_KEY_NAME].refers_to).removeprefix("=").strip().strip('"')
            return bytes.fromhex(text) if text else None
        except Exception:  # noqa: BLE001 - no such name (xlwings raises per engine), no names at all, or no hex
            pass
        if self.file is None:
            return None
        from funnel_xl.workbook.file_adapter import FileWorkbook

        with FileWorkbook(self.file, read_only=True, quiet=True) as saved:
            return saved.form_key()

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
            sheet.range((row, cols[column])).value = as_text(self._shown(column, value))
        self._forget(table)

    def append_rows(self, table: str, rows: pd.DataFrame | list[dict[str, Any]]) -> None:
        """Fill the table's blank rows at its end first, then grow it: one block per run of adjacent columns."""
        from funnel_xl.workbook.table_writer import blank_rows_at_end

        rows = row_records(rows)
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
            block = [[as_text(self._shown(key_of[c], r.get(key_of[c]))) for c in run] for r in rows]
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
        used = target.used_range
        used.clear()  # contents, formats and hyperlinks: a cell the report no longer fills is as on a new sheet
        used.unmerge()
        target.range((used.row, 1), (used.row + used.shape[0] - 1, 1)).rows.autofit()
        samples = self._style_samples()
        if samples is not None:
            for (r1, c1, r2, c2), style in style_blocks(sheet):
                if style in layout.PALETTE:  # an unknown key is the default style, as the file adapter writes it
                    samples.range((layout.palette_row(style), 2)).copy(target.range((r1, c1), (r2, c2)))
        target.range((1, 1)).value = [[as_text(v) for v in row] for row in sheet.rows()]
        for (c1, c2), width in width_runs(sheet.widths):
            target.range((1, c1), (1, c2)).column_width = width
        for row, height in sorted(sheet.heights.items()):
            target.range((row, 1)).row_height = height
        for (row, col), link in sorted(sheet.links.items()):
            shown = sheet.value(row, col)
            target.range((row, col)).add_hyperlink(f"#{link}", None if shown is None else str(shown), link)
        self._stretch_charts(target, sheet)

    def _style_samples(self) -> Any | None:
        """The hidden palette sheet the output styles are copied from (None in a workbook without one: the
        file adapter then writes every cell in the default style, and so does this one)."""
        if contract.STYLES_SHEET not in self.sheet_names():
            return None
        return self.book.sheets[contract.STYLES_SHEET]

    def _stretch_charts(self, target: Any, sheet: OutputSheet) -> None:
        """Point each chart whose rows follow its block at the rows written, as the file adapter's chart patch does:
        the value columns with their header row (the series names) and the category column beside them."""
        specs = [spec for spec in layout.CHARTS if spec.block.sheet == sheet.key]
        charts = target.charts
        for position, spec in enumerate(specs, start=1):
            if spec.fixed_rows is not None or position > len(charts):
                continue  # a fixed block never changes its rows; a chart the user deleted is not recreated
            first, last = spec.data_rows(sheet.chart_items.get(spec.key, 0))
            block = spec.block
            cols = [block.col(v) for v in spec.values]
            chart = charts[position - 1]
            chart.set_source_data(target.range((block.header_row, min(cols)), (last, max(cols))), plot_by="columns")
            cat = block.col(spec.category)
            chart.set_x_axis_values(target.range((first, cat), (last, cat)))

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


def as_text(value: Any) -> Any:
    """A text Excel must keep as text: Excel reads a value out of a string it is handed as if typed (a date from
    "2026-01-31", a number from "1,200", a formula from "=..."), so such a text gets the apostrophe that tells
    Excel it is text (the apostrophe is not part of the cell's value). The file adapter writes text as text."""
    if isinstance(value, str) and value and (looks_like_formula(value) or value[0] == "'"
                                             or value.strip().upper() in ("TRUE", "FALSE")
                                             or any(ch.isdigit() for ch in value)):
        return "'" + value
    return value


def style_blocks(sheet: OutputSheet) -> list[tuple[tuple[int, int, int, int], str]]:
    """Rectangles of cells sharing a palette style: ((first_row, first_col, last_row, last_col), style).

    Runs of consecutive rows in one column come first; runs of the same rows and style in adjacent columns are then
    joined, so a table's body is one rectangle per run of like columns. The count follows the report's blocks and
    columns (and style changes within a column), not its data rows.
    """
    by_col: dict[int, list[tuple[int, str]]] = {}
    for (r, c), cell in sheet.cells.items():
        by_col.setdefault(c, []).append((r, cell.style))
    runs: list[tuple[int, int, int, str]] = []  # (col, first_row, last_row, style)
    for col in sorted(by_col):
        cells = sorted(by_col[col])
        start, prev, style = cells[0][0], cells[0][0], cells[0][1]
        for r, s in cells[1:]:
            if s == style and r == prev + 1:
                prev = r
                continue
            runs.append((col, start, prev, style))
            start, prev, style = r, r, s
        runs.append((col, start, prev, style))
    open_blocks: dict[tuple[int, int, str], list[int]] = {}  # (first_row, last_row, style) -> [first_col, last_col]
    out: list[tuple[tuple[int, int, int, int], str]] = []
    for col, r1, r2, style in runs:
        key = (r1, r2, style)
        block = open_blocks.get(key)
        if block is not None and block[1] == col - 1:
            block[1] = col
            continue
        if block is not None:
            out.append(((r1, block[0], r2, block[1]), style))
        open_blocks[key] = [col, col]
    out += [((r1, c1, r2, c2), style) for (r1, r2, style), (c1, c2) in open_blocks.items()]
    return sorted(out)


def width_runs(widths: dict[int, float]) -> list[tuple[tuple[int, int], float]]:
    """Runs of adjacent columns of one width: ((first_col, last_col), width)."""
    out: list[tuple[tuple[int, int], float]] = []
    for col, width in sorted(widths.items()):
        if out and out[-1][1] == width and out[-1][0][1] == col - 1:
            out[-1] = ((out[-1][0][0], col), width)
        else:
            out.append(((col, col), width))
    return out
