"""The recalculation benchmark (issue 7): headless ``funnel-xl recalc`` against the fastest reader of the same tables.

Every figure is a whole process (interpreter start and imports included), the median of ``--runs`` runs, with the
peak RSS of that one process, read by a small launcher that spawns it (see ``measure``). The recalc runs on a fresh
copy of the workbook and its history sidecar each time (the copy is not timed), so every run sees a year of history
and appends one snapshot. From the repository root, with the project's virtual environment:

    .venv/bin/python -m benchmarks.bench_recalc                      # 1k, 10k, 100k
    .venv/bin/python -m benchmarks.bench_recalc --sizes 1000 300000
    .venv/bin/python -m benchmarks.bench_recalc --profile 100000     # phases and the top 15 of cProfile
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import importlib
import io
import json
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from benchmarks import synth

PYTHON = sys.executable
FUNNEL_XL = str(Path(PYTHON).with_name("funnel-xl"))
RESULTS_DIR = Path(__file__).resolve().parent / "results"
RUN_DIR = synth.CACHE_DIR / "run"
TABLES = ("tblStages", "tblCriteria", "tblMethodology", "tblOpportunities", "tblReps")

# The readers run as their own processes: only the reader's import, then the table reads.
_CALAMINE = """
import sys, python_calamine
book = python_calamine.CalamineWorkbook.from_path(sys.argv[1])
rows = 0
for name in sys.argv[2:]:
    rows += len(book.get_sheet_by_name(name).to_python(skip_empty_area=False))
print(rows)
"""
_FASTEXCEL = """
import sys, fastexcel
reader = fastexcel.read_excel(sys.argv[1])
rows = 0
for table in sys.argv[2:]:
    rows += reader.load_table(table).height
print(rows)
"""

_FASTEXCEL_FRAMES = """
import logging, sys, fastexcel
logging.getLogger("fastexcel").setLevel(logging.ERROR)
reader = fastexcel.read_excel(sys.argv[1])
rows = 0
for table in sys.argv[2:]:
    rows += len(reader.load_table(table, schema_sample_rows=None).to_pandas())
print(rows)
"""


# The measured command is spawned by this launcher, not by the benchmark itself. On Linux a process's peak RSS
# (ru_maxrss) starts at the high-water mark of the image it was forked from, which exec records: a child of the
# benchmark, which builds the workbooks and measures the tables in process, would report the benchmark's own peak
# (3.7 GB at 100k rows) instead of its own. The launcher is a bare interpreter (~10 MB, the floor of every figure), so the grandchild's peak is its
# own, as /usr/bin/time -v reports it. The launcher times the child alone and reports on its last stderr line.
_LAUNCHER = """
import os, sys, time
start = time.perf_counter()
pid = os.posix_spawnp(sys.argv[1], sys.argv[1:], os.environ)
_, status, usage = os.wait4(pid, 0)
sys.stderr.write(f"\\n{os.waitstatus_to_exitcode(status)} {time.perf_counter() - start} {usage.ru_maxrss}\\n")
"""
# ru_maxrss is in kilobytes on Linux, in bytes on macOS.
_MAXRSS_BYTES = 1 if sys.platform == "darwin" else 1024


def measure(cmd: list[str], stdout: Path | None = None) -> tuple[float, float]:
    """Run ``cmd`` to completion: (wall seconds, peak RSS in MB of that process alone). A failure raises."""
    with open(stdout or os.devnull, "wb") as out:
        done = subprocess.run([PYTHON, "-c", _LAUNCHER, *cmd], stdout=out, stderr=subprocess.PIPE, check=False)
    if done.returncode != 0:  # the launcher itself failed: the command could not be started
        raise RuntimeError(f"{' '.join(cmd)} did not start: {done.stderr.decode(errors='replace')[-500:]}")
    stderr, _, figures = done.stderr.rstrip(b"\n").rpartition(b"\n")
    exit_code, wall, maxrss = figures.split()
    if int(exit_code) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({int(exit_code)}): {stderr.decode(errors='replace')[-500:]}")
    return float(wall), int(maxrss) * _MAXRSS_BYTES / 2**20


def table_sheets(path: Path) -> dict[str, str]:
    """Excel table name -> the sheet it sits on."""
    from funnel_xl.workbook.package import PackageIndex

    with zipfile.ZipFile(path) as zf:
        index = PackageIndex.read(zf)
    return {name: index.tables[name].sheet for name in TABLES}


def table_memory_mb(path: Path) -> dict[str, float]:
    """Memory of the tables as DataFrames: the adapter's raw (object) frames, and typed after normalisation."""
    from funnel_xl.workbook.file_adapter import FileWorkbook
    from funnel_xl.workbook.reader import read_inputs
    from funnel_xl.domain.normalize import normalize_opportunities, normalize_reps

    book = FileWorkbook(path, quiet=True)
    raw = sum(book.read_table(t).frame.memory_usage(deep=True).sum() for t in TABLES)
    inputs = read_inputs(book, path.name)
    reps = normalize_reps(inputs.reps, sheet=inputs.rep_sheet, column_labels=inputs.rep_labels)
    opps = normalize_opportunities(inputs.opportunities, inputs.methodology, reps=list(reps.clean["rep"]),
                                   sheet=inputs.opportunity_sheet, column_labels=inputs.opportunity_labels)
    typed = opps.clean.memory_usage(deep=True).sum() + reps.clean.memory_usage(deep=True).sum()
    return {"raw": raw / 2**20, "typed": typed / 2**20}


