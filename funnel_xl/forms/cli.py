"""The command-line doors to the form use cases: forms, send, collect, export, quota-sheets.

``add_forms_commands(subparsers)`` adds them to ``funnel-xl``'s argument parser; each handler calls one service
function and prints a short result, with a progress line on stderr for long runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def stderr_progress(done: int, total: int, message: str) -> None:
    """One progress line on stderr, rewritten in place; a new line when done."""
    end = "\n" if done >= total else ""
    print(f"\r[{done}/{total}] {message[:60]:<60}", end=end, file=sys.stderr, flush=True)


def cmd_forms(args: argparse.Namespace) -> int:
    from funnel_xl.services.forms import generate_forms

    paths = generate_forms(Path(args.path), Path(args.output), rep=args.rep, opportunity=args.opportunity,
                           as_of=args.as_of, progress=None if args.quiet else stderr_progress, workers=args.workers)
    for p in paths:
        print(p)
    return 0


def cmd_send(args: argparse.Namespace) -> int:
    from funnel_xl.exchange.mail import SmtpSettings, parse_host_port, smtp_password
    from funnel_xl.services.forms import send_forms

    if args.dry_run:
        outbox = Path(args.outbox or Path(args.dir) / "outbox")
        sent = send_forms(Path(args.dir), sender=args.sender, outbox=outbox)
        print(f"{len(sent)} message(s) written to {outbox}")
        return 0
    if not args.smtp:
        raise SystemExit("funnel-xl send: give --smtp HOST:PORT, or --dry-run")
    host, port = parse_host_port(args.smtp, 465 if args.ssl else 587 if args.starttls else 25)
    smtp = SmtpSettings(host, port, starttls=args.starttls, use_ssl=args.ssl, user=args.user)
    sent = send_forms(Path(args.dir), sender=args.sender, smtp=smtp, password=smtp_password(args.user),
                      progress=stderr_progress)
    print(f"{len(sent)} message(s) sent: {', '.join(sent)}")
    return 0


def cmd_collect(args: argparse.Namespace) -> int:
    from funnel_xl.services.forms import collect_forms

    report = collect_forms(Path(args.path), Path(args.inbox), progress=None if args.json else stderr_progress)
    if args.json:
        print(json.dumps(report.summary(), ensure_ascii=False, indent=2))
    else:
        for e in report.entries:
            print("\t".join([e.outcome, e.file, e.opportunity, e.field, e.old, "->", e.new, e.reason]))
        print(json.dumps(report.summary(), ensure_ascii=False))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from funnel_xl.services.forms import export_for_readers

    print(export_for_readers(Path(args.path), Path(args.output)))
    return 0


def cmd_quota_sheets(args: argparse.Namespace) -> int:
    from funnel_xl.services.forms import build_quota_sheets

    for p in build_quota_sheets(Path(args.path), Path(args.output), args.as_of, progress=stderr_progress):
        print(p)
    return 0


def add_forms_commands(sub) -> None:
    """Add forms, send, collect, export and quota-sheets to the ``funnel-xl`` subparsers."""
    f = sub.add_parser("forms", help="generate the stage-assessment forms, one workbook per rep (生成评估表)")
    f.add_argument("path", help="the master workbook")
    f.add_argument("-o", "--output", required=True, help="folder for the form workbooks")
    f.add_argument("--rep", help="only this rep's opportunities")
    f.add_argument("--opportunity", help="only this opportunity id")
    f.add_argument("--as-of", type=_date, help="date printed on the forms and of the quota figures (default today)")
    f.add_argument("--workers", type=int, default=1, help="processes writing workbooks in parallel")
    f.add_argument("--quiet", action="store_true", help="no progress line")
    f.set_defaults(func=cmd_forms)

    s = sub.add_parser("send", help="e-mail each rep their form workbook (password: env FUNNEL_XL_SMTP_PASSWORD "
                                    "or a prompt, never an argument)")
    s.add_argument("dir", help="the folder 'forms' wrote (with manifest.json)")
    s.add_argument("--smtp", help="HOST:PORT of the mail server")
    tls = s.add_mutually_exclusive_group()
    tls.add_argument("--starttls", action="store_true", help="upgrade the connection with STARTTLS")
    tls.add_argument("--ssl", action="store_true", help="connect with SSL/TLS from the start")
    s.add_argument("--user", help="SMTP login name")
    s.add_argument("--from", dest="sender", required=True, help="sender address")
    s.add_argument("--dry-run", action="store_true", help="write .eml files to an outbox folder instead")
    s.add_argument("--outbox", help="outbox folder for --dry-run (default DIR/outbox)")
    s.set_defaults(func=cmd_send)

    c = sub.add_parser("collect", help="merge returned forms (.xlsx files, saved .eml messages) into the master "
                                       "(收集评估表)")
    c.add_argument("path", help="the master workbook")
    c.add_argument("inbox", help="folder of returned .xlsx files and/or .eml messages")
    c.add_argument("--json", action="store_true", help="print a JSON summary")
    c.set_defaults(func=cmd_collect)

    e = sub.add_parser("export", help="a values-only .xlsx copy for readers without Python (no macros)")
    e.add_argument("path", help="the master workbook")
    e.add_argument("-o", "--output", required=True, help="the .xlsx to write")
    e.set_defaults(func=cmd_export)

    q = sub.add_parser("quota-sheets", help="one values-only quota workbook per rep (生成配额表)")
    q.add_argument("path", help="the master workbook")
    q.add_argument("-o", "--output", required=True, help="folder for the quota workbooks")
    q.add_argument("--as-of", type=_date, help="date of the figures (default today)")
    q.set_defaults(func=cmd_quota_sheets)
