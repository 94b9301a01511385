"""Nothing lost when a recalculation is killed at any instant, and nothing lost when two runs meet.

The crash test kills ``funnel-xl recalc`` with SIGKILL at bounded random points, a few dozen times, and after
every kill checks the workbook, its backup and its history: both workbooks open with the VBA project and every
row of 商机, the history passes SQLite's integrity check, and a workbook that shows the run's report date has
that date's snapshot. The runs are forked from a process that has already imported the tool (as a shell would
start them, minus the second and a half of imports), so the kills land in the work itself; a third of them fall
anywhere in the run, the rest in the stretch where the new file, the backup and the history are written.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import python_calamine

from funnel_xl.history import history_path
from funnel_xl.labels import label
from funnel_xl.workbook.contract import TABLE_OPPORTUNITIES, opportunity_header, sheet_name
from funnel_xl.workbook.file_adapter import FileWorkbook
from funnel_xl.workbook.layout import STAMP_ROW
from funnel_xl.workbook.lock import LOCK_WAIT_ENV
from funnel_xl.workbook.saving import backup_path
from tests.cli.conftest import WRITES, write_command
from tests.services.conftest import run_cli

KILLS = 36
SEED = int(os.environ.get("FUNNEL_XL_CRASH_SEED", "20261127"))
FIRST_DAY = dt.date(2026, 11, 21)

# Imports what a recalculation imports, then for each command line on stdin forks a child that runs it (its
# output to /dev/null), prints the child's pid, waits for it and prints its wait status.
ZYGOTE = """
import json, os, sys
from funnel_xl import cli
import funnel_xl.services.recalculate, funnel_xl.textreport, funnel_xl.workbook.file_adapter, funnel_xl.history
for line in sys.stdin:
    pid = os.fork()
    if pid == 0:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        try:
            code = cli.main(json.loads(line))
        except BaseException:
            code = 99
        os._exit(code or 0)
    print(pid, flush=True)
    print(os.waitpid(pid, 0)[1], flush=True)
"""


class Zygote:
    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", ZYGOTE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)

    def start(self, argv: list[str]) -> int:
        self.proc.stdin.write(json.dumps(argv) + "\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def status(self) -> int:
        return int(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def wait_for_save(workbook: Path, pid: int) -> float | None:
    """Until the run ``pid`` starts writing its new file (its temporary file appears): that moment, or None when the
    run ended first."""
    tmp = workbook.with_name(f".{workbook.name}.{pid}.tmp")
    while alive(pid):
        if tmp.exists():
            return time.monotonic()
        time.sleep(0.0005)
    return None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def opportunity_ids(path: Path) -> set[str]:
    with FileWorkbook(path, read_only=True, quiet=True) as book:
        column = book.read_table(TABLE_OPPORTUNITIES).frame[opportunity_header("id")]
    return set(column.dropna().astype(str))


def report_date(path: Path) -> str:
    """The report date the workbook's sheets were last calculated for, read from the stamp on 预测."""
    rows = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet_name("forecast")).to_python()
    # Every placeholder of the stamp matches anything, but the report date, which is read.
    pattern = re.sub(r"\\\{(\w+)\\\}", lambda m: "(?P<as_of>[0-9-]+)" if m[1] == "as_of" else ".*?",
                     re.escape(label("out.stamp")))
    return re.fullmatch(pattern, str(rows[STAMP_ROW - 1][0])).group("as_of")


def check_whole(path: Path, ids: set[str], what: str) -> None:
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None, f"{what}: a damaged member"
        assert "xl/vbaProject.bin" in zf.namelist(), f"{what}: the VBA project is gone"
    assert opportunity_ids(path) == ids, f"{what}: rows of 商机 lost"


