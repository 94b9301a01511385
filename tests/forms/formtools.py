"""Helpers the form tests share (imported as a module: tests/forms is on the path, as in tests/domain)."""

from __future__ import annotations


def refs(ws) -> dict[str, str]:
    """The hidden machine-readable block of a form sheet (key in column AN, value in AO), as a dict."""
    out, row = {}, 1
    while ws.cell(row=row, column=40).value:
        out[ws.cell(row=row, column=40).value] = ws.cell(row=row, column=41).value
        row += 1
    return out


def form_sheet(wb, opportunity: str):
    """The form sheet of ``opportunity`` in an openpyxl workbook (tabs are named by customer and id)."""
    for ws in wb.worksheets:
        if refs(ws).get("opportunity") == opportunity:
            return ws
    raise KeyError(f"no form of {opportunity} in the workbook")


def form_sheets(wb) -> list:
    """The form sheets of a workbook, in tab order (the index and the quota sheet are not forms)."""
    return [ws for ws in wb.worksheets if refs(ws).get("format") == "funnel_xl.assessment"]


def generate_from_file(master, out, **kwargs):
    """The forms use case on a master file, written into a folder (what ``funnel-xl forms`` does)."""
    from funnel_xl.cli.forms import open_master
    from funnel_xl.outputs import Folder
    from funnel_xl.services.forms import generate_forms

    with open_master(master) as book:
        return generate_forms(book, Folder(out), **kwargs)


def collect_into_file(master, inbox, **kwargs):
    """The collect use case on a master file and an inbox folder (what ``funnel-xl collect`` does)."""
    from funnel_xl.forms.collect import FolderInbox
    from funnel_xl.services.collect import collect_forms
    from funnel_xl.workbook.file_adapter import FileWorkbook

    return collect_forms(FileWorkbook(master, quiet=True), FolderInbox(inbox), **kwargs)


def fill_notes(form, target, opportunity: str, notes: str):
    """A rep's return of ``form``: the notes of ``opportunity`` set to ``notes``, saved as ``target`` (openpyxl, as
    a spreadsheet program saves it)."""
    import openpyxl

    wb = openpyxl.load_workbook(form)
    ws = form_sheet(wb, opportunity)
    ws[refs(ws)["notes"]] = notes
    target.parent.mkdir(parents=True, exist_ok=True)
    wb.save(target)
    return target


def give_form_key(master) -> bytes:
    """A new form key written into ``master`` (as its first forms would), returned."""
    from funnel_xl.forms.version import new_form_key
    from funnel_xl.workbook.file_adapter import FileWorkbook

    key = new_form_key()
    with FileWorkbook(master, quiet=True) as book:
        book.set_form_key(key)
        book.save()
    return key
