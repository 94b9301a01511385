"""A team's own tracking sheet (销售跟踪表) imported end to end: sixteen rows, eight good and eight with the mistakes
hand-kept sheets have. Every good amount is read, every bad row is reported on its column with the message it gets,
imported + left out = 16, and no formula text ever becomes live (tracking_sheet.py makes the sheet)."""

from __future__ import annotations

import csv
import datetime as dt
import re
import shutil

import openpyxl
import pandas as pd
import pytest

from funnel_xl.errors import MappingError
from funnel_xl.exchange.mapping import parse_mapping
from funnel_xl.labels import label
from funnel_xl.outputs import Folder
from funnel_xl.reports.problem_text import problem_message
from funnel_xl.services.import_crm import import_crm, problems_file_name
from funnel_xl.services.recalculate import recalculate
from funnel_xl.workbook.contract import TABLE_OPPORTUNITIES, opportunity_header
from funnel_xl.workbook.file_adapter import FileWorkbook
from tests.exchange.tracking_sheet import BAD, FORMULA_TEXT, GOOD, MAPPING, TITLE_ROWS, sheet_rows, write_sheet

SHEET = "跟踪表.xlsx"
AS_OF = dt.date(2026, 11, 20)


@pytest.fixture(scope="module")
def sheet(tmp_path_factory):
    return write_sheet(tmp_path_factory.mktemp("sheet") / SHEET)


@pytest.fixture(scope="module")
def mapping(sheet):
    path = sheet.with_name("跟踪表.mapping.toml")
    path.write_text(MAPPING, encoding="utf-8")
    return parse_mapping(MAPPING, path)


@pytest.fixture(scope="module")
def imported(empty_big_project, sheet, mapping, tmp_path_factory):
    """The sheet imported into an empty workbook by the service the command line calls: (workbook, report)."""
    path = tmp_path_factory.mktemp("imported") / "Funnel.xlsm"
    shutil.copy2(empty_big_project, path)
    with FileWorkbook(path, quiet=True) as book:
        report = import_crm(book, sheet, mapping, outputs=Folder(path.parent), as_of=AS_OF)
    return path, report


def _line_of(item) -> int:
    return next(row for row, r in sheet_rows() if r is item)


def _on(report, item) -> list:
    """The problems reported on a row of the sheet, in its column."""
    return [p for p in report.problems if p.sheet == SHEET and p.row == _line_of(item) and p.column == item.column]


def _table(path) -> pd.DataFrame:
    frame = FileWorkbook(path, read_only=True, quiet=True).read_rows(TABLE_OPPORTUNITIES)
    return frame.dropna(subset=["id"]).set_index("id")


def test_the_sheet_has_sixteen_rows_eight_good_and_eight_bad():
    assert len(sheet_rows()) == 16 and len(GOOD) == 8 and len(BAD) == 8


def test_every_good_amount_is_read_as_the_yuan_it_means(imported):
    path, report = imported
    table = _table(path)
    assert {r.cells[0]: table.at[r.cells[0], "amount"] for r in GOOD} == {r.cells[0]: r.amount for r in GOOD}


def test_every_good_row_is_imported_without_a_word(imported):
    _, report = imported
    good_lines = {_line_of(r) for r in GOOD}
    assert not [p for p in report.problems if p.sheet == SHEET and p.row in good_lines]


def test_chinese_dates_excel_date_numbers_and_stage_names_with_spaces_are_read(imported):
    path, _ = imported
    table = _table(path)
    assert table.at["T-001", "close_date"] == pd.Timestamp(2026, 12, 20)          # 2026年12月20日
    assert table.at["T-002", "close_date"] == pd.Timestamp(dt.date(1899, 12, 30) + dt.timedelta(days=46400))
    assert table.at["T-008", "close_date"] == pd.Timestamp(2027, 1, 15)           # 20270115
    assert table.at["T-003", "stage"] == "approved"                               # " 引导 客户立项 "
    assert table.at["T-008", "stage"] == "negotiation"                            # "商务 谈判", a synonym


def test_imported_plus_left_out_is_every_row_of_the_sheet(imported):
    _, report = imported
    left_out = {p.row for p in report.problems if p.sheet == SHEET and p.severity == "error"}
    summary = report.summary()
    assert summary["imported"] + len(left_out) == summary["source_rows"] == 16
    assert left_out == {_line_of(r) for r in BAD if r.mistake in ("duplicate_id", "unknown_stage", "total_row")}


def test_every_bad_row_is_reported_on_its_column(imported):
    _, report = imported
    assert all(_on(report, r) for r in BAD), [r.mistake for r in BAD if not _on(report, r)]


