"""导入CRM from the button: the export in import/ beside the workbook is loaded into the open book (xlwings' remote
engine standing in for Excel), giving the 商机 and 销售人员 rows that ``funnel-xl import`` gives, and a message that
says what changed and what to do next."""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pytest

from funnel_xl.excel import macros
from funnel_xl.labels import label
from funnel_xl.services.build import build_workbook
from funnel_xl.services.import_crm import problems_file_name
from funnel_xl.workbook import contract
from tests.remote_book import ExcelReplay, book_json, remote_xlwings
from tests.services.conftest import run_cli

DEALS = 300  # the first deals of the real export: enough for new reps, updates and problems, quick to compare


@pytest.fixture
def export_folder(crm_export_dir, maven_mapping_path, tmp_path) -> Path:
    """The import folder as a manager fills it: the mapping and the export's files (the pipeline cut short)."""
    folder = tmp_path / "export"
    folder.mkdir()
    for name in ("accounts.csv", "products.csv", "sales_teams.csv"):
        shutil.copy(crm_export_dir / name, folder / name)
    lines = (crm_export_dir / "sales_pipeline.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (folder / "sales_pipeline.csv").write_text("".join(lines[: DEALS + 1]), encoding="utf-8")
    shutil.copy(maven_mapping_path, folder / maven_mapping_path.name)
    return folder


def _user_columns(wb, sheet_key: str, table: str) -> list[list]:
    """A table's cells in the columns a user types in (Excel's calculated columns fill the others in the live
    door, the file door writes their formulas)."""
    ws = wb[contract.sheet_name(sheet_key)]
    rows = [[c.value for c in row] for row in ws[ws.tables[table].ref]]
    derived = {contract.opportunity_header(k) for k in contract.DERIVED_OPPORTUNITY_COLUMNS}
    keep = [i for i, h in enumerate(rows[0]) if h not in derived]
    return [[row[i] for i in keep] for row in rows]


def test_import_from_the_button_loads_the_rows_the_command_line_loads_into_the_open_book(
        export_folder, maven_mapping_path, tmp_path, monkeypatch):
    empty = build_workbook(tmp_path / "built" / "Funnel.xlsm", data="empty", methodology="product_sales")
    cli, button = tmp_path / "cli" / "Funnel.xlsm", tmp_path / "button" / "Funnel.xlsm"
    for target in (cli, button):
        target.parent.mkdir()
        shutil.copy(empty, target)
    shutil.copytree(export_folder, button.parent / macros.IMPORT_DIR)

    done = run_cli("import", str(cli), str(export_folder), "--mapping", str(export_folder / maven_mapping_path.name))
    assert done.returncode == 0, done.stderr
    xw = remote_xlwings()
    book = xw.Book(json=book_json(button, name=str(button)))
    monkeypatch.setattr(xw.Book, "caller", classmethod(lambda cls: book))
    message = macros.import_crm_export()

    replay = ExcelReplay(button).apply(book.json()["actions"])
    by_cli = openpyxl.load_workbook(cli)
    for sheet, table in (("opportunities", contract.TABLE_OPPORTUNITIES), ("reps", contract.TABLE_REPS)):
        assert _user_columns(replay.wb, sheet, table) == _user_columns(by_cli, sheet, table), sheet
    assert len(_user_columns(replay.wb, "opportunities", contract.TABLE_OPPORTUNITIES)) == DEALS + 1
    problems = button.parent / problems_file_name(button.name)
    assert problems.is_file() and problems.read_bytes() == (cli.parent / problems_file_name(cli.name)).read_bytes()
    assert replay.saved == 1 and replay.alerts == [message]
    assert message.startswith(label("macro.import_done", "zh-CN").split("{")[0]) and problems.name in message
    assert not list(button.parent.glob("*.imported.*"))  # in place: no copy beside the master
