"""The workbook port over a file: read tables with fastexcel (python-calamine without it), write by zip patch.

Only the worksheet parts of the output sheets and their charts, and the input tables' parts a use case edits
(through ``TableWriter``), are rewritten; every other member of the package is copied raw. Opened for writing, a
workbook is a transaction: refused up front when Excel has it open, when it or its folder is read-only, or when it
is not a readable workbook; locked against other funnel-xl runs from the first read to the save; saved through
the one save path (``saving.commit``: temporary file, backup, rename), with the history committed alongside.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, ContextManager

import pandas as pd
import python_calamine

from funnel_xl.errors import InputError, NotSupportedError, WorkbookFormatError
from funnel_xl.workbook import fingerprint, layout
from funnel_xl.workbook.chart_xml import patch_chart
from funnel_xl.workbook.contract import FORM_KEY_NAME, STYLES_SHEET
from funnel_xl.workbook.lock import WorkbookLock
from funnel_xl.workbook.model import OutputSheet
from funnel_xl.workbook.ooxml import (
    CALC_CHAIN, STYLES_PART, QuotePrefixStyles, cell_styles, constant_text, drop_parts, quote_formula_parts,
    set_defined_name, split_ref, text_constant,
)
from funnel_xl.workbook.package import PackageIndex
from funnel_xl.workbook.port import RawTable, Saved
from funnel_xl.workbook.saving import backup_path, commit, prepare_write
from funnel_xl.workbook.sheet_xml import splice_sheet
from funnel_xl.workbook.zip_patch import patch_package, verify_members

if TYPE_CHECKING:
    from funnel_xl.workbook.table_writer import TableWriter

WORKBOOK_PART = "xl/workbook.xml"
_CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"   # an OLE compound file: an encrypted workbook, or an old .xls
_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")


def _damage_errors() -> tuple[type[BaseException], ...]:
    """What the zip module and the readers raise on a damaged member (a CRC mismatch, a cut stream, bad XML)."""
    kinds: list[type[BaseException]] = [zipfile.BadZipFile, zlib.error, EOFError, python_calamine.XmlError,
                                        python_calamine.ZipError]
    with contextlib.suppress(ImportError):
        import fastexcel

        kinds += [fastexcel.CalamineError, fastexcel.CannotRetrieveCellDataError]
    return tuple(kinds)


def check_workbook_file(path: Path) -> None:
    """Refuse, in one line saying what to do, a path that is not a readable .xlsx/.xlsm: missing, a folder, an
    encrypted workbook, an old .xls, or anything else that is not a zip package."""
    if not path.exists():
        raise FileNotFoundError(f"workbook not found: {path}")
    if path.is_dir():
        raise InputError(f"{path} is a folder, not a workbook: give the path of the .xlsm (or .xlsx) file")
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    if head.startswith(_CFB_MAGIC):
        if _ENCRYPTED in head or _ENCRYPTED in path.read_bytes():
            raise WorkbookFormatError(
                f"{path.name} is encrypted with a password, which funnel-xl cannot read: remove the password in "
                f"Excel (File > Info > Protect Workbook > Encrypt with Password, clear it) and save, then run again")
        raise WorkbookFormatError(f"{path.name} is an old Excel 97-2003 workbook (.xls) or another Office file: "
                                  f"open it in Excel and save it as .xlsm (or .xlsx), then run again")
    if not zipfile.is_zipfile(path):
        raise WorkbookFormatError(f"{path.name} is not an Excel workbook (.xlsx/.xlsm), or it is damaged: not a zip "
                                  f"package")


class FileWorkbook:
    """A workbook file on disk, opened for one use case (read tables, stage edits and output sheets, save).

    ``output`` is where ``save`` writes (default: over ``path``, keeping a backup). Opened for writing, it holds the
    lock of ``path`` and ``output`` from before the first read until the save (or ``close``). ``read_only`` opens a
    workbook only to read it, so one that is open in Excel (its lock file beside it) can still be read; it takes
    no lock and cannot be saved.
    """

    def __init__(self, path: str | Path, *, output: str | Path | None = None, quiet: bool = False,
                 read_only: bool = False):
        self.path = Path(path)
        self.output = Path(output) if output else self.path
        self.quiet = quiet
        self.read_only = read_only
        self._locks: list[WorkbookLock] = []
        self._calamine = None
        self._fast = None
        self._read: dict[tuple[str, frozenset[str]], RawTable] = {}
        self._pending: dict[str, OutputSheet] = {}
        self._names: dict[tuple[str, int | None], str] = {}
        self._writer: TableWriter | None = None
        check_workbook_file(self.path)
        if not read_only:
            self._open_for_writing()
        try:
            with zipfile.ZipFile(self.path) as zf, self._damaged():
                self.index = PackageIndex.read(zf)
        except KeyError as exc:
            self.close()
            raise WorkbookFormatError(f"{self.path.name} is not an Excel workbook (.xlsx/.xlsm): {exc}") from exc
        except BaseException:
            self.close()
            raise
        # A workbook opened to be written is checked against its CRCs while it is read and computed (see save).
        self._checking: Future | None = None if read_only else _check_ahead(self.path)

    def _open_for_writing(self) -> None:
        """Refuse before any work what could not be saved (reading the saved file of a workbook open in Excel is
        safe, writing over it is not), then take the lock for the whole read-modify-write."""
        self._locks = prepare_write(self.output, self.path)

    @property
    def name(self) -> str:
        return self.path.name

    def __enter__(self) -> FileWorkbook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Let go of the readers, anything staged and the lock; a door opens the file for one use case in a
        ``with``."""
        self._calamine = self._fast = self._writer = None
        self._read.clear()
        self._pending.clear()
        self._names.clear()
        while self._locks:
            self._locks.pop().release()

    @contextlib.contextmanager
    def _damaged(self) -> Iterator[None]:
        """A damaged member (a CRC mismatch, a cut stream, XML that does not parse) as one line saying what to do."""
        try:
            yield
        except _damage_errors() as exc:
            backup = backup_path(self.path)
            where = f"from its backup {backup.name}" if backup.exists() else "from a copy"
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise WorkbookFormatError(f"{self.path.name} is damaged ({reason}): restore it {where}, or open it in "
                                      f"Excel and let Excel repair it, then run again") from exc

    # -- reading -------------------------------------------------------------------------------------
    def sheet_names(self) -> list[str]:
        return [s.name for s in self.index.sheets]

    def read_table(self, table: str, *, text_columns: frozenset[str] = frozenset()) -> RawTable:
        """Read once per opened file: the edits and a second reader (the table writer) see the same frame."""
        key = (table, frozenset(text_columns))
        if key not in self._read:
            with self._damaged():
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
        with self._damaged():
            return [list(row) for row in self._calamine_book().get_sheet_by_name(sheet).to_python(
                skip_empty_area=False)]

    def read_rows(self, table: str) -> pd.DataFrame:
        with self._damaged():
            return self._table_writer().existing(table)

    def form_key(self) -> bytes | None:
        """The key that seals this master's forms (a hidden name of the workbook), or None before the first forms."""
        staged = self._names.get((FORM_KEY_NAME, None))
        found = self.index.name(FORM_KEY_NAME)
        text = constant_text(staged) if staged else (constant_text(found.text) if found else None)
        try:
            return bytes.fromhex(text) if text else None
        except ValueError:
            return None  # a damaged key seals nothing: forms must be made again

    def set_form_key(self, key: bytes) -> None:
        self._names[(FORM_KEY_NAME, None)] = text_constant(key.hex())

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

    def save(self, alongside: ContextManager[None] | None = None) -> Saved:
        """One atomic save of every staged output sheet, table edit and name, with ``alongside`` (the history's
        transaction) committed with it; nothing staged leaves the file alone (and commits ``alongside``)."""
        if self.read_only:
            raise NotSupportedError(f"{self.path.name} was opened for reading only; it is not written")
        replaced: dict[str, bytes] = {}
        names = dict(self._names)
        overwritten: list[str] = []
        stamped: list[tuple[str, int]] = []
        checking, self._checking = self._checking or _check_ahead(self.path), None
        with zipfile.ZipFile(self.path) as zf, self._damaged():
            styles = self.styles(zf)
            quote = QuotePrefixStyles(zf.read(STYLES_PART).decode("utf-8"))
            strings = _SharedStrings(zf)
            for name, sheet in self._pending.items():
                info = self.index.sheet(name)
                xml = zf.read(info.part).decode("utf-8")
                written = self.index.name(fingerprint.NAME, info.position)
                if written is not None and fingerprint.typed_on(constant_text(written.text),
                                                                zf.getinfo(info.part).CRC, xml, strings):
                    overwritten.append(name)
                replaced[info.part] = splice_sheet(xml, sheet, styles).encode("utf-8")
                stamped.append((info.part, info.position))
                specs = [c for c in layout.CHARTS if c.block.sheet == sheet.key]
                for chart in info.charts:
                    replaced[chart] = patch_chart(zf.read(chart).decode("utf-8"), name, sheet, specs).encode("utf-8")
            if self._writer is not None:
                replaced.update(self._writer.parts(zf, styles, quote))
            if not replaced and not names:
                with alongside or contextlib.nullcontext():
                    pass
                return Saved(str(self.output))
            replaced = quote_formula_parts(quote, replaced)
            for part, position in stamped:  # the bytes as saved, quote prefixes and all
                names[(fingerprint.NAME, position)] = text_constant(fingerprint.stamp(replaced[part]))
            if names:
                workbook_xml = replaced.get(WORKBOOK_PART) or zf.read(WORKBOOK_PART)
                replaced[WORKBOOK_PART] = _with_names(workbook_xml.decode("utf-8"), names).encode("utf-8")
            drop = drop_parts(zf, [CALC_CHAIN], replaced)  # it would name cells the rewritten sheets no longer have
        # Every member copied as it is is checked against its CRC, the input tables' sheets too: the Rust readers do
        # not always read a member to its end, so a flipped bit in 商机 can parse. The large ones were checked in a
        # thread since the workbook was opened (0.9 s at 100,000 rows, on another core); the rest as they are copied.
        with self._damaged():
            checked = checking.result()
            backup = commit(self.output, lambda tmp: patch_package(self.path, tmp, drop.replaced, drop.dropped,
                                                                   verify=lambda n: True, checked=checked),
                            alongside=alongside)
        self.close()  # what it read is the old file's
        return Saved(str(self.output), backup, tuple(overwritten))


