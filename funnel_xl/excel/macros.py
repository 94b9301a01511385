"""The RunPython targets behind the workbook's buttons and ribbon (templates/vba/FunnelMacros.bas): one function
per macro of the product's list, ``commands.MACRO_COMMANDS``.

Each is a thin door: find the calling book, open the port a service needs, call the service, tell the user the
outcome in a message box. A failure is shown as a readable message (the FunnelError text a service raises),
never as a traceback.

Recalculate, collect and import work on the open book through ``LiveWorkbook``: Excel keeps the file, the tool
writes cells, appends table rows and the collection log, then saves the book, with the command line's conflict
rules and log (the services are the same); the status bar shows progress. Collect and import read their inbox and
export from folders beside the saved workbook (inbox/, import/). Forms, quota sheets and the export read the saved
file through ``FileWorkbook`` and write into folders beside it (forms/, quota/, export/). Every command ends in a
message box saying what changed and what to do next.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Callable

import xlwings as xw

from funnel_xl.errors import FunnelError
from funnel_xl.labels import label
from funnel_xl.outputs import Folder
from funnel_xl.workbook import contract
from funnel_xl.workbook.file_adapter import FileWorkbook
from funnel_xl.workbook.live_adapter import LiveWorkbook

FORMS_DIR, INBOX_DIR, QUOTA_DIR, EXPORT_DIR, IMPORT_DIR = "forms", "inbox", "quota", "export", "import"
UPGRADED_DIR = "upgraded"


def _lang(book: Any) -> str:
    """The workbook's language: English when its opportunities sheet carries the English name."""
    return contract.sheet_language([s.name for s in book.sheets])


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


def _folder_beside(book: Any, lang: str) -> Path:
    """The folder of the book's file, where its inbox and import folders are (an unsaved book has none)."""
    path = LiveWorkbook(book).file
    if path is None:
        raise FunnelError(label("macro.save_first", lang))
    return path.parent


def _progress(live: LiveWorkbook, lang: str) -> Callable[[int, int, str], None]:
    """Progress of a long step in Excel's status bar: "收集评估表 3/12：评估表_张伟.xlsx"."""
    return lambda done, total, what: live.status(label("macro.collect_progress", lang).format(
        done=done, total=total, what=what))


def _saved_file(book: Any, lang: str) -> FileWorkbook:
    """The saved file of the calling book, opened for reading (Excel holding it open does not matter)."""
    return FileWorkbook(_saved_path(book, lang), read_only=True, quiet=True)


def _money(value: float) -> str:
    return f"{value:,.0f}"


# ------------------------------------------------------------------------------------------------ commands

def recalculate_forecast(as_of: dt.date | None = None) -> str:
    """重新计算预测: the main job on the open book, with weekly history beside the file when it is on disk."""
    return _run(lambda book, lang: _recalculate(book, as_of))


def _recalculate(book: Any, as_of: dt.date | None) -> str:
    from funnel_xl.history import SnapshotStore
    from funnel_xl.services.recalculate import recalculate

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


def _ask(book: Any, lang: str, question: str) -> bool:
    """A yes/no message box; no where there is none (a headless engine)."""
    try:
        return book.app.alert(question, title=label("macro.title", lang), buttons="yes_no") == "yes"
    except Exception:  # noqa: BLE001 - no message box: nothing is run that the user did not ask for
        return False


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


def collect_assessments(run_at: dt.datetime | None = None) -> str:
    """收集评估表: merge the forms in inbox/ beside the workbook into the open book (商机 and 收集记录), as
    ``funnel-xl collect`` merges them into the file."""
    from funnel_xl.forms.collect import FolderInbox
    from funnel_xl.services.collect import collect_forms

    def action(book: Any, lang: str) -> str:
        inbox = _folder_beside(book, lang) / INBOX_DIR
        if not inbox.is_dir():
            raise FunnelError(label("macro.collect_setup", lang).format(folder=inbox))
        live = LiveWorkbook(book)
        report = collect_forms(live, FolderInbox(inbox), progress=_progress(live, lang), run_at=run_at)
        if not report.written:
            return label("macro.collect_nothing", lang).format(files=report.files, folder=inbox)
        done = label("macro.collect_done", lang).format(
            count=report.merged, conflicts=report.conflicts, rejected=report.rejected, lines=len(report.entries))
        # What was merged counts only once recalculated: offer to do it now.
        if (report.merged or report.activity) and _ask(book, lang, done + "\n\n" + label("macro.collect_offer", lang)):
            return done + "\n\n" + _recalculate(book, None)
        return done

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
    """导入CRM: the mapping (*.toml) and the export files it names, put in import/ beside the workbook, are loaded
    into the open book's 商机 and 销售人员, as ``funnel-xl import`` loads them into the file; the full problem list
    goes beside the workbook."""
    from funnel_xl.exchange.mapping import load_mapping
    from funnel_xl.services.import_crm import import_crm, problems_file_name

    def action(book: Any, lang: str) -> str:
        folder = _folder_beside(book, lang) / IMPORT_DIR
        mappings = sorted(folder.glob("*.toml")) if folder.is_dir() else []
        if len(mappings) != 1:
            raise FunnelError(label("macro.import_setup", lang).format(folder=folder, found=len(mappings)))
        live = LiveWorkbook(book)
        report = import_crm(live, folder, load_mapping(mappings[0]), outputs=Folder(folder.parent),
                            problems_name=problems_file_name(book.name))
        summary = report.summary()
        key = "macro.import_done" if report.written is not None else "macro.import_nothing"
        return label(key, lang).format(added=summary["added"], updated=summary["updated"],
                                       problems=summary["errors"] + summary["warnings"],
                                       file=report.problems_path.name if report.problems_path else "-")

    return _run(action)


def upgrade_workbook() -> str:
    """升级工作簿: the saved workbook rebuilt from today's sources into upgraded/ beside it (same name, so its weekly
    history goes beside it too), as ``funnel-xl upgrade`` does; Excel keeps this one open, so the user swaps them."""
    from funnel_xl.services.upgrade import upgrade_workbook as upgrade

    def action(book: Any, lang: str) -> str:
        path = _saved_path(book, lang)
        out = path.parent / UPGRADED_DIR / path.name
        LiveWorkbook(book).status(label("command.UpgradeWorkbook", lang) + "……")
        report = upgrade(path, out)
        return label("upgrade.macro_done", lang).format(report=report.describe(lang), output=out)

    return _run(action)
