"""funnel-xl upgrade: a workbook with a year of weekly history, the user's own sheet, name, setting and collection
log, upgraded to a changed methodology (a criterion added, one removed, a required flag turned off), keeps every row
and snapshot (counted), carries what is the user's, and passes the same checks as a fresh build."""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from funnel_xl.domain.figures import weekly_totals
from funnel_xl.domain.schema import checklist_column
from funnel_xl.forms.collect import audit_sheet
from funnel_xl.history import SnapshotStore, history_path
from funnel_xl.labels import label
from funnel_xl.methodologies import load_methodology
from funnel_xl.services.build import build_workbook
from funnel_xl.services.upgrade import upgrade_workbook
from funnel_xl.workbook import contract
from funnel_xl.workbook.file_adapter import FileWorkbook
from funnel_xl.workbook.ooxml import Write, patch_cells
from funnel_xl.workbook.opc import validate_package
from funnel_xl.workbook.package import PackageIndex
from funnel_xl.paths import templates_dir
from tests.services.conftest import add_user_sheet, members, run_cli

ADDED, REMOVED, NOT_REQUIRED = "potential_budget_owner", "potential_competitors", "target_fits_product"
INTERPRETER = r"C:\Users\manager\funnel\.venv\Scripts\pythonw.exe"
LOG = [["2026-11-10 09:00", "评估表_李强.xlsx [OPP-1001]", "李强", "OPP-1001", "备注", "", "已沟通", "已合并", ""]]


def changed_methodology(folder: Path) -> Path:
    """big_project with a criterion added to stage 2, one removed from it, and a required flag of stage 1 off."""
    text = (templates_dir() / "methodologies" / "big_project.toml").read_text(encoding="utf-8")
    text = re.sub(r'  \[\[stages\.criteria\]\]\n  key = "potential_competitors"\n(?:  (?!\[\[)[^\n]*\n)*', "", text)
    text = text.replace('  key = "target_fits_product"\n', '  key = "target_fits_product"\n  required = false\n')
    text = text.replace('  key = "potential_profile"\n', f'  key = "{ADDED}"\n  zh = "已知道预算由谁批准"\n'
                        '  en = "Knows who approves the budget"\n  [[stages.criteria]]\n  key = "potential_profile"\n')
    path = folder / "big_project_changed.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _edit_part(path: Path, part: str, edit) -> None:
    parts = members(path)
    parts[part] = edit(parts[part].decode("utf-8")).encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)


@pytest.fixture(scope="module")
def used_workbook(sample_master, tmp_path_factory) -> Path:
    """The sample as a manager's workbook after a year: 52 weekly snapshots, a sheet and a name of their own, the
    interpreter set in xlwings.conf, a collection log."""
    from funnel_xl.sample import load_sample

    path = tmp_path_factory.mktemp("used") / "华东销售.xlsm"
    shutil.copy(sample_master, path)
    history = load_sample().history
    last = history[history["snapshot_date"] == history["snapshot_date"].max()]
    with SnapshotStore(history_path(path)) as store:  # a year of Fridays, the sample's last week standing in
        for week in range(52):
            date = (last["snapshot_date"].iloc[0] - pd.Timedelta(weeks=51 - week))
            store.save(last.assign(snapshot_date=date), weekly_totals(last.assign(snapshot_date=date), date.date()))
    add_user_sheet(path, "我的笔记", "本季度重点客户")
    _edit_part(path, "xl/workbook.xml", lambda xml: re.sub(
        r"(</sheets>)", r"\1<definedNames><definedName name=\"重点客户\">'我的笔记'!$A$1</definedName></definedNames>",
        xml, count=1) if "<definedNames>" not in xml else xml.replace(
        "<definedNames>", "<definedNames><definedName name=\"重点客户\">'我的笔记'!$A$1</definedName>", 1))
    with zipfile.ZipFile(path) as zf:
        conf_part = PackageIndex.read(zf).sheet(contract.CONFIG_SHEET).part
    _edit_part(path, conf_part, lambda xml: patch_cells(xml, {(1, 2): Write(INTERPRETER)}))
    with FileWorkbook(path, quiet=True) as book:
        book.write_sheets({contract.sheet_name("audit"): audit_sheet(LOG, [], "zh-CN")})
        book.save()
    path.with_name(f"{path.stem}.bak{path.suffix}").unlink(missing_ok=True)
    return path


