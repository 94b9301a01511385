"""The package opens without a repair prompt: parts, types, relationships, names, buttons and ribbon are sound."""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import pytest
from oletools.olevba import VBA_Parser

from funnel_xl.excel.commands import MACRO_COMMANDS
from funnel_xl.workbook import ribbon
from funnel_xl.workbook.opc import macros_in_vba_project, validate_package


def _rewrite(src: Path, dst: Path, *, drop=(), replace=None, add=None) -> Path:
    """A copy of a package with members dropped, replaced or added (to break it on purpose)."""
    replace, add = replace or {}, add or {}
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename in drop:
                continue
            data = zin.read(info.filename)
            if info.filename in replace:
                data = replace[info.filename](data)
            zout.writestr(info.filename, data)
        for name, data in add.items():
            zout.writestr(name, data)
    return dst


def test_the_built_workbook_is_a_sound_package(built_sample):
    assert validate_package(built_sample) == []


def test_the_empty_workbook_is_a_sound_package(built_empty):
    assert validate_package(built_empty) == []


def test_olevba_finds_the_macro_module_and_the_xlwings_module(built_sample):
    parser = VBA_Parser(str(built_sample))
    try:
        modules = {name.rsplit(".", 1)[0]: code for _, _, name, code in parser.extract_macros()}
    finally:
        parser.close()
    assert "FunnelMacros" in modules and "xlwings" in modules
    assert 'RunPython "import funnel_xl.excel.macros as m; m.recalculate_forecast()"' in modules["FunnelMacros"]


def test_every_button_runs_a_macro_the_vba_project_defines(built_sample):
    with zipfile.ZipFile(built_sample) as zf:
        vml = [zf.read(n).decode() for n in zf.namelist() if n.endswith(".vml")]
        defined = macros_in_vba_project(zf.read("xl/vbaProject.bin"))
    called = [m for text in vml for m in re.findall(r"<x:FmlaMacro>\[0\]!(\w+)</x:FmlaMacro>", text)]
    assert "RecalculateForecast" in called and len(called) == 3 + len(MACRO_COMMANDS)  # 商机, and 说明 has them all
    assert set(called) <= defined


def test_the_ribbon_tab_is_linked_from_the_package_root_and_calls_existing_callbacks(built_sample):
    with zipfile.ZipFile(built_sample) as zf:
        rels = zf.read("_rels/.rels").decode()
        customui = zf.read(ribbon.CUSTOMUI_PART).decode()
        defined = macros_in_vba_project(zf.read("xl/vbaProject.bin"))
    assert f'Type="{ribbon.REL_TYPE_UI}" Target="{ribbon.CUSTOMUI_PART}"' in rels
    actions = re.findall(r'onAction="(\w+)"', customui)
    assert len(actions) == len(MACRO_COMMANDS)
    assert set(actions) <= defined
    assert all(a.startswith("Ribbon_") for a in actions)


@pytest.mark.office_invalid("the package is broken on purpose: the check must report it")
def test_an_orphan_part_is_reported(built_sample, tmp_path):
    broken = _rewrite(built_sample, tmp_path / "orphan.xlsm", add={"xl/media/stray.png": b"\x89PNG"})
    problems = validate_package(broken)
    assert any("xl/media/stray.png" in p and "orphan" in p for p in problems)
    assert any("xl/media/stray.png" in p and "content type" in p for p in problems)


@pytest.mark.office_invalid("the package is broken on purpose: the check must report it")
def test_a_relationship_to_a_missing_part_is_reported(built_sample, tmp_path):
    broken = _rewrite(built_sample, tmp_path / "dangling.xlsm", drop={ribbon.CUSTOMUI_PART})
    problems = validate_package(broken, check_macros=False)
    assert any(ribbon.CUSTOMUI_PART in p and "not in the package" in p for p in problems)


def test_a_print_area_on_a_missing_sheet_is_reported(built_sample, tmp_path):
    def rename_sheet_reference(data: bytes) -> bytes:
        return re.sub(rb"(<definedName name=\"_xlnm.Print_Area\"[^>]*>)'?[^!<]+'?!", rb"\1'Gone'!", data, count=1)

    broken = _rewrite(built_sample, tmp_path / "names.xlsm", replace={"xl/workbook.xml": rename_sheet_reference})
    assert any("'Gone'" in p and "does not exist" in p for p in validate_package(broken))


def test_a_ribbon_button_calling_an_unknown_macro_is_reported(built_sample, tmp_path):
    def misspell(data: bytes) -> bytes:
        return data.replace(b'onAction="Ribbon_RecalculateForecast"', b'onAction="Ribbon_Recalc"')

    broken = _rewrite(built_sample, tmp_path / "macro.xlsm", replace={ribbon.CUSTOMUI_PART: misspell})
    assert any("Ribbon_Recalc" in p for p in validate_package(broken))


def test_the_ribbon_can_be_added_twice_without_a_second_relationship(built_sample, tmp_path):
    copy = tmp_path / "twice.xlsm"
    shutil.copy(built_sample, copy)
    ribbon.add_ribbon(copy)
    with zipfile.ZipFile(copy) as zf:
        assert zf.read("_rels/.rels").decode().count(ribbon.REL_TYPE_UI) == 1
        assert zf.namelist().count(ribbon.CUSTOMUI_PART) == 1
    assert validate_package(copy) == []
