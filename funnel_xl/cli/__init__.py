"""The command line, ``funnel-xl``: every macro's job headless on a file, for automation, servers and CI.

One module per command (``add`` registers its arguments, ``run`` calls one service and prints the outcome);
``options`` holds what several share, ``exits`` the one mapping from error class to exit code.
"""

from __future__ import annotations

import argparse
import sys

from funnel_xl.cli import (
    build_workbook, calibrate, collect, export, forms, import_crm, quota_sheets, recalc, render, send, upgrade,
)
from funnel_xl.cli.exits import BUG, exit_code, report

COMMANDS = (recalc, build_workbook, upgrade, calibrate, render, forms, send, collect, export, quota_sheets, import_crm)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="funnel-xl", description="Sales funnel workbook tools (销售漏斗).",
                                epilog="Exit codes: 0 done; 1 a problem with the input or the environment, told in "
                                       "one line; 2 a wrong command line; 3 an internal error.")
    p.add_argument("--debug", action="store_true", help="show the Python traceback of an internal error")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run one command; its outcome is the exit code (argparse itself exits 2 on a wrong command line)."""
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except Exception as exc:
        code = exit_code(exc)
        if code == BUG and args.debug:
            raise
        report(exc, code)
        return code


if __name__ == "__main__":
    sys.exit(main())
