"""The one save path of every command that writes a workbook: a crash at any instant leaves a whole workbook.

``commit`` writes the new file to a temporary name beside the target (with the old file's mode), forces it to
disk, keeps the old file as ``<name>.bak.<ext>`` (a hard link, or a copy forced to disk, under a temporary name
renamed into place), lets a transaction that goes with the workbook (the history's) commit, and only then
renames the new file over the old one. Temporary files are removed on every exit, and by the next run
(``sweep``) when a kill left one. ``check_writable`` refuses a read-only workbook or folder before any work,
and ``WriteError`` turns a full disk or a refused write into one line saying what to do.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ContextManager

from funnel_xl.errors import WorkbookLockedError, WriteError
from funnel_xl.workbook.lock import WorkbookLock, excel_lock

_CAUSES = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
}


def backup_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.bak{path.suffix}")


def temp_path(target: Path, kind: str = "tmp") -> Path:
    """A hidden temporary name beside ``target`` that names this process (``.Funnel.xlsm.4242.tmp``)."""
    return target.with_name(f".{target.name}.{os.getpid()}.{kind}")


def _leftover(name: str) -> re.Pattern:
    return re.compile(rf"^\.{re.escape(name)}\.\d+\.(tmp|build\b.*)$")


def sweep(target: Path) -> list[Path]:
    """Remove the temporary files a killed run left beside ``target`` and its backup (call with the lock held:
    then no other run is writing them). Returns what was removed."""
    patterns = [_leftover(target.name), _leftover(backup_path(target).name)]
    removed = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    for entry in entries:
        if any(p.match(entry.name) for p in patterns):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def prepare_write(target: Path, source: Path | None = None) -> list[WorkbookLock]:
    """Everything a read-modify-write does before its first read: refuse a ``target`` open in Excel (reading the
    saved file of a ``source`` Excel holds is safe, writing over it is not) or read-only (or its folder), take the
    lock of ``target`` and of the ``source`` it is made from (in one order, so two runs never deadlock), remove
    what a killed run left beside ``target``. Returns the locks; release them when the write is done."""
    books = tuple(dict.fromkeys(p for p in (source, target) if p is not None))
    owner = excel_lock(target)
    if owner is not None:
        raise WorkbookLockedError(f"{target.name} is open in Excel (lock file {owner.name} beside it): close it "
                                  f"in Excel and run again")
    check_writable(target)
    locks: list[WorkbookLock] = []
    try:
        for book in sorted(books, key=lambda p: str(p.absolute())):
            locks.append(WorkbookLock(book))
    except BaseException:
        for held in locks:
            held.release()
        raise
    sweep(target)
    return locks


def _read_only(path: Path) -> bool:
    """No write permission, by the access check or by the mode bits (a file or folder marked read-only is treated
    as one even for an administrator, who could otherwise write it)."""
    return not os.access(path, os.W_OK) or not path.stat().st_mode & 0o222


def check_writable(target: Path) -> None:
    """Refuse, before any work, to write ``target`` when it or its folder is read-only."""
    folder = target.parent if str(target.parent) else Path(".")
    if target.exists() and _read_only(target):
        raise WriteError(errno.EACCES, f"{target.name} is read-only: make it writable (uncheck Read-only in its "
                                       f"properties, or chmod u+w) and run again, or write elsewhere with -o")
    if folder.is_dir() and _read_only(folder):
        raise WriteError(errno.EACCES, f"the folder {folder} is read-only: the new workbook and its backup are "
                                       f"written beside the old one, so make the folder writable or use -o")


@contextlib.contextmanager
def write_errors(target: Path) -> Iterator[None]:
    """An OSError while writing ``target`` as one ``WriteError`` line (cause, and that nothing was replaced)."""
    try:
        yield
    except WriteError:
        raise
    except OSError as exc:
        cause = _CAUSES.get(exc.errno, exc.strerror or type(exc).__name__)
        raise WriteError(exc.errno, f"cannot write {target.name}: {cause} ({exc.strerror or exc}); nothing was "
                                    f"replaced: free some space or fix the permissions, then run again") from exc


def fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def fsync_dir(folder: Path) -> None:
    """Make renames in ``folder`` durable (POSIX; Windows has no directory handles to sync)."""
    if os.name == "nt":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _via_temporary(target: Path, fill: Callable[[Path], None]) -> Path:
    """``target`` written whole or not at all: ``fill`` writes a temporary name beside it, renamed over it."""
    tmp = temp_path(target)
    try:
        fill(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _copy_to_disk(source: Path, target: Path) -> None:
    shutil.copyfile(source, target)
    fsync_file(target)


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # a file system without hard links (FAT, some shares): copy and force it to disk
        _copy_to_disk(source, target)


def keep_backup(target: Path) -> Path:
    """``target`` kept as its backup, crash-safely: a hard link (or a copy forced to disk) under a temporary
    name, renamed over the previous backup. The old backup stays whole until the rename."""
    return _via_temporary(backup_path(target), lambda tmp: _link_or_copy(target, tmp))


def copy_file(source: Path, target: Path) -> Path:
    """``source`` copied to ``target`` through a temporary file forced to disk, so ``target`` is whole or absent."""
    with write_errors(target):
        return _via_temporary(target, lambda tmp: _copy_to_disk(source, tmp))


def commit(target: Path, write: Callable[[Path], None], *, alongside: ContextManager[None] | None = None,
           backup: bool = True) -> Path | None:
    """Replace (or create) ``target`` with what ``write(path)`` writes, atomically; returns the backup's path.

    ``alongside`` is a transaction that goes with the workbook (the history's staged save): it commits after the
    new file and the backup are on disk and before the rename, so a workbook never stands without its history
    (a crash in between leaves the old workbook with the new history, which the next run overwrites).
    """
    tmp = temp_path(target)
    kept = None
    try:
        with write_errors(target):
            mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else None
            with alongside or contextlib.nullcontext():
                write(tmp)
                if mode is not None:
                    os.chmod(tmp, mode)
                fsync_file(tmp)
                if backup and target.exists():
                    kept = keep_backup(target)
            os.replace(tmp, target)
            fsync_dir(target.parent)
    finally:
        tmp.unlink(missing_ok=True)
    return kept
