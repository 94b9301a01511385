"""The buttons' Python side (funnel_xl.excel.macros) driven through a real xlwings Book (the remote engine, tests
only) standing in for ``xw.Book.caller()``: the user sees a message box with the outcome, never a traceback."""

from __future__ import annotations

import datetime as dt
import importlib
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workbook"))
from test_live_adapter import book_json  # noqa: E402  (the JSON a client sends, shared with the adapter tests)

from funnel_xl.excel import commands, macros  # noqa: E402
from funnel_xl.history import history_path  # noqa: E402
from funnel_xl.labels import label  # noqa: E402
from funnel_xl.workbook import contract  # noqa: E402
from funnel_xl.services.build import build_workbook  # noqa: E402

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


def test_collect_merges_the_inbox_into_a_copy_and_says_how_many(caller, sample_path, tmp_path):
    from funnel_xl.outputs import Folder
    from funnel_xl.services.forms import generate_forms
    from funnel_xl.workbook.file_adapter import FileWorkbook

    master = _saved_caller(caller, sample_path, tmp_path)
    with FileWorkbook(master) as book:  # the master's first forms write its form key into it
        forms = generate_forms(book, Folder(tmp_path / "sent"), rep="李强")
    (tmp_path / macros.INBOX_DIR).mkdir()
    shutil.copy(forms[0], tmp_path / macros.INBOX_DIR / forms[0].name)  # returned unchanged
    (tmp_path / macros.INBOX_DIR / "notes.xlsx").write_bytes(b"not a workbook")

    message = macros.collect_assessments()

    copy = tmp_path / "Funnel.collected.xlsm"
    assert message == label("macro.collect_done", "zh-CN").format(count=0, conflicts=0, rejected=1, path=copy)
    assert copy.is_file() and (tmp_path / macros.INBOX_DIR / "notes.xlsx").is_file()  # refused, never deleted


def test_import_without_a_mapping_in_the_import_folder_says_what_to_put_there(caller, sample_path, tmp_path):
    _saved_caller(caller, sample_path, tmp_path)
    message = macros.import_crm_export()
    assert message == label("macro.failed", "zh-CN").format(
        reason=label("macro.import_setup", "zh-CN").format(folder=tmp_path / macros.IMPORT_DIR, found=0))
