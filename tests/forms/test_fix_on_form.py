"""A deal recalc cannot use goes out on its form with the problem shown, and the rep's fix comes back into 商机."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from funnel_xl.labels import label
from funnel_xl.workbook import contract
from funnel_xl.workbook.file_adapter import FileWorkbook
from formtools import collect_into_file, form_sheet, generate_from_file, refs  # noqa: E402

AS_OF = dt.date(2026, 11, 20)
BAD_AMOUNT = "约100万"   # an estimate: recalc cannot count it (README: amounts)


def set_cells(master, opportunity: str, values: dict[str, object]) -> None:
    """The manager's (or an import's) edit of one row of 商机."""
    with FileWorkbook(master, quiet=True) as book:
        rows = book.read_rows(contract.TABLE_OPPORTUNITIES)
        row = int(rows.index[rows["id"] == opportunity][0])
        book.update_cells(contract.TABLE_OPPORTUNITIES, {(row, k): v for k, v in values.items()})
        book.save()


def master_row(master, opportunity: str):
    with FileWorkbook(master, read_only=True, quiet=True) as book:
        rows = book.read_rows(contract.TABLE_OPPORTUNITIES)
    return rows[rows["id"] == opportunity].iloc[0]


@pytest.fixture
def bad_amount_form(master, tmp_path):
    """李强's workbook after OPP-1001's amount became text recalc cannot read."""
    set_cells(master, "OPP-1001", {"amount": BAD_AMOUNT})
    (path,) = generate_from_file(master, tmp_path / "sent", rep="李强", as_of=AS_OF)
    return path


def test_a_deal_with_an_amount_recalc_cannot_read_is_sent_with_the_problem_shown(bad_amount_form):
    wb = openpyxl.load_workbook(bad_amount_form)
    ws = form_sheet(wb, "OPP-1001")
    problem = ws["A3"].value
    assert problem.startswith(label("form.problem", "zh-CN")) and BAD_AMOUNT in problem
    amount = ws[refs(ws)["field:amount"]]
    assert amount.value == BAD_AMOUNT and amount.protection.locked is False
    index = wb[label("form.index.sheet", "zh-CN")]
    listed = [[c.value for c in row] for row in index.iter_rows()]
    assert any(row[0] == ws.title and BAD_AMOUNT in (row[8] or "") for row in listed)


def test_a_clean_deal_has_no_problem_line(bad_amount_form):
    ws = form_sheet(openpyxl.load_workbook(bad_amount_form), "OPP-1023")
    assert ws["A3"].value is None


def test_collect_merges_the_reps_amount_close_date_and_status_and_recalc_counts_the_deal(master, bad_amount_form,
                                                                                         tmp_path):
    from funnel_xl.services.master import read_master

    wb = openpyxl.load_workbook(bad_amount_form)
    ws = form_sheet(wb, "OPP-1001")
    r = refs(ws)
    ws[r["field:amount"]] = 1_000_000
    ws[r["field:close_date"]] = dt.datetime(2027, 3, 31)
    (tmp_path / "inbox").mkdir()
    wb.save(tmp_path / "inbox" / bad_amount_form.name)
    report = collect_into_file(master, tmp_path / "inbox")
    assert report.merged == 1
    row = master_row(master, "OPP-1001")
    assert row["amount"] == 1_000_000 and row["close_date"] == dt.datetime(2027, 3, 31)
    with FileWorkbook(master, read_only=True, quiet=True) as book:
        clean = read_master(book).opportunities.clean
    assert "OPP-1001" in set(clean["id"])


def test_a_fix_to_a_row_the_manager_changed_since_sending_is_a_conflict_not_merged(master, bad_amount_form,
                                                                                   tmp_path):
    wb = openpyxl.load_workbook(bad_amount_form)
    ws = form_sheet(wb, "OPP-1001")
    ws[refs(ws)["field:amount"]] = 1_000_000
    (tmp_path / "inbox").mkdir()
    wb.save(tmp_path / "inbox" / bad_amount_form.name)
    set_cells(master, "OPP-1001", {"amount": 900_000.0})
    report = collect_into_file(master, tmp_path / "inbox")
    assert report.conflicts == 1 and report.merged == 0
    assert master_row(master, "OPP-1001")["amount"] == 900_000


def test_an_amount_that_does_not_read_refuses_the_form_saying_what_was_expected(master, bad_amount_form, tmp_path):
    wb = openpyxl.load_workbook(bad_amount_form)
    ws = form_sheet(wb, "OPP-1001")
    ws[refs(ws)["field:amount"]] = "一百多万"
    (tmp_path / "inbox").mkdir()
    wb.save(tmp_path / "inbox" / bad_amount_form.name)
    report = collect_into_file(master, tmp_path / "inbox")
    assert report.rejected == 1
    reason = next(e.reason for e in report.entries if e.outcome == "rejected")
    assert "一百多万" in reason and label("form.field_error.amount", "zh-CN") in reason


def test_a_closed_deal_is_not_sent_even_when_its_row_has_a_problem(master, tmp_path):
    set_cells(master, "OPP-1001", {"amount": BAD_AMOUNT, "status": "赢单"})
    skipped: list[str] = []
    paths = generate_from_file(master, tmp_path / "sent", rep="李强", as_of=AS_OF, skipped=skipped)
    wb = openpyxl.load_workbook(paths[0])
    with pytest.raises(KeyError):
        form_sheet(wb, "OPP-1001")
    assert any("OPP-1001" in line or "row" in line for line in skipped)


def test_a_rep_without_a_hire_date_gets_an_activity_sheet_saying_there_is_nothing_to_report(master, tmp_path):
    with FileWorkbook(master, quiet=True) as book:
        reps = book.read_rows(contract.TABLE_REPS)
        row = int(reps.index[reps["rep"] == "李强"][0])
        book.update_cells(contract.TABLE_REPS, {(row, "hire_date"): None})
        book.save()
    (path,) = generate_from_file(master, tmp_path / "sent", rep="李强", as_of=AS_OF)
    ws = openpyxl.load_workbook(path)[label("form.activity.sheet", "zh-CN")]
    assert ws["A3"].value == label("form.activity.none", "zh-CN")
    assert not any(k.startswith("value:") for k in refs(ws))
