"""The fault catalogue: every fault a user or the environment can cause, met on the command line. Each ends in one
line on stderr saying what happened and what to do, with exit code 1 (3 is kept for the tool's own bugs), and
leaves the workbook, its backup and its history as they were (or whole and saved).

The faults of the lower layers have their own tests beside them: the lock (tests/workbook/test_lock.py), the save
path (test_saving.py, tests/services/test_save_together.py), sealed forms (tests/forms/test_seal.py), the inbox
(test_inbox.py), mail (tests/exchange/test_send.py); a killed recalculation and two runs at once are in
test_crash_and_concurrency.py.
"""

from __future__ import annotations

import errno
import io
import shutil
import sqlite3
import stat
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pytest

from funnel_xl import cli
from funnel_xl.history import history_path
from funnel_xl.labels import label
from funnel_xl.workbook import file_adapter
from funnel_xl.workbook.contract import sheet_name
from funnel_xl.workbook.saving import backup_path
from tests.damaged import damage_member, encrypted_workbook, old_xls
from tests.cli.conftest import WRITES, write_command
from tests.forms.formtools import fill_notes

AS_OF = "2026-11-27"


def run(*args: str) -> int:
    return cli.main(list(args))


def one_line(capsys) -> str:
    """The failure's line: the last on stderr (after any progress lines), one line, no internal error."""
    lines = capsys.readouterr().err.splitlines()
    failure = [line for line in lines if line.startswith("funnel-xl: ")]
    assert failure == lines[-1:] and "internal error" not in failure[0], lines
    return failure[0]


def snapshot_dates(workbook: Path) -> list[str]:
    with sqlite3.connect(history_path(workbook)) as db:
        return [r[0] for r in db.execute("SELECT snapshot_date FROM snapshot ORDER BY 1")]


def set_cell(path: Path, sheet: str, row: int, col: int, text: str) -> None:
    """One cell of a sheet set to ``text`` as another program would save it (the part patched, nothing else)."""
    from funnel_xl.workbook.ooxml import Write, patch_cells
    from funnel_xl.workbook.package import PackageIndex
    from funnel_xl.workbook.zip_patch import atomic_patch

    with zipfile.ZipFile(path) as zf:
        part = PackageIndex.read(zf).sheet(sheet).part
        xml = zf.read(part).decode("utf-8")
    atomic_patch(path, path, {part: patch_cells(xml, {(row, col): Write(text)}).encode("utf-8")})


def untouched(workbook: Path, before: bytes) -> bool:
    left = [p.name for p in workbook.parent.iterdir() if p.name.startswith(".")]
    return workbook.read_bytes() == before and not left


# -- the workbook argument ----------------------------------------------------------------------------------------

def test_a_folder_given_as_the_workbook(tmp_path, capsys):
    assert run("recalc", str(tmp_path)) == 1
    assert "is a folder, not a workbook" in one_line(capsys)


def test_a_missing_workbook(tmp_path, capsys):
    assert run("recalc", str(tmp_path / "Funnel.xlsm")) == 1
    assert "not found" in one_line(capsys)


@pytest.mark.parametrize("command", [["recalc"], ["export", "-o", "out.xlsx"], ["calibrate"]])
def test_an_encrypted_workbook_says_to_remove_the_password(tmp_path, capsys, command):
    path = tmp_path / "Funnel.xlsm"
    path.write_bytes(encrypted_workbook())
    assert run(command[0], str(path), *command[1:]) == 1
    assert "encrypted with a password" in one_line(capsys)


def test_an_old_xls_under_the_workbooks_name_says_to_save_it_as_xlsm(tmp_path, capsys):
    path = tmp_path / "Funnel.xlsm"
    path.write_bytes(old_xls())
    assert run("recalc", str(path)) == 1
    assert "save it as .xlsm" in one_line(capsys)


@pytest.mark.office_invalid("the test breaks a package on purpose")
@pytest.mark.parametrize("ahead", [False, True], ids=["checked-while-copied", "checked-in-a-thread-ahead"])
@pytest.mark.parametrize("member", ["xl/worksheets/sheet3.xml", "xl/worksheets/sheet5.xml", "xl/vbaProject.bin"])
def test_a_member_damaged_against_its_crc_is_refused_and_nothing_is_written(workbook, capsys, member, ahead,
                                                                            monkeypatch):
    """The opportunities sheet (read), an output sheet (rewritten), the VBA project (copied as it is); a save checks
    large members in a thread while it renders (here every member is large) and the rest as it copies them."""
    if ahead:
        monkeypatch.setattr(file_adapter, "CHECK_AHEAD", 0)
    damage_member(workbook, member)
    before, dates = workbook.read_bytes(), snapshot_dates(workbook)
    assert run("recalc", str(workbook), "--as-of", AS_OF) == 1
    assert "is damaged" in one_line(capsys)
    assert untouched(workbook, before) and snapshot_dates(workbook) == dates


