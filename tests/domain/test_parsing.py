"""What Chinese users type into cells (120万, ¥1,200,000, 2026年3月5日, 是/否) is read exactly, or refused with a reason."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from funnel_xl.domain.parsing import (
    MAX_AMOUNT, parse_amount, parse_basis, parse_bool, parse_category, parse_customer_size, parse_date, parse_month,
    parse_percent, parse_priority, parse_status, parse_text,
)
from funnel_xl.domain.schema import CATEGORIES, FORECAST_CATEGORIES, PRIORITIES, STATUSES
from funnel_xl.domain.settings import BASES
from funnel_xl.errors import InputError
from funnel_xl.labels import labels_with_prefix

MARCH_5 = pd.Timestamp(2026, 3, 5)


def full_width(text: str) -> str:
    """The same text typed with a Chinese IME in full-width mode (１２０, ，, ．)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


# --- amounts -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("120万", 1_200_000),
        ("1.2亿", 120_000_000),
        ("3千万", 30_000_000),
        ("¥1,200,000", 1_200_000),
        ("￥1,200,000", 1_200_000),
        ("１２０", 120),
        ("１，２００，０００．５０", 1_200_000.5),
        ("1,200,000.50", 1_200_000.5),
        (" 1200000 ", 1_200_000),
        ("120 万", 1_200_000),
        ("120万元", 1_200_000),
        ("人民币120万元", 1_200_000),
        ("RMB 1,200,000", 1_200_000),
        ("1200000 CNY", 1_200_000),
        ("一百二十万", 1_200_000),
        ("壹佰贰拾万", 1_200_000),
        ("两万", 20_000),
        ("0.5万", 5_000),
        ("1.2E+06", 1_200_000),
    ],
)
def test_amount_text_is_read_as_the_exact_number_of_yuan(typed, expected):
    assert parse_amount(typed) == expected


def test_numbers_from_the_reader_pass_through_as_floats():
    assert parse_amount(1_200_000) == 1_200_000.0
    assert parse_amount(np.int64(250_000)) == 250_000.0
    assert parse_amount(Decimal("1200000.50")) == 1_200_000.5
    assert isinstance(parse_amount(np.float64(3.5)), float)


def test_a_negative_amount_is_parsed_so_the_schema_check_can_report_it():
    assert parse_amount("-120万") == -1_200_000
    assert parse_amount("¥-1,000") == -1_000
    assert parse_amount(-5) == -5.0


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("约100万", "estimate"),
        ("100万左右", "estimate"),
        ("100-200万", "range"),
        ("100~200万", "range"),
        ("TBD", ""),
        ("", "blank"),
        ("\u3000", "blank"),
        ("25%", "percentage"),
        ("$100,000", "CNY"),
        ("100万美元", "CNY"),
        ("1,20,000", ""),
        ("万", ""),
        ("1.2.3", ""),
    ],
)
def test_text_that_is_not_one_clear_amount_is_refused_with_what_was_expected(typed, reason):
    with pytest.raises(InputError) as err:
        parse_amount(typed)
    message = str(err.value)
    assert repr(typed) in message
    assert "expected" in message and "120万" in message
    assert reason in message


@pytest.mark.parametrize("value", [True, False, np.bool_(True)])
def test_a_yes_no_value_is_not_an_amount(value):
    with pytest.raises(InputError, match="yes/no"):
        parse_amount(value)


@pytest.mark.parametrize("value", [None, float("nan"), float("inf"), dt.date(2026, 3, 5)])
def test_blank_infinite_and_date_cells_are_not_amounts(value):
    with pytest.raises(InputError, match="not an amount"):
        parse_amount(value)


@pytest.mark.parametrize(("value", "code"), [
    ("1e309", "amount_not_finite"),                    # overflows a float as text
    ("9" * 400, "amount_not_finite"),                  # a 400-digit number typed as text
    (10 ** 400, "amount_not_finite"),                  # ... or arriving as an integer
    (float("-inf"), "amount_not_finite"),
    ("2e15", "amount_too_large"),                      # finite, but more than any deal
    ("30000000亿", "amount_too_large"),
])
def test_an_infinite_or_absurd_amount_is_refused_never_read_as_inf(value, code):
    with pytest.raises(InputError) as err:
        parse_amount(value)
    assert err.value.code == code