def fresh_copy(path: Path) -> Path:
    """A copy of the workbook and its history sidecar in the run folder (the recalc writes over it)."""
    from funnel_xl.history import history_path

    shutil.rmtree(RUN_DIR, ignore_errors=True)
    RUN_DIR.mkdir(parents=True)
    copy = RUN_DIR / path.name
    shutil.copyfile(path, copy)
    shutil.copyfile(history_path(path), history_path(copy))
    return copy


def save_results(kind: str, results) -> None:
    """The figures as JSON in benchmarks/results/ (git-ignored), named by kind and time."""
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS_DIR / f"{kind}-{stamp}.json").write_text(json.dumps(results, indent=2), encoding="utf-8")


def median_run(make_cmd, runs: int, check=None) -> dict:
    """Median wall time and the highest peak RSS, over ``runs`` runs of ``make_cmd()``."""
    samples = []
    for _ in range(runs):
        cmd, stdout = make_cmd()
        wall, rss = measure(cmd, stdout)
        if check is not None:
            check(stdout)
        samples.append((wall, rss))
    walls = [w for w, _ in samples]
    return {"s": statistics.median(walls), "all_s": walls, "peak_mb": max(r for _, r in samples)}


def bench_size(n: int, runs: int, as_of: str) -> dict:
    path = synth.build(n, log=lambda m: print("  " + m, file=sys.stderr))
    sheets = table_sheets(path)
    sheet_names = list(dict.fromkeys(sheets.values()))
    load = os.getloadavg()[0]
    calamine = median_run(lambda: ([PYTHON, "-c", _CALAMINE, str(path), *sheet_names], None), runs)
    fastexcel = median_run(lambda: ([PYTHON, "-c", _FASTEXCEL, str(path), *TABLES], None), runs)
    # The same reader into DataFrames, every row deciding a column's type, as the file adapter reads.
    frames = median_run(lambda: ([PYTHON, "-c", _FASTEXCEL_FRAMES, str(path), *TABLES], None), runs)
    stdout = RUN_DIR.parent / f"recalc_{n}.json"

    def recalc_cmd():
        copy = fresh_copy(path)
        return [FUNNEL_XL, "recalc", str(copy), "--as-of", as_of, "--json"], stdout

    def check(out: Path) -> None:
        summary = json.loads(out.read_text(encoding="utf-8"))
        counted = summary["open_count"] + summary["won_count"] + summary["lost_count"] + summary["rejected_count"]
        if counted != n or summary["last_snapshot"] is None:
            raise RuntimeError(f"recalc of {n} rows counted {counted} rows, last snapshot {summary['last_snapshot']}")

    recalc = median_run(recalc_cmd, runs, check)
    memory = table_memory_mb(path)
    reader = min(calamine["s"], fastexcel["s"])
    return {
        "rows": n, "file_mb": path.stat().st_size / 2**20, "load_before": round(load, 2),
        "load_after": round(os.getloadavg()[0], 2),
        "calamine": calamine, "fastexcel": fastexcel, "fastexcel_frames": frames, "reader_s": reader,
        "recalc": recalc, "ratio": recalc["s"] / reader, "ratio_frames": recalc["s"] / frames["s"], "tables_raw_mb": memory["raw"], "tables_typed_mb": memory["typed"],
        "peak_over_raw": recalc["peak_mb"] / memory["raw"],
    }