def check_after_kill(workbook: Path, ids: set[str], day: dt.date, trial: str) -> None:
    check_whole(workbook, ids, f"{trial}: the workbook")
    if backup_path(workbook).exists():
        check_whole(backup_path(workbook), ids, f"{trial}: the backup")
    with sqlite3.connect(history_path(workbook)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok", f"{trial}: the history is damaged"
        dates = {r[0] for r in db.execute("SELECT snapshot_date FROM snapshot")}
    if report_date(workbook) == day.isoformat():
        assert day.isoformat() in dates, f"{trial}: the workbook was saved without that day's snapshot"


def test_a_recalculation_killed_at_any_point_leaves_workbook_backup_and_history_whole(workbook):
    ids = opportunity_ids(workbook)
    rng = random.Random(SEED)
    zygote = Zygote()
    try:
        # One run to time: how long a recalculation takes, and how long its save (from the new file on) lasts.
        pid = zygote.start(["recalc", str(workbook), "--as-of", FIRST_DAY.isoformat(), "--json"])
        started = time.monotonic()
        saving_at = wait_for_save(workbook, pid)
        whole = time.monotonic() - started
        assert zygote.status() == 0 and saving_at is not None
        save_stretch = whole - (saving_at - started)
        killed = 0
        for trial in range(KILLS):
            day = FIRST_DAY + dt.timedelta(days=trial + 1)
            pid = zygote.start(["recalc", str(workbook), "--as-of", day.isoformat(), "--json"])
            if trial % 3 == 0:   # anywhere in the run
                delay = rng.uniform(0, whole * 0.9)
                time.sleep(delay)
            else:                # in the save: once the new file is being written
                wait_for_save(workbook, pid)
                delay = rng.uniform(0, save_stretch)
                time.sleep(delay)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            killed += os.WIFSIGNALED(zygote.status())
            check_after_kill(workbook, ids, day, f"seed {SEED}, kill {trial} after {delay:.3f} s")
        assert killed >= KILLS // 2, f"only {killed} of {KILLS} runs were still running when killed"
    finally:
        zygote.close()
    # The next run after all that: it waits for nobody, and removes what the killed runs left.
    done = run_cli("recalc", str(workbook), "--as-of", FIRST_DAY.isoformat(), "--json")
    assert done.returncode == 0, done.stderr
    assert [p.name for p in workbook.parent.iterdir() if p.name.endswith(".tmp")] == []
    check_after_kill(workbook, ids, FIRST_DAY, "the run after")


# -- two runs at once ------------------------------------------------------------------------------------------

def start_cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "funnel_xl.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, LOCK_WAIT_ENV: "120"})


def returned_form(workbook: Path, rep: str, opp: str, notes: str, inbox: Path) -> None:
    """``rep``'s form of ``opp`` filled in with ``notes``, alone in ``inbox``."""
    from tests.forms.formtools import fill_notes, generate_from_file

    (form,) = generate_from_file(workbook, inbox.parent / f"forms-{inbox.name}", rep=rep, opportunity=opp)
    fill_notes(form, inbox / form.name, opp, notes)


def first_open_deal(workbook: Path, rep: str) -> str:
    with FileWorkbook(workbook, read_only=True, quiet=True) as book:
        rows = book.read_rows(TABLE_OPPORTUNITIES)
    return str(rows[(rows["rep"] == rep) & (rows["status"] == "open")]["id"].iloc[0])


@pytest.mark.parametrize("attempt", range(2))
def test_two_collects_at_once_both_merge_and_both_are_logged(workbook, tmp_path, attempt):
    li, wang = first_open_deal(workbook, "李强"), first_open_deal(workbook, "王芳")
    returned_form(workbook, "李强", li, "李强：已补充资料", tmp_path / "a")
    returned_form(workbook, "王芳", wang, "王芳：客户下周签约", tmp_path / "b")
    runs = [start_cli("collect", str(workbook), str(tmp_path / name), "--json") for name in ("a", "b")]
    outs = [(run.wait(timeout=300), *run.communicate()) for run in runs]
    assert [code for code, _, _ in outs] == [0, 0], [err for _, _, err in outs]
    assert [json.loads(out)["merged"] for _, out, _ in outs] == [1, 1]
    with FileWorkbook(workbook, read_only=True, quiet=True) as book:
        rows = book.read_rows(TABLE_OPPORTUNITIES).set_index("id")
        log = book.read_sheet(sheet_name("audit"))
    assert rows.loc[li, "notes"] == "李强：已补充资料" and rows.loc[wang, "notes"] == "王芳：客户下周签约"
    logged = {tuple(r[3:7]) for r in log if r and len(r) > 6}
    assert any(r[0] == li and r[3] == "李强：已补充资料" for r in logged)
    assert any(r[0] == wang and r[3] == "王芳：客户下周签约" for r in logged)


def test_two_recalculations_at_once_run_one_after_the_other(workbook):
    ids = opportunity_ids(workbook)
    days = ["2026-11-27", "2026-12-04"]
    runs = [start_cli("recalc", str(workbook), "--as-of", day, "--json") for day in days]
    codes = [run.wait(timeout=300) for run in runs]
    errs = [run.communicate()[1] for run in runs]
    assert codes == [0, 0], errs
    with sqlite3.connect(history_path(workbook)) as db:
        dates = {r[0] for r in db.execute("SELECT snapshot_date FROM snapshot")}
    assert set(days) <= dates
    check_whole(workbook, ids, "the workbook")
    check_whole(backup_path(workbook), ids, "the backup")
    assert report_date(workbook) in days


def test_a_second_run_that_cannot_wait_refuses_naming_the_first(workbook, tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from funnel_xl.workbook import lock; "
        "lock.set_command('funnel-xl collect'); held = lock.WorkbookLock(Path(sys.argv[1])); "
        "print('held', flush=True); time.sleep(60)"), str(workbook)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        before = workbook.read_bytes()
        refused = subprocess.run([sys.executable, "-m", "funnel_xl.cli", "recalc", str(workbook), "--json"],
                                 capture_output=True, text=True, timeout=120, env={**os.environ, LOCK_WAIT_ENV: "1"})
    finally:
        holder.kill()
        holder.wait()
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1 and f"pid {holder.pid}" in refused.stderr
    assert "funnel-xl collect" in refused.stderr and "waited 1 s" in refused.stderr
    assert workbook.read_bytes() == before


@pytest.mark.parametrize("command", [c for c in WRITES if c != "recalc"])
def test_every_command_that_writes_the_workbook_refuses_while_another_run_holds_it(workbook, command, capsys,
                                                                                    monkeypatch):
    """The one save path: collect, import, upgrade and build over the workbook take the lock recalc takes."""
    from funnel_xl import cli

    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from funnel_xl.workbook import lock; "
        "lock.set_command('funnel-xl recalc'); held = lock.WorkbookLock(Path(sys.argv[1])); "
        "print('held', flush=True); time.sleep(60)"), str(workbook)], stdout=subprocess.PIPE, text=True)
    monkeypatch.setenv(LOCK_WAIT_ENV, "0.2")
    try:
        assert holder.stdout.readline().strip() == "held"
        before = workbook.read_bytes()
        code = cli.main(write_command(command, workbook))
    finally:
        holder.kill()
        holder.wait()
    err = capsys.readouterr().err.splitlines()
    assert code == 1 and f"pid {holder.pid}" in err[-1] and "funnel-xl recalc" in err[-1], err
    assert workbook.read_bytes() == before and not backup_path(workbook).exists()


def test_a_terminated_run_removes_its_temporary_files_and_leaves_the_workbook_whole(workbook):
    """SIGTERM (a shutdown, a CI job cancelled) unwinds like Ctrl+C: exit 130, nothing half-written left behind."""
    ids = opportunity_ids(workbook)
    run = start_cli("recalc", str(workbook), "--as-of", "2026-11-27", "--json")
    seen = wait_for_save(workbook, run.pid)
    run.send_signal(signal.SIGTERM)
    code = run.wait(timeout=120)
    err = run.communicate()[1]
    if seen is None:
        pytest.skip("the run finished before its save could be interrupted")
    assert code in (0, 130), err
    if code == 130:
        assert "interrupted" in err
    assert [p.name for p in workbook.parent.iterdir() if p.name.startswith(".")] == []
    check_whole(workbook, ids, "the workbook")