def test_the_largest_plausible_amount_still_reads():
    assert parse_amount(f"{MAX_AMOUNT:.0f}") == MAX_AMOUNT


@pytest.mark.parametrize(("typed", "expected"), [
    ("评估阶段", "assessed"), ("销售阶段", "claimed"), (" Claimed stage ", "claimed"), ("assessed", "assessed"),
])
def test_the_forecast_basis_reads_from_its_labels_and_keys(typed, expected):
    assert parse_basis(typed) == expected


@pytest.mark.parametrize(("typed", "expected"), [
    (4, 4), (4.0, 4), ("4", 4), ("4月", 4), ("四月", 4), ("十二月", 12), (dt.date(2026, 4, 1), 4),
])
def test_a_fiscal_year_start_reads_as_its_month(typed, expected):
    assert parse_month(typed) == expected


@pytest.mark.parametrize("typed", [0, 13, 4.5, "April-ish", True])
def test_a_month_outside_1_to_12_is_refused(typed):
    with pytest.raises(InputError, match="not a month"):
        parse_month(typed)


# Amounts with at most two decimals (fen), up to 10 亿 yuan.
amounts = st.decimals(min_value=0, max_value=Decimal("1e9"), places=2, allow_nan=False, allow_infinity=False)


@given(amounts)
def test_an_amount_written_plainly_or_with_thousands_separators_reads_back_exactly(amount):
    assert parse_amount(format(amount, "f")) == float(amount)
    assert parse_amount(f"{amount:,}") == float(amount)
    assert parse_amount(f"¥{amount:,}") == float(amount)
    assert parse_amount(f"RMB {amount}") == float(amount)
    assert parse_amount(full_width(f"{amount:,}")) == float(amount)


@given(amounts)
def test_an_amount_written_in_wan_or_yi_reads_back_exactly(amount):
    # Dividing a two-decimal amount by 10^4 or 10^8 is exact in decimal, as a user would write it.
    in_wan = format(amount / Decimal(10_000), "f")
    in_yi = format(amount / Decimal(100_000_000), "f")
    assert parse_amount(f"{in_wan}万") == float(amount)
    assert parse_amount(f"{in_wan}万元") == float(amount)
    assert parse_amount(f"{in_yi}亿") == float(amount)


@given(st.integers(min_value=0, max_value=99_999_999))
def test_an_integer_written_in_chinese_numerals_reads_back_exactly(n):
    # Written by hand from the digits: 万 groups, 千百十 places, 零 for each gap, as users write it.
    assert parse_amount(_chinese_numerals(n)) == n


def _chinese_numerals(n: int) -> str:
    digits = "零一二三四五六七八九"
    if n == 0:
        return "零"

    def group(g: int) -> str:
        out, zero = "", False
        for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
            d = g // value % 10
            if d:
                out += ("零" if zero and out else "") + digits[d] + unit
                zero = False
            else:
                zero = True
        return out

    high, low = divmod(n, 10_000)
    if not high:
        return group(low)
    text = group(high) + "万"
    if low:
        text += ("零" if low < 1000 else "") + group(low)
    return text


def test_the_chinese_numeral_writer_used_above_matches_hand_written_examples():
    assert _chinese_numerals(1_200_000) == "一百二十万"
    assert _chinese_numerals(1_200_500) == "一百二十万零五百"
    assert _chinese_numerals(1005) == "一千零五"


# --- dates -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "2026-03-05", "2026-3-5", "2026/3/5", "2026/03/05", "2026.3.5", "2026年3月5日", "2026年3月5号",
        "2026年03月05日", "2026年3月5", "20260305", "2026-03-05 14:30", "2026-03-05T14:30:15",
        "2026/3/5 9:05", "２０２６年３月５日", "２０２６－０３－０５", " 2026-03-05\u3000",
    ],
)
def test_each_date_form_users_type_gives_5_march_2026(typed):
    assert parse_date(typed) == MARCH_5


def test_excel_serial_46086_is_5_march_2026():
    # Derived by hand, not from the code: Excel's serial 1 is 1900-01-01 and Excel counts a
    # 29 February 1900 that never was. 1900..2025 are 126 years = 126 × 365 = 45,990 days, plus
    # 31 real leap days (1904, 1908, ..., 2024) plus Excel's phantom one = 46,022 days, so
    # 2026-01-01 is serial 46,023; January (31) and February (28) bring 1 March to 46,082 and
    # 5 March to 46,086.
    assert parse_date(46086) == MARCH_5
    assert parse_date(46086.0) == MARCH_5
    assert parse_date(np.int64(46086)) == MARCH_5


