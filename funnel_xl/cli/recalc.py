"""``funnel-xl recalc PATH``: Recalculate forecast (the main job) on a file, printing the forecast or its JSON."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from funnel_xl.cli import options


def add(sub) -> None:
    p = sub.add_parser("recalc", help="recalculate the forecast of a workbook (重新计算预测)")
    options.add_workbook(p)
    options.add_as_of(p)
    options.add_json(p, "print a JSON summary instead of tables")
    options.add_output(p, "write the result here instead of over PATH")
    p.add_argument("--no-history", action="store_true", help="neither read nor store weekly snapshots")
    p.add_argument("--history", metavar="URL", help="keep the weekly snapshots in this PostgreSQL database "
                   "(postgresql://user@host:5432/db) instead of the file beside the workbook")
    p.add_argument("--team", help="the team's name in that database (default: the workbook's file name)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from funnel_xl.history import default_team, history_path, open_history
    from funnel_xl.labels import label
    from funnel_xl.services.recalculate import recalculate
    from funnel_xl.textreport import render
    from funnel_xl.workbook.file_adapter import FileWorkbook
    from funnel_xl.workbook.saving import copy_file

    path = Path(args.path)
    output = Path(args.output) if args.output else path
    as_of = options.as_of(args)
    output.parent.mkdir(parents=True, exist_ok=True)
    with FileWorkbook(path, output=output, quiet=args.json) as book:  # holds the lock until the save
        if not args.history and output != path and history_path(path).exists() and not history_path(output).exists():
            copy_file(history_path(path), history_path(output))
        store = None if args.no_history else open_history(output, args.history, team=args.team or default_team(path))
        try:
            result = recalculate(book, as_of, history=store)
        finally:
            if store is not None:
                store.close()
    if args.json:
        options.print_json(result.summary())
    else:
        print(render(result))
        backup = result.saved.backup
        print(f"\n-> {output}" + (f"  (backup: {backup.name})" if backup else ""))
    kept = result.saved.backup.name if result.saved.backup else path.name
    for sheet in result.overwritten:
        print(f"funnel-xl: {label('out.user_content', result.language).format(sheet=sheet, kept=kept)}",
              file=sys.stderr)
    return 0
