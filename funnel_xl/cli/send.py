"""``funnel-xl send DIR``: e-mail each rep the form workbook ``forms`` wrote (or write .eml files on a dry run).

A login needs TLS (``--starttls``/``--ssl``) unless ``--insecure-plain-auth``; every accepted message goes into
DIR/sent-log.csv, and ``--resume`` skips what it holds."""

from __future__ import annotations

import argparse
from pathlib import Path


def add(sub) -> None:
    p = sub.add_parser("send", help="e-mail each rep their form workbook (password: env FUNNEL_XL_SMTP_PASSWORD "
                                    "or a prompt, never an argument)")
    p.add_argument("dir", help="the folder 'forms' wrote (with manifest.json)")
    p.add_argument("--smtp", help="HOST:PORT of the mail server")
    tls = p.add_mutually_exclusive_group()
    tls.add_argument("--starttls", action="store_true", help="upgrade the connection with STARTTLS")
    tls.add_argument("--ssl", action="store_true", help="connect with SSL/TLS from the start")
    p.add_argument("--user", help="SMTP login name (needs --starttls or --ssl, or --insecure-plain-auth)")
    p.add_argument("--insecure-plain-auth", action="store_true",
                   help="log in even without TLS (the password crosses the network in clear)")
    p.add_argument("--resume", action="store_true",
                   help="skip the messages sent-log.csv in DIR says were sent (after a failure part way)")
    p.add_argument("--from", dest="sender", required=True, help="sender address")
    p.add_argument("--dry-run", action="store_true", help="write .eml files to an outbox folder instead")
    p.add_argument("--outbox", help="outbox folder for --dry-run (default DIR/outbox)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from funnel_xl.cli.options import stderr_progress
    from funnel_xl.errors import UsageError
    from funnel_xl.exchange.mail import SmtpSettings, check_tls, parse_host_port, smtp_password
    from funnel_xl.services.forms import send_forms

    if args.dry_run:
        outbox = Path(args.outbox or Path(args.dir) / "outbox")
        report = send_forms(Path(args.dir), sender=args.sender, outbox=outbox)
        print(f"{len(report.sent)} message(s) written to {outbox}")
        return 0
    if not args.smtp:
        raise UsageError("send: give --smtp HOST:PORT, or --dry-run")
    host, port = parse_host_port(args.smtp, 465 if args.ssl else 587 if args.starttls else 25)
    smtp = SmtpSettings(host, port, starttls=args.starttls, use_ssl=args.ssl, user=args.user,
                        allow_plain_auth=args.insecure_plain_auth)
    check_tls(smtp)  # before the password is asked for
    report = send_forms(Path(args.dir), sender=args.sender, smtp=smtp, password=smtp_password(args.user),
                        progress=stderr_progress, resume=args.resume)
    print(f"{len(report.sent)} message(s) sent: {', '.join(report.sent) or '-'}"
          + (f"; {len(report.skipped)} sent before, skipped: {', '.join(report.skipped)}" if report.skipped else ""))
    return 0