def test_the_time_of_day_in_an_excel_serial_is_dropped():
    assert parse_date(46086.99) == MARCH_5


def test_excel_serials_around_the_phantom_29_february_1900_match_excel():
    assert parse_date(1) == pd.Timestamp(1900, 1, 1)
    assert parse_date(59) == pd.Timestamp(1900, 2, 28)
    assert parse_date(61) == pd.Timestamp(1900, 3, 1)
    assert parse_date(2958465) == pd.Timestamp(9999, 12, 31)


def test_excel_serial_60_is_refused_because_29_february_1900_never_existed():
    with pytest.raises(InputError, match="1900-02-29"):
        parse_date(60)


@given(st.integers(min_value=1, max_value=2958464).filter(lambda n: n not in (59, 60)))
def test_consecutive_excel_serials_are_consecutive_days(serial):
    assert parse_date(serial + 1) - parse_date(serial) == pd.Timedelta(days=1)


@pytest.mark.parametrize("serial", [0, -1, 2958466])
def test_a_number_outside_excels_dates_is_refused(serial):
    with pytest.raises(InputError, match="between 1 and 2958465"):
        parse_date(serial)


def test_dates_from_the_reader_pass_through_at_midnight():
    assert parse_date(dt.datetime(2026, 3, 5, 17, 45)) == MARCH_5
    assert parse_date(dt.date(2026, 3, 5)) == MARCH_5
    assert parse_date(pd.Timestamp("2026-03-05 23:59")) == MARCH_5
    assert parse_date(np.datetime64("2026-03-05T08:00")) == MARCH_5
    # The wall-clock date the user saw, not the UTC one (which is 4 March).
    assert parse_date(pd.Timestamp("2026-03-05 07:00", tz="Asia/Shanghai")) == MARCH_5


@pytest.mark.parametrize("typed", ["2026-02-30", "2026年13月1日", "2026/4/31", "20260230", "2026-03-05 25:00"])
def test_an_impossible_date_is_refused(typed):
    with pytest.raises(InputError, match="not a date"):
        parse_date(typed)


def test_day_and_month_before_the_year_is_refused_unless_the_order_is_given():
    with pytest.raises(InputError) as err:
        parse_date("3/5/2026")
    message = str(err.value)
    assert "ambiguous" in message and "mdy" in message and "2026年3月5日" in message
    assert parse_date("3/5/2026", date_order="mdy") == MARCH_5
    assert parse_date("5/3/2026", date_order="dmy") == MARCH_5
    assert parse_date("05.03.2026", date_order="dmy") == MARCH_5


def test_the_year_first_forms_are_read_whatever_date_order_is_given():
    assert parse_date("2026/3/5", date_order="dmy") == MARCH_5
    assert parse_date("2026/3/5", date_order="mdy") == MARCH_5


def test_an_unknown_date_order_is_a_programming_error():
    with pytest.raises(ValueError, match="date_order"):
        parse_date("2026-03-05", date_order="ydm")


@pytest.mark.parametrize("typed", ["", None, float("nan"), pd.NaT, "next week", "26/3/5", True, "46086"])
def test_text_that_is_not_a_date_is_refused_with_the_formats_understood(typed):
    with pytest.raises(InputError) as err:
        parse_date(typed)
    message = str(err.value)
    assert "expected" in message
    assert "2026-03-05" in message and "2026年3月5日" in message and "Excel" in message


dates = st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(9999, 12, 31))


@given(dates)
def test_any_date_written_in_the_chinese_or_iso_forms_reads_back(day):
    expected = pd.Timestamp(day)
    assert parse_date(f"{day.year}年{day.month}月{day.day}日") == expected
    assert parse_date(f"{day.year}/{day.month}/{day.day}") == expected
    assert parse_date(day.isoformat()) == expected
    assert parse_date(full_width(day.isoformat())) == expected


# --- yes/no, text, percentages -------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["是", "Y", "y", "yes", "YES", "true", "TRUE", "1", 1, 1.0, True, "√", "✓", "✔", " 是 "])
def test_yes_answers_are_true(typed):
    assert parse_bool(typed) is True


