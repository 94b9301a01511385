"""The history benchmark (issue 17): what a recalculation asks of its history, on SQLite and on PostgreSQL.

A year of weekly snapshots of a synthetic pipeline is seeded into each store; then, ``--runs`` times, the reads of
a recalculation (last week's date and snapshot, the first-seen table, the weekly totals) and the save of this
week's snapshot are timed. Figures are medians in seconds, in this process (imports excluded).

    .venv/bin/python -m benchmarks.bench_history --postgres postgresql://funnel@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks import synth
from funnel_xl.domain.figures import weekly_totals
from funnel_xl.history import open_history
from funnel_xl.methodologies import load_methodology


def bench(url: str | None, folder: Path, n: int, weeks: int, runs: int) -> dict[str, float]:
    methodology = load_methodology("big_project")
    opps = synth.make_opportunities(n, methodology, synth.make_reps(n))
    seed_saves, reads, saves = [], [], []
    with open_history(folder / "bench.xlsm", url, team=f"bench-{n}") as store:
        for date in synth.snapshot_dates(weeks=weeks):
            snap = synth.make_snapshot(opps, methodology, date)
            start = time.perf_counter()
            store.save(snap, weekly_totals(snap, date))
            seed_saves.append(time.perf_counter() - start)
        this_week = synth.make_snapshot(opps, methodology, synth.AS_OF)
        totals = weekly_totals(this_week, synth.AS_OF)
        for _ in range(runs):
            start = time.perf_counter()
            store.snapshot(store.previous_week(synth.AS_OF))
            store.first_seen()
            store.weekly()
            reads.append(time.perf_counter() - start)
            start = time.perf_counter()
            store.save(this_week, totals)
            saves.append(time.perf_counter() - start)
    return {"seed save": statistics.median(seed_saves), "reads": statistics.median(reads),
            "save": statistics.median(saves)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--weeks", type=int, default=synth.HISTORY_WEEKS)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--postgres", metavar="URL", help="an empty database to benchmark too (its tables are created)")
    args = p.parse_args(argv)
    backends = {"SQLite": None, **({"PostgreSQL": args.postgres} if args.postgres else {})}
    print(f"{args.rows:,} opportunities, {args.weeks} weekly snapshots; medians in seconds")
    with tempfile.TemporaryDirectory() as folder:
        for name, url in backends.items():
            figures = bench(url, Path(folder), args.rows, args.weeks, args.runs)
            print(f"{name:<11}" + "  ".join(f"{k} {v:.2f}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
