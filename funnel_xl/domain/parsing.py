"""Scalar parsers for what Chinese users type into a sheet: amounts, dates, yes/no, text, percentages.

Each parser returns the parsed value or raises ``InputError`` whose message names the value and
says what was expected. Nothing is guessed: a form that could mean two things is rejected.
The vocabulary tables here (万, 亿, 年, 月, 日, 是, 否, status and category words, ...) are parsing
data, which is why they hold Chinese text; user-facing labels live in the label catalogue.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from numbers import Number

import numpy as np
import pandas as pd

from funnel_xl.errors import InputError

__all__ = [
    "AMOUNT_FORMATS", "DATE_FORMATS", "DATE_ORDERS", "EXCEL_MAX_SERIAL",
    "FORMULA_START", "is_blank", "looks_like_formula", "neutralise", "parse_amount", "parse_basis", "parse_bool",
    "parse_category", "parse_customer_size", "parse_date", "parse_month", "parse_percent", "parse_priority",
    "parse_status", "parse_text",
]

AMOUNT_FORMATS = "1200000, 1,200,000.50, 120万, 1.2亿, 3千万, ¥1,200,000, 120万元, RMB 1200000 or 一百二十万"
DATE_FORMATS = "2026-03-05, 2026/3/5, 2026.3.5, 2026年3月5日, 20260305 (optionally with a time such as 14:30) or an Excel date"
DATE_ORDERS = ("ymd", "mdy", "dmy")
# No deal is worth a thousand trillion yuan, and beyond 15 digits Excel no longer holds an amount to the fen.
MAX_AMOUNT = 1e15
EXCEL_MAX_SERIAL = 2958465  # 9999-12-31, the last date Excel can show

# ---------------------------------------------------------------------------------------------
# Shared helpers


def is_blank(value: object) -> bool:
    """True for what a user sees as an empty cell: None, NaN/NaT/NA, or only white space."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # containers: not blank, and not parseable either
        return False


# Characters that make a spreadsheet (or a CSV opened in one) treat text as a formula (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def looks_like_formula(value: object) -> bool:
    """True for text a spreadsheet would take as a formula once typed again (F2, Enter) or opened from a CSV."""
    return isinstance(value, str) and value.startswith(FORMULA_START)


def neutralise(text: str) -> tuple[str, bool]:
    """Text that starts like a formula gets a leading apostrophe, so no spreadsheet runs it; (text, changed)."""
    if looks_like_formula(text):
        return "'" + text, True
    return text, False


def _fold(text: str) -> str:
    """NFKC (full-width digits, ￥, ％, full-width space → ASCII), trimmed, no inner spaces, case-folded."""
    return "".join(unicodedata.normalize("NFKC", text).split()).casefold()


_EXCEL_ERRORS = frozenset({"#n/a", "#value!", "#ref!", "#div/0!", "#num!", "#name?", "#null!", "#spill!", "#calc!"})


def _excel_error(text: str) -> str:
    """A reason naming an Excel error value (#N/A, #VALUE!, ...), or "" if the text is not one."""
    return "the cell shows an Excel error; fix its formula" if text.strip().casefold() in _EXCEL_ERRORS else ""


def _is_number(value: object) -> bool:
    return isinstance(value, Number) and not isinstance(value, (bool, np.bool_))


# ---------------------------------------------------------------------------------------------
# Amounts

