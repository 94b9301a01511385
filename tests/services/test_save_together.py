"""A recalculation commits the workbook and that day's snapshot together: the snapshot before the new workbook
replaces the old one, and neither when the save fails (a full disk, a history another program holds)."""

from __future__ import annotations

import datetime as dt
import errno
import sqlite3

import pytest

from funnel_xl.errors import HistoryError, WriteError
from funnel_xl.history import SnapshotStore, history_path
from funnel_xl.services.recalculate import recalculate
from funnel_xl.workbook import file_adapter, saving
from funnel_xl.workbook.file_adapter import FileWorkbook

NEXT_WEEK = dt.date(2026, 11, 27)


def snapshot_dates(workbook) -> list[str]:
    with sqlite3.connect(history_path(workbook)) as db:
        return [r[0] for r in db.execute("SELECT snapshot_date FROM snapshot ORDER BY 1")]


def recalc(workbook) -> None:
    with FileWorkbook(workbook, quiet=True) as book, SnapshotStore.for_workbook(workbook) as store:
        recalculate(book, NEXT_WEEK, history=store)


def test_the_snapshot_is_committed_before_the_new_workbook_replaces_the_old_one(workbook, monkeypatch):
    old = workbook.read_bytes()
    found = {}
    real_replace = saving.os.replace

    def replace(src, dst):
        if str(dst) == str(workbook):  # the instant the new workbook takes the old one's place
            found["dates"] = snapshot_dates(workbook)
            found["old"] = workbook.read_bytes() == old
        real_replace(src, dst)

    monkeypatch.setattr(saving.os, "replace", replace)
    recalc(workbook)
    assert found == {"dates": snapshot_dates(workbook), "old": True}
    assert NEXT_WEEK.isoformat() in found["dates"]


def test_a_full_disk_leaves_the_workbook_and_its_history_as_they_were(workbook, monkeypatch):
    old, dates = workbook.read_bytes(), snapshot_dates(workbook)

    def disk_full(source, target, *args, **kwargs):
        target.write_bytes(b"PK half a workbook")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(file_adapter, "patch_package", disk_full)
    with pytest.raises(WriteError, match="the disk is full") as failed:
        recalc(workbook)
    assert "nothing was replaced" in str(failed.value) and "\n" not in str(failed.value)
    assert workbook.read_bytes() == old and snapshot_dates(workbook) == dates
    assert not [p for p in workbook.parent.iterdir() if p.name.endswith(".tmp")]


def test_a_history_another_program_holds_leaves_the_workbook_as_it_was(workbook, monkeypatch):
    old = workbook.read_bytes()
    other = sqlite3.connect(history_path(workbook), timeout=0)
    other.execute("BEGIN EXCLUSIVE")
    monkeypatch.setattr(sqlite3, "connect", lambda path, **kw: other.__class__(path, timeout=0.2))
    try:
        with pytest.raises(HistoryError, match="another program") as failed:
            recalc(workbook)
    finally:
        other.rollback()
        other.close()
    assert "the workbook was not changed" in str(failed.value)
    assert workbook.read_bytes() == old
