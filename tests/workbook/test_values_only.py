"""The values-only export: an .xlsx without macros, ribbon, buttons or formulas, that still reads right."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest
import python_calamine

from funnel_xl.errors import InputError
from funnel_xl.workbook.reader_sheets import reader_dropped_sheets
from funnel_xl.workbook.values_only import export_values_only
from funnel_xl.workbook.opc import validate_package
from tests.excel_saved import calc_chain_traces, with_calc_chain


@pytest.fixture(scope="module")
def master(tmp_path_factory) -> Path:
    from funnel_xl.services.build import build_workbook

    return build_workbook(tmp_path_factory.mktemp("master") / "Funnel.xlsm")


@pytest.fixture(scope="module")
def exported(master, tmp_path_factory) -> Path:
    return export_values_only(master, tmp_path_factory.mktemp("export") / "Funnel_readers.xlsx")


def test_the_export_has_no_vba_no_ribbon_no_buttons_and_the_plain_workbook_type(exported):
    with zipfile.ZipFile(exported) as zf:
        names = zf.namelist()
        types = zf.read("[Content_Types].xml").decode()
        rels = zf.read("_rels/.rels").decode() + zf.read("xl/_rels/workbook.xml.rels").decode()
        sheets = [zf.read(n).decode() for n in names if n.startswith("xl/worksheets/sheet")]
    assert not [n for n in names if "vbaProject" in n or n.startswith("customUI") or n.endswith(".vml")]
    assert "macroEnabled" not in types and "spreadsheetml.sheet.main+xml" in types
    assert "vbaProject" not in rels and "customUI" not in rels
    assert not any("<f>" in s or "<f " in s or "legacyDrawing" in s for s in sheets)


def test_every_sheet_and_chart_is_kept_with_the_values_the_master_caches(master, exported):
    with zipfile.ZipFile(master) as a, zipfile.ZipFile(exported) as b:
        charts = sorted(n for n in a.namelist() if n.startswith("xl/charts/"))
        assert charts and charts == sorted(n for n in b.namelist() if n.startswith("xl/charts/"))
    src = python_calamine.CalamineWorkbook.from_path(str(master))
    dst = python_calamine.CalamineWorkbook.from_path(str(exported))
    assert dst.sheet_names == [n for n in src.sheet_names if n not in reader_dropped_sheets()]
    for name in dst.sheet_names:
        assert dst.get_sheet_by_name(name).to_python() == src.get_sheet_by_name(name).to_python(), name


def test_the_readers_copy_has_no_guide_no_developer_sheet_no_python_text_and_opens_on_the_forecast(master, exported):
    book = openpyxl.load_workbook(exported)
    names = book.sheetnames
    assert not {"说明", "xlwings.conf", "函数示例", "_styles"} & set(names)
    assert book.active.title == "预测"
    texts = [str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    assert not [t for t in texts if "Python" in t or "xlwings" in t or "pip install" in t]
    # Print settings follow the sheets left: each print area names the sheet it sits on.
    for ws in book.worksheets:
        if ws.print_area:
            assert all(area.startswith(f"'{ws.title}'!") or area.startswith(f"{ws.title}!")
                       for area in ws.print_area.split(","))


def test_a_master_saved_by_excel_exports_without_its_calculation_chain(master, tmp_path):
    saved = with_calc_chain(master, tmp_path / "Funnel.xlsm")
    exported = export_values_only(saved, tmp_path / "Funnel_readers.xlsx")
    assert calc_chain_traces(exported) == []
    assert validate_package(exported) == []


def test_the_export_is_a_sound_package(exported):
    assert validate_package(exported) == []


@pytest.mark.libreoffice
def test_libreoffice_opens_the_export(exported, tmp_path):
    from funnel_xl.libreoffice import recalculate

    converted = recalculate(exported, tmp_path)
    assert "商机" in openpyxl.load_workbook(converted, read_only=True).sheetnames


def test_the_export_refuses_to_overwrite_the_master_or_to_be_named_xlsm(master, tmp_path):
    with pytest.raises(InputError, match="xlsx"):
        export_values_only(master, tmp_path / "x.xlsm")
    plain = tmp_path / "Funnel.xlsx"
    shutil.copy2(master, plain)
    with pytest.raises(InputError, match="overwrite"):
        export_values_only(plain, plain)


def test_the_export_carries_none_of_the_tools_hidden_names_so_no_reader_gets_the_form_key(master, tmp_path):
    from funnel_xl.workbook.contract import TOOL_NAME_PREFIX
    from tests.forms.formtools import give_form_key

    keyed = shutil.copy2(master, tmp_path / "Funnel.xlsm")
    key = give_form_key(keyed)
    with zipfile.ZipFile(keyed) as zf:
        assert key.hex() in zf.read("xl/workbook.xml").decode()
    out = export_values_only(keyed, tmp_path / "Funnel_readers.xlsx")
    with zipfile.ZipFile(out) as zf:
        everything = b"".join(zf.read(n) for n in zf.namelist())
    assert key.hex().encode() not in everything and TOOL_NAME_PREFIX.encode() not in everything
    assert validate_package(out) == []


def test_sheets_exported_a_few_rows_at_a_time_and_streamed_are_the_sheets_exported_whole(master, exported, tmp_path,
                                                                                       monkeypatch):
    from funnel_xl.workbook import values_only

    # A 100,000-row sheet is read, changed and written a stretch of rows at a time: cut it every few rows here.
    monkeypatch.setattr(values_only, "_STRETCH", 512)
    monkeypatch.setattr(values_only, "LARGE_PART", 0)
    streamed = export_values_only(master, tmp_path / "Funnel_readers.xlsx")
    with zipfile.ZipFile(exported) as whole, zipfile.ZipFile(streamed) as cut:
        assert cut.namelist() == whole.namelist()
        for name in whole.namelist():
            assert cut.read(name) == whole.read(name), name
    assert validate_package(streamed) == []
