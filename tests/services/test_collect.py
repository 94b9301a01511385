"""Collect, on the sample master in memory: a returned form's changes are staged as cell updates with the log,
saved once; a refused file is noted; the same inbox again changes nothing."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl

from funnel_xl.forms.generate import write_form_workbook
from funnel_xl.labels import label
from funnel_xl.sample import SAMPLE_AS_OF
from funnel_xl.services.collect import collect_forms
from funnel_xl.services.forms import generate_forms
from funnel_xl.workbook.contract import TABLE_OPPORTUNITIES, opportunity_header, sheet_name
from tests.fakes import MemoryInbox, MemorySink
from tests.forms.formtools import form_sheet, refs

RUN_AT = dt.datetime(2026, 11, 23, 9, 30)


def _returned_form(master, tmp_path, edits: dict[str, str]) -> bytes:
    """李强's form workbook as the tool writes it, filled in by the rep on OPP-1001 (``edits``: slot -> value)."""
    sink = MemorySink()
    generate_forms(master, sink, rep="李强", as_of=SAMPLE_AS_OF)
    (book,) = sink.books.values()
    path = write_form_workbook(tmp_path / book.name, book.forms, book.methodology, book.language, book.as_of,
                               book.quota)
    wb = openpyxl.load_workbook(path)
    ws = form_sheet(wb, "OPP-1001")
    for slot, value in edits.items():
        ws[refs(ws)[slot]] = value
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _row_of(master, opp_id: str) -> int:
    frame = master.read_table(TABLE_OPPORTUNITIES).frame
    return int(frame.index[frame[opportunity_header("id")] == opp_id][0])


def test_a_returned_form_is_merged_as_cell_updates_and_logged_in_one_save(fake_master, tmp_path):
    form = _returned_form(fake_master, tmp_path, {"notes": "已补充资料", "chk:recognition_meets_requirements": "是"})
    inbox = MemoryInbox({"li.xlsx": form, "报价.xlsx": b"not a workbook"})

    report = collect_forms(fake_master, inbox, run_at=RUN_AT)

    row = _row_of(fake_master, "OPP-1001")
    assert fake_master.updated == {TABLE_OPPORTUNITIES: {(row, "notes"): "已补充资料",
                                                         (row, "chk:recognition_meets_requirements"): True}}
    assert fake_master.saves == 1 and report.written
    log = fake_master.written[sheet_name("audit")].rows()
    merged = [r for r in log if r[7] == label("form.audit.merged")]
    assert {(r[3], r[5], r[6]) for r in merged} >= {("OPP-1001", "否", "是")}
    assert [r[1] for r in log if r[7] == label("form.audit.rejected")] == ["报价.xlsx"]
    assert inbox.refused == {"报价.xlsx": [label("form.refused.renamed").format(file="报价.xlsx")]}
    assert (report.merged, report.rejected) == (1, 1)


def test_collecting_the_same_inbox_again_changes_nothing(fake_master, tmp_path):
    inbox = MemoryInbox({"li.xlsx": _returned_form(fake_master, tmp_path, {"notes": "已补充资料"})})
    collect_forms(fake_master, inbox, run_at=RUN_AT)
    fake_master.updated.clear()
    fake_master.written.clear()

    again = collect_forms(fake_master, inbox, run_at=RUN_AT + dt.timedelta(days=1))

    assert not again.written and again.entries == []
    assert fake_master.saves == 1 and not fake_master.updated and not fake_master.written


def test_a_form_returned_unchanged_writes_nothing(fake_master, tmp_path):
    report = collect_forms(fake_master, MemoryInbox({"li.xlsx": _returned_form(fake_master, tmp_path, {})}),
                           run_at=RUN_AT)
    assert report.unchanged == report.forms > 0 and not report.written
    assert fake_master.saves == 0
