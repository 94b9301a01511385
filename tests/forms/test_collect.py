"""Collecting returned forms into the master: merges, conflicts, refusals, the log, and nothing lost."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import openpyxl
import pytest
import python_calamine

from funnel_xl.exchange.mail import SmtpSettings, form_message, send_messages, xlsx_attachments
from funnel_xl.labels import label
from funnel_xl.services.forms import send_forms
from funnel_xl.workbook import contract
from funnel_xl.workbook.ooxml import Write, patch_cells, split_ref
from funnel_xl.workbook.file_adapter import FileWorkbook
from funnel_xl.workbook.zip_patch import atomic_patch
from formtools import collect_into_file, fill_notes, form_sheet, form_sheets, generate_from_file, refs  # noqa: E402

AS_OF = dt.date(2026, 11, 20)
MANAGER = "manager@example.com"


def opportunities(path: Path) -> dict[str, dict[str, object]]:
    """商机 as a manager reads it: id -> {header: value} (values as the file caches them)."""
    rows = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name("商机").to_python()
    header = rows[3]
    return {r[0]: dict(zip(header, r)) for r in rows[4:] if r and r[0]}


def audit(path: Path) -> list[dict[str, str]]:
    rows = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name("收集记录").to_python()
    header = rows[3]
    return [dict(zip(header, r)) for r in rows[4:]]


def edit_master_cell(path: Path, opp_id: str, header: str, value) -> None:
    """A manager's edit of one cell of 商机, written the way the tool writes (zip-level cell patch)."""
    book = FileWorkbook(path, quiet=True)
    table = book.read_table(contract.TABLE_OPPORTUNITIES)
    row = table.frame.index[table.frame.iloc[:, 0] == opp_id][0]
    _, c1, _, _ = split_ref(book.index.tables[contract.TABLE_OPPORTUNITIES].ref)
    col = c1 + list(table.frame.columns).index(header)
    part = book.index.sheet(table.sheet).part
    import zipfile

    with zipfile.ZipFile(path) as zf:
        xml = zf.read(part).decode("utf-8")
    atomic_patch(path, path, {part: patch_cells(xml, {(int(row), col): Write(value)}).encode("utf-8")})


