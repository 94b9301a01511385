"""``funnel-xl forms PATH -o DIR``: the stage-assessment forms, one workbook per rep (生成评估表)."""

from __future__ import annotations

import argparse
from pathlib import Path

from funnel_xl.cli import options


def add(sub) -> None:
    p = sub.add_parser("forms", help="generate the stage-assessment forms, one workbook per rep (生成评估表)")
    options.add_workbook(p, "the master workbook")
    options.add_output(p, "folder for the form workbooks", required=True)
    p.add_argument("--rep", help="only this rep's opportunities")
    p.add_argument("--opportunity", help="only this opportunity id")
    options.add_as_of(p, "date printed on the forms and of the quota figures (default today)")
    p.add_argument("--workers", type=int, default=1, help="processes writing workbooks in parallel")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from funnel_xl.outputs import Folder
    from funnel_xl.services.forms import generate_forms

    as_of = options.as_of(args)
    with open_master(Path(args.path)) as book:
        paths = generate_forms(book, Folder(args.output), rep=args.rep, opportunity=args.opportunity, as_of=as_of,
                               progress=None if args.quiet else options.stderr_progress, workers=args.workers)
    for p in paths:
        print(p)
    return 0


def open_master(path: Path):
    """The master for generating forms: read only (so Excel may hold it open) once it has its form key; the first
    forms of a master write the key into it, so then it is opened for writing."""
    from funnel_xl.workbook.file_adapter import FileWorkbook

    with FileWorkbook(path, read_only=True, quiet=True) as book:
        has_key = book.form_key() is not None
    return FileWorkbook(path, read_only=has_key, quiet=True)
