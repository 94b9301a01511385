"""``funnel-xl import PATH EXPORT --mapping MAP.toml``: load a CRM export or a hand-kept sheet into 商机 and 销售人员
(导入CRM数据); ``funnel-xl import [PATH] --init EXPORT``: write a starting mapping from the export's headers."""

from __future__ import annotations

import argparse
from pathlib import Path

from funnel_xl.cli import options


def add(sub) -> None:
    p = sub.add_parser(
        "import", help="import a CRM export or your own sheet (CSV/XLSX) into 商机 and 销售人员 (导入CRM数据)",
        description="Load a CRM export into the opportunities and reps tables through a mapping file. "
                    "Rows are matched by id, so importing the same export again changes nothing. "
                    "With --init EXPORT, write a starting mapping from the export's headers instead (every guess a "
                    "commented line to confirm); PATH, if given, supplies the methodology.")
    p.add_argument("path", nargs="?", help="the workbook (.xlsm/.xlsx)")
    p.add_argument("export", nargs="?", help="the export: a .csv/.xlsx file, or a folder holding the files the "
                                             "mapping names")
    p.add_argument("--mapping", help="the mapping file (.toml), e.g. templates/crm/maven_mapping.toml; with --init, "
                                     "where to write it (default: beside the export, EXPORT.mapping.toml)")
    p.add_argument("--init", metavar="EXPORT", help="write a starting mapping for EXPORT and import nothing")
    p.add_argument("--methodology", help="with --init and no workbook: the methodology (built-in key or .toml file; "
                                         "default big_project)")
    p.add_argument("--sheet", help="with --init: the sheet of an .xlsx export (default the first)")
    p.add_argument("--dry-run", action="store_true", help="show what would change and write nothing")
    options.add_as_of(p, "the report date a default { from = \"report_date\" } counts from (default: today)")
    options.add_output(p, "write the result here instead of over PATH")
    options.add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from funnel_xl.errors import UsageError

    if args.init:
        if args.export:
            raise UsageError("import --init EXPORT takes at most the workbook besides; give the export once")
        return _init(args)
    if not (args.path and args.export and args.mapping):
        raise UsageError("import needs the workbook, the export and --mapping MAP.toml "
                         "(or --init EXPORT to write a starting mapping)")
    from funnel_xl.exchange.mapping import load_mapping
    from funnel_xl.outputs import Folder
    from funnel_xl.services.import_crm import import_crm, problems_file_name
    from funnel_xl.workbook.file_adapter import FileWorkbook

    path = Path(args.path)
    output = Path(args.output) if args.output else path
    with FileWorkbook(path, output=output, quiet=True) as book:
        report = import_crm(book, Path(args.export), load_mapping(args.mapping), dry_run=args.dry_run,
                            outputs=Folder(output.parent), problems_name=problems_file_name(output.name),
                            as_of=args.as_of)
    if args.json:
        options.print_json(report.summary())
    else:
        print(report.describe())
    return 0


def _init(args: argparse.Namespace) -> int:
    from funnel_xl.errors import UsageError
    from funnel_xl.outputs import Folder
    from funnel_xl.services.import_crm import starting_mapping
    from funnel_xl.workbook.file_adapter import FileWorkbook

    export = Path(args.init)
    target = Path(args.mapping) if args.mapping else export.with_name(f"{export.stem}.mapping.toml")
    if target.exists():
        raise UsageError(f"{target} exists; import --init never writes over a mapping (give --mapping NEW.toml)")
    book = FileWorkbook(Path(args.path), read_only=True, quiet=True) if args.path else None
    print(starting_mapping(export, Folder(target.parent), target.name, book=book, methodology=args.methodology,
                           sheet=args.sheet))
    return 0
