"""``funnel-xl export PATH -o OUT.xlsx``: a values-only copy without macros for readers without Python."""

from __future__ import annotations

import argparse
from pathlib import Path

from funnel_xl.cli import options


def add(sub) -> None:
    p = sub.add_parser("export", help="a values-only .xlsx copy for readers without Python (no macros)")
    options.add_workbook(p, "the master workbook")
    options.add_output(p, "the .xlsx to write", required=True)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from funnel_xl.errors import InputError
    from funnel_xl.outputs import Folder
    from funnel_xl.services.export import export_for_readers
    from funnel_xl.workbook.file_adapter import FileWorkbook

    path, out = Path(args.path), Path(args.output)
    if out.resolve() == path.resolve():
        raise InputError(f"{out.name}: the export must not overwrite the master workbook")
    print(export_for_readers(FileWorkbook(path, read_only=True, quiet=True), Folder(out.parent), out.name))
    return 0