# Multipliers a number may carry: 120万, 1.2亿, 3千万.
_UNITS = {
    "十": 10, "百": 100, "千": 1_000, "万": 10_000, "十万": 100_000, "百万": 1_000_000,
    "千万": 10_000_000, "亿": 100_000_000, "十亿": 10**9, "百亿": 10**10, "千亿": 10**11,
    "万亿": 10**12,
}
_CURRENCY_PREFIXES = ("人民币", "rmb", "cny", "¥")  # ￥ folds to ¥ under NFKC
_CURRENCY_SUFFIXES = ("人民币", "rmb", "cny", "元")
_FOREIGN_CURRENCY = re.compile(r"[$€£]|usd|eur|hkd|gbp|jpy|美元|美金|欧元|港币|港元|日元|英镑")
_ESTIMATE = re.compile(r"约|大约|大概|左右|上下|以上|以下|不到|超过|多|余|≈|\?")
_RANGE = re.compile(r"\d\s*[-~—–至到]\s*[\d一二三四五六七八九十两]")
_NUMBER = re.compile(
    r"(?P<num>(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)(?P<exp>e[+-]?\d+)?(?P<unit>[十百千万亿]{0,2})"
)
_CN_NUMERAL_CHARS = set("零〇一二三四五六七八九十百千万亿两壹贰叁肆伍陆柒捌玖拾佰仟萬億点")


def _amount_error(value: object, why: str = "", code: str = "amount_unreadable", **params: object) -> InputError:
    reason = f" ({why})" if why else ""
    return InputError(f"{value!r} is not an amount{reason}: expected a number such as {AMOUNT_FORMATS}",
                      code=code, params=(("value", value), *params.items()))


def parse_amount(value: object) -> float:
    """An amount in CNY as a float; numbers pass through, text like 120万 or ¥1,200,000 is read.

    Negative amounts are parsed (the schema check reports them); estimates (约100万), ranges
    (100-200万), percentages, other currencies and blanks are rejected.
    """
    if isinstance(value, (bool, np.bool_)):
        raise _amount_error(value, "a yes/no value", "amount_yes_no")
    if _is_number(value):
        try:
            number = float(value)
        except OverflowError:  # an int of hundreds of digits
            number = math.inf
        if math.isnan(number):
            raise _amount_error(value, "the cell is blank", "amount_blank")
        return _plausible(value, number)
    if not isinstance(value, str):
        raise _amount_error(value, f"a {type(value).__name__}, not text or a number", "amount_wrong_type",
                            kind=type(value).__name__)
    text = _fold(value.replace("\u2212", "-"))  # U+2212 minus sign, which NFKC leaves alone
    if not text:
        raise _amount_error(value, "the cell is blank", "amount_blank")
    if _excel_error(text):
        raise _amount_error(value, _excel_error(text), "amount_excel_error")
    if "%" in text or "百分之" in text:
        raise _amount_error(value, "a percentage", "amount_percent")
    if _FOREIGN_CURRENCY.search(text):
        raise _amount_error(value, "amounts are in CNY; convert other currencies first", "amount_foreign_currency")
    if _ESTIMATE.search(text):
        raise _amount_error(value, "an estimate; enter one figure", "amount_estimate")
    if _RANGE.search(text):
        raise _amount_error(value, "a range; enter one figure", "amount_range")
    sign, body = _strip_currency_and_sign(text)
    magnitude = _read_magnitude(body)
    if magnitude is None:
        raise _amount_error(value)
    return _plausible(value, sign * magnitude)


def _plausible(value: object, number: float) -> float:
    """The amount, unless it is infinite (1e309, a 400-digit number) or beyond what a deal can be (MAX_AMOUNT)."""
    if math.isinf(number):
        raise _amount_error(value, "not a finite number", "amount_not_finite")
    if abs(number) > MAX_AMOUNT:
        raise _amount_error(value, f"more than {MAX_AMOUNT:,.0f} (a thousand trillion yuan); a typing slip?",
                            "amount_too_large")
    return number


def _strip_currency_and_sign(text: str) -> tuple[int, str]:
    """Peel a sign and currency marks off both ends: -¥100, ¥-100, 人民币120万元."""
    sign = 1
    changed = True
    while changed and text:
        changed = False
        if text[0] in "+-":
            if text[0] == "-":
                sign = -sign
            text, changed = text[1:], True
        for prefix in _CURRENCY_PREFIXES:
            if text.startswith(prefix):
                text, changed = text[len(prefix):], True
        for suffix in _CURRENCY_SUFFIXES:
            if text.endswith(suffix):
                text, changed = text[: -len(suffix)], True
    return sign, text


