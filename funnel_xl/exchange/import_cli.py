"""The ``funnel-xl import`` command: a thin door to ``services.import_crm.import_crm``.

``add_import_command(subparsers)`` registers it on the main parser (cli.py); ``main(argv)`` runs it alone, with the
same exit codes: 0 done, 1 bad input with a one-line reason.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from funnel_xl.errors import FunnelError


def cmd_import(args: argparse.Namespace) -> int:
    """Run one import and print its report (or its JSON summary)."""
    from funnel_xl.services.import_crm import import_crm

    report = import_crm(Path(args.path), Path(args.export), Path(args.mapping), dry_run=args.dry_run,
                        output=Path(args.output) if args.output else None)
    if args.json:
        print(json.dumps(report.summary(), ensure_ascii=False, indent=2))
    else:
        print(report.describe())
    return 0


def add_import_command(subparsers) -> argparse.ArgumentParser:
    """Register ``import PATH EXPORT --mapping MAPPING.toml [--dry-run] [--output OUT] [--json]``."""
    p = subparsers.add_parser(
        "import", help="import a CRM export (CSV/XLSX) into 商机 and 销售人员 (导入CRM数据)",
        description="Load a CRM export into the opportunities and reps tables through a mapping file. "
                    "Rows are matched by id, so importing the same export again changes nothing.")
    p.add_argument("path", help="the workbook (.xlsm/.xlsx)")
    p.add_argument("export", help="the export: a .csv/.xlsx file, or a folder holding the files the mapping names")
    p.add_argument("--mapping", required=True, help="the mapping file (.toml), e.g. templates/crm/maven_mapping.toml")
    p.add_argument("--dry-run", action="store_true", help="show what would change and write nothing")
    p.add_argument("-o", "--output", help="write the result here instead of over PATH")
    p.add_argument("--json", action="store_true", help="print a JSON summary instead of the report")
    p.set_defaults(func=cmd_import)
    return p


def main(argv: list[str] | None = None) -> int:
    """The import command on its own (tests, scripts): exit 0, or 1 with a one-line reason on stderr."""
    parser = argparse.ArgumentParser(prog="funnel-xl")
    add_import_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (FunnelError, FileNotFoundError) as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        print(f"funnel-xl: {'; '.join(lines) or type(exc).__name__}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
