"""A press of 重新计算预测 as Excel makes it: the first of an Excel session and a later one, in Python time.

With ``Use UDF Server`` = TRUE in the workbook's xlwings.conf sheet, xlwings' VBA runs ``RunPython`` in its COM
server, a Python process started at the first call and kept for the Excel session: the first press pays for
starting Python and importing funnel_xl (pandas, pandera, ...), every later press only for the work. Without it,
every press is a first press. Here xlwings' remote engine stands in for Excel (a real ``xlwings.Book``; the
noncommercial key, benchmarks and tests only): each press opens the built sample as the book a client sends and
runs ``funnel_xl.excel.macros.recalculate_forecast``, the function the button's VBA calls.

    .venv/bin/python -m benchmarks.bench_press [--presses 5]

The first press is timed in a fresh interpreter (``python -c``, the process start included); the later presses in
that same interpreter, one after another. Medians of the later presses are printed, wall time and CPU time (on a
shared machine the CPU time is the steadier figure of the work a press costs).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

_PRESSES = r'''
import json, sys, time
t0 = time.perf_counter()
import datetime as dt
import os
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
from funnel_xl.excel import macros
imported = time.perf_counter() - t0
from tests.remote_book import book_json, remote_xlwings
xw = remote_xlwings()
body = book_json(sys.argv[1])
times, cpu = [], []
for _ in range(int(sys.argv[2])):
    book = xw.Book(json=body)
    xw.Book.caller = classmethod(lambda cls, b=book: b)
    start, start_cpu = time.perf_counter(), time.process_time()
    macros.recalculate_forecast(as_of=dt.date(2026, 11, 20))
    times.append(time.perf_counter() - start)
    cpu.append(time.process_time() - start_cpu)
print(json.dumps({"imports": imported, "presses": times, "cpu": cpu}))
'''


def measure(workbook: Path, presses: int) -> dict:
    """Run the presses in a fresh interpreter; the wall time of the whole process is the first press's ceiling."""
    import time

    root = Path(__file__).resolve().parents[1]
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _PRESSES, str(workbook), str(presses)], capture_output=True,
                          text=True, cwd=root, check=True)
    wall = time.perf_counter() - start
    found = json.loads(done.stdout.strip().splitlines()[-1])
    return {"process": wall, **found}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--presses", type=int, default=5)
    args = p.parse_args(argv)
    from funnel_xl.services.build import build_workbook

    with tempfile.TemporaryDirectory(prefix="bench_press_") as tmp:
        workbook = build_workbook(Path(tmp) / "Funnel.xlsm", data="sample")
        r = measure(workbook, args.presses)
    first = r["imports"] + r["presses"][0]
    later = statistics.median(r["presses"][1:]) if len(r["presses"]) > 1 else float("nan")
    print(f"first press (UDF server starting, or every press without it): {first:.2f} s of Python "
          f"({r['imports']:.2f} s importing funnel_xl, {r['presses'][0]:.2f} s the press)")
    later_cpu = statistics.median(r["cpu"][1:]) if len(r["cpu"]) > 1 else float("nan")
    print(f"later press (UDF server running): {later:.3f} s median of {len(r['presses']) - 1} "
          f"({later_cpu:.3f} s of CPU: the wall time grows when other work shares the cores)")
    print(f"whole process (interpreter start, imports, {len(r['presses'])} presses): {r['process']:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
