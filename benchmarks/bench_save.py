"""What the one save path costs a recalculation: the lock, the checks, the fsyncs, the backup, the fingerprints.

Runs the recalculation in process on a fresh copy of the cached synthetic workbook (``synth.py``) and its
history, ``--runs`` times, timing each part of the save path by wrapping the functions it calls (the product code
is untouched), and prints the medians beside the whole save and the whole recalculation. For comparison it also
times what the backup used to cost (``shutil.copy2`` of the workbook, forced to disk):

    .venv/bin/python -m benchmarks.bench_save 100000
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import shutil
import statistics
import sys
import time

from benchmarks import synth
from benchmarks.bench_recalc import _timed, fresh_copy

def parts() -> list[tuple[str, object, str]]:
    """(what, where it is looked up, its name): each part of the save path, wrapped where its caller finds it."""
    from funnel_xl.history.sqlite import SnapshotStore
    from funnel_xl.workbook import file_adapter, fingerprint, lock, saving

    return [
        ("lock (take)", saving, "WorkbookLock"),
        ("lock (let go)", lock._Held, "release"),
        ("writable check", saving, "check_writable"),
        ("sweep leftovers", saving, "sweep"),
        ("fingerprints", fingerprint, "fingerprint"),
        ("write new file", file_adapter, "patch_package"),
        ("fsync new file", saving, "fsync_file"),
        ("backup (link)", saving, "keep_backup"),
        ("fsync folder", saving, "fsync_dir"),
        ("history save", SnapshotStore, "_write"),
        ("whole save", file_adapter.FileWorkbook, "save"),
    ]


def one_run(path, as_of: dt.date) -> dict[str, float]:
    from funnel_xl.history import SnapshotStore
    from funnel_xl.services.recalculate import recalculate
    from funnel_xl.workbook.file_adapter import FileWorkbook

    copy = fresh_copy(path)
    bucket: dict[str, float] = {}
    patched = [(owner, name, getattr(owner, name), part) for part, owner, name in parts()]
    try:
        for owner, name, original, part in patched:
            setattr(owner, name, _timed(bucket, part, original))
        start = time.perf_counter()
        with FileWorkbook(copy, quiet=True) as book, SnapshotStore.for_workbook(copy) as store:
            recalculate(book, as_of, history=store)
        bucket["whole recalculation"] = time.perf_counter() - start
    finally:
        for owner, name, original, _ in patched:
            setattr(owner, name, original)
    start = time.perf_counter()
    shutil.copy2(copy, copy.with_name("old-style.bak.xlsm"))
    with open(copy.with_name("old-style.bak.xlsm"), "rb") as fh:
        os.fsync(fh.fileno())
    bucket["old backup (copy2 + fsync)"] = time.perf_counter() - start
    return bucket


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("rows", type=int, nargs="?", default=100_000)
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args(argv)
    path = synth.build(args.rows, log=lambda m: print("  " + m, file=sys.stderr))
    one_run(path, synth.AS_OF)  # warm the imports and the page cache
    runs = [one_run(path, synth.AS_OF) for _ in range(args.runs)]
    print(f"the save path of a recalculation of {args.rows:,} rows, medians of {args.runs} runs (ms):")
    for part in [p for p, _, _ in parts()] + ["whole recalculation", "old backup (copy2 + fsync)"]:
        values = [r.get(part, 0.0) * 1000 for r in runs]
        print(f"  {part:<28} {statistics.median(values):9.1f}   (min {min(values):.1f}, max {max(values):.1f})")
    size = path.stat().st_size / 1e6
    print(f"  workbook size {size:.1f} MB")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
