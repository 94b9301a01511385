"""``funnel-xl import PATH EXPORT --mapping MAP.toml``: load a CRM export into 商机 and 销售人员 (导入CRM数据)."""

from __future__ import annotations

import argparse
from pathlib import Path

from funnel_xl.cli import options


def add(sub) -> None:
    p = sub.add_parser(
        "import", help="import a CRM export (CSV/XLSX) into 商机 and 销售人员 (导入CRM数据)",
        description="Load a CRM export into the opportunities and reps tables through a mapping file. "
                    "Rows are matched by id, so importing the same export again changes nothing.")
    options.add_workbook(p)
    p.add_argument("export", help="the export: a .csv/.xlsx file, or a folder holding the files the mapping names")
    p.add_argument("--mapping", required=True, help="the mapping file (.toml), e.g. templates/crm/maven_mapping.toml")
    p.add_argument("--dry-run", action="store_true", help="show what would change and write nothing")
    options.add_output(p, "write the result here instead of over PATH")
    options.add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from funnel_xl.exchange.mapping import load_mapping
    from funnel_xl.outputs import Folder
    from funnel_xl.services.import_crm import import_crm, problems_file_name
    from funnel_xl.workbook.file_adapter import FileWorkbook

    path = Path(args.path)
    output = Path(args.output) if args.output else path
    with FileWorkbook(path, output=output, quiet=True) as book:
        report = import_crm(book, Path(args.export), load_mapping(args.mapping), dry_run=args.dry_run,
                            outputs=Folder(output.parent), problems_name=problems_file_name(output.name))
    if args.json:
        options.print_json(report.summary())
    else:
        print(report.describe())
    return 0
