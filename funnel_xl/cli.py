"""The command line, ``funnel-xl``: every macro's job headless on a file, for automation, servers and CI."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
from pathlib import Path

from funnel_xl.errors import FunnelError


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def cmd_recalc(args: argparse.Namespace) -> int:
    from funnel_xl.history import default_team, history_path, open_history
    from funnel_xl.services.recalculate import recalculate
    from funnel_xl.textreport import render
    from funnel_xl.workbook.file_adapter import FileWorkbook

    path = Path(args.path)
    output = Path(args.output) if args.output else path
    output.parent.mkdir(parents=True, exist_ok=True)
    if not args.history and output != path and history_path(path).exists() and not history_path(output).exists():
        shutil.copy2(history_path(path), history_path(output))
    book = FileWorkbook(path, output=output, quiet=args.json)
    store = None if args.no_history else open_history(output, args.history, team=args.team or default_team(path))
    try:
        result = recalculate(book, args.as_of or dt.date.today(), history=store, source=path.name)
    finally:
        if store is not None:
            store.close()
    if args.json:
        print(json.dumps(result.summary(), ensure_ascii=False, indent=2))
    else:
        print(render(result))
        print(f"\n-> {output}" + (f"  (backup: {book.backup.name})" if book.backup else ""))
    return 0


def cmd_build_workbook(args: argparse.Namespace) -> int:
    from funnel_xl.workbook.build import build_workbook

    out = build_workbook(Path(args.output), lang=args.lang, methodology=args.methodology, data=args.data)
    print(out)
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from funnel_xl.labels import label
    from funnel_xl.services.calibrate import calibrate, write_suggestion
    from funnel_xl.textreport import pct, table
    from funnel_xl.workbook.file_adapter import FileWorkbook

    path = Path(args.path)
    result = calibrate(FileWorkbook(path, allow_open=True), path.name, min_count=args.min_count)
    L = lambda key: label(key, result.language)  # noqa: E731
    rows = [[result.methodology.stage(k).name(result.language), pct(r.configured_rate), str(int(r.reached_closed)),
             pct(r.observed_rate), f"{pct(r.ci_low)} - {pct(r.ci_high)}",
             L("out.outside_interval") if r.configured_outside_ci else "",
             pct(result.suggested.stage(k).win_rate)]
            for k, r in result.table.iterrows()]
    print(table([L("outcol.stage"), L("outcol.win_rate"), L("outcol.closed_count"), L("outcol.observed_rate"),
                 L("calibration.ci"), L("outcol.flag"), L("calibration.suggested")], rows))
    out = Path(args.output) if args.output else path.with_name(f"{path.stem}.suggested-methodology.toml")
    print(f"\n-> {write_suggestion(result, out)}")
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    from funnel_xl.libreoffice import render_pngs

    for png in render_pngs(Path(args.path), Path(args.outdir)):
        print(png)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="funnel-xl", description="Sales funnel workbook tools (销售漏斗).")
    p.add_argument("--debug", action="store_true", help="show the Python traceback of an internal error")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("recalc", help="recalculate the forecast of a workbook (重新计算预测)")
    r.add_argument("path", help="the workbook (.xlsm/.xlsx)")
    r.add_argument("--as-of", type=_date, help="report date YYYY-MM-DD (default: today)")
    r.add_argument("--json", action="store_true", help="print a JSON summary instead of tables")
    r.add_argument("-o", "--output", help="write the result here instead of over PATH")
    r.add_argument("--no-history", action="store_true", help="neither read nor store weekly snapshots")
    r.add_argument("--history", metavar="URL", help="keep the weekly snapshots in this PostgreSQL database "
                   "(postgresql://user@host:5432/db) instead of the file beside the workbook")
    r.add_argument("--team", help="the team's name in that database (default: the workbook's file name)")
    r.set_defaults(func=cmd_recalc)

    b = sub.add_parser("build-workbook", help="build Funnel.xlsm from the sources in the repo")
    b.add_argument("-o", "--output", default="workbook/Funnel.xlsm")
    b.add_argument("--lang", choices=("zh-CN", "en"), default="zh-CN")
    b.add_argument("--methodology", default="big_project", help="a built-in key or a path to a .toml file")
    b.add_argument("--data", choices=("sample", "empty"), default="sample")
    b.set_defaults(func=cmd_build_workbook)

    c = sub.add_parser("calibrate", help="observed win rates per stage and a suggested methodology file (赢率校准)")
    c.add_argument("path", help="the workbook")
    c.add_argument("-o", "--output", help="where to write the suggested methodology (.toml)")
    c.add_argument("--min-count", type=int, default=30,
                   help="closed deals a stage needs before its observed rate is suggested (default 30)")
    c.set_defaults(func=cmd_calibrate)

    v = sub.add_parser("render", help="render every sheet to PNG through LibreOffice (for looking at)")
    v.add_argument("path")
    v.add_argument("-o", "--outdir", default="renders")
    v.set_defaults(func=cmd_render)

    from funnel_xl.forms.cli import add_forms_commands

    add_forms_commands(sub)
    from funnel_xl.exchange.import_cli import add_import_command

    add_import_command(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (FunnelError, FileNotFoundError) as exc:
        print(f"funnel-xl: {one_line(exc)}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug, not bad input: still one line, with the way to see the traceback
        if args.debug:
            raise
        print(f"funnel-xl: internal error {type(exc).__name__}: {one_line(exc)} (run with --debug for details)",
              file=sys.stderr)
        return 3


def one_line(exc: BaseException) -> str:
    """An error on one line (its lines joined), so a failure reads as one line in a log or a CI job."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    out = lines[0]
    for line in lines[1:]:
        out += (" " if out.endswith(":") else "; ") + line
    return out


if __name__ == "__main__":
    sys.exit(main())
