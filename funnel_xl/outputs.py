"""Where the use cases put what is not the master: form and quota workbooks, the values-only export, the import's
problem list. The use cases hand them to an ``OutputSink``; ``Folder`` writes them into a folder on disk, and the
tests' in-memory sink keeps them as data.

A sink rather than returned data: form workbooks are written one by one (with a progress line, optionally in a
process pool), so a thousand forms never sit in memory together, and both doors (command line, buttons) get the
same writing without repeating it.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from funnel_xl.domain.methodology import Methodology
from funnel_xl.errors import InputError
from funnel_xl.forms.activity import ActivitySheet
from funnel_xl.forms.model import FormData, QuotaData
from funnel_xl.workbook.lock import excel_lock

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class FormWorkbook:
    """One workbook to send a rep: a form sheet per opportunity (none for a quota workbook), the week's activity
    sheet, then the quota sheet."""

    name: str
    forms: list[FormData]
    quota: QuotaData | None
    methodology: Methodology
    language: str
    as_of: dt.date
    activity: ActivitySheet | None = None

    @property
    def units(self) -> int:
        """What progress counts: its forms, or the workbook itself when it holds none."""
        return max(1, len(self.forms))


class OutputSink(Protocol):
    def form_workbooks(self, books: list[FormWorkbook], *, workers: int = 1,
                       progress: Progress | None = None) -> list[Path]:
        """Write each workbook; ``progress(done, total, name)`` counts units (see ``FormWorkbook.units``)."""

    def write(self, name: str, data: bytes) -> Path:
        """Write one file (left untouched when it already holds ``data``)."""

    def remove(self, name: str) -> None:
        """Remove a file this sink wrote before, if it is there (a stale list must not mislead)."""


class Folder:
    """A folder on disk (created on the first write). Files are written to a temporary name, then renamed."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def _target(self, name: str) -> Path:
        target = self.path / name
        if excel_lock(target) is not None:
            raise InputError(f"{target.name} is open in Excel: close it and run again")
        return target

    def form_workbooks(self, books: list[FormWorkbook], *, workers: int = 1,
                       progress: Progress | None = None) -> list[Path]:
        jobs = [(self._target(b.name), b) for b in books]
        total = sum(b.units for b in books)
        done, written = 0, []
        for book, path in zip(books, _written(jobs, workers)):
            done += book.units
            written.append(path)
            if progress:
                progress(done, total, path.name)
        return written

    def write(self, name: str, data: bytes) -> Path:
        target = self._target(name)
        if target.is_file() and target.read_bytes() == data:
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            tmp.write_bytes(data)
            tmp.replace(target)
        finally:
            tmp.unlink(missing_ok=True)
        return target

    def remove(self, name: str) -> None:
        (self.path / name).unlink(missing_ok=True)


def _written(jobs: list[tuple[Path, FormWorkbook]], workers: int):
    """The written paths in job order, as each is done; in a process pool when ``workers`` > 1."""
    if workers > 1 and len(jobs) > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as pool:
            yield from pool.map(_write_form_workbook, jobs)
    else:
        yield from map(_write_form_workbook, jobs)


def _write_form_workbook(job: tuple[Path, FormWorkbook]) -> Path:
    """One workbook (a module-level function, so a process pool can run it)."""
    from funnel_xl.forms.generate import write_form_workbook

    path, b = job
    return write_form_workbook(path, b.forms, b.methodology, b.language, b.as_of, b.quota, activity=b.activity)
