"""``funnel-xl collect PATH INBOX``: merge returned forms into 商机 and log every outcome in 收集记录 (收集评估表)."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from funnel_xl.cli import options
from funnel_xl.labels import label


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
        for line in summary_lines(report, Path(args.path).name):
            print(line)
    return 0


def summary_lines(report, master: str) -> list[str]:
    """What a collect did, as a manager reads it, in the workbook's language: the totals, each rep's line, the
    conflicts and refused files with their reasons, and what to do next."""
    lang = report.language
    say = lambda key, **kw: label(f"collect_summary.{key}", lang).format(**kw)  # noqa: E731
    lines = [say("totals", files=report.files, forms=report.forms, merged=report.merged,
                 unchanged=report.unchanged, conflicts=report.conflicts, rejected=report.rejected,
                 activity=report.activity)]
    per_rep: dict[str, Counter] = {}
    for e in report.entries:
        per_rep.setdefault(e.rep or "-", Counter())[e.outcome] += 1
    if per_rep:
        lines.append(say("by_rep"))
        for rep, counts in sorted(per_rep.items()):
            lines.append("  " + say("rep_line", rep=rep, merged=counts["merged"] + counts["neutralised"],
                                    conflicts=counts["conflict"], rejected=counts["rejected"]))
    conflicts = [e for e in report.entries if e.outcome == "conflict"]
    if conflicts:
        lines.append(say("conflicts"))
        lines += ["  " + say("conflict_line", opportunity=e.opportunity, field=e.field, master=_one_line(e.old),
                             form=_one_line(e.new)) for e in conflicts]
    refused = [(name, why) for name, (outcome, why) in report.file_outcomes.items() if outcome == "refused"]
    if refused:
        lines.append(say("refused"))
        lines += ["  " + say("file_line", file=name, reason=_one_line(why)) for name, why in refused]
    skipped = [(name, why) for name, (outcome, why) in report.file_outcomes.items() if outcome == "skipped"]
    if skipped:
        lines.append(say("skipped"))
        lines += ["  " + _one_line(why) for _, why in skipped]
    if report.written:
        lines.append(say("next_recalc", master=master) if report.merged or report.activity else say("logged"))
    else:
        lines.append(say("nothing"))
    return lines


def _one_line(text: str) -> str:
    """A value on one line of the summary: its own tabs and line breaks would break the lines."""
    return " ".join(str(text).split()) if any(ch in str(text) for ch in "\t\n\r") else str(text)
