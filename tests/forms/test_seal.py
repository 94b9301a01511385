"""Forms that cannot be forged cheaply: a form is sealed with a key only the master holds, over its opportunity,
its rep and the row's version; collect refuses a form whose seal does not verify or whose rep is not the row's,
saying why in the workbook's language in 收集记录 and in the note beside the file, and merges nothing of it."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import openpyxl

from funnel_xl.forms.collect import REJECTED_SUFFIX
from funnel_xl.forms.version import version_token
from funnel_xl.labels import label
from formtools import collect_into_file, generate_from_file, give_form_key, form_sheet, refs  # noqa: E402
from test_collect import audit, edit_master_cell, opportunities  # noqa: E402

AS_OF = dt.date(2026, 11, 20)
RUN_AT = dt.datetime(2026, 11, 23, 9, 30)
BLOCK_KEYS, BLOCK_VALUES = 40, 41   # the hidden block: keys in AN, values in AO


def set_block(ws, key: str, value: str) -> None:
    row = next(r for r in range(1, 60) if ws.cell(r, BLOCK_KEYS).value == key)
    ws.cell(row, BLOCK_VALUES).value = value


def block_value(ws, key: str) -> str:
    return next(ws.cell(r, BLOCK_VALUES).value for r in range(1, 60) if ws.cell(r, BLOCK_KEYS).value == key)


def open_deal_of(sample_rows, rep: str) -> dict[str, str]:
    return next(r for r in sample_rows if r["rep"] == rep and r["status"] == "open")


def raw_row(master: Path, opp_id: str) -> dict:
    """The master row as collect reads it (canonical columns, the cells as the user typed them)."""
    from funnel_xl.workbook.file_adapter import FileWorkbook
    from funnel_xl.workbook.reader import read_inputs

    with FileWorkbook(master, read_only=True, quiet=True) as book:
        raw = read_inputs(book, book.name).opportunities
    return raw[raw["id"] == opp_id].iloc[0].to_dict()


def refused_reasons(inbox: Path, name: str) -> str:
    return (inbox / (name + REJECTED_SUFFIX)).read_text(encoding="utf-8")


def test_a_form_pointed_at_another_reps_deal_with_a_recomputed_token_is_refused_and_merges_nothing(
        master, tmp_path, workbook_of, sample_rows):
    theirs = open_deal_of(sample_rows, "王芳")["id"]
    wb = openpyxl.load_workbook(workbook_of("李强"))
    ws = form_sheet(wb, "OPP-1001")
    set_block(ws, "opportunity", theirs)                           # 王芳's deal ...
    set_block(ws, "rep", "王芳")                                   # ... in her name ...
    set_block(ws, "token", version_token(raw_row(master, theirs)))  # ... with the row's own version, recomputed
    ws[refs(ws)["notes"]] = "客户已签约"                            # and a change the forger wants merged
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    wb.save(inbox / "forged.xlsx")
    before = opportunities(master)

    report = collect_into_file(master, inbox, run_at=RUN_AT)

    assert opportunities(master) == before
    reason = label("form.refused.seal").format(opportunity=theirs)
    assert [(e["商机编号"], e["结果"], e["说明"]) for e in audit(master)] == [(theirs, "拒收", reason)]
    assert reason in refused_reasons(inbox, "forged.xlsx")
    assert report.merged == 0 and report.summary()["refused_files"] == 1


def test_a_form_made_by_another_master_is_refused(master, tmp_path, workbook_of):
    other = shutil.copy2(master, tmp_path / "Other.xlsm")  # the same deals, its own key
    give_form_key(other)
    foreign = generate_from_file(other, tmp_path / "other_forms", rep="李强", as_of=AS_OF)[0]
    wb = openpyxl.load_workbook(foreign)
    ws = form_sheet(wb, "OPP-1001")
    ws[refs(ws)["notes"]] = "来自另一个主表"
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    wb.save(inbox / foreign.name)

    collect_into_file(master, inbox, run_at=RUN_AT)

    assert opportunities(master)["OPP-1001"]["备注"] != "来自另一个主表"
    assert label("form.refused.seal").format(opportunity="OPP-1001") in refused_reasons(inbox, foreign.name)


def test_a_form_whose_rep_is_no_longer_the_rows_rep_is_refused_naming_both(master, tmp_path, workbook_of):
    wb = openpyxl.load_workbook(workbook_of("李强"))
    ws = form_sheet(wb, "OPP-1001")
    ws[refs(ws)["notes"]] = "李强的更新"
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    wb.save(inbox / "li.xlsx")
    edit_master_cell(master, "OPP-1001", "销售人员", "王芳")  # the manager moved the deal after sending

    collect_into_file(master, inbox, run_at=RUN_AT)

    reason = label("form.refused.rep").format(opportunity="OPP-1001", rep="李强", owner="王芳")
    assert reason in refused_reasons(inbox, "li.xlsx")
    assert [e["说明"] for e in audit(master) if e["商机编号"] == "OPP-1001"] == [reason]
    assert opportunities(master)["OPP-1001"]["备注"] != "李强的更新"


def test_an_english_master_gives_its_reasons_in_english(tmp_path):
    from funnel_xl.services.build import build_workbook

    en = build_workbook(tmp_path / "en.xlsm", lang="en")
    form = generate_from_file(en, tmp_path / "forms", rep="李强", as_of=AS_OF)[0]
    wb = openpyxl.load_workbook(form)
    ws = form_sheet(wb, "OPP-1001")
    set_block(ws, "token", "0" * 16)
    ws[refs(ws)["notes"]] = "x"
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    wb.save(inbox / form.name)
    collect_into_file(en, inbox, run_at=RUN_AT)
    assert label("form.refused.seal", "en").format(opportunity="OPP-1001") in refused_reasons(inbox, form.name)


def test_the_seal_is_in_the_form_and_the_key_is_not(workbook_of):
    import zipfile

    path = workbook_of("李强")
    ws = form_sheet(openpyxl.load_workbook(path), "OPP-1001")
    seal = block_value(ws, "seal")
    assert len(seal) == 32
    with zipfile.ZipFile(path) as zf:
        assert b"_funnel_xl_form_key" not in b"".join(zf.read(n) for n in zf.namelist())
