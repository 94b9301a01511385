"""The buttons' Python side (funnel_xl.excel.macros) driven through a real xlwings Book (the remote engine, tests
only) standing in for ``xw.Book.caller()``: the user sees a message box with the outcome, never a traceback."""

from __future__ import annotations

import datetime as dt
import importlib
import shutil
from pathlib import Path

import pytest

from funnel_xl.excel import commands, macros
from funnel_xl.forms.collect import OUTCOMES
from funnel_xl.history import history_path
from funnel_xl.labels import label
from funnel_xl.services.build import build_workbook
from funnel_xl.workbook import contract
from tests.remote_book import book_json

AS_OF = dt.date(2026, 11, 20)


@pytest.fixture(scope="module")
def sample_path(tmp_path_factory):
    return build_workbook(tmp_path_factory.mktemp("macros") / "Funnel.xlsm", data="sample")


@pytest.fixture
def caller(monkeypatch, remote_xlwings):
    """Make ``xw.Book.caller()`` return a remote-engine book opened on the given JSON."""

    def open_book(json):
        book = remote_xlwings.Book(json=json)
        monkeypatch.setattr(remote_xlwings.Book, "caller", classmethod(lambda cls: book))
        return book

    return open_book


def _alerts(book) -> list[str]:
    return [a["args"][0] for a in book.json()["actions"] if a["func"] == "alert"]


def test_every_macro_of_the_product_list_runs_a_function_of_this_module():
    # The VBA names the module in full (commands.MACROS_PYTHON_MODULE), then the function: both must exist.
    assert importlib.import_module(commands.MACROS_PYTHON_MODULE) is macros
    for function in commands.MACRO_COMMANDS.values():
        assert callable(getattr(macros, function, None)), function


def test_recalculate_forecast_writes_the_outputs_and_tells_the_forecast(caller, sample_path):
    book = caller(book_json(sample_path))
    message = macros.recalculate_forecast(as_of=AS_OF)
    assert _alerts(book) == [message]
    assert message.startswith("预测已更新(数据截止 2026-11-20)")
    funcs = [a["func"] for a in book.json()["actions"]]
    assert funcs.count("setValues") == 5 and funcs.count("save") == 1
    # an unsaved book (no file on disk) keeps no weekly history, and the user is told so
    assert label("macro.history_note", "zh-CN") in message


def test_a_book_saved_on_disk_keeps_its_weekly_history_beside_the_file(caller, sample_path, tmp_path):
    copy = Path(shutil.copy(sample_path, tmp_path / "Funnel.xlsm"))
    json = book_json(sample_path)
    json["book"]["name"] = str(copy)  # Excel's fullname: the book's path
    caller(json)
    message = macros.recalculate_forecast(as_of=AS_OF)
    assert label("macro.history_note", "zh-CN") not in message
    assert history_path(copy).is_file()


def test_a_missing_table_is_shown_as_a_message_not_a_traceback(caller, sample_path):
    json = book_json(sample_path)
    for sheet in json["sheets"]:
        sheet["tables"] = [t for t in sheet["tables"] if t["name"] != contract.TABLE_OPPORTUNITIES]
    book = caller(json)
    message = macros.recalculate_forecast(as_of=AS_OF)
    assert message.startswith("操作未完成：") and contract.TABLE_OPPORTUNITIES in message
    assert "Traceback" not in message
    assert _alerts(book) == [message]
    assert not [a for a in book.json()["actions"] if a["func"] == "setValues"]  # nothing half-written


def test_commands_that_read_the_file_ask_for_a_saved_book_first(caller, sample_path):
    book = caller(book_json(sample_path))  # fullname is a bare name: never saved to disk
    for command in (macros.generate_assessment_forms, macros.collect_assessments, macros.build_quota_sheets,
                    macros.export_for_readers):
        assert command() == label("macro.failed", "zh-CN").format(reason=label("macro.save_first", "zh-CN"))
    assert len(_alerts(book)) == 4


def test_export_for_readers_writes_a_values_only_copy_beside_the_saved_book(caller, sample_path, tmp_path):
    copy = Path(shutil.copy(sample_path, tmp_path / "Funnel.xlsm"))
    json = book_json(sample_path)
    json["book"]["name"] = str(copy)
    caller(json)
    message = macros.export_for_readers()
    out = tmp_path / macros.EXPORT_DIR / "Funnel.xlsx"
    assert out.is_file(), message
    assert str(out) in message


def _saved_caller(caller, sample_path, tmp_path) -> Path:
    copy = Path(shutil.copy(sample_path, tmp_path / "Funnel.xlsm"))
    json = book_json(sample_path)
    json["book"]["name"] = str(copy)  # Excel's fullname: the saved book's path
    caller(json)
    return copy


