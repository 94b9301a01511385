"""``funnel-xl collect PATH INBOX``: merge returned forms into 商机 and log every outcome in 收集记录 (收集评估表)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from funnel_xl.cli import options


def add(sub) -> None:
    p = sub.add_parser("collect", help="merge returned forms (.xlsx files, saved .eml messages) into the master "
                                       "(收集评估表)")
    options.add_workbook(p, "the master workbook")
    p.add_argument("inbox", help="folder of returned .xlsx files and/or .eml messages")
    options.add_json(p, "print a JSON summary")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from funnel_xl.forms.collect import FolderInbox
    from funnel_xl.services.collect import collect_forms
    from funnel_xl.workbook.file_adapter import FileWorkbook

    with FileWorkbook(Path(args.path), quiet=True) as book:
        report = collect_forms(book, FolderInbox(args.inbox), progress=None if args.json else options.stderr_progress)
    if args.json:
        options.print_json(report.summary())
    else:
        for e in report.entries:
            print("\t".join(_one_line(v) for v in [e.outcome, e.file, e.opportunity, e.field, e.old, "->", e.new,
                                                    e.reason]))
        for name, (outcome, reason) in report.file_outcomes.items():
            if outcome != "collected":
                print("\t".join([outcome, _one_line(name), _one_line(reason)]))
        print(json.dumps(report.summary(), ensure_ascii=False))
    return 0


def _one_line(text: str) -> str:
    """A field of the tab-separated report: its own tabs and line breaks would break the columns."""
    return " ".join(str(text).split()) if any(ch in str(text) for ch in "\t\n\r") else str(text)
