"""The roll-up benchmark (issue 17): ``funnel-xl rollup`` over 50 team workbooks of 2,000 deals (100,000 deals)
against fastexcel reading the same tables of the same files.

Every figure is a whole process (interpreter start and imports included) spawned by a launcher, as in
``bench_recalc``; since the roll-up reads workbooks in a process pool, the launcher samples the resident memory of
the whole process tree (the roll-up and its workers, from /proc every 20 ms) besides the peak of the largest single
process (``ru_maxrss``). The readers run the same way: one process, or a pool of as many processes as the roll-up
uses. From the repository root:

    .venv/bin/python -m benchmarks.bench_rollup                       # 50 x 2,000, 3 runs, medians
    .venv/bin/python -m benchmarks.bench_rollup --teams 5 --rows 2000 --runs 1
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from benchmarks import synth
from benchmarks.bench_recalc import FUNNEL_XL, PYTHON, RESULTS_DIR, TABLES

RUN_DIR = synth.CACHE_DIR / "rollup_run"

# Reads the five tables of every workbook in a folder: in one process, or a pool of argv[2] processes.
# "frames": DataFrames with every row deciding a column's type, as the file adapter reads; "arrow": the reader alone.
_READER = """
import logging, sys, fastexcel
from pathlib import Path
logging.getLogger("fastexcel").setLevel(logging.ERROR)
TABLES = sys.argv[4:]
def read(path):
    reader = fastexcel.read_excel(str(path))
    if sys.argv[3] == "frames":
        return sum(len(reader.load_table(t, schema_sample_rows=None).to_pandas()) for t in TABLES)
    return sum(reader.load_table(t).height for t in TABLES)
paths = sorted(Path(sys.argv[1]).glob("*.xlsm"))
workers = int(sys.argv[2])
if workers > 1:
    from concurrent.futures import ProcessPoolExecutor
    with ProcessPoolExecutor(workers) as pool:
        print(sum(pool.map(read, paths)))
else:
    print(sum(map(read, paths)))
"""

# Spawns the command, samples the summed RSS of its process tree, and reports on its last stderr line: exit code,
# wall seconds, ru_maxrss (largest single process, kB), peak tree RSS (kB).
_LAUNCHER = """
import os, sys, time, threading
def tree(pid):
    out = [pid]
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                for c in f.read().split():
                    out += tree(int(c))
    except OSError:
        pass
    return out
def rss(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0
peak = 0
done = False
def sample(pid):
    global peak
    while not done:
        peak = max(peak, sum(rss(p) for p in tree(pid)))
        time.sleep(0.02)
start = time.perf_counter()
pid = os.posix_spawnp(sys.argv[1], sys.argv[1:], os.environ)
t = threading.Thread(target=sample, args=(pid,), daemon=True)
t.start()
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - start
done = True
t.join()
sys.stderr.write(f"\\n{os.waitstatus_to_exitcode(status)} {wall} {usage.ru_maxrss} {peak}\\n")
"""


def measure(cmd: list[str], stdout: Path | None = None) -> dict:
    """Run ``cmd``: wall seconds, the largest single process's peak RSS and the process tree's sampled peak (MB)."""
    with open(stdout or os.devnull, "wb") as out:
        done = subprocess.run([PYTHON, "-c", _LAUNCHER, *cmd], stdout=out, stderr=subprocess.PIPE, check=False)
    stderr, _, figures = done.stderr.rstrip(b"\n").rpartition(b"\n")
    code, wall, maxrss, tree = figures.split()
    if done.returncode != 0 or int(code) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({code!r}): {stderr.decode(errors='replace')[-800:]}")
    return {"s": float(wall), "process_mb": int(maxrss) / 1024, "tree_mb": int(tree) / 1024}


def median(samples: list[dict]) -> dict:
    return {"s": statistics.median(s["s"] for s in samples), "all_s": [round(s["s"], 2) for s in samples],
            "process_mb": max(s["process_mb"] for s in samples), "tree_mb": max(s["tree_mb"] for s in samples)}


def bench(teams: int, rows: int, runs: int, workers: int) -> dict:
    folder = synth.build_teams(teams, rows, log=lambda m: print(m, file=sys.stderr))
    deals = teams * rows
    shutil.rmtree(RUN_DIR, ignore_errors=True)
    RUN_DIR.mkdir(parents=True)
    out_json = RUN_DIR / "rollup.json"
    results: dict = {"teams": teams, "rows_per_team": rows, "deals": deals, "workers": workers,
                     "cores": os.cpu_count(), "date": dt.date.today().isoformat()}

    def rollup():
        return measure([FUNNEL_XL, "rollup", str(folder), "--as-of", synth.AS_OF.isoformat(), "--json",
                        "--workers", str(workers), "-o", str(RUN_DIR / "公司汇总.xlsx")], stdout=out_json)

    def reader(kind: str, pool: int):
        return measure([PYTHON, "-c", _READER, str(folder), str(pool), kind, *TABLES])

    samples: dict[str, list] = {"rollup": [], "frames_1": [], "frames_pool": [], "arrow_1": [], "arrow_pool": []}
    for _ in range(runs):  # interleaved, so a busy moment on the machine hits every kind alike
        samples["rollup"].append(rollup())
        company = json.loads(out_json.read_text(encoding="utf-8"))
        counted = company["open_count"] + company["won_count"] + company["lost_count"] + company["rejected_count"]
        assert counted == deals, f"the roll-up counted {counted} of {deals} deals"
        assert len(company["by_team"]) == teams and not company["duplicate_ids"]
        samples["frames_1"].append(reader("frames", 1))
        samples["frames_pool"].append(reader("frames", workers))
        samples["arrow_1"].append(reader("arrow", 1))
        samples["arrow_pool"].append(reader("arrow", workers))
    results.update({k: median(v) for k, v in samples.items()})
    for k in ("frames_1", "frames_pool", "arrow_1", "arrow_pool"):
        results[f"ratio_{k}"] = results["rollup"]["s"] / results[k]["s"]
    results["load"] = os.getloadavg()
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--teams", type=int, default=50)
    p.add_argument("--rows", type=int, default=2000, help="deals per team")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = p.parse_args(argv)
    r = bench(args.teams, args.rows, args.runs, args.workers)
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / f"rollup_{args.teams}x{args.rows}.json").write_text(json.dumps(r, indent=2), encoding="utf-8")
    print(f"{r['teams']} teams x {r['rows_per_team']:,} deals = {r['deals']:,}, {r['workers']} workers, "
          f"{r['cores']} cores, load {', '.join(f'{x:.1f}' for x in r['load'])}")
    for k, name in (("rollup", "funnel-xl rollup"), ("frames_1", "fastexcel->frames, 1 process"),
                    ("frames_pool", f"fastexcel->frames, {r['workers']} processes"),
                    ("arrow_1", "fastexcel (Arrow), 1 process"), ("arrow_pool", f"fastexcel (Arrow), {r['workers']} processes")):
        m = r[k]
        ratio = "" if k == "rollup" else f"  rollup / this = {r['ratio_' + k]:.2f}"
        print(f"{name:<36} {m['s']:7.2f} s  (runs {m['all_s']})  largest process {m['process_mb']:6.0f} MB  "
              f"tree {m['tree_mb']:6.0f} MB{ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
