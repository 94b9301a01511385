"""The table writer, through the file adapter's edits: canonical values land in 商机 / 销售人员 as the builder shows them, the table grows with its
styles, formulas, dropdowns and print area, and every derived formula cell carries the value the domain gives."""

from __future__ import annotations

import datetime as dt
import shutil
import zipfile

import openpyxl
import pandas as pd
import pytest

from funnel_xl import libreoffice
from funnel_xl.errors import WorkbookLockedError
from funnel_xl.labels import label
from funnel_xl.workbook.contract import TABLE_OPPORTUNITIES, TABLE_REPS, sheet_name
from funnel_xl.workbook.opc import validate_package
from funnel_xl.workbook.file_adapter import FileWorkbook

OPPS = sheet_name("opportunities")
FIRST_DATA_ROW = 5  # title, note, totals, header; the empty build has one blank row here
TOTAL_ROW = 3


def _deal(id_, stage, status, amount, **more):
    row = {"id": id_, "customer": f"客户{id_}", "rep": "李强", "amount": amount, "stage": stage, "status": status,
           "close_date": pd.Timestamp("2026-03-05"), "created_date": pd.Timestamp("2025-12-01")}
    row.update(more)
    return row


@pytest.fixture
def empty_copy(built_empty, tmp_path):
    path = tmp_path / "Funnel.xlsm"
    shutil.copy2(built_empty, path)
    return path


@pytest.fixture
def three_deals(empty_copy, big_project_methodology):
    """Three deals appended to the empty build: an open one at 引导客户立项 (35 %), a won one, an open one whose
    checklist meets the first two stages only."""
    first_two = {f"chk:{c.key}": True for s in big_project_methodology.stages[:2] for c in s.criteria}
    book = FileWorkbook(empty_copy)
    book.append_rows(TABLE_OPPORTUNITIES, [_deal("A-1", "approved", "open", 1_000_000.0, estimated=True),
                                           _deal("A-2", "closed", "won", 400_000.0, estimated=False),
                                           _deal("A-3", "recognition", "open", 200_000.0, **first_two)])
    book.append_rows(TABLE_REPS, [{"rep": "李强", "hire_date": pd.Timestamp("2024-02-01"),
                                   "annual_quota": 3_000_000.0}])
    book.save()
    return empty_copy


def _table(path, name=TABLE_OPPORTUNITIES, sheet=OPPS, data_only=True):
    ws = openpyxl.load_workbook(path, data_only=data_only)[sheet]
    rows = list(ws[ws.tables[name].ref])
    header = [c.value for c in rows[0]]
    return ws, header, [{h: c for h, c in zip(header, row)} for row in rows[1:]]


def test_appended_rows_show_stage_names_status_labels_yes_no_and_real_dates(three_deals):
    _, _, rows = _table(three_deals)
    first = rows[0]
    assert first[label("field.stage")].value == "引导客户立项"
    assert first[label("field.status")].value == label("status.open")
    assert first[label("field.estimated")].value == label("out.yes")
    assert rows[1][label("field.estimated")].value == label("out.no")
    close = first[label("field.close_date")]
    assert close.value == dt.datetime(2026, 3, 5) and close.is_date
    assert first[label("field.amount")].value == 1_000_000


def test_the_first_rows_fill_the_blank_row_and_the_table_grows_over_the_rest(three_deals):
    ws, _, rows = _table(three_deals)
    assert [r[label("field.id")].value for r in rows] == ["A-1", "A-2", "A-3"]
    assert ws.tables[TABLE_OPPORTUNITIES].ref.endswith(str(FIRST_DATA_ROW + 2))
    last = FIRST_DATA_ROW + 2
    stage_col = [c.column_letter for c in ws[4] if c.value == label("field.stage")][0]
    covered = [dv for dv in ws.data_validations.dataValidation if f"{stage_col}{last}" in dv.sqref]
    assert covered, "the stage dropdown reaches the new last row"
    assert ws.print_area.endswith(f"${last}")


