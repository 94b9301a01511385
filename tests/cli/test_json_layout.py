"""--json output: the same data as json writes it, laid out so a person can read a report of many problems."""

import json

from funnel_xl.cli.options import json_text


REPORT = {
    "weighted_forecast": 250000.0,
    "methodology": "大项目销售",
    "problems": [{"sheet": "商机", "row": 7, "column": "金额", "value": "abc"},
                 {"sheet": "商机", "row": 9, "column": "阶段", "value": None}],
    "by_rep": [{"rep": "张伟", "weighted": 250000.0, "stages": {"S1": 1}}],
    "change_since_last_week": {"added": [], "moved": {}},
    "empty": [],
}


def test_the_json_reads_back_as_the_same_data():
    assert json.loads(json_text(REPORT)) == REPORT


def test_each_problem_and_each_rep_sits_on_a_line_of_its_own():
    lines = json_text(REPORT).splitlines()
    problem_lines = [line for line in lines if '"row":' in line]
    assert [json.loads(line.strip().rstrip(","))["row"] for line in problem_lines] == [7, 9]
    assert any(line.strip().startswith('{"rep": "张伟"') for line in lines)
    assert '  "weighted_forecast": 250000.0,' in lines


def test_chinese_is_written_as_itself_not_escaped():
    assert "大项目销售" in json_text(REPORT) and "\\u" not in json_text(REPORT)


def test_without_indent_the_json_is_one_line():
    assert json_text(REPORT, indent=None) == json.dumps(REPORT, ensure_ascii=False)
