"""In-memory stand-ins for the ports the use cases take (cosmicpython's FakeRepository): a workbook whose tables are
DataFrames and whose written sheets are kept as data, an output sink and an inbox that keep what they are given.

A use case run on these reads like the use case: what it read, what it staged, whether it saved.
"""

from __future__ import annotations

import contextlib
import copy
from pathlib import Path
from typing import Any

import pandas as pd

from funnel_xl.forms.collect import Candidate, inbox_file
from funnel_xl.outputs import FormWorkbook
from funnel_xl.workbook import contract
from funnel_xl.workbook.model import OutputSheet
from funnel_xl.workbook.port import RawTable, Saved, WorkbookPort, row_records
from funnel_xl.workbook.reader import read_inputs
from funnel_xl.workbook.cell_values import canonical_frame, display_value

TABLES = (contract.TABLE_META, contract.TABLE_STAGES, contract.TABLE_CRITERIA, contract.TABLE_OPPORTUNITIES,
          contract.TABLE_REPS)


class FakeWorkbook:
    """The workbook port in memory: ``tables`` as the user typed them, ``sheets`` as rows of values.

    Staged edits are kept (``updated``, ``appended``, ``written``) and, on ``save``, applied to the tables and
    sheets, so a second run sees the first one's result, as it would in a file.
    """

    def __init__(self, tables: dict[str, RawTable], sheets: dict[str, list[list[Any]]], name: str = "Funnel.xlsm"):
        self.name = name
        self.tables = tables
        self.sheets = sheets
        self.updated: dict[str, dict[tuple[int, str], Any]] = {}
        self.appended: dict[str, list[dict[str, Any]]] = {}
        self.written: dict[str, OutputSheet] = {}
        self.messages: list[str] = []
        self.saves = 0
        self.key: bytes | None = None
        self.staged_key: bytes | None = None

    @classmethod
    def copy_of(cls, book: WorkbookPort) -> FakeWorkbook:
        """The tables and sheets of a real workbook, read once through its port."""
        fake = cls({t: book.read_table(t) for t in TABLES}, {s: book.read_sheet(s) for s in book.sheet_names()},
                   book.name)
        fake.key = book.form_key()
        return fake

    def copy(self) -> FakeWorkbook:
        book = FakeWorkbook({n: RawTable(t.name, t.sheet, t.frame.copy()) for n, t in self.tables.items()},
                            copy.deepcopy(self.sheets), self.name)
        book.key = self.key
        return book

    # -- the port --------------------------------------------------------------------------------------
    def sheet_names(self) -> list[str]:
        return list(self.sheets)

    def read_table(self, table: str, *, text_columns: frozenset[str] = frozenset()) -> RawTable:
        t = self.tables[table]
        return RawTable(t.name, t.sheet, t.frame.copy())

    def read_rows(self, table: str) -> pd.DataFrame:
        inputs = read_inputs(self, self.name)
        raw = inputs.opportunities if table == contract.TABLE_OPPORTUNITIES else inputs.reps
        return canonical_frame(raw, inputs.methodology)

    def read_sheet(self, sheet: str) -> list[list[Any]]:
        return copy.deepcopy(self.sheets[sheet])

    def write_sheets(self, sheets: dict[str, OutputSheet]) -> None:
        assert set(sheets) <= set(self.sheets), f"no such sheet: {set(sheets) - set(self.sheets)}"
        self.written.update(sheets)

    def update_cells(self, table: str, values: dict[tuple[int, str], Any]) -> None:
        self.updated.setdefault(table, {}).update(values)

    def append_rows(self, table: str, rows: pd.DataFrame | list[dict[str, Any]]) -> None:
        self.appended.setdefault(table, []).extend(row_records(rows))

    def form_key(self) -> bytes | None:
        return self.staged_key or self.key

    def set_form_key(self, key: bytes) -> None:
        self.staged_key = key

    def values_only_copy(self) -> bytes:
        return f"values-only copy of {self.name}".encode()

    def status(self, message: str) -> None:
        self.messages.append(message)

    def save(self, alongside=None) -> Saved:
        self.saves += 1
        with alongside or contextlib.nullcontext():
            self._apply()
        self.key, self.staged_key = self.staged_key or self.key, None
        return Saved(self.name)

    # -- what a save does to the tables ---------------------------------------------------------------------
    def _apply(self) -> None:
        inputs = read_inputs(self, self.name)
        labels = {contract.TABLE_OPPORTUNITIES: inputs.opportunity_labels, contract.TABLE_REPS: inputs.rep_labels}
        shown = lambda column, value: display_value(column, value, inputs.methodology, inputs.language)  # noqa: E731
        for table, values in self.updated.items():
            frame = self.tables[table].frame
            for (row, column), value in values.items():
                frame.at[row, labels[table][column]] = shown(column, value)
        for table, rows in self.appended.items():
            t = self.tables[table]
            start = int(t.frame.index.max()) + 1 if len(t.frame) else 1
            new = pd.DataFrame([{labels[table][c]: shown(c, v) for c, v in r.items()} for r in rows],
                               index=pd.RangeIndex(start, start + len(rows)), columns=t.frame.columns, dtype=object)
            self.tables[table] = RawTable(t.name, t.sheet, pd.concat([t.frame.astype(object), new]))
        for name, sheet in self.written.items():
            self.sheets[name] = sheet.rows()


class MemorySink:
    """An output sink that keeps the workbooks it is asked to write (as their descriptions) and the files."""

    def __init__(self) -> None:
        self.books: dict[str, FormWorkbook] = {}
        self.files: dict[str, bytes] = {}

    def form_workbooks(self, books: list[FormWorkbook], *, workers: int = 1, progress=None) -> list[Path]:
        self.books.update({b.name: b for b in books})
        return [Path(b.name) for b in books]

    def write(self, name: str, data: bytes) -> Path:
        self.files[name] = data
        return Path(name)

    def remove(self, name: str) -> None:
        self.files.pop(name, None)


class MemoryInbox:
    """An inbox of returned files given as bytes; refusals are kept as data instead of notes beside files."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.refused: dict[str, list[str]] = {}

    def candidates(self, settings, lang) -> list[Candidate]:
        return [c for name, data in sorted(self.files.items())
                for c in inbox_file(Path(name), len(data), lambda data=data: data, settings, lang)]

    def refuse(self, path: Path, reasons: list[str]) -> Path:
        self.refused[path.name] = reasons
        return path
