"""``funnel-xl calibrate PATH``: observed win rates per stage beside the configured ones, and a suggested file."""

from __future__ import annotations

import argparse
from pathlib import Path

from funnel_xl.cli import options


def add(sub) -> None:
    p = sub.add_parser("calibrate", help="observed win rates per stage and a suggested methodology file (赢率校准)")
    options.add_workbook(p, "the workbook")
    options.add_output(p, "where to write the suggested methodology (.toml; default beside the workbook)")
    options.add_as_of(p, "report date YYYY-MM-DD: deals created more than a typical sales cycle before it count "
                         "(default: today)")
    p.add_argument("--min-count", type=int, default=30,
                   help="deals a stage needs before its observed rate is suggested (default 30)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from funnel_xl.labels import label
    from funnel_xl.outputs import Folder
    from funnel_xl.services.calibrate import calibrate
    from funnel_xl.textreport import pct, table
    from funnel_xl.workbook.file_adapter import FileWorkbook

    path = Path(args.path)
    result = calibrate(FileWorkbook(path, read_only=True, quiet=True), options.as_of(args), min_count=args.min_count)
    L = lambda key: label(key, result.language)  # noqa: E731
    # The suggested column is the rate the suggested file holds: the observed one only where a rule allows it.
    rows = [[result.methodology.stage(k).name(result.language), pct(r.configured_rate), str(int(r.reached)),
             pct(r.observed_rate), f"{pct(r.ci_low)} - {pct(r.ci_high)}", pct(result.suggested.stage(k).win_rate),
             L(f"calibration.verdict.{r.verdict}")]
            for k, r in result.table.iterrows()]
    print(table([L("outcol.stage"), L("outcol.win_rate"), L("outcol.reached_count"), L("outcol.observed_rate"),
                 L("calibration.ci"), L("calibration.suggested"), L("outcol.verdict")], rows))
    out = Path(args.output) if args.output else path.with_name(f"{path.stem}.suggested-methodology.toml")
    print(f"\n-> {Folder(out.parent).write(out.name, result.suggested_toml().encode('utf-8'))}")
    return 0
