"""What real exports hold, one quirk at a time, on small CSV files: where the header sits and how it is spelt, Excel
date numbers, ids used twice, amounts no deal can have, defaults for blank cells, the workbook's own stage and status
words. Each test writes the file a user would have and checks what the import makes of it."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pandas as pd
import pytest

from funnel_xl.cli import main as cli_main
from funnel_xl.errors import InputError, MappingError
from funnel_xl.exchange.crm_import import import_export
from funnel_xl.exchange.mapping import parse_mapping
from funnel_xl.methodologies import load_methodology
from funnel_xl.reports.problem_text import problem_message

HEADER = "编号,客户名称,负责销售,预计金额（元）,预计成交日期,阶段,状态,创建日期"
MAPPING = """
methodology = "big_project"
[columns]
id = "编号"
customer = "客户名称"
rep = "负责销售"
amount = "预计金额(元)"
close_date = "预计成交日期"
stage = "阶段"
status = "状态"
created_date = "创建日期"
"""


@pytest.fixture(scope="module")
def big_project():
    return load_methodology("big_project")


def _import(tmp_path, body: str, mapping: str = MAPPING, *, header: str = HEADER, as_of=None):
    export = tmp_path / "export.csv"
    export.write_text(f"{header}\n{body}", encoding="utf-8-sig")
    path = tmp_path / "mapping.toml"
    path.write_text(mapping, encoding="utf-8")
    return import_export(parse_mapping(mapping, path), export, load_methodology("big_project"), as_of=as_of)


def _by_id(result) -> pd.DataFrame:
    return result.opportunities.set_index("id")


def _on_rows(result) -> list:
    """The problems of cells and rows (not the notes on the whole export, such as reps without a hire date)."""
    return [p for p in result.problems if p.row is not None]


def test_the_headers_are_found_below_a_title_and_match_after_folding(tmp_path):
    header = " 编号 ,客户名称,负责销售,预计金额（元）,预计成交日期,阶段,状态,创建日期"
    body = "A1,华东电力,张伟,120万,2026-12-20,进行商务谈判,进行中,2026-03-05\n"
    result = _import(tmp_path, body, header="华东区商机跟踪表,,,,,,,\n,,,,,,,\n" + header)
    assert _by_id(result).at["A1", "amount"] == 1_200_000
    assert not _on_rows(result)


def test_a_header_row_in_the_mapping_is_where_the_headers_are(tmp_path):
    mapping = MAPPING.replace('methodology = "big_project"', 'methodology = "big_project"\n[source]\nheader_row = 9')
    with pytest.raises(MappingError, match=r"header_row = 9, but that row is blank or beyond the end of the file"):
        _import(tmp_path, "A1,华东电力,张伟,120万,2026-12-20,进行商务谈判,进行中,2026-03-05\n", mapping)


def test_excel_date_numbers_and_the_workbooks_date_forms_are_dates_whatever_the_pattern(tmp_path):
    mapping = MAPPING.replace('methodology = "big_project"',
                              'methodology = "big_project"\n[source]\ndate_format = "%m/%d/%Y"')
    body = ("A1,甲,张伟,1000,46100,发掘潜在商机,进行中,12/1/2025\n"
            "A2,乙,张伟,1000,20260305,发掘潜在商机,进行中,2025年12月1日\n"
            "A3,丙,张伟,1000,2026-03-05,发掘潜在商机,进行中,46000.5\n")
    opps = _by_id(_import(tmp_path, body, mapping))
    serial = lambda n: pd.Timestamp(dt.date(1899, 12, 30) + dt.timedelta(days=n))  # noqa: E731
    assert opps["close_date"].tolist() == [serial(46100), pd.Timestamp(2026, 3, 5), pd.Timestamp(2026, 3, 5)]
    assert opps["created_date"].tolist() == [pd.Timestamp(2025, 12, 1), pd.Timestamp(2025, 12, 1), serial(46000)]


def test_day_and_month_before_the_year_without_a_pattern_asks_for_one(tmp_path):
    result = _import(tmp_path, "A1,甲,张伟,1000,3/5/2026,发掘潜在商机,进行中,2026-01-01\n")
    (problem,) = _on_rows(result)
    assert (problem.row, problem.column, problem.value) == (2, "预计成交日期", "3/5/2026")
    assert "date_format" in problem_message(problem, "zh-CN") and "%m/%d/%Y" in problem.message


def test_an_id_used_twice_keeps_the_first_row_and_reports_the_later_on_the_id_column(tmp_path):
    body = ("A1,甲,张伟,1000,2026-12-01,发掘潜在商机,进行中,2026-01-01\n"
            "A2,乙,张伟,2000,2026-12-01,发掘潜在商机,进行中,2026-01-01\n"
            "A1,丙,张伟,3000,2026-12-01,发掘潜在商机,进行中,2026-01-01\n")
    result = _import(tmp_path, body)
    assert _by_id(result).at["A1", "customer"] == "甲" and len(result.opportunities) == 2
    (problem,) = result.errors
    assert (problem.row, problem.column, problem.value, dict(problem.params)["first_line"]) == (4, "编号", "A1", 2)


def test_a_mapping_that_refuses_duplicates_stops_the_import_naming_each(tmp_path):
    mapping = MAPPING.replace('methodology = "big_project"',
                              'methodology = "big_project"\n[source]\nduplicate_ids = "refuse"')
    body = "".join(f"{i},甲,张伟,1000,2026-12-01,发掘潜在商机,进行中,2026-01-01\n" for i in ("A1", "A2", "A1"))
    with pytest.raises(InputError, match=r"export.csv, column 编号: 1 id\(s\) used more than once: 'A1' \(lines 2, 4\)"):
        _import(tmp_path, body, mapping)


@pytest.mark.parametrize("typed, code", [
    ("1e309", "amount_not_finite"),
    ("9" * 400, "amount_not_finite"),
    ("1e20", "amount_too_large"),
])
def test_an_amount_no_deal_can_have_is_reported_and_never_read_as_infinite(tmp_path, typed, code):
    result = _import(tmp_path, f"A1,甲,张伟,{typed},2026-12-01,发掘潜在商机,进行中,2026-01-01\n")
    (problem,) = _on_rows(result)
    assert (problem.column, problem.value, problem.code) == ("预计金额(元)", typed, code)
    assert pd.isna(_by_id(result).at["A1", "amount"])


def test_recalc_json_never_says_infinity_after_an_absurd_amount_is_imported(empty_big_project, tmp_path, capsys):
    path = shutil.copy2(empty_big_project, tmp_path / "Funnel.xlsm")
    export = tmp_path / "export.csv"
    export.write_text(HEADER + "\n" + "".join(
        f"A{i},甲,张伟,{amount},2026-12-01,发掘潜在商机,进行中,2026-01-01\n"
        for i, amount in enumerate(("1e309", "9" * 400, "120万"))), encoding="utf-8")
    (tmp_path / "mapping.toml").write_text(MAPPING, encoding="utf-8")
    assert cli_main(["import", str(path), str(export), "--mapping", str(tmp_path / "mapping.toml")]) == 0
    capsys.readouterr()
    assert cli_main(["recalc", str(path), "--as-of", "2026-11-20", "--json", "--no-history"]) == 0
    out = capsys.readouterr().out
    assert "Infinity" not in out and "NaN" not in out
    summary = json.loads(out)
    assert summary["open_pipeline"] == 1_200_000 and summary["open_count"] == 1


def test_defaults_fill_the_blank_cells_of_a_mapped_column_and_leave_the_filled_ones(tmp_path):
    mapping = MAPPING + '[defaults]\nrep = "未分配的销售"\n'
    body = ("A1,甲,张伟,1000,2026-12-01,发掘潜在商机,进行中,2026-01-01\n"
            "A2,乙,,1000,2026-12-01,发掘潜在商机,进行中,2026-01-01\n")
    result = _import(tmp_path, body, mapping)
    assert _by_id(result)["rep"].to_dict() == {"A1": "张伟", "A2": "未分配的销售"}
    (note,) = [p for p in result.problems if p.code == "import_default_filled"]
    assert (note.column, dict(note.params)["count"]) == ("负责销售", 1)


def test_a_blank_close_date_may_be_the_created_date_plus_the_exports_mean_sales_cycle(tmp_path):
    mapping = MAPPING + '[defaults]\nclose_date = { from = "created_date", add_days = "sales_cycle" }\n'
    body = ("W1,甲,张伟,1000,2026-03-01,完成销售成交,赢单,2026-01-01\n"      # won in 59 days
            "W2,乙,张伟,1000,2026-05-01,完成销售成交,赢单,2026-02-01\n"      # won in 89 days
            "O1,丙,张伟,1000,,确认客户意向,进行中,2026-06-01\n"
            "O2,丁,张伟,1000,2026-12-31,确认客户意向,进行中,2026-06-01\n"
            "O3,戊,张伟,1000,,确认客户意向,进行中,\n")
    result = _import(tmp_path, body, mapping)
    opps = _by_id(result)
    won = opps[opps["status"] == "won"]
    cycle = round((won["close_date"] - won["created_date"]).dt.days.mean())
    assert opps.at["O1", "close_date"] == pd.Timestamp(2026, 6, 1) + pd.Timedelta(days=cycle)
    assert opps["close_date_estimated"].to_dict() == {"W1": False, "W2": False, "O1": True, "O2": False, "O3": None}
    assert pd.isna(opps.at["O3", "close_date"])  # no created date to count from: nothing is invented
    (note,) = [p for p in result.problems if p.code == "import_default_cycle"]
    assert dict(note.params)["days"] == cycle and dict(note.params)["count"] == 1


def test_a_blank_close_date_may_be_the_report_date_plus_some_days(tmp_path):
    mapping = MAPPING + '[defaults]\nclose_date = { from = "report_date", add_days = 90 }\n'
    result = _import(tmp_path, "O1,丙,张伟,1000,,确认客户意向,进行中,2026-06-01\n", mapping,
                     as_of=dt.date(2026, 11, 20))
    assert _by_id(result).at["O1", "close_date"] == pd.Timestamp(2026, 11, 20) + pd.Timedelta(days=90)


def test_stage_and_status_may_use_the_workbooks_own_words_without_a_table(tmp_path):
    body = ("A1,甲,张伟,1000,2026-12-01, 确认 客户意向 ,进行中,2026-01-01\n"
            "A2,乙,张伟,1000,2026-10-01,完成销售成交,赢单,2026-01-01\n"
            "A3,丙,张伟,1000,2026-10-01,商务谈判,丢单,2026-01-01\n")
    opps = _by_id(_import(tmp_path, body))
    assert opps[["stage", "status"]].to_dict("index") == {
        "A1": {"stage": "intent", "status": "open"}, "A2": {"stage": "closed", "status": "won"},
        "A3": {"stage": "negotiation", "status": "lost"}}


def test_a_row_with_too_few_fields_is_reported_with_its_line(tmp_path):
    result = _import(tmp_path, "A1,甲,张伟,1000,2026-12-01,发掘潜在商机,进行中,2026-01-01\nA2,乙,张伟\n")
    (problem,) = result.errors
    assert (problem.row, problem.code, problem.value) == (3, "import_field_count", "A2,乙,张伟")
    assert len(result.opportunities) == 1
