"""The package writer: raw copies, sheet splices, chart stretching, cell patches, locks and backups."""

from __future__ import annotations

import datetime as dt
import zipfile

import pytest
import xlsxwriter

from funnel_xl.errors import WorkbookLockedError
from funnel_xl.workbook.chart_xml import patch_chart
from funnel_xl.workbook.file_adapter import FileWorkbook
from funnel_xl.workbook.layout import FUNNEL_STAGES, ChartSpec
from funnel_xl.workbook.model import OutputSheet
from funnel_xl.workbook.ooxml import excel_serial
from funnel_xl.workbook.package import PackageIndex
from funnel_xl.workbook.sheet_xml import splice_sheet
from funnel_xl.workbook.saving import backup_path
from funnel_xl.workbook.zip_patch import atomic_patch


@pytest.fixture
def small_book(tmp_path):
    """A workbook with an input table, an output sheet carrying a chart, and a user's own sheet."""
    path = tmp_path / "book.xlsx"
    wb = xlsxwriter.Workbook(path)
    data = wb.add_worksheet("商机")
    data.write_row(0, 0, ["编号", "金额"])
    data.write_row(1, 0, ["A1", 100])
    data.write_row(2, 0, ["A2", 250])
    data.add_table(0, 0, 2, 1, {"name": "tblOpportunities", "columns": [{"header": "编号"}, {"header": "金额"}]})
    out = wb.add_worksheet("漏斗")
    out.write(0, 0, "标题")
    out.set_landscape()
    chart = wb.add_chart({"type": "bar"})
    first = FUNNEL_STAGES.first_data_row
    chart.add_series({"categories": f"='漏斗'!$A${first}:$A${first}", "values": f"='漏斗'!$D${first}:$D${first}"})
    out.insert_chart("L4", chart)
    mine = wb.add_worksheet("我的笔记")
    mine.write(0, 0, "用户自己的内容")
    wb.close()
    return path


def _members(path):
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i.filename) for i in zf.infolist()}


def test_patched_package_copies_every_other_member_unchanged(small_book, tmp_path):
    target = tmp_path / "out.xlsx"
    atomic_patch(small_book, target, {"xl/worksheets/sheet2.xml": b"<worksheet/>"})
    before, after = _members(small_book), _members(target)
    assert list(before) == list(after)
    assert after["xl/worksheets/sheet2.xml"] == b"<worksheet/>"
    assert all(before[name] == after[name] for name in before if name != "xl/worksheets/sheet2.xml")
    with zipfile.ZipFile(target) as zf:
        assert zf.testzip() is None


def test_saving_over_a_workbook_keeps_a_backup_of_the_previous_file(small_book):
    original = small_book.read_bytes()
    backup = atomic_patch(small_book, small_book, {})
    assert backup == backup_path(small_book) and backup.read_bytes() == original
    assert not list(small_book.parent.glob(".*.tmp"))


def test_a_workbook_open_in_excel_is_refused(small_book):
    (small_book.parent / f"~${small_book.name}").write_bytes(b"owner")
    with pytest.raises(WorkbookLockedError, match="open in Excel"):
        FileWorkbook(small_book)


def test_tables_are_read_by_name_with_sheet_row_numbers(small_book):
    table = FileWorkbook(small_book).read_table("tblOpportunities")
    assert table.sheet == "商机"
    assert list(table.frame.columns) == ["编号", "金额"]
    assert list(table.frame.index) == [2, 3]
    assert table.frame.loc[3, "金额"] == 250


def test_splicing_an_output_sheet_keeps_page_setup_and_drawing(small_book):
    with zipfile.ZipFile(small_book) as zf:
        index = PackageIndex.read(zf)
        xml = zf.read(index.sheet("漏斗").part).decode()
    sheet = OutputSheet("funnel")
    sheet.put(1, 1, "销售漏斗 & <预测>", "title")
    sheet.put(5, 2, 1234.5)
    sheet.put(6, 3, dt.date(2026, 11, 20))
    out = splice_sheet(xml, sheet, {"title": 7})
    assert "<drawing " in out and "<pageSetup " in out
    assert '<c r="A1" s="7" t="inlineStr"><is><t xml:space="preserve">销售漏斗 &amp; &lt;预测&gt;</t></is></c>' in out
    assert '<c r="B5"><v>1234.5</v></c>' in out
    assert f"<v>{excel_serial(dt.date(2026, 11, 20))!r}</v>" in out
    assert '<dimension ref="A1:C6"/>' in out


def test_a_chart_stretches_to_the_rows_its_block_filled(small_book):
    with zipfile.ZipFile(small_book) as zf:
        chart_part = PackageIndex.read(zf).sheet("漏斗").charts[0]
        xml = zf.read(chart_part).decode()
    sheet = OutputSheet("funnel")
    first = FUNNEL_STAGES.first_data_row
    for i, (name, value) in enumerate([("发掘潜在商机", 120.0), ("确认客户意向", 80.0), ("引导客户立项", 40.0)]):
        sheet.put(first + i, 1, name)
        sheet.put(first + i, 4, value)
    sheet.chart_items["funnel"] = 3
    spec = ChartSpec("funnel", FUNNEL_STAGES, "stage", ("pipeline_wan",), "bar", "L4")
    out = patch_chart(xml, "漏斗", sheet, [spec])
    assert f"'漏斗'!$A${first}:$A${first + 2}" in out
    assert f"'漏斗'!$D${first}:$D${first + 2}" in out
    assert "<c:v>确认客户意向</c:v>" in out and "<c:v>40.0</c:v>" in out


def test_a_chart_drawn_over_a_single_row_stretches_too(small_book):
    # XlsxWriter writes a one-row series as a single cell ('漏斗'!$D$6), not a range.
    with zipfile.ZipFile(small_book) as zf:
        chart_part = PackageIndex.read(zf).sheet("漏斗").charts[0]
        xml = zf.read(chart_part).decode()
    first = FUNNEL_STAGES.first_data_row
    xml = xml.replace(f"$A${first}:$A${first}", f"$A${first}").replace(f"$D${first}:$D${first}", f"$D${first}")
    sheet = OutputSheet("funnel")
    for i in range(4):
        sheet.put(first + i, 1, f"阶段{i}")
        sheet.put(first + i, 4, float(i))
    sheet.chart_items["funnel"] = 4
    spec = ChartSpec("funnel", FUNNEL_STAGES, "stage", ("pipeline_wan",), "bar", "L4")
    out = patch_chart(xml, "漏斗", sheet, [spec])
    assert f"'漏斗'!$A${first}:$A${first + 3}" in out and f"'漏斗'!$D${first}:$D${first + 3}" in out


def test_an_interrupted_patch_propagates_the_interruption_not_a_zip_error(small_book, tmp_path, monkeypatch):
    """Ctrl+C (or SIGTERM, which the command line turns into one) half way through writing a member: the caller
    sees the interruption (exit 130), not zipfile's complaint about an open writing handle (exit 3)."""
    from funnel_xl.workbook import zip_patch

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(zip_patch, "_copy_raw", interrupted)
    with pytest.raises(KeyboardInterrupt):
        zip_patch.patch_package(small_book, tmp_path / "out.xlsx", {})
