"""One cell of an export read as the workbook reads it, with what the export adds: the mapping's date patterns, Excel
date numbers typed as text (46100), amounts no deal can have (1e309), and the total row at the bottom of a hand-kept
sheet. Each reader returns the value or raises ``InputError`` with the code and params of the label catalogue.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

import pandas as pd

from funnel_xl.domain.parsing import parse_amount, parse_date
from funnel_xl.errors import InputError

# No deal is worth this much (a thousand trillion yuan), and Excel keeps only 15 digits of a number: such a figure
# is a typing or export mistake, never an amount.
_SERIAL_TEXT = re.compile(r"\d{1,7}(?:\.\d+)?")  # an Excel date number a CSV carries as text: 46100, 46100.5
# What the first cell of a total row says (folded: no spaces, case-folded, a closing colon dropped).
TOTAL_WORDS = frozenset({"合计", "总计", "小计", "共计", "总额", "合计金额", "total", "totals", "grandtotal",
                         "subtotal", "sum"})


def fold_name(text: object) -> str:
    """A stage, status or total word as compared: NFKC, no white space anywhere, case-folded."""
    return "".join(unicodedata.normalize("NFKC", str(text)).split()).casefold()


def is_total_word(value: object) -> bool:
    return isinstance(value, str) and fold_name(value).rstrip(":") in TOTAL_WORDS


def read_amount(value: object) -> float:
    """An amount in CNY (120万, ¥1,200,000, full-width digits, 1054.5), 0 or more; what no deal can be (infinite,
    beyond ``parsing.MAX_AMOUNT``) is refused by ``parse_amount`` itself, as the workbook's reader refuses it."""
    number = parse_amount(value)
    if number < 0:
        raise InputError(f"{value!r} is negative; expected an amount of 0 or more", code="amount_negative",
                         params=(("value", value),))
    return number


def read_date(value: object, formats: tuple[str, ...] = ()) -> pd.Timestamp:
    """A date: the mapping's strptime patterns first, then what the workbook reads (2026-03-05, 2026年3月5日,
    20260305, a real date, an Excel date number, also when a CSV carries it as text)."""
    readable = value
    if isinstance(value, str):
        text = value.strip()
        for fmt in formats:
            try:
                return pd.Timestamp(datetime.strptime(text, fmt))
            except ValueError:
                continue
        readable = float(text) if _SERIAL_TEXT.fullmatch(text) else text
    try:
        return parse_date(readable)
    except InputError as exc:
        if exc.code == "date_ambiguous" and not formats:
            raise InputError(f"{value!r} puts day and month before the year, which reads two ways; say which in "
                             "the mapping: [source].date_format = '%m/%d/%Y' (or '%d/%m/%Y')",
                             code="import_date_ambiguous", params=(("value", value),)) from None
        if not formats:
            raise
        patterns = " or ".join(formats)
        raise InputError(f"{exc}; or as {patterns} ([source].date_format in the mapping)",
                         code="import_date_unreadable", params=(("value", value), ("formats", patterns))) from None
