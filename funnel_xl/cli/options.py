"""What several commands share: the workbook argument, report dates, ``--json``, ``-o``, the progress line."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from typing import Any

from funnel_xl.errors import InputError

# Report dates the figures can be computed for: Excel's dates start at 1900-03-01, and a report date plus the
# years a plan looks ahead must stay within what a pandas timestamp holds (to 2262).
FIRST_REPORT_DATE, LAST_REPORT_DATE = dt.date(1900, 3, 1), dt.date(2199, 12, 31)


def date(text: str) -> dt.date:
    """An argparse type: YYYY-MM-DD."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def add_workbook(p: argparse.ArgumentParser, help: str = "the workbook (.xlsm/.xlsx)") -> None:
    p.add_argument("path", help=help)


def add_as_of(p: argparse.ArgumentParser, help: str = "report date YYYY-MM-DD (default: today)") -> None:
    p.add_argument("--as-of", type=date, help=help)


def add_json(p: argparse.ArgumentParser, help: str = "print a JSON summary instead of the report") -> None:
    p.add_argument("--json", action="store_true", help=help)


def add_output(p: argparse.ArgumentParser, help: str, *, required: bool = False, default: str | None = None) -> None:
    p.add_argument("-o", "--output", required=required, default=default, help=help)


def as_of(args: argparse.Namespace) -> dt.date:
    """The report date (``--as-of``, else today), refused in one line when no figure can be computed for it."""
    day = args.as_of or dt.date.today()
    if not FIRST_REPORT_DATE <= day <= LAST_REPORT_DATE:
        raise InputError(f"--as-of {day.isoformat()}: the report date must lie between {FIRST_REPORT_DATE} and "
                         f"{LAST_REPORT_DATE}; give the date the figures are for as YYYY-MM-DD")
    return day


def print_json(data: Any, *, indent: int | None = 2) -> None:
    print(json_text(data, indent=indent))


def json_text(data: Any, *, indent: int | None = 2, depth: int = 2) -> str:
    """JSON laid out ``depth`` levels deep, each entry below that on one line: as readable as full indentation
    for a report of tens of thousands of problems, and written by json's C encoder (indenting everything is
    pure Python, 0.6 s for 27,000 problems)."""
    if indent is None:
        return json.dumps(data, ensure_ascii=False)
    pad, encode = " " * indent, json.JSONEncoder(ensure_ascii=False).encode  # one encoder for every entry

    def block(value: Any, level: int) -> str:
        inner = pad * (level + 1)
        if level < depth and isinstance(value, dict) and value:
            items = (f"{inner}{_json_key(k)}: {block(v, level + 1)}" for k, v in value.items())
            return "{\n" + ",\n".join(items) + "\n" + pad * level + "}"
        if level < depth and isinstance(value, list) and value:
            return "[\n" + ",\n".join(inner + block(v, level + 1) for v in value) + "\n" + pad * level + "]"
        return encode(value)

    return block(data, 0)


def _json_key(key: Any) -> str:
    """A dict key as json writes it (a number or None becomes its text, as json.dumps does)."""
    return json.dumps({key: 0}, ensure_ascii=False)[1:-4]


def stderr_progress(done: int, total: int, message: str) -> None:
    """One progress line on stderr, rewritten in place; a new line when done."""
    end = "\n" if done >= total else ""
    print(f"\r[{done}/{total}] {message[:60]:<60}", end=end, file=sys.stderr, flush=True)
