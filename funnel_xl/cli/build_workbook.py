"""``funnel-xl build-workbook``: build Funnel.xlsm from the sources in the repo (with the sample, recalculated);
a workbook already there that holds data of its own is replaced only with ``--force``."""

from __future__ import annotations

import argparse
from pathlib import Path

from funnel_xl.cli import options


def add(sub) -> None:
    p = sub.add_parser("build-workbook", help="build Funnel.xlsm from the sources in the repo")
    options.add_output(p, "the workbook to write (default workbook/Funnel.xlsm)", default="workbook/Funnel.xlsm")
    p.add_argument("--lang", choices=("zh-CN", "en"), default="zh-CN")
    p.add_argument("--methodology", default="big_project", help="a built-in key or a path to a .toml file")
    p.add_argument("--data", choices=("sample", "empty"), default="sample")
    p.add_argument("--force", action="store_true",
                   help="replace a workbook that holds data of its own (it is kept as its backup; its history is "
                        "left alone)")
    p.add_argument("--examples", action="store_true",
                   help="add 函数示例, each worksheet function beside its native formula (for developers)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from funnel_xl.services.build import build_workbook

    print(build_workbook(Path(args.output), lang=args.lang, methodology=args.methodology, data=args.data,
                         force=args.force, examples=args.examples))
    return 0
