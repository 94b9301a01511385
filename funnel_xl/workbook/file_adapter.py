"""The workbook port over a file: read tables with fastexcel (python-calamine without it), write by zip patch.

Only the worksheet parts of the output sheets and their charts, and the input tables' parts a use case edits
(through ``TableWriter``), are rewritten; every other member of the package is copied raw. A workbook open in
Excel is refused for writing; saves are atomic with a backup.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import python_calamine

from funnel_xl.errors import NotSupportedError, WorkbookFormatError, WorkbookLockedError
from funnel_xl.workbook import layout
from funnel_xl.workbook.chart_xml import patch_chart
from funnel_xl.workbook.contract import STYLES_SHEET
from funnel_xl.workbook.model import OutputSheet
from funnel_xl.workbook.ooxml import (
    CALC_CHAIN, STYLES_PART, QuotePrefixStyles, cell_styles, drop_parts, quote_formula_parts, split_ref,
)
from funnel_xl.workbook.package import PackageIndex
from funnel_xl.workbook.port import RawTable, Saved
from funnel_xl.workbook.sheet_xml import splice_sheet
from funnel_xl.workbook.zip_patch import atomic_patch, lock_file

if TYPE_CHECKING:
    from funnel_xl.workbook.table_writer import TableWriter


class FileWorkbook:
    """A workbook file on disk, opened for one use case (read tables, stage edits and output sheets, save).

    ``output`` is where ``save`` writes (default: over ``path``, keeping a backup). ``read_only`` opens a workbook
    only to read it, so one that is open in Excel (its lock file beside it) can still be read; it cannot be saved.
    """

    def __init__(self, path: str | Path, *, output: str | Path | None = None, quiet: bool = False,
                 read_only: bool = False):
        self.path = Path(path)
        self.output = Path(output) if output else self.path
        self.quiet = quiet
        self.read_only = read_only
        if not self.path.exists():
            raise FileNotFoundError(f"workbook not found: {self.path}")
        # Reading the saved file of a workbook open in Excel is safe; writing over it is not.
        for p in () if read_only else dict.fromkeys((self.path, self.output)):
            lock = lock_file(p)
            if lock is not None:
                raise WorkbookLockedError(
                    f"{p.name} is open in Excel (lock file {lock.name} beside it): close it in Excel and run again"
                )
        try:
            with zipfile.ZipFile(self.path) as zf:
                self.index = PackageIndex.read(zf)
        except (zipfile.BadZipFile, KeyError) as exc:
            raise WorkbookFormatError(f"{self.path.name} is not an Excel workbook (.xlsx/.xlsm): {exc}") from exc
        self._calamine = None
        self._fast = None
        self._read: dict[tuple[str, frozenset[str]], RawTable] = {}
        self._pending: dict[str, OutputSheet] = {}
        self._writer: TableWriter | None = None

    @property
    def name(self) -> str:
        return self.path.name

    def __enter__(self) -> FileWorkbook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Let go of the readers and anything staged; a door opens the file for one use case in a ``with``."""
        self._calamine = self._fast = self._writer = None
        self._read.clear()
        self._pending.clear()

    # -- reading -------------------------------------------------------------------------------------
    def sheet_names(self) -> list[str]:
        return [s.name for s in self.index.sheets]

    def read_table(self, table: str, *, text_columns: frozenset[str] = frozenset()) -> RawTable:
        """Read once per opened file: the edits and a second reader (the table writer) see the same frame."""
        key = (table, frozenset(text_columns))
        if key not in self._read:
            self._read[key] = self._read_table(table, text_columns)
        found = self._read[key]
        return RawTable(found.name, found.sheet, found.frame.copy(deep=False))

    def _read_table(self, table: str, text_columns: frozenset[str]) -> RawTable:
        info = self.index.tables.get(table)
        if info is None:
            raise WorkbookFormatError(
                f"{self.path.name}: the table {table!r} is missing (Excel table names: "
                f"{', '.join(sorted(self.index.tables)) or 'none'})"
            )
        r1, c1, r2, c2 = split_ref(info.ref)
        frame = self._read_typed(info.name, r1, r2, text_columns)
        if frame is not None:
            return RawTable(table, info.sheet, frame)
        sheet = self._calamine_book().get_sheet_by_name(info.sheet)
        rows = sheet.to_python(skip_empty_area=False, nrows=r2)
        block = [row[c1 - 1 : c2] for row in rows[r1 - 1 : r2]]
        width = c2 - c1 + 1
        block = [row + [""] * (width - len(row)) for row in block]
        header = [str(h).strip() for h in block[0]] if block else []
        frame = pd.DataFrame(block[1:], columns=header, index=pd.RangeIndex(r1 + 1, r1 + len(block)), dtype=object)
        frame = frame.replace("", None)
        return RawTable(table, info.sheet, frame)

    def _read_typed(self, name: str, first_row: int, last_row: int,
                    text_columns: frozenset[str] = frozenset()) -> pd.DataFrame | None:
        """The table through fastexcel (Rust, Arrow): typed columns, so the domain's vectorised paths run.

        Every row takes part in deciding a column's type: with a sample, a text amount such as 120万 below the
        sampled rows would be coerced to a blank, silently; read whole, that column comes back as text and each
        value is parsed or reported. None when fastexcel (or pyarrow) is not installed.
        """
        try:
            import fastexcel
        except ImportError:
            return None
        if self._fast is None:
            logging.getLogger("fastexcel").setLevel(logging.ERROR)  # "falling back to string" is expected here
            self._fast = fastexcel.read_excel(str(self.path))
        try:
            # Text by contract is read as text without guessing: nothing can be lost that way, and it saves time.
            dtypes = {c: "string" for c in text_columns} or None
            frame = self._fast.load_table(name, schema_sample_rows=None, dtypes=dtypes).to_pandas()
        except ImportError:  # pyarrow missing
            return None
        if len(frame) != last_row - first_row:
            return None  # not the shape the table part declares: let the cell-by-cell reader decide
        frame.index = pd.RangeIndex(first_row + 1, last_row + 1)
        return frame

    def _calamine_book(self):
        if self._calamine is None:
            self._calamine = python_calamine.CalamineWorkbook.from_path(str(self.path))
        return self._calamine

    def read_sheet(self, sheet: str) -> list[list[Any]]:
        if self.index.sheet(sheet) is None:
            raise WorkbookFormatError(f"{self.path.name}: the sheet {sheet!r} is missing")
        return [list(row) for row in self._calamine_book().get_sheet_by_name(sheet).to_python(skip_empty_area=False)]

    def read_rows(self, table: str) -> pd.DataFrame:
        return self._table_writer().existing(table)

    # -- writing -------------------------------------------------------------------------------------
    def write_sheets(self, sheets: dict[str, OutputSheet]) -> None:
        for name in sheets:
            if self.index.sheet(name) is None:
                raise WorkbookFormatError(f"{self.path.name}: the output sheet {name!r} is missing")
        self._pending.update(sheets)

    def update_cells(self, table: str, values: dict[tuple[int, str], Any]) -> None:
        writer = self._table_writer()
        for (row, column), value in values.items():
            writer.update(table, row, column, value)

    def append_rows(self, table: str, rows: pd.DataFrame | list[dict[str, Any]]) -> None:
        self._table_writer().append(table, rows)

    def _table_writer(self) -> TableWriter:
        if self._writer is None:
            from funnel_xl.workbook.table_writer import TableWriter  # not loaded by a recalculation

            self._writer = TableWriter(self)
        return self._writer

    def values_only_copy(self) -> bytes:
        from funnel_xl.workbook.values_only import export_values_only

        with tempfile.TemporaryDirectory(prefix="funnel_xl_export_") as tmp:
            return export_values_only(self.path, Path(tmp) / f"{self.path.stem}.xlsx").read_bytes()

    def status(self, message: str) -> None:
        if not self.quiet:
            print(message, file=sys.stderr)

    def styles(self, zf: zipfile.ZipFile) -> dict[str, int]:
        """Palette key -> style index, read from the hidden _styles sheet's sample cells (0 where missing)."""
        info = self.index.sheet(STYLES_SHEET)
        if info is None:
            return {}
        by_row = {row: style for (row, col), style in cell_styles(zf.read(info.part).decode("utf-8")).items()
                  if col == 2}
        return {key: by_row.get(layout.palette_row(key), 0) for key in layout.PALETTE_KEYS}

    def save(self) -> Saved:
        """One atomic patch of every staged output sheet and table edit; nothing staged leaves the file alone."""
        if self.read_only:
            raise NotSupportedError(f"{self.path.name} was opened for reading only; it is not written")
        replaced: dict[str, bytes] = {}
        with zipfile.ZipFile(self.path) as zf:
            styles = self.styles(zf)
            quote = QuotePrefixStyles(zf.read(STYLES_PART).decode("utf-8"))
            for name, sheet in self._pending.items():
                info = self.index.sheet(name)
                xml = zf.read(info.part).decode("utf-8")
                replaced[info.part] = splice_sheet(xml, sheet, styles).encode("utf-8")
                specs = [c for c in layout.CHARTS if c.block.sheet == sheet.key]
                for chart in info.charts:
                    replaced[chart] = patch_chart(zf.read(chart).decode("utf-8"), name, sheet, specs).encode("utf-8")
            if self._writer is not None:
                replaced.update(self._writer.parts(zf, styles, quote))
            if not replaced:
                return Saved(str(self.output))
            replaced = quote_formula_parts(quote, replaced)
            drop = drop_parts(zf, [CALC_CHAIN], replaced)  # it would name cells the rewritten sheets no longer have
        backup = atomic_patch(self.path, self.output, drop.replaced, drop.dropped)
        self.close()  # what it read is the old file's
        return Saved(str(self.output), backup)
