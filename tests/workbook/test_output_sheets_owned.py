"""The output sheets are the tool's: a line at the top of each says so, and a recalculation that finds something
a user typed on one says so and names the file that keeps it."""

from __future__ import annotations

import re
import shutil
import zipfile

import pytest
import python_calamine

from funnel_xl import libreoffice
from funnel_xl.labels import label
from funnel_xl.sample import SAMPLE_AS_OF
from funnel_xl.services.recalculate import recalculate
from funnel_xl.workbook.contract import RECALCULATED_SHEETS, sheet_name
from funnel_xl.workbook.file_adapter import FileWorkbook
from funnel_xl.workbook.layout import OWNED_ROW
from funnel_xl.workbook.ooxml import Write, patch_cells
from funnel_xl.workbook.package import PackageIndex
from funnel_xl.workbook.saving import backup_path
from funnel_xl.workbook.zip_patch import atomic_patch

TYPED = "经理的备注：下周复核"


@pytest.fixture
def book(built_sample, tmp_path):
    return shutil.copy2(built_sample, tmp_path / "Funnel.xlsm")


def cells(path, sheet: str) -> list[list]:
    return python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python()


def type_on(path, sheet: str, row: int, col: int, text: str) -> None:
    """A user's entry on a sheet, saved the way another program would write the part."""
    with zipfile.ZipFile(path) as zf:
        part = PackageIndex.read(zf).sheet(sheet).part
        xml = zf.read(part).decode("utf-8")
    atomic_patch(path, path, {part: patch_cells(xml, {(row, col): Write(text)}).encode("utf-8")})


def recalc(path):
    with FileWorkbook(path, quiet=True) as wb:
        return recalculate(wb, SAMPLE_AS_OF, history=None)


@pytest.mark.parametrize("key", RECALCULATED_SHEETS)
def test_each_recalculated_sheet_says_at_its_top_that_it_is_the_tools(built_sample, key):
    assert cells(built_sample, sheet_name(key))[OWNED_ROW - 1][0] == label("out.owned")


def test_a_recalculation_that_finds_typed_content_names_the_sheet_and_the_backup_keeps_it(book):
    recalc(book)
    type_on(book, sheet_name("forecast"), 60, 2, TYPED)
    result = recalc(book)
    assert result.overwritten == (sheet_name("forecast"),)
    kept = backup_path(book)
    assert result.saved.backup == kept
    assert any(TYPED in row for row in cells(kept, sheet_name("forecast")))
    assert not any(TYPED in row for row in cells(book, sheet_name("forecast")))


def test_a_recalculation_of_the_tools_own_sheets_reports_nothing(book):
    recalc(book)
    assert recalc(book).overwritten == ()


@pytest.mark.libreoffice
def test_a_workbook_another_spreadsheet_program_saved_is_not_taken_for_typed_content(book, tmp_path):
    """LibreOffice writes the sheets its own way (shared strings, 15-digit numbers): the values are the same."""
    resaved = libreoffice.recalculate(book, tmp_path / "lo")
    assert recalc(resaved).overwritten == ()


def restamp_without_crc(path) -> None:
    """The hidden names as a workbook of the previous version keeps them: the values' hash alone."""
    with zipfile.ZipFile(path) as zf:
        xml = zf.read("xl/workbook.xml").decode("utf-8")
    stripped = re.sub(r'(name="_funnel_xl_written"[^>]*>"[0-9a-f]{16}):[0-9a-f]{8}"', r'\1"', xml)
    assert stripped != xml
    atomic_patch(path, path, {"xl/workbook.xml": stripped.encode("utf-8")})


def test_a_workbook_whose_stamps_carry_no_crc_is_still_checked_value_by_value(book):
    recalc(book)
    restamp_without_crc(book)
    assert recalc(book).overwritten == ()
    restamp_without_crc(book)
    type_on(book, sheet_name("funnel"), 80, 3, TYPED)
    assert recalc(book).overwritten == (sheet_name("funnel"),)
