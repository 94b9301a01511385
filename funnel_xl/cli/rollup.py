"""``funnel-xl rollup TEAM.xlsm... -o 公司汇总.xlsx``: the company view, every team's workbook read, never written."""

from __future__ import annotations

import argparse

from funnel_xl.cli import options


def add(sub) -> None:
    p = sub.add_parser("rollup", help="add up team workbooks into a values-only company workbook (公司汇总)")
    p.add_argument("paths", nargs="+", metavar="TEAM", help="team workbooks (.xlsm/.xlsx), or folders holding them")
    options.add_as_of(p)
    options.add_output(p, "the company workbook to write (.xlsx, values only)")
    options.add_json(p, "print the company figures as JSON (recalc's shape, plus by_team)")
    p.add_argument("--hierarchy", metavar="FILE", help="a TOML file placing each team on the levels above it")
    p.add_argument("--history", metavar="URL", help="read every team's weekly history from this PostgreSQL "
                   "database (each team under its workbook's file name) instead of the files beside the workbooks")
    p.add_argument("--workers", type=int, help="processes reading workbooks (default: one per core)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from funnel_xl.services.rollup import read_hierarchy, rollup_workbooks
    from funnel_xl.textreport import render_rollup

    hierarchy = read_hierarchy(args.hierarchy) if args.hierarchy else None
    result = rollup_workbooks(args.paths, options.as_of(args), output=args.output, url=args.history,
                              hierarchy=hierarchy, workers=args.workers)
    if args.json:
        options.print_json(result.summary())
    else:
        print(render_rollup(result))
        if result.output is not None:
            print(f"\n-> {result.output}")
    return 0
