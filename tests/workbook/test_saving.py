"""The one save path: the backup written whole before the workbook is replaced, nothing half-written left by an
interruption, leftovers of a killed run removed by the next, the file mode kept, read-only refused up front."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from funnel_xl.errors import WriteError
from funnel_xl.workbook import saving
from funnel_xl.workbook.contract import sheet_name
from funnel_xl.workbook.file_adapter import FileWorkbook
from funnel_xl.workbook.lock import lock_path
from funnel_xl.workbook.model import OutputSheet
from funnel_xl.workbook.saving import backup_path


@pytest.fixture
def book(built_sample, tmp_path) -> Path:
    """A private copy of the sample workbook with a backup beside it (as after an earlier save)."""
    path = tmp_path / "Funnel.xlsm"
    shutil.copy2(built_sample, path)
    backup_path(path).write_bytes(b"the previous backup")
    return path


def save_a_sheet(path: Path, text: str = "新的内容") -> None:
    with FileWorkbook(path, quiet=True) as wb:
        sheet = OutputSheet("problems")
        sheet.put(1, 1, text)
        wb.write_sheets({sheet_name("problems"): sheet})
        wb.save()


def temporary_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and not p.name.endswith(".lock"))


def test_a_save_keeps_the_old_workbook_as_its_backup_and_replaces_it_whole(book):
    old = book.read_bytes()
    save_a_sheet(book)
    assert backup_path(book).read_bytes() == old and book.read_bytes() != old
    assert temporary_files(book.parent) == [] and not lock_path(book.absolute()).exists()


def test_the_backup_is_in_place_before_the_workbook_is_replaced(book, monkeypatch):
    old = book.read_bytes()
    seen = []
    real_replace = os.replace

    def replace(src, dst):
        seen.append((Path(dst).name, backup_path(book).read_bytes() == old))
        real_replace(src, dst)

    monkeypatch.setattr(saving.os, "replace", replace)
    save_a_sheet(book)
    assert seen == [("Funnel.bak.xlsm", False), ("Funnel.xlsm", True)]


def test_an_interruption_while_the_backup_is_copied_leaves_the_workbook_and_the_previous_backup_whole(book,
                                                                                                      monkeypatch):
    """Where hard links are not to be had the backup is a copy: cut it half way (as a kill would)."""
    old = book.read_bytes()

    def no_link(src, dst):
        raise OSError("hard links not supported here")

    def half_a_copy(src, dst):
        Path(dst).write_bytes(Path(src).read_bytes()[: len(old) // 2])
        raise KeyboardInterrupt

    monkeypatch.setattr(saving.os, "link", no_link)
    monkeypatch.setattr(saving.shutil, "copyfile", half_a_copy)
    with pytest.raises(KeyboardInterrupt):
        save_a_sheet(book)
    assert book.read_bytes() == old and backup_path(book).read_bytes() == b"the previous backup"
    assert temporary_files(book.parent) == []


def test_what_a_killed_run_left_is_removed_by_the_next_run_and_nothing_else(book):
    left = [f".{book.name}.4242.tmp", f".{backup_path(book).name}.4242.tmp", f".{book.name}.4242.build.xlsm"]
    for name in left:
        (book.parent / name).write_bytes(b"half a workbook")
    mine = book.parent / f".{book.name}.notes"
    mine.write_text("not the tool's")
    with FileWorkbook(book, quiet=True):
        assert not any((book.parent / name).exists() for name in left)
    assert mine.exists()


def test_a_save_keeps_the_file_mode_of_the_workbook(book):
    book.chmod(0o640)
    save_a_sheet(book)
    assert stat.S_IMODE(book.stat().st_mode) == 0o640


def test_a_read_only_workbook_is_refused_before_any_work_and_stays_as_it_was(book):
    book.chmod(0o444)
    old = book.read_bytes()
    with pytest.raises(WriteError, match="Funnel.xlsm is read-only") as refused:
        FileWorkbook(book, quiet=True)
    assert "\n" not in str(refused.value) and "-o" in str(refused.value)
    assert book.read_bytes() == old and stat.S_IMODE(book.stat().st_mode) == 0o444
    assert backup_path(book).read_bytes() == b"the previous backup" and not lock_path(book.absolute()).exists()


def test_a_workbook_in_a_read_only_folder_is_refused_before_any_work(book):
    book.parent.chmod(0o555)
    try:
        with pytest.raises(WriteError, match="is read-only"):
            FileWorkbook(book, quiet=True)
    finally:
        book.parent.chmod(0o755)
    assert temporary_files(book.parent) == [] and not lock_path(book.absolute()).exists()


def test_a_read_only_workbook_can_still_be_read(book):
    book.chmod(0o444)
    with FileWorkbook(book, read_only=True, quiet=True) as wb:
        assert sheet_name("problems") in wb.sheet_names()


def test_a_read_only_backup_left_by_an_earlier_tool_does_not_stop_the_next_save(book):
    backup_path(book).chmod(0o444)
    old = book.read_bytes()
    save_a_sheet(book)
    assert backup_path(book).read_bytes() == old
