"""``funnel-xl upgrade OLD.xlsm [-o NEW.xlsm] [--methodology KEY|FILE]``: build the workbook anew from today's
sources (this funnel_xl, the methodology in 阶段设置 or the one given) and carry every row, setting, user sheet,
name, the collection log and the weekly history into it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from funnel_xl.cli import options


def add(sub) -> None:
    p = sub.add_parser("upgrade", help="rebuild a workbook from today's sources, keeping its data and history")
    p.add_argument("path", help="the workbook to upgrade (.xlsm)")
    options.add_output(p, "where the upgraded workbook goes (default: over PATH, keeping PATH's .bak copy)")
    p.add_argument("--methodology", help="a built-in key or a .toml file (default: the workbook's 阶段设置)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from funnel_xl.methodologies import load_methodology
    from funnel_xl.services.upgrade import upgrade_workbook

    path = Path(args.path)
    if not path.exists():
        raise FileNotFoundError(f"workbook not found: {path}")
    methodology = load_methodology(args.methodology) if args.methodology else None
    report = upgrade_workbook(path, Path(args.output) if args.output else None, methodology=methodology)
    print(json.dumps(report.summary(), ensure_ascii=False, indent=2) if args.json else report.describe())
    return 0
