"""The RunPython targets behind the workbook's buttons and ribbon (templates/vba/FunnelMacros.bas): one function
per macro of the product's list, ``commands.MACRO_COMMANDS``.

Each is a thin door: find the calling book, open the port a service needs, call the service, tell the user the
outcome in a message box. A failure is shown as a readable message (the FunnelError text a service raises),
never as a traceback.

Recalculate works on the open book through ``LiveWorkbook`` (Excel keeps the file; the tool writes cells).
The other commands work on the saved file through ``FileWorkbook``: they ask the user to save first, write into
folders beside the workbook (forms/, quota/, export/), and collect and import write their merged result to a
copy beside the master, since a file Excel holds open cannot be replaced. (The live adapter offers the same
table edits, so moving collect and import into the open book is a change of port here, not of service.)
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Callable

import xlwings as xw

from funnel_xl.errors import FunnelError
from funnel_xl.labels import label
from funnel_xl.outputs import Folder
from funnel_xl.workbook.file_adapter import FileWorkbook
from funnel_xl.workbook.live_adapter import LiveWorkbook
from funnel_xl.workbook.saving import copy_file

FORMS_DIR, INBOX_DIR, QUOTA_DIR, EXPORT_DIR, IMPORT_DIR = "forms", "inbox", "quota", "export", "import"


def _lang(book: Any) -> str:
    """The workbook's language: English when its opportunities sheet carries the English name."""
    names = {s.name for s in book.sheets}
    return "en" if label("sheet.opportunities", "en") in names and label("sheet.opportunities", "zh-CN") not in names \
        else "zh-CN"


def _alert(book: Any, lang: str, message: str) -> None:
    try:
        book.app.alert(message, title=label("macro.title", lang))
    except Exception:  # noqa: BLE001 - no message box (a headless engine): the status line is the last resort
        LiveWorkbook(book).status(message)


def _run(action: Callable[[Any, str], str]) -> str:
    """Run one command against the calling book; every outcome, good or bad, ends in a message box."""
    book = xw.Book.caller()
    lang = _lang(book)
    try:
        message = action(book, lang)
    except FunnelError as exc:
        message = label("macro.failed", lang).format(reason=str(exc))
    except Exception as exc:  # noqa: BLE001 - the user must see a message, not a Python traceback
        message = label("macro.unexpected", lang).format(reason=f"{type(exc).__name__}: {exc}")
    finally:
        LiveWorkbook(book).clear_status()
    _alert(book, lang, message)
    return message


def local_path(book: Any) -> Path | None:
    """The book's file when it is saved on a local disk (not a new, unsaved book or a SharePoint/OneDrive URL)."""
    return LiveWorkbook(book).file


def _saved_path(book: Any, lang: str) -> Path:
    live = LiveWorkbook(book)
    path = live.file
    if path is None or live.unsaved_changes:
        raise FunnelError(label("macro.save_first", lang))
    return path


def _saved_file(book: Any, lang: str) -> FileWorkbook:
    """The saved file of the calling book, opened for reading (Excel holding it open does not matter)."""
    return FileWorkbook(_saved_path(book, lang), read_only=True, quiet=True)


def _money(value: float) -> str:
    return f"{value:,.0f}"


# ------------------------------------------------------------------------------------------------ commands

def recalculate_forecast(as_of: dt.date | None = None) -> str:
    """重新计算预测: the main job on the open book, with weekly history beside the file when it is on disk."""
    from funnel_xl.history import SnapshotStore
    from funnel_xl.services.recalculate import recalculate

    def action(book: Any, lang: str) -> str:
        path = local_path(book)
        store = SnapshotStore.for_workbook(path) if path is not None else None
        try:
            result = recalculate(LiveWorkbook(book), as_of or dt.date.today(), history=store)
        finally:
            if store is not None:
                store.close()
        kpi = result.figures.kpi
        message = label("macro.recalc_done", result.language).format(
            as_of=result.figures.as_of.isoformat(), forecast=_money(kpi["weighted_forecast"]),
            achieved=_money(kpi["achieved"]), problems=len(result.problems))
        if path is None:
            message += "\n" + label("macro.history_note", result.language)
        return message

    return _run(action)


def generate_assessment_forms() -> str:
    """生成评估表: one form workbook per rep in forms/ beside the saved master."""
    from funnel_xl.forms.version import new_form_key
    from funnel_xl.services.forms import generate_forms

    def action(book: Any, lang: str) -> str:
        master = _saved_file(book, lang)
        if master.form_key() is None:  # the first forms of this master: its key goes into the open book, saved
            live = LiveWorkbook(book)
            live.set_form_key(new_form_key())
            live.save()
            master = _saved_file(book, lang)
        folder = master.path.parent / FORMS_DIR
        generate_forms(master, Folder(folder))
        return label("macro.forms_done", lang).format(folder=folder)

    return _run(action)


def collect_assessments() -> str:
    """收集评估表: merge the forms in inbox/ into a copy of the saved master (Excel holds the master itself)."""
    from funnel_xl.forms.collect import FolderInbox
    from funnel_xl.services.collect import collect_forms

    def action(book: Any, lang: str) -> str:
        path = _saved_path(book, lang)
        copy = path.with_name(f"{path.stem}.collected{path.suffix}")
        copy_file(path, copy)
        with FileWorkbook(copy, quiet=True) as master:
            report = collect_forms(master, FolderInbox(path.parent / INBOX_DIR))
        return label("macro.collect_done", lang).format(
            count=report.merged, conflicts=report.conflicts, rejected=report.rejected, path=copy)

    return _run(action)


def build_quota_sheets() -> str:
    """生成配额表: one quota workbook per rep in quota/ beside the saved master."""
    from funnel_xl.services.forms import build_quota_sheets as build

    def action(book: Any, lang: str) -> str:
        master = _saved_file(book, lang)
        folder = master.path.parent / QUOTA_DIR
        build(master, Folder(folder), dt.date.today())
        return label("macro.quota_done", lang).format(folder=folder)

    return _run(action)


def export_for_readers() -> str:
    """导出只读副本: a values-only copy in export/ for readers without Python."""
    from funnel_xl.services.export import export_for_readers as export

    def action(book: Any, lang: str) -> str:
        master = _saved_file(book, lang)
        out = export(master, Folder(master.path.parent / EXPORT_DIR))
        return label("macro.export_done", lang).format(path=out)

    return _run(action)


def import_crm_export() -> str:
    """导入CRM: the mapping (*.toml) and the export files it names, put in import/ beside the saved master, are
    loaded into a copy of the master (Excel holds the master itself), as ``funnel-xl import`` does."""
    from funnel_xl.exchange.mapping import load_mapping
    from funnel_xl.services.import_crm import import_crm

    def action(book: Any, lang: str) -> str:
        path = _saved_path(book, lang)
        folder = path.parent / IMPORT_DIR
        mappings = sorted(folder.glob("*.toml")) if folder.is_dir() else []
        if len(mappings) != 1:
            raise FunnelError(label("macro.import_setup", lang).format(folder=folder, found=len(mappings)))
        copy = path.with_name(f"{path.stem}.imported{path.suffix}")
        copy_file(path, copy)
        with FileWorkbook(copy, quiet=True) as master:
            summary = import_crm(master, folder, load_mapping(mappings[0]), outputs=Folder(copy.parent)).summary()
        return label("macro.import_done", lang).format(
            added=summary["added"], updated=summary["updated"], problems=summary["errors"] + summary["warnings"],
            path=copy)

    return _run(action)
