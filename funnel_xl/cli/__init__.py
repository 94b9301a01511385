"""The command line, ``funnel-xl``: every macro's job headless on a file, for automation, servers and CI.

One module per command (``add`` registers its arguments, ``run`` calls one service and prints the outcome);
``options`` holds what several share, ``exits`` the one mapping from error class to exit code.
"""

from __future__ import annotations

import argparse
import signal
import sys

from funnel_xl.cli import (
    build_workbook, calibrate, collect, export, forms, import_crm, quota_sheets, recalc, render, rollup, send, upgrade,
)
from funnel_xl.cli.exits import BUG, exit_code, report
from funnel_xl.cli.terminal import SafeStream

COMMANDS = (recalc, build_workbook, upgrade, calibrate, render, forms, send, collect, export, quota_sheets, import_crm,
            rollup)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="funnel-xl", description="Sales funnel workbook tools (销售漏斗).",
                                epilog="Exit codes: 0 done; 1 a problem with the input or the environment, told in "
                                       "one line with what to do; 2 a wrong command line; 3 an internal error; "
                                       "130 interrupted.")
    p.add_argument("--debug", action="store_true", help="show the Python traceback of an internal error")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add(sub)
    return p


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt  # a termination signal unwinds like Ctrl+C, so every temporary file is removed


def main(argv: list[str] | None = None) -> int:
    """Run one command; its outcome is the exit code (argparse itself exits 2 on a wrong command line).

    What it prints goes through ``SafeStream`` (no escape sequence from a cell reaches the terminal); SIGTERM
    unwinds like Ctrl+C, so a terminated run leaves no temporary file behind."""
    from funnel_xl.workbook import lock

    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = SafeStream(sys.stdout), SafeStream(sys.stderr)
    previous = signal.signal(signal.SIGTERM, _interrupt) if _main_thread() else None
    try:
        args = parser().parse_args(argv)
        lock.set_command(f"funnel-xl {args.command}")
        try:
            return args.run(args)
        except (Exception, KeyboardInterrupt) as exc:
            code = exit_code(exc)
            if code == BUG and args.debug:
                raise
            report(exc, code)
            return code
    finally:
        sys.stdout, sys.stderr = streams
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


if __name__ == "__main__":
    sys.exit(main())
