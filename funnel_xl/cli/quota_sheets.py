"""``funnel-xl quota-sheets PATH -o DIR``: one values-only quota workbook per rep (生成配额表)."""

from __future__ import annotations

import argparse
from pathlib import Path

from funnel_xl.cli import options


def add(sub) -> None:
    p = sub.add_parser("quota-sheets", help="one values-only quota workbook per rep (生成配额表)")
    options.add_workbook(p, "the master workbook")
    options.add_output(p, "folder for the quota workbooks", required=True)
    options.add_as_of(p, "date of the figures (default today)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from funnel_xl.outputs import Folder
    from funnel_xl.services.forms import build_quota_sheets
    from funnel_xl.workbook.file_adapter import FileWorkbook

    for p in build_quota_sheets(FileWorkbook(Path(args.path), read_only=True, quiet=True), Folder(args.output),
                                options.as_of(args), progress=options.stderr_progress):
        print(p)
    return 0