def _read_magnitude(body: str) -> float | None:
    """The value of an unsigned number with an optional unit, or of Chinese numerals; None if neither."""
    match = _NUMBER.fullmatch(body)
    if match:
        unit = match["unit"]
        if unit and (unit not in _UNITS or match["exp"]):
            return None
        try:
            number = Decimal(match["num"].replace(",", "") + (match["exp"] or ""))
        except InvalidOperation:  # pragma: no cover - the regex admits only valid decimals
            return None
        # Decimal keeps 1.2亿 exact (120000000, not 119999999.99999999).
        return float(number * _UNITS.get(unit, 1))
    if body and all(c in _CN_NUMERAL_CHARS or c.isdigit() or c == "." for c in body):
        has_digits = any(c.isdigit() for c in body)
        try:
            # cn2an reads 一百二十万, 壹佰贰拾万, 两万; "smart" also reads mixed forms such as 1万2千.
            import cn2an  # imported on first use: it costs 0.2 s at start-up, and most amounts are digits

            number = cn2an.cn2an(body, "smart" if has_digits else "normal")
        except (ValueError, KeyError, IndexError):
            return None
        return float(number) if number >= 0 else None
    return None


# ---------------------------------------------------------------------------------------------
# Dates

_TIME = r"(?:(?:\s+|t)(?P<hh>\d{1,2}):(?P<mi>\d{2})(?::(?P<ss>\d{2})(?:\.\d+)?)?)?"
_YMD_PATTERNS = (
    re.compile(r"(?P<y>\d{4})(?P<sep>[-/.])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})" + _TIME),
    re.compile(r"(?P<y>\d{4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})[日号]?" + _TIME),
    re.compile(r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})"),
)
_SHORT_FIRST = re.compile(r"(?P<a>\d{1,2})(?P<sep>[-/.])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4})" + _TIME)
_EXCEL_EPOCH = dt.date(1899, 12, 30)  # serial 61 and later; Excel counts a 1900-02-29 that never was


def _date_error(value: object, why: str = "", date_order: str = "ymd", code: str = "date_unreadable",
                **params: object) -> InputError:
    reason = f" ({why})" if why else ""
    formats = DATE_FORMATS
    if date_order != "ymd":
        example = "3/5/2026 for 5 March" if date_order == "mdy" else "5/3/2026 for 5 March"
        formats += f", or day and month before the year as {date_order} ({example})"
    return InputError(f"{value!r} is not a date{reason}: expected {formats}", code=code,
                      params=(("value", value), ("date_order", date_order), *params.items()))


def parse_date(value: object, *, date_order: str = "ymd") -> pd.Timestamp:
    """A date as a midnight ``pd.Timestamp``; dates and Excel serial numbers pass, text is read.

    Forms with the year last (3/5/2026) are ambiguous, so they are read only when the caller says
    how (``date_order="mdy"`` or ``"dmy"``); otherwise they are rejected.
    """
    if date_order not in DATE_ORDERS:
        raise ValueError(f"date_order must be one of {', '.join(DATE_ORDERS)}, got {date_order!r}")
    if isinstance(value, (bool, np.bool_)):
        raise _date_error(value, "a yes/no value", date_order, "date_yes_no")
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        raise _date_error(value, "the cell is blank", date_order, "date_blank")
    if isinstance(value, (dt.date, np.datetime64)):  # datetime and pd.Timestamp are dates too
        stamp = pd.Timestamp(value)
        if stamp is pd.NaT:
            raise _date_error(value, "the cell is blank", date_order, "date_blank")
        if stamp.tzinfo is not None:
            stamp = stamp.tz_localize(None)  # keep the wall-clock date the user saw
        return stamp.normalize()
    if _is_number(value):
        return _from_number(value, date_order)
    if not isinstance(value, str):
        raise _date_error(value, f"a {type(value).__name__}", date_order, "date_wrong_type", kind=type(value).__name__)
    text = unicodedata.normalize("NFKC", value).strip().casefold()
    text = re.sub(r"\s+", " ", text)
    if not text:
        raise _date_error(value, "the cell is blank", date_order, "date_blank")
    for pattern in _YMD_PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            return _build(value, int(match["y"]), int(match["m"]), int(match["d"]), match, date_order)
    match = _SHORT_FIRST.fullmatch(text)
    if match:
        if date_order == "ymd":
            raise _date_error(value, "day and month before the year is ambiguous: "
                              "ask for date order mdy or dmy", date_order, "date_ambiguous")
        a, b = int(match["a"]), int(match["b"])
        month, day = (a, b) if date_order == "mdy" else (b, a)
        return _build(value, int(match["y"]), month, day, match, date_order)
    raise _date_error(value, _excel_error(text), date_order,
                      "date_excel_error" if _excel_error(text) else "date_unreadable")


