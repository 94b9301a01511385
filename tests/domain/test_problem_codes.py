"""Every data issue the domain reports names its kind (a code) and params, to be shown in the workbook's language."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest

from funnel_xl.domain.normalize import normalize_opportunities, normalize_reps
from funnel_xl.domain.parsing import parse_amount, parse_date, parse_percent
from funnel_xl.domain.schema import display_value
from funnel_xl.domain.settings import read_settings
from funnel_xl.errors import InputError
from funnel_xl.labels import LANGUAGES, catalogue
from funnel_xl.reports.problem_text import problem_message

FIRST_ROW = 2
CHECK = "chk:not_a_criterion"


def good_row(n: int) -> dict:
    """A row with nothing wrong, given its own id."""
    return {"id": f"OPP-{n}", "customer": "华东电力集团", "rep": "张伟", "amount": "120万",
            "close_date": "2026-06-30", "stage": "确认客户意向", "status": "进行中", "created_date": "2026-01-15"}


# One mistake per row: (column, what the user typed, the code it must be reported under).
OPPORTUNITY_MISTAKES = [
    ("id", None, "value_required"),
    ("customer", None, "no_customer"),
    ("amount", "约100万", "amount_estimate"),
    ("amount", "100-200万", "amount_range"),
    ("amount", "$5000", "amount_foreign_currency"),
    ("amount", "25%", "amount_percent"),
    ("amount", "#N/A", "amount_excel_error"),
    ("amount", True, "amount_yes_no"),
    ("amount", float("inf"), "amount_not_finite"),
    ("amount", "1e309", "amount_not_finite"),
    ("amount", "2e15", "amount_too_large"),
    ("amount", dt.time(12, 0), "amount_wrong_type"),
    ("amount", "待定", "amount_unreadable"),
    ("amount", -5000, "amount_negative"),
    ("close_date", "3/5/2026", "date_ambiguous"),
    ("close_date", "2026-02-30", "date_no_such_day"),
    ("close_date", "2026-03-05 25:00", "date_bad_time"),
    ("close_date", 20261399, "date_bad_yyyymmdd"),
    ("close_date", 60, "date_serial_60"),
    ("close_date", 3_000_000, "date_serial_out_of_range"),
    ("close_date", "#VALUE!", "date_excel_error"),
    ("close_date", "下个月", "date_unreadable"),
    ("close_date", False, "date_yes_no"),
    ("close_date", float("-inf"), "date_not_finite"),
    ("close_date", dt.time(9, 30), "date_wrong_type"),
    ("close_date", "2300-01-01", "date_out_of_span"),
    ("close_date", "2025-12-31", "close_before_created"),
    ("close_date", None, "no_close_date"),
    ("created_date", None, "no_created_date"),
    ("stage_entered_date", "2026-01-01", "stage_entered_before_created"),
    ("stage", "谈判中", "stage_unknown"),
    ("status", "说不准", "status_unreadable"),
    ("category", "大概吧", "category_unreadable"),
    ("priority", "超高", "priority_unreadable"),
    ("customer_size", "巨大", "customer_size_unreadable"),
    ("new_customer", "也许", "yes_no_unreadable"),
    ("rep", "李四", "rep_unknown"),
    ("rep", None, "rep_missing"),
]
WARNING_CODES = {"category_unreadable", "priority_unreadable", "customer_size_unreadable", "yes_no_unreadable"}
# Mistakes that leave the amount, stage and status readable: the deal counts, the mistake is a warning.
COUNTED_CODES = {"close_before_created", "stage_entered_before_created", "no_close_date", "no_created_date",
                 "no_customer", "rep_unknown", "rep_missing", "checklist_unknown", *WARNING_CODES}


@pytest.fixture(scope="module")
def opportunity_problems(big_project):
    rows = []
    for n, (column, value, _) in enumerate(OPPORTUNITY_MISTAKES):
        row = good_row(n)
        row[column] = value
        rows.append(row)
    rows += [dict(good_row(900)), dict(good_row(900))]  # the same id twice
    raw = pd.DataFrame(rows, index=range(FIRST_ROW, FIRST_ROW + len(rows)))
    raw[CHECK] = None
    return normalize_opportunities(raw, big_project, reps=["张伟"], sheet="商机").problems


@pytest.fixture(scope="module")
def rep_problems():
    raw = pd.DataFrame([
        {"rep": "张伟", "email": "zhangwei@example.com", "hire_date": "2024-03-01", "annual_quota": "500万"},
        {"rep": "王芳", "email": "wangfang@example.com", "hire_date": "2024-03-01", "annual_quota": "500万"},
        {"rep": "王芳", "email": "wangfang@example.com", "hire_date": "2024-03-01", "annual_quota": "500万"},
        {"rep": "赵磊", "email": "zhaolei.example.com", "hire_date": "2024-03-01", "annual_quota": "500万"},
        {"rep": "陈静", "email": "chenjing@example.com", "hire_date": None, "annual_quota": "500万"},
        {"rep": "刘洋", "email": "liuyang@example.com", "hire_date": "2024-03-01", "annual_quota": None},
        {"rep": "孙丽", "email": "sunli@example.com", "hire_date": "2024-03-01", "annual_quota": "-100万"},
    ], index=range(FIRST_ROW, FIRST_ROW + 7))
    return normalize_reps(raw, sheet="销售人员").problems


@pytest.fixture(scope="module")
def other_problems(big_project):
    """The issues found elsewhere: a rep when the reps table is empty, a won deal without its signing date, a
    repeated id where duplicates are refused, and settings of 阶段设置 that do not read."""
    empty = normalize_opportunities(pd.DataFrame([good_row(1)], index=[FIRST_ROW]), big_project, reps=[],
                                    sheet="商机").problems
    undated = normalize_opportunities(pd.DataFrame([dict(good_row(2), status="赢单", close_date=None)],
                                                   index=[FIRST_ROW]), big_project, sheet="商机").problems
    refused = normalize_opportunities(pd.DataFrame([good_row(3), good_row(3)], index=[FIRST_ROW, FIRST_ROW + 1]),
                                      big_project, sheet="商机", duplicate_ids="refuse").problems
    _, settings = read_settings({"basis": "看心情", "fiscal_year_start": "第十三月", "stall_days": "很久"},
                                sheet="阶段设置",
                                labels={"basis": "预测依据", "fiscal_year_start": "财年起始月", "stall_days": "停滞天数"})
    return [*empty, *undated, *refused, *settings]


@pytest.fixture(scope="module")
def every_problem(opportunity_problems, rep_problems, other_problems):
    return [*opportunity_problems, *rep_problems, *other_problems]


def test_each_mistake_in_the_opportunities_is_reported_under_its_own_code(opportunity_problems):
    by_row = {}
    for p in opportunity_problems:
        by_row.setdefault(p.row, set()).add(p.code)
    for n, (column, value, code) in enumerate(OPPORTUNITY_MISTAKES):
        assert by_row.get(FIRST_ROW + n) == {code}, (column, value)
    duplicated = FIRST_ROW + len(OPPORTUNITY_MISTAKES)
    assert duplicated not in by_row  # the first row of a repeated id is kept without a word ...
    assert by_row[duplicated + 1] == {"duplicate_id_later"}  # ... the later one is reported on its id
    assert by_row[None] == {"checklist_unknown"}


def test_only_mistakes_that_touch_the_amount_stage_or_status_leave_a_row_out(opportunity_problems):
    for p in opportunity_problems:
        assert p.severity == ("warning" if p.code in COUNTED_CODES else "error"), p.code


def test_each_mistake_in_the_reps_is_reported_under_its_own_code(rep_problems):
    codes = {(p.row, p.code) for p in rep_problems}
    assert codes == {(3, "duplicate_rep"), (4, "duplicate_rep"), (5, "email_no_at"), (6, "rep_no_hire_date"),
                     (7, "rep_no_quota"), (8, "quota_negative")}


def test_the_issues_found_outside_one_sheets_mistakes_have_codes_too(other_problems):
    assert [p.code for p in other_problems] == ["rep_table_empty", "won_no_close_date", "duplicate_id",
                                                "duplicate_id", "basis_unreadable", "month_unreadable",
                                                "days_unreadable"]


def test_every_problem_carries_a_code_with_a_label_in_both_languages(every_problem):
    labels = catalogue()
    for p in every_problem:
        assert p.code is not None, str(p)
        assert set(labels[f"problem.{p.code}"]) == set(LANGUAGES)


def test_params_fill_every_placeholder_of_the_label_in_both_languages(every_problem):
    for p in every_problem:
        for lang in LANGUAGES:
            text = problem_message(p, lang)
            assert text != p.message, (p.code, lang)  # the label was used, not the fallback
            assert "{" not in text and "}" not in text, (p.code, lang, text)


def test_the_chinese_text_names_the_users_value_and_holds_no_english_leftovers(every_problem):
    # These say what is missing or what kind of thing the cell holds instead of echoing it.
    not_echoed = {"value_required", "rep_no_hire_date", "rep_no_quota", "amount_wrong_type", "date_wrong_type",
                  "date_serial_60", "checklist_unknown", "rep_missing", "no_close_date", "no_created_date",
                  "won_no_close_date", "no_customer"}
    for p in every_problem:
        text = problem_message(p, "zh-CN")
        if p.code not in not_echoed:
            assert display_value(p.value) in text, (p.code, text)
        template = re.sub(r"\{\w+\}", "", catalogue()[f"problem.{p.code}"]["zh-CN"])
        assert not re.search(r"[A-Za-z]{3,}", template.replace("name@example.com", "").replace("Excel", "")), p.code


def test_an_unreadable_optional_value_is_a_warning_whose_text_says_it_was_left_blank(opportunity_problems):
    warnings = [p for p in opportunity_problems if p.code in WARNING_CODES]
    assert len(warnings) == len(WARNING_CODES)
    for p in warnings:
        assert p.severity == "warning" and dict(p.params)["left_blank"] is True
        assert problem_message(p, "en").endswith("; left blank")


def test_every_problem_label_in_the_catalogue_is_one_the_domain_produces(every_problem):
    parser_only = {"amount_blank", "date_blank", "percent_unreadable", "percent_negative"}
    labelled = {k.removeprefix("problem.") for k in catalogue() if k.startswith("problem.")}
    imported = {k for k in labelled if k.startswith("import_")}  # the CRM import's own: tests/exchange check them
    assert labelled - imported == {p.code for p in every_problem} | parser_only


@pytest.mark.parametrize("parse, value, code", [
    (parse_amount, float("nan"), "amount_blank"),
    (parse_amount, "  ", "amount_blank"),
    (parse_date, None, "date_blank"),
    (parse_percent, "二成", "percent_unreadable"),
    (parse_percent, -5, "percent_negative"),
])
def test_a_parser_used_outside_the_sheets_raises_with_a_code_and_its_english_message(parse, value, code):
    with pytest.raises(InputError) as err:
        parse(value)
    assert err.value.code == code
    assert dict(err.value.params)["value"] is value
    assert "expected" in str(err.value)  # the English explanation is still the exception's text


def test_the_json_shape_of_a_problem_adds_the_code_and_keeps_the_english_message(opportunity_problems):
    estimate = next(p for p in opportunity_problems if p.code == "amount_estimate")
    d = estimate.as_dict()
    assert list(d) == ["sheet", "row", "column", "value", "message", "severity", "code"]
    assert d["code"] == "amount_estimate" and d["value"] == "约100万"
    assert "is not an amount (an estimate; enter one figure)" in d["message"]


def test_a_problem_about_a_blank_cell_carries_no_value_rather_than_nan(every_problem):
    blanks = [p for p in every_problem if p.code in {"rep_no_hire_date", "rep_no_quota", "value_required",
                                                   "no_close_date", "no_created_date", "no_customer"}]
    assert {p.code for p in blanks} >= {"rep_no_hire_date", "rep_no_quota"}
    for p in blanks:
        assert p.value is None and p.as_dict()["value"] is None, (p.code, p.value)
