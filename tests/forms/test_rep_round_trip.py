"""Acceptance: the rep's workbook through a real SMTP server and back. The rep dates a deal, answers a criterion and
reports the week's activity; collect merges all three and recalc shows them."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pandas as pd
import python_calamine

from funnel_xl.domain.activity import standards_of, week_of
from funnel_xl.domain.stages import derive_stages
from funnel_xl.exchange.mail import SmtpSettings, form_message, send_messages, xlsx_attachments
from funnel_xl.labels import label
from funnel_xl.methodologies import load_methodology
from funnel_xl.services.forms import send_forms
from funnel_xl.services.master import read_master
from funnel_xl.services.recalculate import default_roadmap, recalculate
from funnel_xl.workbook import contract
from funnel_xl.workbook.file_adapter import FileWorkbook
from formtools import collect_into_file, form_sheet, generate_from_file, refs  # noqa: E402
from test_fix_on_form import set_cells  # noqa: E402

AS_OF = dt.date(2026, 11, 20)
MANAGER = "manager@example.com"
BIG = load_methodology("big_project")


def one_answer_short(master) -> tuple[str, str, str]:
    """A rep, an open deal of theirs whose next stage lacks exactly one required criterion, and that criterion."""
    with FileWorkbook(master, read_only=True, quiet=True) as book:
        clean = read_master(book).opportunities.clean
    mine = clean[clean["rep"].notna() & (clean["status"] == "open")]
    derived = derive_stages(mine, BIG)["derived_stage"]
    for idx, row in mine.iterrows():
        at = BIG.stage(derived.at[idx]).order if isinstance(derived.at[idx], str) else 0
        if at >= len(BIG.stages):
            continue
        lacking = [c.key for c in BIG.stages[at].required_criteria
                   if not (pd.notna(row[f"chk:{c.key}"]) and bool(row[f"chk:{c.key}"]))]
        if len(lacking) == 1:
            return row["rep"], row["id"], lacking[0]
    raise AssertionError("no deal is one answer short of its next stage")


def master_rows(master) -> pd.DataFrame:
    with FileWorkbook(master, read_only=True, quiet=True) as book:
        return read_master(book).opportunities.clean.set_index("id")


def sheet_rows(master, key: str) -> list[list]:
    book = python_calamine.CalamineWorkbook.from_path(str(master))
    return book.get_sheet_by_name(contract.sheet_name(key)).to_python()


def test_a_rep_dates_a_deal_answers_a_criterion_and_reports_the_week_and_recalc_shows_all_three(
        master, tmp_path, smtp_server):
    host, port, recorder = smtp_server
    smtp = SmtpSettings(host, port)
    rep, deal, criterion = one_answer_short(master)
    undated = next(i for i in master_rows(master).query("rep == @rep and status == 'open'").index if i != deal)
    set_cells(master, undated, {"close_date": None})          # an open deal without a close date (a warning)
    warned = recalculate(FileWorkbook(master, read_only=True, quiet=True), AS_OF, history=None, save=False)
    assert undated in {_row_id(master, p.row) for p in warned.problems if p.code == "no_close_date"}
    before = master_rows(master)
    stage_before = derive_stages(before.loc[[deal]].reset_index(), BIG)["derived_stage"].iloc[0]

    # The manager generates and mails the workbooks; the rep saves the attachment.
    out = tmp_path / "forms"
    generate_from_file(master, out, rep=rep, as_of=AS_OF)
    assert send_forms(out, sender=MANAGER, smtp=smtp).sent
    received = tmp_path / "received.eml"
    received.write_bytes(recorder.envelopes[-1].original_content)
    (name, data), = xlsx_attachments(received, 10_000_000)
    mine = tmp_path / "rep" / name
    mine.parent.mkdir()
    mine.write_bytes(data)

    # The rep: the problem is on the undated deal's tab; they date it, answer the criterion, report the week.
    wb = openpyxl.load_workbook(mine)
    ws = form_sheet(wb, undated)
    assert ws["A3"].value and label("field.close_date") in ws["A3"].value
    ws[refs(ws)["field:close_date"]] = dt.datetime(2027, 3, 31)
    ws = form_sheet(wb, deal)
    ws[refs(ws)[f"chk:{criterion}"]] = "是"
    activity = wb[label("form.activity.sheet")]
    block = refs(activity)
    reps = read_master_reps(master)
    _, standards = standards_of(reps.loc[rep], default_roadmap(), AS_OF)
    assert standards, f"{rep}'s phase has weekly standards to report"
    for std in standards:
        activity[block[f"value:{std.key}"]] = std.threshold + 1
    wb.save(mine)

    # The rep replies through the server; the manager saves the message into the inbox and collects.
    first = len(recorder.envelopes)
    send_messages([form_message(to=MANAGER, sender=reps.at[rep, "email"], rep=rep, count=1, attachment=mine,
                                lang="zh-CN")], smtp)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "reply.eml").write_bytes(recorder.envelopes[first].original_content)
    report = collect_into_file(master, inbox)
    assert report.merged == 2 and report.activity == len(standards) and report.rejected == 0

    # Recalc shows them: the deal dated, the stage moved, the standard met.
    result = recalculate(FileWorkbook(master, quiet=True), AS_OF, history=None)
    after = master_rows(master)
    assert after.at[undated, "close_date"] == pd.Timestamp(2027, 3, 31)
    stage_after = derive_stages(after.loc[[deal]].reset_index(), BIG)["derived_stage"].iloc[0]
    assert BIG.stage(stage_after).order == BIG.stage(stage_before).order + 1
    dated = [p for p in result.problems if p.code == "no_close_date" and p.row is not None]
    assert undated not in {_row_id(master, p.row) for p in dated}
    quota = sheet_rows(master, "quota")
    week = f"{week_of(AS_OF):%m-%d}"
    header = next(r for r in quota if label("outcol.standard") in r)
    col = header.index(week)
    for std in standards:
        line = next(r for r in quota if r[0] == rep and std.zh in r)
        assert line[col] == f"{std.threshold + 1:g} {label('out.met')}"


def read_master_reps(master) -> pd.DataFrame:
    with FileWorkbook(master, read_only=True, quiet=True) as book:
        return read_master(book).reps.clean.set_index("rep", drop=False)


def _row_id(master, row: int) -> str:
    with FileWorkbook(master, read_only=True, quiet=True) as book:
        raw = book.read_rows(contract.TABLE_OPPORTUNITIES)
    return raw.at[row, "id"]
