"""Everything the tool writes opens in Excel's readers: no character XML forbids in any part (charts included),
cell text within Excel's limit, and no calculation chain left naming cells a rewrite changed."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pandas as pd
import pytest

from funnel_xl import libreoffice
from funnel_xl.labels import label
from funnel_xl.sample import SAMPLE_AS_OF, load_sample
from funnel_xl.services.recalculate import recalculate
from funnel_xl.workbook.build import write_workbook
from funnel_xl.workbook.contract import TABLE_OPPORTUNITIES, sheet_name
from funnel_xl.workbook.file_adapter import FileWorkbook
from funnel_xl.workbook.ooxml import MAX_CELL_TEXT, TRUNCATION_NOTE
from funnel_xl.workbook.opc import validate_package
from tests.excel_saved import calc_chain_traces, with_calc_chain

BELL = "\x07"


@pytest.fixture(scope="module")
def recalculated_with_bell(tmp_path_factory, big_project_methodology):
    """The sample with its first rep renamed to end in a bell character, as Excel stores it (``_x0007_``),
    then recalculated."""
    sample = load_sample()
    rep = sample.reps["rep"].iloc[0]
    reps, opps = sample.reps.copy(), sample.opportunities.copy()
    reps.loc[reps["rep"] == rep, "rep"] = rep + BELL
    opps.loc[opps["rep"] == rep, "rep"] = rep + BELL
    path = write_workbook(tmp_path_factory.mktemp("bell") / "Funnel.xlsm", lang="zh-CN",
                          methodology=big_project_methodology, opportunities=opps, reps=reps, as_of=SAMPLE_AS_OF)
    with zipfile.ZipFile(path) as zf:
        assert b"_x0007_" in zf.read("xl/sharedStrings.xml")
    recalculate(FileWorkbook(path, quiet=True), SAMPLE_AS_OF, history=None)
    return path, rep


def _xml_parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist() if n.endswith((".xml", ".rels", ".vml"))}


def test_a_rep_named_with_a_control_character_gives_parts_every_xml_parser_reads(recalculated_with_bell):
    path, _ = recalculated_with_bell
    parts = _xml_parts(path)
    assert any(n.startswith("xl/charts/") for n in parts)
    for name, data in parts.items():
        ElementTree.fromstring(data)  # raises on a part that is not well-formed
    assert validate_package(path) == []


def test_the_rep_shows_with_a_replacement_mark_on_the_quota_sheet_and_in_its_chart(recalculated_with_bell):
    path, rep = recalculated_with_bell
    ws = openpyxl.load_workbook(path, data_only=True)[sheet_name("quota")]
    shown = {c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    assert rep + "\ufffd" in shown
    charts = "".join(data.decode() for name, data in _xml_parts(path).items() if name.startswith("xl/charts/"))
    assert f"<c:v>{rep}\ufffd</c:v>" in charts


@pytest.mark.libreoffice
def test_libreoffice_opens_the_recalculated_workbook_of_a_rep_with_a_control_character(recalculated_with_bell,
                                                                                        tmp_path):
    path, rep = recalculated_with_bell
    converted = libreoffice.recalculate(path, tmp_path / "lo")
    ws = openpyxl.load_workbook(converted, data_only=True)[sheet_name("quota")]
    assert rep + "\ufffd" in {c.value for row in ws.iter_rows() for c in row}


@pytest.fixture
def saved_by_excel(built_sample, tmp_path) -> Path:
    """The sample as Excel saves it: with a calculation chain, its relationship and its content-type override."""
    path = tmp_path / "Funnel.xlsm"
    with_calc_chain(built_sample, path)
    assert len(calc_chain_traces(path)) == 3
    return path


def test_a_recalculation_drops_the_calculation_chain_with_its_relationship_and_override(saved_by_excel):
    recalculate(FileWorkbook(saved_by_excel, quiet=True), SAMPLE_AS_OF, history=None)
    assert calc_chain_traces(saved_by_excel) == []
    assert validate_package(saved_by_excel) == []


def test_an_import_into_the_opportunities_table_drops_the_calculation_chain_too(saved_by_excel):
    book = FileWorkbook(saved_by_excel)
    book.append_rows(TABLE_OPPORTUNITIES, [{"id": "X-1", "customer": "新客户", "rep": "李强", "amount": 100_000.0,
                                            "stage": "approved", "status": "open",
                                            "close_date": pd.Timestamp("2026-12-20")}])
    book.save()
    assert calc_chain_traces(saved_by_excel) == []
    assert validate_package(saved_by_excel) == []


def test_a_note_longer_than_a_cell_holds_is_cut_to_excels_limit_with_a_visible_note(built_sample, tmp_path):
    path = shutil.copy2(built_sample, tmp_path / "Funnel.xlsm")
    notes = "客户要求补充技术方案。" * 4_000  # 44,000 characters
    book = FileWorkbook(path)
    book.append_rows(TABLE_OPPORTUNITIES, [{"id": "X-1", "customer": "新客户", "rep": "李强", "amount": 100_000.0,
                                            "stage": "approved", "status": "open", "notes": notes}])
    book.save()
    ws = openpyxl.load_workbook(path, data_only=True)[sheet_name("opportunities")]
    header = {c.value: c.column for c in ws[4]}
    row = next(r for r in range(5, ws.max_row + 1) if ws.cell(r, header[label("field.id")]).value == "X-1")
    written = ws.cell(row, header[label("field.notes")]).value
    assert len(written) == MAX_CELL_TEXT and written.endswith(TRUNCATION_NOTE)
    assert notes.startswith(written[: -len(TRUNCATION_NOTE)])
