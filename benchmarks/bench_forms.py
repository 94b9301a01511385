"""Benchmark: generate 1,000 stage-assessment forms from a master with 1,000 open opportunities.

Run: .venv/bin/python -m benchmarks.bench_forms [N]. Prints seconds for the whole use case (read the master,
compute the quota figures, write one workbook per rep), single process and with two worker processes.
Goal (issue 4): under 10 s on this machine.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from funnel_xl.methodologies import load_methodology
from funnel_xl.outputs import Folder
from funnel_xl.sample import SAMPLE_AS_OF, load_sample
from funnel_xl.services.forms import generate_forms
from funnel_xl.workbook.build import write_workbook
from funnel_xl.workbook.file_adapter import FileWorkbook


def big_master(folder: Path, n: int) -> Path:
    """The sample pipeline's valid open rows repeated (with new ids) up to ``n`` open opportunities."""
    sample = load_sample()
    opps = sample.opportunities
    good = opps[(opps["status"] == "open") & opps["rep"].notna() & (opps["close_date"] >= opps["created_date"])]
    rows = pd.concat([good] * (n // len(good) + 1), ignore_index=True).iloc[:n].copy()
    rows["id"] = [f"B-{i:05d}" for i in range(1, n + 1)]
    return write_workbook(folder / "Big.xlsm", lang="zh-CN", methodology=load_methodology("big_project"),
                          opportunities=rows, reps=sample.reps)


def main(n: int = 1000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        master = big_master(tmp, n)
        for workers in (1, 2):
            out = tmp / f"forms{workers}"
            start = time.perf_counter()
            paths = generate_forms(FileWorkbook(master, read_only=True, quiet=True), Folder(out), as_of=SAMPLE_AS_OF,
                                   workers=workers)
            seconds = time.perf_counter() - start
            size = sum(p.stat().st_size for p in paths) / 1e6
            print(f"{n} forms, {len(paths)} workbooks, workers={workers}: {seconds:.2f} s "
                  f"({seconds / n * 1000:.1f} ms per form, {size:.1f} MB)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
