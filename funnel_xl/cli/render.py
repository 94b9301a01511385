"""``funnel-xl render PATH``: every sheet to PNG through LibreOffice, for looking at."""

from __future__ import annotations

import argparse
from pathlib import Path

from funnel_xl.cli import options


def add(sub) -> None:
    p = sub.add_parser("render", help="render every sheet to PNG through LibreOffice (for looking at)")
    options.add_workbook(p)
    p.add_argument("-o", "--outdir", default="renders", help="folder for the PNGs (default renders/)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from funnel_xl.libreoffice import render_pngs

    for png in render_pngs(Path(args.path), Path(args.outdir)):
        print(png)
    return 0
