"""The lock of a read-modify-write: one funnel-xl run at a time writes a workbook.

A lock file beside the workbook (``.Funnel.xlsm.funnel-xl.lock``) is held with an OS lock (``flock`` on POSIX,
``msvcrt.locking`` on Windows) for the whole read-modify-write, and names its holder (pid, host, command, since).
The OS lets go of the lock when its process ends, however it ends (a kill -9 included), so a lock is never
stale; the file a killed run leaves is simply taken over. A second run waits a bounded time (``LOCK_WAIT``
seconds, or ``FUNNEL_XL_LOCK_WAIT``), then refuses in one line naming the holder.

Within one process the lock is re-entrant: a door and the build it calls may open the same workbook twice.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import sys
import time
import weakref
from dataclasses import dataclass
from pathlib import Path

from funnel_xl.errors import WorkbookBusyError

LOCK_WAIT = 30.0                 # seconds a run waits for another run's lock before it refuses
LOCK_WAIT_ENV = "FUNNEL_XL_LOCK_WAIT"
_POLL = 0.05
_WINDOWS_LOCK_OFFSET = 1 << 20   # msvcrt locks bytes: one far past the holder text, which others still read

_command = Path(sys.argv[0]).name or "funnel-xl"
_held: dict[Path, _Held] = {}


def set_command(command: str) -> None:
    """What a lock's holder is doing, as its line names it ("funnel-xl collect"); the command line sets it."""
    global _command
    _command = command


def excel_lock(path: Path) -> Path | None:
    """Excel's owner file ('~$' + name; for long names Excel drops the first two characters) if present: the
    workbook is open in Excel, which will write it again, so the tool must not."""
    for candidate in (path.with_name("~$" + path.name), path.with_name("~$" + path.name[2:])):
        if candidate.exists():
            return candidate
    return None


def lock_path(workbook: Path) -> Path:
    return workbook.with_name(f".{workbook.name}.funnel-xl.lock")


@dataclass(frozen=True)
class Holder:
    """Who holds a workbook's lock, as its lock file says."""

    pid: int
    host: str
    command: str
    since: str

    def describe(self) -> str:
        return f"{self.command}, pid {self.pid} on {self.host}, since {self.since}"

    @classmethod
    def read(cls, path: Path) -> Holder | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(int(data["pid"]), str(data["host"]), str(data["command"]), str(data["since"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None


def wait_seconds() -> float:
    try:
        return max(0.0, float(os.environ.get(LOCK_WAIT_ENV, LOCK_WAIT)))
    except ValueError:
        return LOCK_WAIT


class _Held:
    """One process's hold on one lock file: the open descriptor and how many openers share it."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path, self.fd, self.count = path, fd, 1

    def release(self) -> None:
        self.count -= 1
        if self.count:
            return
        _held.pop(self.path, None)
        try:
            if os.name != "nt":
                self.path.unlink(missing_ok=True)  # while still locked, so no one locks a file about to vanish
            _os_unlock(self.fd)
        finally:
            os.close(self.fd)
        if os.name == "nt":
            try:
                self.path.unlink()
            except OSError:
                pass  # another run opened it meanwhile: it is theirs now


class WorkbookLock:
    """The lock of ``workbook``, held until ``release`` (or until the object is garbage, or the process ends)."""

    def __init__(self, workbook: Path, *, wait: float | None = None) -> None:
        self.path = lock_path(Path(workbook).absolute())
        self._held: _Held | None = _acquire(self.path, wait_seconds() if wait is None else wait, Path(workbook).name)
        self._finalizer = weakref.finalize(self, self._held.release)

    def release(self) -> None:
        self._finalizer()

    def __enter__(self) -> WorkbookLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _acquire(path: Path, wait: float, name: str) -> _Held:
    held = _held.get(path)
    if held is not None:
        held.count += 1
        return held
    deadline = time.monotonic() + wait
    while True:
        fd = _try_lock(path)
        if fd is not None:
            held = _held[path] = _Held(path, fd)
            return held
        if time.monotonic() >= deadline:
            holder = Holder.read(path)
            who = holder.describe() if holder else "another funnel-xl run"
            raise WorkbookBusyError(
                f"{name} is being written by another run ({who}); waited {wait:g} s: run again when it has "
                f"finished (the lock is {path.name}, and it lets go by itself when that run ends)")
        time.sleep(_POLL)


def _try_lock(path: Path) -> int | None:
    """The descriptor of the lock file, locked and naming this process; None while another process holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if not _os_lock(fd):
            os.close(fd)
            return None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if not same:  # the holder removed the file as it let go: lock the one that is there now
            _os_unlock(fd)
            os.close(fd)
            return _try_lock(path)
        holder = {"pid": os.getpid(), "host": socket.gethostname(), "command": _command,
                  "since": dt.datetime.now().isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, json.dumps(holder, ensure_ascii=False).encode("utf-8"))
        return fd
    except BaseException:
        os.close(fd)
        raise


if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _os_lock(fd: int) -> bool:
        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _os_unlock(fd: int) -> None:
        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        except OSError:
            pass
else:
    import fcntl

    def _os_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _os_unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