def save_received(envelopes, folder: Path, start: int = 0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, env in enumerate(envelopes[start:], start=start + 1):
        path = folder / f"msg{i:02d}.eml"
        path.write_bytes(env.original_content)
        out.append(path)
    return out


def test_round_trip_by_mail_merges_changes_reports_conflicts_and_refusals_and_loses_nothing(
        master, tmp_path, smtp_server):
    host, port, recorder = smtp_server
    smtp = SmtpSettings(host, port)
    out = tmp_path / "forms"
    generate_from_file(master, out, rep="李强", as_of=AS_OF)
    generate_from_file(master, out / "wang", rep="王芳", as_of=AS_OF)

    # 1. The manager mails the forms out; each rep saves the attachment they received.
    sent = send_forms(out, sender=MANAGER, smtp=smtp).sent + send_forms(out / "wang", sender=MANAGER, smtp=smtp).sent
    assert sent == ["li.qiang@example.com", "wang.fang@example.com"]
    received = save_received(recorder.envelopes, tmp_path / "reps_mail")
    li_file = tmp_path / "li" / xlsx_attachments(received[0], 10_000_000)[0][0]
    wang_file = tmp_path / "wang" / xlsx_attachments(received[1], 10_000_000)[0][0]
    for path, eml in ((li_file, received[0]), (wang_file, received[1])):
        path.parent.mkdir()
        path.write_bytes(xlsx_attachments(eml, 10_000_000)[0][1])

    # 2. The reps fill them in, as a spreadsheet program would.
    wb = openpyxl.load_workbook(li_file)
    ws = form_sheet(wb, "OPP-1001")                       # a good change: stage 5 claimed, one more criterion met, notes
    r = refs(ws)
    ws[r["chk:recognition_meets_requirements"]] = "是"
    ws[r["marker:approved"]] = None
    ws[r["marker:recognition"]] = "●"
    ws[r["notes"]] = "=HYPERLINK(\"http://evil.example\",\"点击\")"   # formula text: kept as plain text
    bad = form_sheets(wb)[1]                  # one bad value: the whole form is refused, the file kept
    bad_sheet, bad_id = bad.title, refs(bad)["opportunity"]
    bad[refs(bad)["chk:target_industry"]] = "也许"
    wb.save(li_file)
    wb = openpyxl.load_workbook(wang_file)
    ws = form_sheets(wb)[0]
    r = refs(ws)
    conflict_id = r["opportunity"]
    ws[r["notes"]] = "客户下周签约"
    wb.save(wang_file)
    # ... and the manager edits 王芳's row after sending: her form now conflicts.
    edit_master_cell(master, conflict_id, "备注", "经理：等待预算")

    # 3. The reps reply through the SMTP server; the manager saves the messages, plus a junk attachment.
    replies = [form_message(to=MANAGER, sender="li.qiang@example.com", rep="李强", count=1, attachment=li_file,
                            lang="zh-CN"),
               form_message(to=MANAGER, sender="wang.fang@example.com", rep="王芳", count=1, attachment=wang_file,
                            lang="zh-CN")]
    junk = tmp_path / "junk" / "报价.xlsx"
    junk.parent.mkdir()
    junk.write_bytes(b"this is not a workbook at all")
    replies.append(form_message(to=MANAGER, sender="li.qiang@example.com", rep="李强", count=1, attachment=junk,
                                lang="zh-CN"))
    first = len(recorder.envelopes)
    send_messages(replies, smtp)
    inbox = tmp_path / "inbox"
    emls = save_received(recorder.envelopes, inbox, start=first)
    assert len(emls) == 3

    before = opportunities(master)
    report = collect_into_file(master, inbox, run_at=dt.datetime(2026, 11, 23, 9, 30))
    after = opportunities(master)
    log = audit(master)

    # Merged: OPP-1001 (amount 1,300,000 in the sample) now claims 赢得客户认可 (50 %), but its evidence still stops
    # at stage 4 (5.2 shortlisted is 否): the gap to the claimed stage 5 is 1, and the rate follows the evidence,
    # 引导客户立项 (35 %): weighted 455,000, not the claim's 650,000.
    row = after["OPP-1001"]
    assert row["销售阶段"] == "赢得客户认可"
    assert row["5.1 客户认可我们的产品，认为能够满足要求"] == "是"
    assert row["备注"] == "'=HYPERLINK(\"http://evil.example\",\"点击\")"
    assert row["评估阶段"] == "引导客户立项" and row["阶段差距"] == pytest.approx(1)
    assert row["赢率"] == pytest.approx(0.35)
    assert row["加权金额(元)"] == pytest.approx(455_000)
    merged = [e for e in log if e["结果"] in ("已合并", "已合并(已转为文本)")]
    assert {(e["商机编号"], e["字段"], e["原值"], e["新值"]) for e in merged} == {
        ("OPP-1001", "销售阶段", "引导客户立项", "赢得客户认可"),
        ("OPP-1001", "5.1 客户认可我们的产品，认为能够满足要求", "否", "是"),
        ("OPP-1001", "备注", before["OPP-1001"]["备注"] or "", "'=HYPERLINK(\"http://evil.example\",\"点击\")"),
    }

    # Conflict: 王芳's row keeps the manager's edit; the log shows both values.
    assert after[conflict_id]["备注"] == "经理：等待预算"
    conflicts = [e for e in log if e["结果"] == "冲突(未合并)"]
    assert [(e["商机编号"], e["字段"], e["原值"], e["新值"]) for e in conflicts] == [
        (conflict_id, "备注", "经理：等待预算", "客户下周签约")]

    # Refused: the bad value (named with its cell) and the junk file; both files kept, a note beside each.
    refused = [e for e in log if e["结果"] == "拒收"]
    assert len(refused) == 2
    assert any(bad_sheet in e["文件"] and "“也许”不是回答" in e["说明"] for e in refused)
    assert any("报价.xlsx" in e["文件"] and e["说明"] == label("form.package.damaged").format(file=e["文件"])
               for e in refused)
    assert after[bad_id] == before[bad_id]
    for eml in emls[0], emls[2]:
        assert eml.exists() and eml.with_name(eml.name + ".rejected.txt").exists()
    assert not emls[1].with_name(emls[1].name + ".rejected.txt").exists()

    # Nothing else changed in 商机, and the report adds up.
    changed = {k for k in after if after[k] != before[k]}
    assert changed == {"OPP-1001"}
    assert (report.merged, report.conflicts, report.rejected) == (1, 1, 2)

    # Collecting the same inbox again changes nothing: same bytes.
    digest = hashlib.sha256(master.read_bytes()).hexdigest()
    again = collect_into_file(master, inbox, run_at=dt.datetime(2026, 11, 24, 9, 30))
    assert not again.written and again.entries == []
    assert hashlib.sha256(master.read_bytes()).hexdigest() == digest


def test_the_collected_master_is_still_a_sound_package_with_its_macros(master, tmp_path, workbook_of):
    from funnel_xl.workbook.opc import validate_package

    inbox = tmp_path / "inbox"
    fill_notes(workbook_of("李强"), inbox / "li.xlsx", "OPP-1001", "已补充资料")
    report = collect_into_file(master, inbox)
    assert report.written and report.merged == 1
    assert validate_package(master) == []
    import zipfile

    with zipfile.ZipFile(master) as zf:
        assert "xl/vbaProject.bin" in zf.namelist() and any(n.startswith("customUI") for n in zf.namelist())


def test_a_master_open_in_excel_is_refused_before_anything_is_read(master, tmp_path):
    from funnel_xl.errors import WorkbookLockedError

    master.with_name("~$" + master.name).write_text("lock")
    with pytest.raises(WorkbookLockedError):
        collect_into_file(master, tmp_path)