@pytest.fixture(scope="module")
def upgraded(used_workbook, tmp_path_factory):
    folder = tmp_path_factory.mktemp("upgraded")
    methodology = changed_methodology(folder)
    out = folder / "华东销售.xlsm"
    report = upgrade_workbook(used_workbook, out, methodology=load_methodology(methodology))
    return used_workbook, out, report, methodology


def _rows(path: Path, table: str):
    frame = FileWorkbook(path, read_only=True, quiet=True).read_rows(table)
    return frame[frame.notna().any(axis=1)].reset_index(drop=True)


def test_every_opportunity_and_rep_row_is_carried_in_order(upgraded):
    old, new, report, _ = upgraded
    for table in (contract.TABLE_OPPORTUNITIES, contract.TABLE_REPS):
        before, after = _rows(old, table), _rows(new, table)
        assert len(after) == len(before) > 0, table
        shared = [c for c in before.columns if c in after.columns and c != checklist_column(ADDED)]
        assert after[shared].astype(object).where(after[shared].notna(), None).equals(
            before[shared].astype(object).where(before[shared].notna(), None)), table
    assert report.opportunities == len(_rows(old, contract.TABLE_OPPORTUNITIES))
    assert report.reps == len(_rows(old, contract.TABLE_REPS))


def test_every_weekly_snapshot_is_carried(upgraded):
    old, new, report, _ = upgraded
    with SnapshotStore(history_path(old)) as before, SnapshotStore(history_path(new)) as after:
        assert after.dates() == before.dates()
        assert len(before.dates()) == report.snapshots >= 52
        last = before.dates()[-1]
        assert after.snapshot(last).equals(before.snapshot(last))


def test_an_added_criterion_is_an_empty_column_and_a_removed_ones_answers_are_kept_by_opportunity(upgraded):
    old, new, report, _ = upgraded
    assert report.added_criteria == [ADDED] and report.removed_criteria == [REMOVED]
    after = _rows(new, contract.TABLE_OPPORTUNITIES)
    assert after[checklist_column(ADDED)].isna().all()
    before = _rows(old, contract.TABLE_OPPORTUNITIES)
    kept = openpyxl.load_workbook(new)[label("sheet.upgrade_kept")]
    header = [c.value for c in kept[3]]
    col = header.index(REMOVED)
    answers = {row[0]: row[col] for row in kept.iter_rows(min_row=4, values_only=True)}
    expected = {r.id: (None if v is None or v != v else label("out.yes" if v else "out.no"))
                for r, v in zip(before.itertuples(), before[checklist_column(REMOVED)])}
    assert answers == expected and any(v is not None for v in answers.values())


def test_the_opportunity_formulas_follow_the_new_required_flags(upgraded, tmp_path):
    old, new, _, methodology = upgraded
    fresh = build_workbook(tmp_path / "Fresh.xlsm", data="empty", methodology=str(methodology))
    header = contract.opportunity_header("derived_stage")

    def formula(path):
        ws = openpyxl.load_workbook(path)[contract.sheet_name("opportunities")]
        col = [c.value for c in ws[4]].index(header) + 1
        return ws.cell(5, col).value

    assert formula(new) == formula(fresh) != formula(old)