@pytest.mark.parametrize("typed", ["否", "N", "no", "No", "false", "FALSE", "0", 0, 0.0, False, "×", "✗", "✘"])
def test_no_answers_are_false(typed):
    assert parse_bool(typed) is False


@pytest.mark.parametrize("typed", [None, "", "  ", "\u3000", float("nan")])
def test_a_blank_answer_is_unknown_not_no(typed):
    assert parse_bool(typed) is None


@pytest.mark.parametrize("typed", ["maybe", "x", "2", 2, "也许"])
def test_an_unclear_answer_is_refused(typed):
    with pytest.raises(InputError, match="yes/no.*expected 是/否"):
        parse_bool(typed)


def test_text_is_trimmed_including_the_full_width_space():
    assert parse_text("\u3000 华为技术有限公司 \u3000") == "华为技术有限公司"
    assert parse_text("OPP 1") == "OPP 1"


@pytest.mark.parametrize("typed", [None, "", "   ", "\u3000", float("nan")])
def test_blank_text_is_none(typed):
    assert parse_text(typed) is None


def test_an_id_excel_stored_as_a_number_reads_as_its_digits():
    assert parse_text(1001.0) == "1001"
    assert parse_text(np.float64(1001.0)) == "1001"
    assert parse_text(1001) == "1001"
    assert parse_text(1001.5) == "1001.5"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [(25, 0.25), ("25%", 0.25), ("25", 0.25), (0.25, 0.25), ("0.25", 0.25), ("２５％", 0.25),
     (100, 1.0), (1, 1.0), ("1%", 0.01), (0, 0.0), ("150%", 1.5), ("12.5%", 0.125)],
)
def test_a_percentage_is_a_fraction_and_a_bare_number_above_one_is_a_percent(typed, expected):
    assert parse_percent(typed) == pytest.approx(expected, abs=1e-15)


@pytest.mark.parametrize("typed", ["-5%", -0.1, "abc", "", None, True])
def test_a_negative_or_unreadable_percentage_is_refused(typed):
    with pytest.raises(InputError, match="expected a percentage such as 25%"):
        parse_percent(typed)


# --- status and other vocabularies ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("进行中", "open"), ("跟进中", "open"), ("OPEN", "open"), ("赢单", "won"), ("已成交", "won"),
     ("Won", "won"), ("丢单", "lost"), ("输单", "lost"), ("lost", "lost"), (" 赢单 ", "won")],
)
def test_status_words_map_to_the_status_keys(typed, expected):
    assert parse_status(typed) == expected


def test_an_unknown_status_is_refused_listing_the_accepted_words():
    with pytest.raises(InputError) as err:
        parse_status("暂停")
    message = str(err.value)
    assert "'暂停'" in message and "进行中" in message and "赢单" in message and "丢单" in message


@pytest.mark.parametrize(
    ("prefix", "parse", "typed"),
    [("status.", parse_status, STATUSES), ("category.", parse_category, CATEGORIES),
     ("priority.", parse_priority, PRIORITIES), ("basis.", parse_basis, BASES)],
)
@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_every_label_a_user_may_type_reads_back_as_its_key(prefix, parse, typed, lang):
    labels = labels_with_prefix(prefix, lang)
    assert set(typed) <= set(labels)
    for key in typed:
        assert parse(labels[key]) == key, (prefix, labels[key])
        assert parse(key) == key


@pytest.mark.parametrize("key", [k for k in FORECAST_CATEGORIES if k not in CATEGORIES])
def test_a_category_the_dates_decide_cannot_be_typed(key):
    with pytest.raises(InputError, match="not a forecast category"):
        parse_category(labels_with_prefix("category.")[key])


@pytest.mark.parametrize(("typed", "expected"), [("大型", "large"), ("中", "medium"), ("Small", "small")])
def test_customer_size_words_map_to_size_keys(typed, expected):
    assert parse_customer_size(typed) == expected


@pytest.mark.parametrize("parse", [parse_category, parse_priority, parse_customer_size])
def test_a_vocabulary_word_outside_the_list_is_refused(parse):
    with pytest.raises(InputError, match="expected one of"):
        parse("urgent!!")


@pytest.mark.parametrize("parse", [parse_amount, parse_date])
def test_an_excel_error_value_is_refused_with_advice_to_fix_the_formula(parse):
    with pytest.raises(InputError, match="Excel error; fix its formula"):
        parse("#N/A")