def _message(report, mistake: str) -> tuple[str, str]:
    item = next(r for r in BAD if r.mistake == mistake)
    (problem,) = _on(report, item)
    return problem.severity, problem_message(problem, "zh-CN")


def test_a_duplicate_id_keeps_the_first_row_and_reports_the_later_one(imported):
    first = _line_of(GOOD[2])  # T-003's first row
    assert _message(imported[1], "duplicate_id") == (
        "error", f"编号“T-003”已在第 {first} 行出现并已导入(保留第一行，与 Excel 的“删除重复值”相同)；此重复行未导入")
    assert _table(imported[0]).at["T-003", "project"] == "ERP升级"


def test_an_unknown_stage_leaves_the_row_out_naming_the_stages_it_could_be(imported):
    severity, message = _message(imported[1], "unknown_stage")
    assert severity == "error"
    assert message == ("阶段“待定”不是本销售方法的阶段(定位目标客户群、发掘潜在商机、确认客户意向、引导客户立项、赢得客户认可、"
                       "进行商务谈判、完成销售成交)，映射文件的 [stages] 也没有列出它；请在 [stages] 中写明它对应哪个阶段；此行未导入")


def test_the_total_row_is_left_out_because_the_workbook_sums_itself(imported):
    assert _message(imported[1], "total_row") == (
        "error", "这是合计行，它汇总上面的商机，本身不是商机；未导入(工作簿会自行汇总)")


def test_an_estimated_amount_is_kept_blank_and_the_row_not_counted_until_it_is_fixed(imported):
    assert _message(imported[1], "estimate") == (
        "warning", "金额“约100万”是估计值，请填写确切金额，如 120万 或 1,200,000。此项暂按空白处理。修正之前，重新计算不计入此行")
    assert pd.isna(_table(imported[0]).at["T-012", "amount"])


def test_an_amount_in_dollars_is_kept_blank_and_the_row_not_counted_until_it_is_fixed(imported):
    assert _message(imported[1], "foreign_currency") == (
        "warning", "金额“$5,000”是外币；金额以人民币计，请先换算成人民币再填写，如 120万 或 1,200,000。此项暂按空白处理。"
                   "修正之前，重新计算不计入此行")


def test_an_unreadable_date_is_kept_blank_and_reported(imported):
    severity, message = _message(imported[1], "unreadable_date")
    assert severity == "warning"
    assert message.startswith("日期“下个月”无法识别；请填写日期，如 2026-03-05、2026/3/5 或 2026年3月5日。此项暂按空白处理")
    assert pd.isna(_table(imported[0]).at["T-014", "close_date"])


def test_formula_text_is_imported_as_text_and_reported(imported):
    assert _message(imported[1], "formula_text") == (
        "warning", f"“{FORMULA_TEXT}”以 = + - @ 开头，看起来像公式；已作为文字导入，工作簿中保存为文字，不会被当作公式执行")
    assert _table(imported[0]).at["T-011", "customer"] == FORMULA_TEXT


def test_a_missing_rep_is_reported_as_recalculate_reports_it(imported, tmp_path):
    path, report = imported
    item = next(r for r in BAD if r.mistake == "missing_rep")
    (said,) = _on(report, item)
    copy = shutil.copy2(path, tmp_path / "Funnel.xlsm")
    result = recalculate(FileWorkbook(copy, quiet=True), AS_OF, save=False)
    row = int(_table_rows(copy).loc["T-010"])
    (recalc,) = [p for p in result.problems if p.row == row and p.column == opportunity_header("rep")]
    assert (said.code, said.severity) == (recalc.code, "warning")
    assert _table(path).at["T-010", "customer"] == "长江物流"  # the row is in the workbook either way


def _table_rows(path) -> pd.Series:
    frame = FileWorkbook(path, read_only=True, quiet=True).read_rows(TABLE_OPPORTUNITIES)
    return pd.Series(frame.index, index=frame["id"]).dropna()


def test_recalculate_counts_exactly_the_rows_the_import_said_it_would(imported, tmp_path):
    path, report = imported
    copy = shutil.copy2(path, tmp_path / "Funnel.xlsm")
    result = recalculate(FileWorkbook(copy, quiet=True), AS_OF, save=False)
    kpi = result.figures.kpi
    assert kpi["open_count"] + kpi["won_count"] + kpi["lost_count"] == report.summary()["counted"]
    assert report.summary()["imported"] - report.summary()["counted"] == report.summary()["not_counted"] >= 2


def test_the_title_and_blank_rows_are_skipped_and_the_headers_found_below_the_title(imported):
    _, report = imported
    data_rows = {row for row, _ in sheet_rows()}
    assert {p.row for p in report.problems if p.sheet == SHEET and p.row is not None} <= data_rows
    assert min(data_rows) == TITLE_ROWS + 2  # the header sat on row 3, found without a header_row


