"""The workbook port over a file: read tables with fastexcel (python-calamine without it), write by zip patch.

Only the worksheet parts of the output sheets and their charts are rewritten; every other member of the
package is copied raw. A workbook open in Excel is refused; saves are atomic with a backup.
"""

from __future__ import annotations

import logging
import sys
import zipfile
from pathlib import Path

import pandas as pd
import python_calamine

from funnel_xl.errors import WorkbookFormatError, WorkbookLockedError
from funnel_xl.workbook import layout
from funnel_xl.workbook.chart_xml import patch_chart
from funnel_xl.workbook.contract import STYLES_SHEET
from funnel_xl.workbook.model import OutputSheet
from funnel_xl.workbook.ooxml import CALC_CHAIN, cell_styles, drop_parts, split_ref
from funnel_xl.workbook.package import PackageIndex
from funnel_xl.workbook.port import RawTable
from funnel_xl.workbook.sheet_xml import splice_sheet
from funnel_xl.workbook.zip_patch import atomic_patch, lock_file


class FileWorkbook:
    """A workbook file on disk, opened for one recalculation (read tables, write outputs, save).

    ``allow_open`` lets a macro read the saved copy of the workbook Excel has open, writing elsewhere (``output``).
    """

    def __init__(self, path: str | Path, *, output: str | Path | None = None, quiet: bool = False,
                 allow_open: bool = False):
        self.path = Path(path)
        self.output = Path(output) if output else self.path
        self.quiet = quiet
        if not self.path.exists():
            raise FileNotFoundError(f"workbook not found: {self.path}")
        # Reading the saved file of a workbook open in Excel is safe (a macro does it); writing over it is not.
        for p in ({self.output} if allow_open and self.output != self.path else {self.path, self.output}):
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
        self._pending: dict[str, OutputSheet] = {}
        self.backup: Path | None = None

    # -- reading -------------------------------------------------------------------------------------
    def sheet_names(self) -> list[str]:
        return [s.name for s in self.index.sheets]

    def read_table(self, table: str, *, text_columns: frozenset[str] = frozenset()) -> RawTable:
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
        if self._calamine is None:
            self._calamine = python_calamine.CalamineWorkbook.from_path(str(self.path))
        sheet = self._calamine.get_sheet_by_name(info.sheet)
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

    # -- writing -------------------------------------------------------------------------------------
    def write_sheets(self, sheets: dict[str, OutputSheet]) -> None:
        for name in sheets:
            if self.index.sheet(name) is None:
                raise WorkbookFormatError(f"{self.path.name}: the output sheet {name!r} is missing")
        self._pending.update(sheets)

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

    def save(self) -> None:
        replaced: dict[str, bytes] = {}
        with zipfile.ZipFile(self.path) as zf:
            styles = self.styles(zf)
            for name, sheet in self._pending.items():
                info = self.index.sheet(name)
                xml = zf.read(info.part).decode("utf-8")
                replaced[info.part] = splice_sheet(xml, sheet, styles).encode("utf-8")
                specs = [c for c in layout.CHARTS if c.block.sheet == sheet.key]
                for chart in info.charts:
                    replaced[chart] = patch_chart(zf.read(chart).decode("utf-8"), name, sheet, specs).encode("utf-8")
            drop = drop_parts(zf, [CALC_CHAIN], replaced)  # it would name cells the rewritten sheets no longer have
        self.backup = atomic_patch(self.path, self.output, drop.replaced, drop.dropped)
        self._pending.clear()