def test_cached_win_rate_and_weighted_follow_the_methodology_and_the_totals_add_up(three_deals):
    ws, _, rows = _table(three_deals)
    weighted = [r[label("col.weighted")].value for r in rows]
    # 1,000,000 open at 35 %; the won deal weighs nothing; 200,000 open, claimed at 赢得客户认可 (50 %) but with a
    # checklist that supports 发掘潜在商机 only: weighted at the evidence's 10 %.
    assert weighted == [pytest.approx(350_000), 0, pytest.approx(20_000)]
    assert rows[0][label("col.win_rate")].value == pytest.approx(0.35)
    assert rows[2][label("col.win_rate")].value == pytest.approx(0.10)
    assert rows[0][label("col.amount_wan")].value == pytest.approx(100)
    header = [c.value for c in ws[4]]
    assert ws.cell(TOTAL_ROW, header.index(label("col.weighted")) + 1).value == pytest.approx(370_000)
    assert ws.cell(TOTAL_ROW, header.index(label("field.amount")) + 1).value == pytest.approx(1_600_000)


def test_the_assessed_stage_and_gap_come_from_the_checklist(three_deals):
    _, _, rows = _table(three_deals)
    third = rows[2]
    # The checklist meets 定位目标客户群 and 发掘潜在商机 only; 赢得客户认可 is stage 5, so the gap is 5 - 2.
    assert third[label("col.derived_stage")].value == "发掘潜在商机"
    assert third[label("col.stage_gap")].value == 3


def test_new_rows_carry_the_live_formulas_of_the_row_above(three_deals):
    _, _, rows = _table(three_deals, data_only=False)
    formulas = [str(r[label("col.weighted")].value) for r in rows]
    assert all(f.startswith("=") for f in formulas)
    assert len(set(formulas)) == 1  # [#This Row] references: the same text on every row


def test_updating_one_cell_keeps_the_row_and_recomputes_its_cached_figures(three_deals):
    book = FileWorkbook(three_deals)
    book.update_cells(TABLE_OPPORTUNITIES, {(FIRST_DATA_ROW, "stage"): "negotiation"})
    book.save()
    _, _, rows = _table(three_deals)
    assert rows[0][label("field.stage")].value == "进行商务谈判"
    assert rows[0][label("field.customer")].value == "客户A-1"
    assert rows[0][label("col.weighted")].value == pytest.approx(750_000)  # 1,000,000 × 75 %


def test_reps_are_written_with_dates_and_quota(three_deals):
    _, _, rows = _table(three_deals, TABLE_REPS, sheet_name("reps"))
    assert rows[0][label("rep_field.rep")].value == "李强"
    assert rows[0][label("rep_field.hire_date")].value == dt.datetime(2024, 2, 1)
    assert rows[0][label("rep_field.annual_quota")].value == 3_000_000


def test_vba_and_ribbon_parts_are_byte_identical_and_the_package_validates(built_empty, three_deals):
    with zipfile.ZipFile(built_empty) as before, zipfile.ZipFile(three_deals) as after:
        kept = [n for n in before.namelist() if "vbaProject" in n or "customUI" in n]
        assert kept
        for name in kept:
            assert before.read(name) == after.read(name), name
    assert validate_package(three_deals) == []


def test_a_save_with_nothing_to_write_leaves_the_file_alone(empty_copy):
    before = (empty_copy.read_bytes(), empty_copy.stat().st_mtime_ns)
    book = FileWorkbook(empty_copy)
    book.update_cells(TABLE_OPPORTUNITIES, {})
    assert book.save().backup is None
    assert (empty_copy.read_bytes(), empty_copy.stat().st_mtime_ns) == before


def test_a_workbook_open_in_excel_is_refused(empty_copy):
    (empty_copy.parent / ("~$" + empty_copy.name)).write_bytes(b"owner")
    with pytest.raises(WorkbookLockedError, match="open in Excel"):
        FileWorkbook(empty_copy)


@pytest.mark.libreoffice
def test_libreoffice_recalculates_every_written_formula_to_the_cached_value(three_deals, tmp_path):
    formulas = openpyxl.load_workbook(three_deals)[OPPS]
    cached = openpyxl.load_workbook(three_deals, data_only=True)[OPPS]
    recalculated = openpyxl.load_workbook(libreoffice.recalculate(three_deals, tmp_path / "lo"), data_only=True)[OPPS]
    checked, mismatches = 0, []
    for row in formulas.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                mine, theirs = cached[cell.coordinate].value, recalculated[cell.coordinate].value
                checked += 1
                same = (mine in (None, "") and theirs in (None, "")) or mine == theirs or (
                    isinstance(mine, (int, float)) and isinstance(theirs, (int, float)) and abs(mine - theirs) < 0.005)
                if not same:
                    mismatches.append(f"{cell.coordinate}: cached {mine!r}, LibreOffice {theirs!r}")
    assert checked >= 3 * 5 + 4  # five derived columns per row, plus the totals
    assert mismatches == []
