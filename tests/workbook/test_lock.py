"""The lock of a read-modify-write: a second run waits a bounded time, then refuses naming the holder; a killed
holder never leaves a lock behind; within one process the lock is re-entrant."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from funnel_xl.errors import WorkbookBusyError
from funnel_xl.workbook.lock import LOCK_WAIT_ENV, WorkbookLock, lock_path, set_command

# A holder in a process of its own: takes the lock of argv[1] as "funnel-xl collect", says so, then sleeps.
HOLDER = """
import sys, time
from pathlib import Path
from funnel_xl.workbook import lock
lock.set_command("funnel-xl collect")
held = lock.WorkbookLock(Path(sys.argv[1]))
print("held", flush=True)
time.sleep(float(sys.argv[2]))
held.release()
"""


@pytest.fixture
def book(tmp_path) -> Path:
    path = tmp_path / "Funnel.xlsm"
    path.write_bytes(b"PK")
    return path


def hold_in_another_process(book: Path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(book), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_run_waits_then_refuses_in_one_line_naming_the_holder(book):
    holder = hold_in_another_process(book, 30)
    try:
        start = time.monotonic()
        with pytest.raises(WorkbookBusyError) as refused:
            WorkbookLock(book, wait=0.5)
        waited = time.monotonic() - start
    finally:
        holder.kill()
        holder.wait()
    message = str(refused.value)
    assert 0.5 <= waited < 5 and "\n" not in message
    assert f"pid {holder.pid}" in message and socket.gethostname() in message and "funnel-xl collect" in message
    assert "since 20" in message and "waited 0.5 s" in message


def test_a_second_run_goes_ahead_as_soon_as_the_first_lets_go(book):
    holder = hold_in_another_process(book, 0.5)
    try:
        with WorkbookLock(book, wait=20):
            assert holder.wait(timeout=20) == 0
    finally:
        holder.kill()


def test_a_holder_killed_with_sigkill_leaves_no_lock_that_stops_the_next_run(book):
    holder = hold_in_another_process(book, 60)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    assert lock_path(book.absolute()).exists()  # the file stays, the OS lock went with the process
    with WorkbookLock(book, wait=0):
        pass
    assert not lock_path(book.absolute()).exists()


def test_the_lock_is_reentrant_within_one_process_and_lets_go_with_its_last_holder(book):
    first = WorkbookLock(book, wait=0)
    second = WorkbookLock(book, wait=0)
    first.release()
    assert lock_path(book.absolute()).exists()
    second.release()
    assert not lock_path(book.absolute()).exists()


def test_a_lock_nobody_releases_lets_go_when_its_holder_object_is_dropped(book):
    WorkbookLock(book, wait=0)  # dropped at once
    proc = subprocess.run([sys.executable, "-c", HOLDER, str(book), "0"], env={**os.environ, LOCK_WAIT_ENV: "0"},
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "held"


def test_the_holder_line_names_the_command_the_command_line_set(book):
    set_command("funnel-xl recalc")
    try:
        with WorkbookLock(book, wait=0):
            assert '"command": "funnel-xl recalc"' in lock_path(book.absolute()).read_text(encoding="utf-8")
    finally:
        set_command(Path(sys.argv[0]).name)