def test_the_users_sheet_name_setting_and_log_are_carried(upgraded):
    _, new, report, _ = upgraded
    wb = openpyxl.load_workbook(new)
    assert wb["我的笔记"]["A1"].value == "本季度重点客户"
    assert "重点客户" in wb.defined_names and "'我的笔记'!$A$1" in wb.defined_names["重点客户"].attr_text
    assert wb[contract.CONFIG_SHEET]["B1"].value == INTERPRETER
    log = [[c for c in row] for row in wb[contract.sheet_name("audit")].iter_rows(min_row=5, values_only=True)]
    assert [[v or "" for v in row[: len(LOG[0])]] for row in log if any(row)] == LOG
    assert (report.user_sheets, report.names, report.settings, report.log_lines) == (
        ["我的笔记"], ["重点客户"], ["Interpreter_Win"], 1)
    assert report.not_carried == []


def test_the_upgraded_workbook_passes_the_checks_a_fresh_build_passes(upgraded, tmp_path):
    """The package checks of a fresh build (content types, relationships, names, the macros the ribbon calls);
    openxml-audit checks both files too (tests/office_audit.py)."""
    _, new, _, methodology = upgraded
    fresh = build_workbook(tmp_path / "Fresh.xlsm", data="empty", methodology=str(methodology))
    assert validate_package(fresh) == []
    assert validate_package(new) == []
    result = run_cli("recalc", str(new), "--as-of", "2026-11-20", "--no-history", "-o", str(tmp_path / "out.xlsm"))
    assert result.returncode == 0, result.stderr


def test_the_command_line_upgrades_in_place_keeping_a_backup(used_workbook, tmp_path):
    path = Path(shutil.copy(used_workbook, tmp_path / used_workbook.name))
    shutil.copy(history_path(used_workbook), history_path(path))
    result = run_cli("upgrade", str(path))
    assert result.returncode == 0, result.stderr
    assert path.with_name(f"{path.stem}.bak{path.suffix}").is_file()
    assert str(len(_rows(used_workbook, contract.TABLE_OPPORTUNITIES))) in result.stdout
    assert validate_package(path) == []


def test_the_upgrade_keeps_the_form_key_so_forms_out_in_the_field_still_verify_and_drops_old_fingerprints(
        sample_master, tmp_path):
    from funnel_xl.sample import SAMPLE_AS_OF
    from funnel_xl.services.recalculate import recalculate
    from funnel_xl.workbook import fingerprint
    from tests.forms.formtools import give_form_key

    old = shutil.copy(sample_master, tmp_path / "Funnel.xlsm")
    key = give_form_key(old)
    with zipfile.ZipFile(old) as zf:
        assert any(n.name == fingerprint.NAME for n in PackageIndex.read(zf).names)
    new = tmp_path / "new" / "Funnel.xlsm"
    upgrade_workbook(old, new)
    with FileWorkbook(new, read_only=True, quiet=True) as book:
        assert book.form_key() == key
        assert not any(n.name == fingerprint.NAME for n in book.index.names)
    with FileWorkbook(new, quiet=True) as book:  # the first recalculation finds nothing typed on the new sheets
        assert recalculate(book, SAMPLE_AS_OF, history=None).overwritten == ()


def test_the_forecast_settings_of_the_stages_sheet_are_carried(sample_master, tmp_path):
    from funnel_xl.domain.settings import CLAIMED, ForecastSettings
    from funnel_xl.workbook.reader import read_inputs

    path = Path(shutil.copy(sample_master, tmp_path / "Funnel.xlsm"))
    ws = openpyxl.load_workbook(path)[contract.sheet_name("stages")]
    cells = ws[ws.tables[contract.TABLE_META].ref]
    where = {row[0].value: (row[1].row, row[1].column) for row in cells[1:]}
    edits = {where[label("meta.basis")]: Write(label("basis.claimed")), where[label("meta.fiscal_year_start")]: Write(4)}
    with zipfile.ZipFile(path) as zf:
        part = PackageIndex.read(zf).sheet(contract.sheet_name("stages")).part
    _edit_part(path, part, lambda xml: patch_cells(xml, edits))
    out = tmp_path / "Upgraded.xlsm"
    upgrade_workbook(path, out)
    with FileWorkbook(out, read_only=True, quiet=True) as book:
        assert read_inputs(book, out.name).settings == ForecastSettings(CLAIMED, 4)