# -- the environment -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", WRITES)
def test_a_read_only_workbook_is_refused_and_keeps_its_mode(workbook, capsys, command):
    workbook.chmod(0o444)
    before = workbook.read_bytes()
    assert run(*write_command(command, workbook)) == 1
    assert "is read-only" in one_line(capsys)
    assert untouched(workbook, before) and stat.S_IMODE(workbook.stat().st_mode) == 0o444
    assert not backup_path(workbook).exists()


def test_a_read_only_workbook_can_still_be_recalculated_into_another_file(workbook, tmp_path, capsys):
    workbook.chmod(0o444)
    before = workbook.read_bytes()
    out = tmp_path / "out" / "Funnel.xlsm"
    assert run("recalc", str(workbook), "--as-of", AS_OF, "-o", str(out), "--json") == 0
    assert workbook.read_bytes() == before and AS_OF in snapshot_dates(out)


def test_a_read_only_folder_is_refused_before_any_work(workbook, capsys):
    before = workbook.read_bytes()
    workbook.parent.chmod(0o555)
    try:
        assert run("recalc", str(workbook), "--as-of", AS_OF) == 1
    finally:
        workbook.parent.chmod(0o755)
    assert "is read-only" in one_line(capsys) and untouched(workbook, before)


def test_a_full_disk_leaves_the_workbook_and_its_history_agreeing(workbook, capsys, monkeypatch):
    before, dates = workbook.read_bytes(), snapshot_dates(workbook)

    def disk_full(source, target, *args, **kwargs):
        target.write_bytes(b"PK" + b"\0" * 1000)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(file_adapter, "patch_package", disk_full)
    assert run("recalc", str(workbook), "--as-of", AS_OF) == 1
    assert "the disk is full" in one_line(capsys)
    assert untouched(workbook, before) and snapshot_dates(workbook) == dates


def test_a_damaged_history_file_is_named_with_what_to_do(workbook, capsys):
    before = workbook.read_bytes()
    history_path(workbook).write_bytes(b"this is not a database" * 100)
    assert run("recalc", str(workbook), "--as-of", AS_OF) == 1
    err = one_line(capsys)
    assert "Funnel.history.sqlite" in err and "damaged" in err and "move it away" in err
    assert untouched(workbook, before)


def test_a_history_file_another_program_holds_is_named_with_what_to_do(workbook, capsys, monkeypatch):
    before = workbook.read_bytes()
    other = sqlite3.connect(history_path(workbook))
    other.execute("BEGIN EXCLUSIVE")
    real_connect = sqlite3.connect
    monkeypatch.setattr(sqlite3, "connect", lambda path, **kw: real_connect(path, timeout=0.2))
    try:
        assert run("recalc", str(workbook), "--as-of", AS_OF) == 1
    finally:
        other.rollback()
        other.close()
    err = one_line(capsys)
    assert "another program" in err and "close" in err
    assert untouched(workbook, before)


@pytest.mark.parametrize("command", WRITES)
def test_a_workbook_open_in_excel_is_left_alone(workbook, capsys, command):
    (workbook.parent / f"~${workbook.name}").write_bytes(b"owner")
    before = workbook.read_bytes()
    assert run(*write_command(command, workbook)) == 1
    assert "open in Excel" in one_line(capsys) and workbook.read_bytes() == before


# -- the report date --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", [["recalc"], ["forms", "-o", "forms"], ["quota-sheets", "-o", "quota"]])
@pytest.mark.parametrize("day", ["9999-12-31", "1899-12-31"])
def test_a_report_date_outside_what_can_be_computed(workbook, capsys, command, day):
    before = workbook.read_bytes()
    assert run(command[0], str(workbook), *command[1:], "--as-of", day) == 1
    assert f"--as-of {day}" in one_line(capsys)
    assert untouched(workbook, before)


def test_a_date_that_is_no_date_is_a_usage_error(workbook):
    with pytest.raises(SystemExit) as exit_:
        run("recalc", str(workbook), "--as-of", "2026-13-01")
    assert exit_.value.code == 2


# -- what the tool writes ----------------------------------------------------------------------------------------

