"""Export for readers (导出只读副本): a values-only .xlsx of the master for readers without Python."""

from __future__ import annotations

from pathlib import Path

from funnel_xl.errors import InputError
from funnel_xl.outputs import OutputSink
from funnel_xl.workbook.port import WorkbookPort


def export_name(book: WorkbookPort) -> str:
    """The export's default file name: the master's, as .xlsx."""
    return f"{Path(book.name).stem}.xlsx"


def export_for_readers(book: WorkbookPort, out: OutputSink, name: str | None = None) -> Path:
    """Write the master's values-only copy (no macros, ribbon, buttons or formulas; charts kept) into ``out``."""
    name = name or export_name(book)
    if not name.lower().endswith(".xlsx"):
        raise InputError(f"{name}: the export is a workbook without macros and must be named *.xlsx")
    return out.write(name, book.values_only_copy())