def _returned_forms(master: Path, folder: Path) -> None:
    """An inbox as a manager gets it: 李强's forms, one filled in (a new stage, a criterion met, notes), one whose
    opportunity the manager changed since the forms went out (a conflict), and a file that is no form."""
    import openpyxl

    from funnel_xl.outputs import Folder
    from funnel_xl.services.forms import generate_forms
    from funnel_xl.workbook.file_adapter import FileWorkbook
    from tests.forms.formtools import refs

    with FileWorkbook(master, quiet=True) as book:  # the master's first forms write its form key into it
        (form,) = generate_forms(book, Folder(folder / "sent"), rep="李强")
    wb = openpyxl.load_workbook(form)
    first, second = [ws for ws in wb.worksheets if "opportunity" in refs(ws)][:2]
    first[refs(first)["notes"]] = "客户已确认预算"
    first[refs(first)["chk:recognition_meets_requirements"]] = "是"
    second[refs(second)["notes"]] = "下周拜访"
    (folder / macros.INBOX_DIR).mkdir()
    wb.save(folder / macros.INBOX_DIR / form.name)
    (folder / macros.INBOX_DIR / "报价.xlsx").write_bytes(b"not a workbook")
    with FileWorkbook(master, quiet=True) as book:  # the manager's own edit of the second form's opportunity
        rows = book.read_rows(contract.TABLE_OPPORTUNITIES)
        row = int(rows.index[rows["id"] == refs(second)["opportunity"]][0])
        book.update_cells(contract.TABLE_OPPORTUNITIES, {(row, "competitors"): "经理已改"})
        book.save()


def _table_and_log(wb) -> tuple[list, list]:
    """商机 as the user sees it (values, formulas as text), and 收集记录 without its time column."""
    ws = wb[contract.sheet_name("opportunities")]
    table = [[c.value for c in row] for row in ws[ws.tables[contract.TABLE_OPPORTUNITIES].ref]]
    log = [[c.value for c in row][1:] for row in wb[contract.sheet_name("audit")].iter_rows()]
    return table, log


def test_collect_from_the_button_gives_the_opportunities_and_log_the_command_line_gives(caller, sample_path,
                                                                                      tmp_path):
    import openpyxl

    from tests.remote_book import ExcelReplay
    from tests.services.conftest import run_cli

    master = Path(shutil.copy(sample_path, tmp_path / "Funnel.xlsm"))
    _returned_forms(master, tmp_path)
    cli, button = tmp_path / "cli", tmp_path / "button"
    for folder in (cli, button):
        folder.mkdir()
        shutil.copy(master, folder / master.name)
        shutil.copytree(tmp_path / macros.INBOX_DIR, folder / macros.INBOX_DIR)

    done = run_cli("collect", str(cli / master.name), str(cli / macros.INBOX_DIR))
    assert done.returncode == 0, done.stderr
    book = caller(book_json(button / master.name, name=str(button / master.name)))
    message = macros.collect_assessments()

    replay = ExcelReplay(button / master.name).apply(book.json()["actions"])
    by_cli = _table_and_log(openpyxl.load_workbook(cli / master.name))
    by_button = _table_and_log(replay.wb)
    assert by_button[0] == by_cli[0]
    assert by_button[1] == by_cli[1]
    outcomes = [row[6] for row in by_cli[1]]
    for outcome in ("merged", "conflict", "rejected"):
        assert label(f"form.audit.{outcome}", "zh-CN") in outcomes, outcome
    # After a merge the button offers to recalculate (a yes/no box; the remote engine answers nothing: not run).
    offer = message + "\n\n" + label("macro.collect_offer", "zh-CN")
    assert replay.saved == 1 and replay.alerts == [offer, message]
    logged = [row for row in by_cli[1] if row[6] in {label(f"form.audit.{o}", "zh-CN") for o in OUTCOMES}]
    before = [row for row in _table_and_log(openpyxl.load_workbook(master))[1] if row in logged]
    assert message == label("macro.collect_done", "zh-CN").format(count=1, conflicts=1, rejected=1,
                                                                  lines=len(logged) - len(before))
    assert not (button / "Funnel.collected.xlsm").exists()  # in place: no copy beside the master
    assert (button / macros.INBOX_DIR / "报价.xlsx.rejected.txt").is_file()


def test_collect_says_what_to_do_when_the_inbox_is_missing_or_holds_nothing_new(caller, sample_path, tmp_path):
    master = _saved_caller(caller, sample_path, tmp_path)
    inbox = master.parent / macros.INBOX_DIR
    assert macros.collect_assessments() == label("macro.failed", "zh-CN").format(
        reason=label("macro.collect_setup", "zh-CN").format(folder=inbox))
    inbox.mkdir()
    assert macros.collect_assessments() == label("macro.collect_nothing", "zh-CN").format(files=0, folder=inbox)


def test_import_without_a_mapping_in_the_import_folder_says_what_to_put_there(caller, sample_path, tmp_path):
    _saved_caller(caller, sample_path, tmp_path)
    message = macros.import_crm_export()
    assert message == label("macro.failed", "zh-CN").format(
        reason=label("macro.import_setup", "zh-CN").format(folder=tmp_path / macros.IMPORT_DIR, found=0))


def test_upgrade_from_the_button_builds_the_new_workbook_beside_the_open_one_and_says_what_to_do(
        caller, sample_path, tmp_path):
    from funnel_xl.workbook.file_adapter import FileWorkbook

    master = _saved_caller(caller, sample_path, tmp_path)
    shutil.copy(history_path(sample_path), history_path(master))
    (tmp_path / f"~${master.name}").write_text("")  # Excel holds the master open: reading it is still fine
    message = macros.upgrade_workbook()
    out = tmp_path / macros.UPGRADED_DIR / master.name
    assert out.is_file() and history_path(out).is_file(), message
    assert str(out) in message and message.startswith(label("upgrade.done", "zh-CN").split("{")[0])
    rows = FileWorkbook(out, read_only=True).read_rows(contract.TABLE_OPPORTUNITIES)
    before = FileWorkbook(master, read_only=True).read_rows(contract.TABLE_OPPORTUNITIES)
    assert list(rows["id"].dropna()) == list(before["id"].dropna())