# Members at least this large (compressed) are checked against their CRC in a thread from the moment a workbook is
# opened to be written.
CHECK_AHEAD = 1 << 20


def _check_ahead(path: Path) -> Future:
    """``verify_members`` of the package's large members, started in a thread: zlib inflates without holding the
    interpreter, so the check runs beside the reading, the figures and the rendering of the output sheets."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="funnel-xl-crc")
    try:
        return pool.submit(verify_members, path,
                           lambda info: info.compress_size >= CHECK_AHEAD)
    finally:
        pool.shutdown(wait=False)  # the thread ends when the check does


class _SharedStrings:
    """The shared strings of a package, read the first time a fingerprint needs them (only a workbook Excel has
    saved refers to them from an output sheet)."""

    def __init__(self, zf: zipfile.ZipFile) -> None:
        self._zf, self._strings = zf, None

    def __call__(self) -> list[str]:
        if self._strings is None:
            names = self._zf.namelist()
            sst = "xl/sharedStrings.xml"
            self._strings = fingerprint.shared_strings(self._zf.read(sst).decode("utf-8")) if sst in names else []
        return self._strings


def _with_names(workbook_xml: str, names: dict[tuple[str, int | None], str]) -> str:
    for (name, local), text in names.items():
        workbook_xml = set_defined_name(workbook_xml, name, text, local_sheet=local)
    return workbook_xml