def test_a_rep_named_with_a_control_character_recalculates_into_parts_every_reader_opens(workbook, capsys):
    """As Excel stores a bell typed into a name: 周磊_x0007_. Every part parses; openpyxl opens the file; the
    next run keeps a backup that opens too."""
    from funnel_xl.workbook.contract import TABLE_REPS
    from funnel_xl.workbook.file_adapter import FileWorkbook

    with FileWorkbook(workbook, quiet=True) as book:
        reps = book.read_rows(TABLE_REPS)
        row = int(reps.index[reps["rep"] == "周磊"][0])
        book.update_cells(TABLE_REPS, {(row, "rep"): "周磊\x07"})
        book.save()
    for _ in range(2):
        assert run("recalc", str(workbook), "--as-of", AS_OF, "--json") == 0
    capsys.readouterr()
    for path in (workbook, backup_path(workbook)):
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                if name.endswith((".xml", ".rels")):
                    ElementTree.fromstring(zf.read(name))
        openpyxl.load_workbook(path, keep_vba=True)


def test_a_workbook_excel_saved_loses_its_calculation_chain_with_its_relationship_and_override(workbook, capsys):
    """Excel's calcChain.xml names formula cells; kept across a rewrite of the sheets it makes Excel repair the file
    ("Removed Records: Formula from /xl/calcChain.xml")."""
    from funnel_xl.workbook.opc import validate_package
    from tests.excel_saved import calc_chain_traces, with_calc_chain

    saved = with_calc_chain(workbook, workbook.with_name("Saved.xlsm"))
    shutil.copy2(history_path(workbook), history_path(saved))
    assert calc_chain_traces(saved)
    assert run("recalc", str(saved), "--as-of", AS_OF, "--json") == 0
    assert calc_chain_traces(saved) == [] and validate_package(saved) == []


def test_text_typed_on_an_output_sheet_is_reported_with_the_backup_that_keeps_it(workbook, capsys):
    set_cell(workbook, sheet_name("funnel"), 80, 1, "我的备注")
    assert run("recalc", str(workbook), "--as-of", AS_OF, "--json") == 0
    err = capsys.readouterr().err
    assert err.strip() == "funnel-xl: " + label("out.user_content").format(sheet=sheet_name("funnel"),
                                                                        kept=backup_path(workbook).name)


def test_escape_sequences_in_cells_never_reach_the_terminal(workbook, capsys):
    """A rep's name carrying ESC sequences as Excel stores them (_x001B_), a C1 CSI and a right-to-left override."""
    from funnel_xl.workbook.contract import TABLE_REPS
    from funnel_xl.workbook.file_adapter import FileWorkbook

    hostile = "周磊_x001B_]0;pwned_x0007__x001B_[2J\x9b31m\u202e"
    with FileWorkbook(workbook, quiet=True) as book:
        reps = book.read_rows(TABLE_REPS)
        row = int(reps.index[reps["rep"] == "周磊"][0])
    set_cell(workbook, sheet_name("reps"), row, 1, hostile)
    with FileWorkbook(workbook, read_only=True, quiet=True) as book:
        assert "\x1b]0;pwned" in book.read_rows(TABLE_REPS).loc[row, "rep"]  # the reader decodes Excel's escape
    assert run("recalc", str(workbook), "--as-of", AS_OF) == 0
    out = capsys.readouterr()
    shown = out.out + out.err
    assert "周磊" in shown and "\x1b" not in shown and "\x07" not in shown and "\x9b" not in shown
    assert "\u202e" not in shown
    assert "\\u001b" in shown  # shown as text, so the reader still sees that something odd was there


# -- build-workbook over a master ----------------------------------------------------------------------------------

def test_build_refuses_to_replace_a_master_holding_a_teams_data(workbook, capsys):
    from funnel_xl.workbook.contract import TABLE_OPPORTUNITIES
    from funnel_xl.workbook.file_adapter import FileWorkbook

    with FileWorkbook(workbook, quiet=True) as book:
        rows = book.read_rows(TABLE_OPPORTUNITIES)
        book.update_cells(TABLE_OPPORTUNITIES, {(int(rows.index[0]), "notes"): "团队自己的记录"})
        book.save()
    assert run("recalc", str(workbook), "--as-of", AS_OF, "--json") == 0
    before, dates = workbook.read_bytes(), snapshot_dates(workbook)
    capsys.readouterr()

    assert run("build-workbook", "-o", str(workbook)) == 1
    err = one_line(capsys)
    assert "holds data" in err and "tblOpportunities" in err and "--force" in err
    assert workbook.read_bytes() == before and snapshot_dates(workbook) == dates

    assert run("build-workbook", "-o", str(workbook), "--force") == 0
    assert backup_path(workbook).read_bytes() == before       # the team's workbook is kept
    assert snapshot_dates(workbook) == dates                    # and its history is left alone
    assert AS_OF in dates


def test_build_over_its_own_unchanged_output_needs_no_force(sample_master, tmp_path, capsys):
    target = tmp_path / "Funnel.xlsm"
    shutil.copy2(sample_master, target)
    shutil.copy2(history_path(sample_master), history_path(target))
    assert run("build-workbook", "-o", str(target)) == 0
    assert target.read_bytes() == sample_master.read_bytes()