def print_table(results: list[dict]) -> None:
    head = ("rows", "file MB", "calamine s", "fastexcel s", "fastexcel→frames s (peak MB)", "recalc s", "ratio",
            "ratio vs frames", "peak MB", "tables MB raw/typed", "peak/raw", "recalc s/1k", "load")
    print(" | ".join(head))
    print(" | ".join("---" for _ in head))
    for r in results:
        print(" | ".join([
            f"{r['rows']:,}", f"{r['file_mb']:.1f}", f"{r['calamine']['s']:.2f}", f"{r['fastexcel']['s']:.2f}",
            f"{r['fastexcel_frames']['s']:.2f} ({r['fastexcel_frames']['peak_mb']:.0f})",
            f"{r['recalc']['s']:.2f}", f"{r['ratio']:.2f}", f"{r['ratio_frames']:.2f}", f"{r['recalc']['peak_mb']:.0f}",
            f"{r['tables_raw_mb']:.0f} / {r['tables_typed_mb']:.0f}", f"{r['peak_over_raw']:.2f}",
            f"{1000 * r['recalc']['s'] / r['rows']:.3f}", f"{r['load_before']:.1f}-{r['load_after']:.1f}",
        ]))


# -- phases and profile (in process) ---------------------------------------------------------------------
def _timed(bucket: dict, phase: str, fn):
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            bucket[phase] = bucket.get(phase, 0.0) + time.perf_counter() - start
    return wrapper


@contextlib.contextmanager
def phase_clock(bucket: dict):
    """Time the phases of one recalculation by wrapping the functions it calls (the product code is untouched)."""
    import funnel_xl.services.master as master
    import funnel_xl.services.recalculate as rc
    from funnel_xl.history import SnapshotStore
    from funnel_xl.workbook.file_adapter import FileWorkbook

    patches = [(master, "read_inputs", "read"), (master, "normalize_reps", "normalise"),
               (master, "normalize_opportunities", "normalise"), (rc, "left_out", "normalise"),
               (rc, "compute_figures", "compute"),
               *[(rc, f, "lay out sheets") for f in ("forecast_sheet", "funnel_sheet", "quota_sheet",
                                                      "progress_sheet", "problems_sheet")],
               (FileWorkbook, "save", "write"), (SnapshotStore, "_write", "history save"),
               *[(SnapshotStore, f, "history") for f in ("previous_week", "snapshot", "first_seen", "weekly")]]
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in patches]
    try:
        for owner, name, phase in patches:
            setattr(owner, name, _timed(bucket, phase, getattr(owner, name)))
        yield bucket
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)


RECALC_MODULES = ("funnel_xl.cli", "funnel_xl.services.recalculate", "funnel_xl.textreport",
                  "funnel_xl.workbook.file_adapter", "funnel_xl.history")


def profile(n: int, as_of: str, top: int = 15) -> None:
    from funnel_xl import cli

    path = synth.build(n, log=lambda m: print("  " + m, file=sys.stderr))
    imports = measure([PYTHON, "-c", "import " + ", ".join(RECALC_MODULES)])[0]
    print(f"interpreter start and the imports of a recalc, as a process of their own: {imports:.2f} s")
    for module in RECALC_MODULES:  # imported before the clock starts: the phases below are the work itself
        importlib.import_module(module)
    argv = ["recalc", str(fresh_copy(path)), "--as-of", as_of, "--json"]
    phases: dict[str, float] = {}
    start = time.perf_counter()
    with phase_clock(phases), contextlib.redirect_stdout(io.StringIO()):
        cli.main(argv)
    total = time.perf_counter() - start
    # The snapshot is saved inside the workbook's save (committed together): count it as history, not write.
    saved = phases.pop("history save", 0.0)
    phases["write"] = phases.get("write", 0.0) - saved
    phases["history"] = phases.get("history", 0.0) + saved
    print(f"phases of one recalc of {n:,} rows (in process, imports done), total {total:.2f} s:")
    for phase, seconds in phases.items():
        print(f"  {phase:<15} {seconds:6.2f} s  {100 * seconds / total:4.0f} %")
    print(f"  {'other':<15} {total - sum(phases.values()):6.2f} s")

    argv[1] = str(fresh_copy(path))
    profiler = cProfile.Profile()
    with contextlib.redirect_stdout(io.StringIO()):
        profiler.runcall(cli.main, argv)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    print(out.getvalue())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--as-of", default=synth.AS_OF.isoformat())
    p.add_argument("--profile", type=int, metavar="ROWS", help="time the phases and cProfile one recalc instead")
    args = p.parse_args(argv)
    if args.profile:
        profile(args.profile, args.as_of)
        return 0
    results = []
    for n in args.sizes:
        print(f"{n:,} rows ...", file=sys.stderr)
        results.append(bench_size(n, args.runs, args.as_of))
    print_table(results)
    save_results("recalc", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
