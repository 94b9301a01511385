"""Data issues read in the workbook's language on the 数据问题 sheet and in the terminal; unknown kinds keep their text."""

from __future__ import annotations


import pandas as pd
import pytest

from funnel_xl.domain.normalize import normalize_opportunities
from funnel_xl.domain.schema import Problem
from funnel_xl.methodologies import load_methodology
from funnel_xl.labels import catalogue
from funnel_xl.reports.problem_text import problem_line, problem_message, problem_messages
from funnel_xl.reports.problems_sheet import problems_sheet


@pytest.fixture(scope="module")
def estimate() -> Problem:
    """The seed's kind of mistake: a rep types an estimate (约100万) where the amount goes."""
    raw = pd.DataFrame([{"id": "OPP-1", "customer": "华东电力集团", "rep": "张伟", "amount": "约100万",
                         "close_date": "2026-06-30", "stage": "确认客户意向", "status": "进行中",
                         "created_date": "2026-01-15"}], index=[5])
    result = normalize_opportunities(raw, load_methodology("big_project"), sheet="商机",
                                     column_labels={"amount": "预计金额(元)"})
    (problem,) = result.problems
    return problem


def test_an_estimated_amount_is_explained_in_chinese_with_what_to_type_instead(estimate):
    assert problem_message(estimate, "zh-CN") == "金额“约100万”是估计值，请填写确切金额，如 120万 或 1,200,000"


def test_an_estimated_amount_is_explained_in_english_for_an_english_workbook(estimate):
    assert problem_message(estimate, "en") == "约100万 is an estimate: enter one exact figure such as 120万 or 1,200,000"


def test_duplicate_ids_list_the_other_rows_joined_the_way_each_language_writes_a_list():
    problem = Problem("商机", 4, "商机编号", "OPP-7", "opportunity id 'OPP-7' is also on row(s) 9, 12; ...",
                      code="duplicate_id", params=(("other_rows", (9, 12)), ("count", 2)))
    assert problem_message(problem, "zh-CN") == ("商机编号“OPP-7”在另外 2 行也出现(第 9、12 行)；"
                                                 "每个商机需要唯一的编号，请修改重复的编号")
    assert problem_message(problem, "en") == ("opportunity id OPP-7 is also on 2 other row(s) (9, 12): "
                                              "give each opportunity its own id")


def test_dates_in_a_message_read_as_year_month_day_without_a_time():
    problem = Problem("商机", 6, "预计成交日期", pd.Timestamp(2025, 12, 31), "the close date ...",
                      code="close_before_created",
                      params=(("date", pd.Timestamp(2025, 12, 31)), ("created", pd.Timestamp(2026, 1, 15)),
                              ("created_column", "创建日期")))
    assert problem_message(problem, "zh-CN") == ("“预计成交日期” 2025-12-31 早于“创建日期” 2026-01-15(商机已计入)；"
                                                 "请填写创建日期当天或之后的日期")


def test_a_deal_without_a_rep_tells_the_manager_it_counts_as_unassigned():
    problem = Problem("商机", 8, "销售人员", None, "no rep: ...", "warning", code="rep_missing")
    assert problem_message(problem, "zh-CN") == "未填销售人员：商机计入“未分配”；请填写负责的销售人员"


def test_a_value_left_blank_says_so_after_the_reason():
    problem = Problem("商机", 3, "客户优先级", "超高", "'超高' is not a priority: ...; left blank", "warning",
                      code="priority_unreadable", params=(("value", "超高"), ("left_blank", True)))
    assert problem_message(problem, "zh-CN") == ("客户优先级“超高”无法识别；请填写 高、中 或 低，"
                                                 "也可留空由工具推算。此项暂按空白处理")
    assert problem_message(problem, "en").endswith("or leave it blank to have it derived; left blank")


@pytest.mark.parametrize("code", [None, "no_such_code"])
def test_a_problem_of_an_unknown_kind_keeps_its_own_message(code):
    problem = Problem("crm.csv", 3, "Amount", "x", "the CRM export says something odd here", code=code)
    assert problem_message(problem, "zh-CN") == "the CRM export says something odd here"


def test_a_label_whose_params_are_missing_falls_back_to_the_message_rather_than_failing():
    problem = Problem("商机", 4, "商机编号", "OPP-7", "opportunity id 'OPP-7' is also on row(s) 9", code="duplicate_id")
    assert problem_message(problem, "zh-CN") == "opportunity id 'OPP-7' is also on row(s) 9"