def _build(value: object, year: int, month: int, day: int, match: re.Match, date_order: str) -> pd.Timestamp:
    try:
        date = dt.date(year, month, day)
    except ValueError:
        raise _date_error(value, f"there is no day {year:04d}-{month:02d}-{day:02d}", date_order, "date_no_such_day",
                          day=f"{year:04d}-{month:02d}-{day:02d}") from None
    groups = match.groupdict()
    if groups.get("hh") is not None:
        hh, mi, ss = int(groups["hh"]), int(groups["mi"]), int(groups["ss"] or 0)
        if hh > 23 or mi > 59 or ss > 59:
            raise _date_error(value, "the time of day is not valid", date_order, "date_bad_time")
    return pd.Timestamp(date)


def _from_number(value: Number, date_order: str) -> pd.Timestamp:
    """An Excel serial date (1900 system); also an integer written as yyyymmdd, e.g. 20260305."""
    number = float(value)
    if math.isnan(number):
        raise _date_error(value, "the cell is blank", date_order, "date_blank")
    if math.isinf(number):
        raise _date_error(value, "not a finite number", date_order, "date_not_finite")
    serial = math.floor(number)  # the fraction is the time of day
    if number == serial and 19000101 <= serial <= 99991231:
        # Beyond Excel's last serial, so an integer of this size can only be a yyyymmdd date.
        text = str(serial)
        try:
            return pd.Timestamp(dt.date(int(text[:4]), int(text[4:6]), int(text[6:])))
        except ValueError:
            raise _date_error(value, "not a yyyymmdd date", date_order, "date_bad_yyyymmdd") from None
    if not 1 <= serial <= EXCEL_MAX_SERIAL:
        raise _date_error(value, f"an Excel date number must lie between 1 and {EXCEL_MAX_SERIAL}", date_order,
                          "date_serial_out_of_range", last=EXCEL_MAX_SERIAL)
    if serial == 60:
        raise _date_error(value, "Excel date 60 is 1900-02-29, a day that did not exist", date_order,
                          "date_serial_60")
    if serial < 60:
        return pd.Timestamp(dt.date(1899, 12, 31) + dt.timedelta(days=serial))
    return pd.Timestamp(_EXCEL_EPOCH + dt.timedelta(days=serial))


# ---------------------------------------------------------------------------------------------
# Yes/no, text, percentages

_TRUE = frozenset({"是", "y", "yes", "true", "t", "1", "√", "✓", "✔", "对", "有"})
_FALSE = frozenset({"否", "n", "no", "false", "f", "0", "×", "✗", "✘", "不是", "无", "没有"})


def parse_bool(value: object) -> bool | None:
    """Yes/no from 是/否, Y/N, yes/no, true/false, 1/0, √/×, ✓/✗; a blank cell is None (not known)."""
    if is_blank(value):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if _is_number(value):
        if value == 1:
            return True
        if value == 0:
            return False
    elif isinstance(value, str):
        folded = _fold(value)
        if folded in _TRUE:
            return True
        if folded in _FALSE:
            return False
    raise InputError(f"{value!r} is not a yes/no answer: expected 是/否, Y/N, yes/no, true/false, 1/0, √/× or ✓/✗",
                     code="yes_no_unreadable", params=(("value", value),))


