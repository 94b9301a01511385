"""The Office-rules hook itself: large sheets are audited on a sample of their rows, and a sample still finds errors."""

from __future__ import annotations

import zipfile

import pytest
import xlsxwriter

from tests.office_audit import SAMPLE_HEAD_ROWS, SAMPLE_TAIL_ROWS, OfficeAudit, sampled


@pytest.fixture
def big_workbook(tmp_path):
    """A 12,000-row workbook: its sheet part is far above the sampling threshold."""
    path = tmp_path / "big.xlsx"
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet("data")
    for r in range(12_000):
        sheet.write_row(r, 0, [f"OPP-{r}", r * 1000.0, "进行中"])
    book.close()
    return path


def _rewrite_sheet(path, change):
    with zipfile.ZipFile(path) as zf:
        parts = {i.filename: zf.read(i) for i in zf.infolist()}
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = change(parts[sheet].decode("utf-8")).encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)


def test_a_large_sheet_is_audited_on_its_first_and_last_rows(big_workbook, tmp_path):
    (tmp_path / "sample").mkdir()
    copy = sampled(big_workbook, tmp_path / "sample")
    with zipfile.ZipFile(copy) as zf:
        xml = zf.read("xl/worksheets/sheet1.xml").decode("utf-8")
    assert xml.count("<row ") == SAMPLE_HEAD_ROWS + SAMPLE_TAIL_ROWS
    assert '<row r="1">' in xml and '<row r="12000">' in xml and '<row r="6000">' not in xml


@pytest.mark.office_invalid("the test breaks a cell on purpose to see the audit find it")
def test_the_sampled_audit_still_finds_a_broken_cell(big_workbook):
    assert OfficeAudit().check(big_workbook) == []
    _rewrite_sheet(big_workbook, lambda xml: xml.replace('<c r="B2"', '<c r="B2" t="zz"', 1))
    errors = OfficeAudit().check(big_workbook)
    assert errors and any("zz" in e for e in errors)