def test_formula_text_is_stored_with_the_quote_prefix_so_excel_never_runs_it(imported):
    path, _ = imported
    book = openpyxl.load_workbook(path)
    sheet = book[FileWorkbook(path, read_only=True, quiet=True).read_table(TABLE_OPPORTUNITIES).sheet]
    (cell,) = [c for row in sheet.iter_rows() for c in row if c.value == FORMULA_TEXT]
    assert cell.data_type == "s" and cell.quotePrefix
    others = [c for row in sheet.iter_rows() for c in row if c.value == "海川制药"]
    assert others and not any(c.quotePrefix for c in others)  # only the formula-like text is marked


def test_the_problem_list_beside_the_workbook_neutralises_formula_text(imported):
    path, _ = imported
    text = path.with_name(problems_file_name(path.name)).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(text.splitlines()))
    assert rows and all(r["row"] == "" or re.fullmatch(r"\d+", r["row"]) for r in rows)  # whole numbers
    cells = [v for r in rows for v in r.values()]
    assert f"'{FORMULA_TEXT}" in cells
    assert not any(v.startswith(("=", "+", "-", "@", "\t", "\r")) for v in cells)


def test_a_header_not_found_is_named_as_the_mapping_writes_it(empty_big_project, sheet, mapping, tmp_path):
    wrong = parse_mapping(MAPPING.replace('amount = "预计金额(元)"', 'amount = "预计金额(万元)"'), mapping.path)
    path = shutil.copy2(empty_big_project, tmp_path / "Funnel.xlsm")
    with pytest.raises(MappingError) as info, FileWorkbook(path, quiet=True) as book:
        import_crm(book, sheet, wrong, dry_run=True)
    message = str(info.value)
    assert "'预计金额(万元)'" in message and "预计金额（元）" in message and "'amount'" not in message


@pytest.mark.libreoffice
def test_libreoffice_reads_the_formula_text_as_text(imported, tmp_path):
    from funnel_xl import libreoffice

    path, _ = imported
    sheet_name = FileWorkbook(path, read_only=True, quiet=True).read_table(TABLE_OPPORTUNITIES).sheet
    converted = openpyxl.load_workbook(libreoffice.recalculate(path, tmp_path / "lo"))[sheet_name]
    cells = [c for row in converted.iter_rows() for c in row]
    assert [c.data_type for c in cells if c.value == FORMULA_TEXT] == ["s"]
    assert not [c.coordinate for c in cells if c.data_type == "f" and "HYPERLINK" in str(c.value)]


def test_a_hand_kept_team_rolled_up_brings_its_data_issues_errors_first_to_the_company(imported, tmp_path):
    import python_calamine

    from funnel_xl.services.rollup import rollup_workbooks
    from tests.services.conftest import own_recalc, team_workbook

    path, _ = imported
    folder = tmp_path / "teams"
    folder.mkdir()
    shutil.copy2(path, folder / "手工跟踪.xlsm")
    team_workbook(folder, "华东销售", 0)
    own = recalculate(FileWorkbook(shutil.copy2(path, tmp_path / "own.xlsm"), quiet=True), AS_OF, save=False)
    assert {p.severity for p in own.problems} == {"error", "warning"}  # rows left out, and rows counted with a word

    result = rollup_workbooks([folder], AS_OF, output=tmp_path / "公司汇总.xlsx", workers=1)
    rows = python_calamine.CalamineWorkbook.from_path(result.output).get_sheet_by_name("数据问题").to_python()
    header = max(i for i, r in enumerate(rows) if r and r[0] == "团队")
    listed = [r for r in rows[header + 1:] if r and r[0] == "手工跟踪"]
    assert len(listed) == len(own.problems)
    error, warning = label("severity.error", "zh-CN"), label("severity.warning", "zh-CN")
    assert {r[4] for r in listed} == {error, warning}
    by_rep: dict = {}
    for r in listed:
        by_rep.setdefault(r[1], []).append(r[4])
    for rep, kinds in by_rep.items():  # each rep's errors before its warnings, as on the team's own sheet
        assert kinds == sorted(kinds, key=lambda k: k != error), rep
    where = lambda sheet, row: (sheet, None if row in ("", None) else int(row))  # noqa: E731
    assert sorted(map(str, (where(r[5], r[6]) for r in listed))) == sorted(
        map(str, (where(p.sheet, p.row) for p in own.problems)))
    from funnel_xl.textreport import render_rollup

    printed = render_rollup(result).splitlines()
    sample_team = own_recalc(folder / "华东销售.xlsm")
    assert f"数据问题: {len(own.problems) + len(sample_team.problems)}" in printed
    assert any(line.startswith("  - 手工跟踪: 商机，第 ") for line in printed)