# -- returned forms: what was already handled, kept as tests -----------------------------------------------------

@pytest.fixture
def returned(tmp_path, workbook):
    """The master's forms for 李强 (the first forms write its key), and an empty inbox."""
    from funnel_xl.cli.forms import open_master
    from funnel_xl.outputs import Folder
    from funnel_xl.services.forms import generate_forms

    with open_master(workbook) as book:
        (form,) = generate_forms(book, Folder(tmp_path / "forms"), rep="李强")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    return form, inbox


def _repacked(form: Path, inbox: Path, name: str, change) -> Path:
    """The form with its zip members changed by ``change(members) -> members``."""
    with zipfile.ZipFile(form) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, data in change(members).items():
            zf.writestr(n, data)
    (inbox / name).write_bytes(buf.getvalue())
    return inbox / name


def _collect(workbook: Path, inbox: Path, capsys) -> str:
    before = workbook.read_bytes()
    assert run("collect", str(workbook), str(inbox)) == 0
    out = capsys.readouterr().out
    # Every file is accounted for: merged (the workbook changed), refused or skipped, each said in the summary.
    assert workbook.read_bytes() != before or any(label(f"collect_summary.{k}") in out for k in ("refused", "skipped"))
    return out


def refused_line(name: str) -> str:
    """The start of a refused file's line in collect's summary."""
    return "  " + label("collect_summary.file_line").format(file=name, reason="")


@pytest.mark.office_invalid("the test breaks a package on purpose")
def test_a_zip_bomb_is_refused(workbook, returned, capsys):
    form, inbox = returned
    _repacked(form, inbox, "bomb.xlsx", lambda m: {**m, "xl/media/big.bin": b"\0" * 50_000_000})
    assert refused_line("bomb.xlsx") in _collect(workbook, inbox, capsys)


HOSTILE_XML = {
    "entity bomb": b'<?xml version="1.0"?><!DOCTYPE s [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
                   b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]><sst><si><t>&c;</t></si></sst>',
    "external entity": b'<?xml version="1.0"?><!DOCTYPE s [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                       b'<sst><si><t>&x;</t></si></sst>',
}


@pytest.mark.parametrize("case", sorted(HOSTILE_XML))
def test_hostile_xml_in_a_returned_form_is_refused_and_never_expanded(workbook, returned, capsys, case):
    form, inbox = returned
    _repacked(form, inbox, "hostile.xlsx", lambda m: {**m, "xl/sharedStrings.xml": HOSTILE_XML[case]})
    out = _collect(workbook, inbox, capsys)
    assert refused_line("hostile.xlsx") + label("form.package.unsafe").format(file="hostile.xlsx") in out
    assert "root:" not in out


def test_a_member_named_to_climb_out_of_the_package_is_never_followed(workbook, returned, capsys):
    form, inbox = returned
    _repacked(form, inbox, "climb.xlsx", lambda m: {**m, "../../../../tmp/funnel_xl_escaped.txt": b"gotcha"})
    out = _collect(workbook, inbox, capsys)
    assert not Path("/tmp/funnel_xl_escaped.txt").exists()
    assert "climb.xlsx" in out


def test_a_stale_form_is_a_conflict_and_never_merged_over_newer_data(workbook, returned, capsys):
    form, inbox = returned
    fill_notes(form, inbox / "li.xlsx", "OPP-1001", "销售的旧看法")
    from funnel_xl.workbook.contract import TABLE_OPPORTUNITIES
    from funnel_xl.workbook.file_adapter import FileWorkbook

    with FileWorkbook(workbook, quiet=True) as book:
        rows = book.read_rows(TABLE_OPPORTUNITIES)
        book.update_cells(TABLE_OPPORTUNITIES, {(int(rows.index[rows["id"] == "OPP-1001"][0]), "notes"): "经理的新记录"})
        book.save()
    out = _collect(workbook, inbox, capsys)
    assert label("collect_summary.conflicts") in out
    with FileWorkbook(workbook, read_only=True, quiet=True) as book:
        rows = book.read_rows(TABLE_OPPORTUNITIES)
        assert rows.loc[rows["id"] == "OPP-1001", "notes"].iloc[0] == "经理的新记录"


def test_the_same_form_returned_twice_is_merged_once(workbook, returned, capsys):
    form, inbox = returned
    fill_notes(form, inbox / "li.xlsx", "OPP-1001", "已补充资料")
    shutil.copy2(inbox / "li.xlsx", inbox / "li (2).xlsx")
    assert run("collect", str(workbook), str(inbox), "--json") == 0
    assert '"merged": 1' in capsys.readouterr().out
