"""The workbook port: what a use case needs from a workbook, whether a file on disk or a live Excel book."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import pandas as pd

from funnel_xl.workbook.model import OutputSheet


@dataclass(frozen=True)
class RawTable:
    """A table as the user typed it: header texts as columns, the sheet's row numbers as the index."""

    name: str
    sheet: str
    frame: pd.DataFrame


class WorkbookPort(Protocol):
    def sheet_names(self) -> list[str]: ...

    def read_table(self, table: str, *, text_columns: frozenset[str] = frozenset()) -> RawTable:
        """A table by name. ``text_columns`` (headers) are text by contract; a typed reader may skip guessing them."""

    def write_sheets(self, sheets: dict[str, OutputSheet]) -> None:
        """Replace the content of output sheets, keyed by visible sheet name."""

    def status(self, message: str) -> None:
        """Tell the user what is happening (Excel's status bar, or stderr)."""

    def save(self) -> None: ...
