"""The workbook port: what the use cases need from a workbook, whether a file on disk or a live Excel book.

Every use case (recalculate, calibrate, forms, quota sheets, export, collect, import) takes an object with these
methods and nothing else of the workbook: the file adapter (``FileWorkbook``), the live adapter (``LiveWorkbook``)
and the tests' in-memory fake all offer them. Edits are staged and written by ``save`` in one go, with the
history's transaction committed alongside, and the file adapter holds a lock from the first read to the save.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ContextManager, Protocol

import pandas as pd

from funnel_xl.workbook.model import OutputSheet


@dataclass(frozen=True)
class RawTable:
    """A table as the user typed it: header texts as columns, the sheet's row numbers as the index."""

    name: str
    sheet: str
    frame: pd.DataFrame


@dataclass(frozen=True)
class Saved:
    """Where a save went (a file, or the open book's name), the backup of what it replaced, if one was kept, and
    the output sheets that held content the tool had not written (which the backup keeps)."""

    target: str
    backup: Path | None = None
    overwritten: tuple[str, ...] = ()


def row_records(rows: pd.DataFrame | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of an append as one dict each, a missing value (NaN, NaT, NA) as None: for a door that writes row
    by row."""
    if not isinstance(rows, pd.DataFrame):
        return list(rows)
    frame = rows.astype(object).where(rows.notna(), None)
    return frame.to_dict("records")


class WorkbookPort(Protocol):
    @property
    def name(self) -> str:
        """The workbook's name, for messages ("Funnel.xlsm")."""

    def sheet_names(self) -> list[str]: ...

    def read_table(self, table: str, *, text_columns: frozenset[str] = frozenset()) -> RawTable:
        """A table by name. ``text_columns`` (headers) are text by contract; a typed reader may skip guessing them."""

    def read_rows(self, table: str) -> pd.DataFrame:
        """An input table's rows (商机, 销售人员) as canonical values (stage keys, booleans, Timestamps), keyed by
        canonical column, index = the sheet's row numbers (the table's blank rows included): what edits refer to."""

    def read_sheet(self, sheet: str) -> list[list[Any]]:
        """The values of a sheet as the user sees them, row 1 first (the collect log is read this way)."""

    def write_sheets(self, sheets: dict[str, OutputSheet]) -> None:
        """Replace the content of output sheets, keyed by visible sheet name."""

    def update_cells(self, table: str, values: dict[tuple[int, str], Any]) -> None:
        """Set cells of existing rows of an input table: (sheet row, canonical column) -> canonical value."""

    def append_rows(self, table: str, rows: pd.DataFrame | list[dict[str, Any]]) -> None:
        """Add rows at the end of an input table: a frame of canonical columns (one row each), or one dict (canonical
        column -> canonical value) per row."""

    def form_key(self) -> bytes | None:
        """The secret that seals this master's assessment forms, kept in the workbook; None until one is set."""

    def set_form_key(self, key: bytes) -> None:
        """Keep ``key`` in the workbook (written by the next ``save``)."""

    def values_only_copy(self) -> bytes:
        """The workbook as a macro-free .xlsx holding values only (formulas replaced by what they show)."""

    def status(self, message: str) -> None:
        """Tell the user what is happening (Excel's status bar, or stderr)."""

    def save(self, alongside: ContextManager[None] | None = None) -> Saved:
        """Write every staged change (output sheets, cell updates, appended rows, the form key) at once.

        ``alongside`` is a transaction that goes with the workbook (the history's ``staged`` save): it commits
        once the new workbook is safely written and before it replaces the old one, so the two are saved
        together; if the write fails, it rolls back."""