def parse_text(value: object) -> str | None:
    """Trimmed text, or None for a blank cell; a whole number Excel stored for an id (1001.0) gives '1001'."""
    if is_blank(value):
        return None
    if isinstance(value, str):
        return value.strip()  # str.strip also removes the full-width space U+3000
    if isinstance(value, (bool, np.bool_)):
        return "TRUE" if value else "FALSE"  # as Excel shows it
    if _is_number(value):
        number = float(value)
        if number.is_integer() and abs(number) < 2**53:
            return str(int(number))
        return str(value) if isinstance(value, Decimal) else repr(number)
    if isinstance(value, (dt.datetime, pd.Timestamp)) and pd.Timestamp(value) == pd.Timestamp(value).normalize():
        return pd.Timestamp(value).date().isoformat()
    return str(value).strip()


def parse_percent(value: object) -> float:
    """A fraction from 25, '25%', '25', 0.25 (all → 0.25); must not be negative.

    The rule for a bare number (no % sign): above 1 it is a percentage (25 → 0.25), at most 1 it is
    already a fraction (0.25 → 0.25, 1 → 1.0). Write "1%" for one percent.
    """
    expected = "expected a percentage such as 25%, 25 or 0.25"
    bad = {"code": "percent_unreadable", "params": (("value", value),)}
    if isinstance(value, (bool, np.bool_)) or is_blank(value):
        raise InputError(f"{value!r} is not a percentage: {expected}", **bad)
    has_sign = False
    if _is_number(value):
        number = float(value)
    elif isinstance(value, str):
        text = _fold(value)
        has_sign = text.endswith("%")
        text = text.rstrip("%")
        try:
            number = float(Decimal(text))
        except InvalidOperation:
            raise InputError(f"{value!r} is not a percentage: {expected}", **bad) from None
    else:
        raise InputError(f"{value!r} is not a percentage: {expected}", **bad)
    if not math.isfinite(number) or number < 0:
        raise InputError(f"{value!r} is not a percentage: {expected}, not negative",
                         code="percent_negative", params=(("value", value),))
    if has_sign or number > 1:
        return float(Decimal(repr(number)) / 100)
    return number


# ---------------------------------------------------------------------------------------------
# Keyword vocabularies: status, forecast category, priority, customer size

_STATUS_WORDS = {
    "open": ("open", "进行中", "跟进中", "跟进", "未成交", "opened", "in progress"),
    "won": ("won", "赢单", "win", "已赢单", "已成交", "成交", "已签约", "closed won"),
    "lost": ("lost", "丢单", "lose", "已丢单", "输单", "失败", "closed lost"),
}
# The category words are the zh and en labels of templates/labels/domain.toml [category]; a test keeps
# them in step.
_CATEGORY_WORDS = {
    "closed": ("closed", "截止上报时间已落单", "已落单", "closed (won)"),
    "commit": ("commit", "本季度保证实现", "committed this quarter", "committed"),
    "likely_this_quarter": ("likely_this_quarter", "本季度有希望实现", "likely this quarter"),
    "likely_next_quarter": ("likely_next_quarter", "下季度有希望实现", "likely next quarter"),
    "intent": ("intent", "有意向的", "有意向", "has intent"),
}
# The basis words are the zh and en labels of templates/labels/workbook.toml [basis]; a test keeps them in step.
_BASIS_WORDS = {
    "assessed": ("assessed", "评估阶段", "assessed stage", "evidence"),
    "claimed": ("claimed", "销售阶段", "claimed stage"),
}
_PRIORITY_WORDS = {
    "high": ("high", "高", "h"),
    "medium": ("medium", "中", "m", "med"),
    "low": ("low", "低", "l"),
}
_SIZE_WORDS = {
    "large": ("large", "大", "大型", "l"),
    "medium": ("medium", "中", "中型", "m"),
    "small": ("small", "小", "小型", "s"),
}