def test_the_terminal_line_names_sheet_row_column_and_value_in_chinese(estimate):
    # The message quotes the value itself, so the line does not repeat it.
    assert problem_line(estimate, "zh-CN") == ("商机，第 5 行，“预计金额(元)”列："
                                               "金额“约100万”是估计值，请填写确切金额，如 120万 或 1,200,000")


def test_the_english_terminal_line_of_a_problem_without_a_code_is_its_usual_text():
    problem = Problem("crm.csv", 3, "Amount", 1200.0, "the CRM export says something odd here")
    expected = "crm.csv, row 3, column Amount: '1200': the CRM export says something odd here"
    assert problem_line(problem, "en") == str(problem) == expected


def test_the_data_issues_sheet_of_a_chinese_workbook_shows_the_chinese_message(estimate):
    sheet = problems_sheet([estimate], "zh-CN", "stamp").sheet
    texts = {cell.value for cell in sheet.cells.values()}
    assert "金额“约100万”是估计值，请填写确切金额，如 120万 或 1,200,000" in texts
    assert estimate.message not in texts


def test_a_terminal_line_names_the_column_and_the_value_once():
    problem = Problem("商机", 57, "预计成交日期", pd.Timestamp(2026, 1, 31), "the close date is before ...",
                      "warning", "close_before_created",
                      (("date", pd.Timestamp(2026, 1, 31)), ("created", pd.Timestamp(2026, 10, 12)),
                       ("created_column", "创建日期")))
    line = problem_line(problem, "zh-CN")
    assert line.count("预计成交日期") == 1 and line.count("2026-01-31") == 1
    assert line.startswith("商机，第 57 行：")


def _problem(row: int, severity: str, sheet: str = "商机") -> Problem:
    return Problem(sheet, row, "金额", "x", f"problem on row {row}", severity)


def test_data_issues_name_the_deal_and_its_rep_sorted_by_rep_with_errors_first_and_counts_on_top():
    owners = {("商机", 5): ("OPP-5", "甲公司", "王芳"), ("商机", 6): ("OPP-6", "乙公司", "张伟"),
              ("商机", 7): ("OPP-7", "丙公司", "王芳"), ("商机", 8): ("OPP-8", "丁公司", None)}
    problems = [_problem(5, "warning"), _problem(6, "warning"), _problem(7, "error"), _problem(8, "error"),
                _problem(3, "warning", "阶段设置")]
    sheet = problems_sheet(problems, "zh-CN", "stamp", owners, rep_order=["张伟", "王芳"]).sheet
    rows = [r for r in sheet.rows() if r and r[0] is not None]
    header = next(i for i, r in enumerate(rows) if r[:3] == ["销售人员", "商机编号", "客户"])
    listed = [(r[0], r[1], r[2], r[3]) for r in rows[header + 1:]]
    assert listed == [("张伟", "OPP-6", "乙公司", "提醒(已计入)"), ("王芳", "OPP-7", "丙公司", "错误(未计入)"),
                      ("王芳", "OPP-5", "甲公司", "提醒(已计入)"), ("未分配", "OPP-8", "丁公司", "错误(未计入)"),
                      ("(不属于某个商机)", None, None, "提醒(已计入)")]
    counts = {r[0]: r[1:4] for r in rows[:header] if isinstance(r[1], int)}
    assert counts["张伟"] == [0, 1, 1] and counts["王芳"] == [1, 1, 2] and counts["未分配"] == [1, 0, 1]
    assert counts["合计"] == [2, 3, 5]


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_messages_worked_out_once_per_kind_are_each_problem_s_own_message(monkeypatch, lang):
    """Tens of thousands of alike problems share their text, but never across a value, a kind or a shown row."""
    monkeypatch.setitem(catalogue(), "problem.test_row_shown", {"zh-CN": "第 {row} 行：{value}", "en": "row {row}: {value}"})
    problems = [Problem("商机", row, "客户优先级", value, f"'{value}' is not a priority; left blank", "warning",
                        code=code, params=(("value", value), ("left_blank", True)))
                for row in (3, 4, 5) for value in ("超高", "极高", True, 1, ["unhashable"])
                for code in ("priority_unreadable", "test_row_shown", None)]
    messages = problem_messages(problems, lang)
    assert messages == [problem_message(p, lang) for p in problems]
    assert len(set(messages)) < len(messages)  # alike problems are alike