def _lookup_table(words: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {_fold(w): key for key, ws in words.items() for w in ws}


_STATUS = _lookup_table(_STATUS_WORDS)
_CATEGORY = _lookup_table(_CATEGORY_WORDS)
_PRIORITY = _lookup_table(_PRIORITY_WORDS)
_BASIS = _lookup_table(_BASIS_WORDS)
_SIZE = _lookup_table(_SIZE_WORDS)


def _keyword(value: object, table: dict[str, str], words: dict[str, tuple[str, ...]], what: str, code: str) -> str:
    if isinstance(value, str):
        key = table.get(_fold(value))
        if key is not None:
            return key
    choices = "; ".join(f"{key}: {', '.join(dict.fromkeys(ws[1:2] + ws[:1]))}" for key, ws in words.items())
    raise InputError(f"{value!r} is not a {what}: expected one of {choices} (case does not matter)",
                     code=code, params=(("value", value),))


def parse_status(value: object) -> str:
    """The status key ("open", "won", "lost") from a key or a zh/en word such as 进行中, 赢单, 丢单."""
    return _keyword(value, _STATUS, _STATUS_WORDS, "status", "status_unreadable")


def parse_category(value: object) -> str:
    """A forecast-category key from the key or its zh/en label (本季度保证实现 → "commit")."""
    return _keyword(value, _CATEGORY, _CATEGORY_WORDS, "forecast category", "category_unreadable")


def parse_priority(value: object) -> str:
    """A priority key ("high", "medium", "low") from the key, 高/中/低 or H/M/L."""
    return _keyword(value, _PRIORITY, _PRIORITY_WORDS, "priority", "priority_unreadable")


def parse_customer_size(value: object) -> str:
    """A customer-size key ("large", "medium", "small") from the key, 大/中/小 or 大型/中型/小型."""
    return _keyword(value, _SIZE, _SIZE_WORDS, "customer size", "customer_size_unreadable")


def parse_basis(value: object) -> str:
    """The forecast basis ("assessed", "claimed") from the key or its label: 评估阶段 / 销售阶段."""
    return _keyword(value, _BASIS, _BASIS_WORDS, "forecast basis", "basis_unreadable")


def basis_words(key: str) -> tuple[str, ...]:
    """Every spelling that reads as one basis, for a formula that must read the cell as the reader does."""
    return _BASIS_WORDS[key]


def parse_days(value: object) -> int:
    """A whole number of days, 1 or more, from 90, '90' or '90天': how long a deal may sit in one stage."""
    number = None
    if _is_number(value) and not isinstance(value, (bool, np.bool_)) and float(value).is_integer():
        number = int(value)
    elif isinstance(value, str):
        text = _fold(value).removesuffix("天").strip()
        if text.isdigit():
            number = int(text)
    if number is None or number < 1:
        raise InputError(f"{value!r} is not a number of days: expected a whole number, 1 or more (such as 90)",
                         code="days_unreadable", params=(("value", value),))
    return number


_CN_MONTHS = ("一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二")


def parse_month(value: object) -> int:
    """A month 1-12 from 4, '4', '4月', '四月' or a date (its month): the start of a fiscal year."""
    number = None
    if _is_number(value) and not isinstance(value, (bool, np.bool_)) and float(value).is_integer():
        number = int(value)
    elif isinstance(value, str):
        text = _fold(value).removesuffix("月")
        if text.isdigit():
            number = int(text)
        elif text in _CN_MONTHS:
            number = _CN_MONTHS.index(text) + 1
    elif hasattr(value, "month") and hasattr(value, "year"):
        number = int(value.month)
    if number is None or not 1 <= number <= 12:
        raise InputError(f"{value!r} is not a month: expected the month the fiscal year starts, 1 to 12 "
                         "(such as 4 or 4月)", code="month_unreadable", params=(("value", value),))
    return number
