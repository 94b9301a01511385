"""Synthetic Funnel.xlsm workbooks of N opportunities, with a year of weekly history, for the recalc benchmark.

The frames have the columns and dtypes of ``funnel_xl.sample.load_sample()``; names, customers, products and
regions are drawn from the shipped sample so the text looks like the real thing (Chinese, mixed widths) without
literals here. The mix follows the sample: about 77 % open, 14 % won, 9 % lost; an opportunity's checklist meets
every criterion up to its stage and part of the next one, with a few deals claimed ahead of their evidence.
Generated files are cached under ``benchmarks/.cache/`` (they take a while at 100k rows and more).

    .venv/bin/python -m benchmarks.synth 10000        # build (or reuse) the 10k workbook, print its path
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from funnel_xl.domain.methodology import Methodology
from funnel_xl.domain.schema import OPPORTUNITY_COLUMNS, REP_COLUMNS, SNAPSHOT_COLUMNS, checklist_column
from funnel_xl.sample import SAMPLE_AS_OF, load_sample

CACHE_DIR = Path(__file__).resolve().parent / ".cache"
AS_OF: dt.date = SAMPLE_AS_OF
HISTORY_WEEKS = 52
ROWS_PER_REP = 2000
MIN_REPS = 8

# The sample's mix (64 rows): status shares, and the stage of open rows from target to closed.
_STATUS_P = {"open": 0.77, "won": 0.14, "lost": 0.09}
_OPEN_STAGE_P = (0.06, 0.32, 0.18, 0.16, 0.14, 0.10, 0.04)
_LOST_STAGE_P = (0.0, 0.10, 0.15, 0.20, 0.35, 0.20, 0.0)
_OPEN_CATEGORY = (("intent", 0.55), ("likely_next_quarter", 0.15), ("likely_this_quarter", 0.06),
                  ("commit", 0.06), (None, 0.18))
_GAP_SHARE = 0.03  # open rows whose claimed stage runs one ahead of their checklist


def rep_count(n: int) -> int:
    return max(MIN_REPS, n // ROWS_PER_REP)


def _pool(series: pd.Series) -> np.ndarray:
    return np.array(sorted(series.dropna().unique()), dtype=object)


def _names(sample_reps: pd.DataFrame, managers: pd.Series, count: int) -> list[str]:
    """``count`` distinct two/three-character names: surnames and given names of the sample's people recombined."""
    people = sorted(set(sample_reps["rep"]) | set(sample_reps["manager"]) | set(managers.dropna()))
    surnames = sorted({p[0] for p in people})
    given = sorted({p[1:] for p in people})
    names = [s + g for g in given for s in surnames]
    ordered = [p for p in sample_reps["rep"]] + [n for n in names if n not in set(sample_reps["rep"])]
    if count > len(ordered):
        ordered += [f"{ordered[i % len(ordered)]}{i // len(ordered) + 1}" for i in range(len(ordered), count)]
    return ordered[:count]


def make_reps(n: int, as_of: dt.date = AS_OF, seed: int = 7) -> pd.DataFrame:
    """The reps table for a pipeline of ``n`` opportunities: n/2000 reps (at least 8), tenures from 0 to 8 years."""
    sample = load_sample()
    rng = np.random.default_rng(seed)
    count = rep_count(n)
    names = _names(sample.reps, sample.opportunities["project_manager"], count)
    regions = _pool(sample.reps["region"])
    managers = _pool(sample.reps["manager"])
    tenure_days = rng.integers(0, 8 * 365, count)
    tenure_days[: len(sample.reps)] = (pd.Timestamp(as_of) - sample.reps["hire_date"]).dt.days.to_numpy()
    hire = pd.Timestamp(as_of) - pd.to_timedelta(tenure_days, unit="D")
    # Quotas sized to the pipeline a rep carries (about 1.5x coverage), from 0.6x to 1.4x of the average.
    per_rep = n / count
    quota = np.round(per_rep * 200_000 * rng.uniform(0.6, 1.4, count), -5)
    reps = pd.DataFrame({
        "rep": pd.array(names, dtype="str"),
        "email": pd.array([f"rep{i:04d}@example.com" for i in range(count)], dtype="str"),
        "hire_date": hire.astype("datetime64[ns]"),
        "region": pd.array(rng.choice(regions, count), dtype="str"),
        "annual_quota": quota.astype("float64"),
        "manager": pd.array(rng.choice(managers, count), dtype="str"),
    })
    reps.index = pd.RangeIndex(2, 2 + count)
    return reps.loc[:, list(REP_COLUMNS)]


def make_opportunities(n: int, methodology: Methodology, reps: pd.DataFrame, as_of: dt.date = AS_OF,
                       seed: int = 11) -> pd.DataFrame:
    """``n`` opportunities with the sample's columns and dtypes and a consistent checklist (see the module doc)."""
    sample = load_sample().opportunities
    rng = np.random.default_rng(seed)
    stamp = pd.Timestamp(as_of)
    stages = np.array(methodology.stage_keys, dtype=object)
    last = len(stages) - 1

    status = rng.choice(list(_STATUS_P), n, p=list(_STATUS_P.values()))
    is_open, is_won, is_lost = status == "open", status == "won", status == "lost"
    position = np.where(is_won, last, 0)
    position[is_open] = rng.choice(len(stages), is_open.sum(), p=_OPEN_STAGE_P)
    position[is_lost] = rng.choice(len(stages), is_lost.sum(), p=_LOST_STAGE_P)
    # Evidence: every criterion up to the stage is met; the next stage's are each met with a coin toss.
    evidence = position.copy()
    gap = is_open & (position > 0) & (rng.random(n) < _GAP_SHARE)
    evidence[gap] -= 1

    created = stamp - pd.to_timedelta(rng.integers(3, 540, n), unit="D")
    age = (stamp - created).days.to_numpy()
    entered = created + pd.to_timedelta((rng.random(n) * age).astype(int), unit="D")
    closed_ago = (rng.random(n) * np.minimum(age, 330)).astype(int)  # won/lost: closed within the last year
    close = np.where(is_open, stamp + pd.to_timedelta(rng.integers(-30, 450, n), unit="D"),
                     stamp - pd.to_timedelta(closed_ago, unit="D"))
    close = pd.DatetimeIndex(close)
    entered = pd.DatetimeIndex(np.where(is_open, entered, np.minimum(entered, close)))
    created = pd.DatetimeIndex(np.minimum(created, entered))
    close = pd.DatetimeIndex(np.where(is_open, np.maximum(close, created), close))  # overdue, never before creation

    cat_keys = np.array([k for k, _ in _OPEN_CATEGORY], dtype=object)
    category = np.where(is_open, rng.choice(cat_keys, n, p=[p for _, p in _OPEN_CATEGORY]),
                        np.where(is_won, "closed", None))
    customers = _pool(sample["customer"])
    cust_no = rng.integers(0, max(1, n // 3), n)  # about three opportunities per customer
    customer = customers[cust_no % len(customers)] + pd.Series(cust_no // len(customers)).map(
        lambda k: "" if k == 0 else f" {k}").to_numpy(dtype=object)
    products = _pool(sample["product"])
    product = rng.choice(products, n)
    amount = np.round(np.exp(rng.normal(np.log(1_200_000), 0.8, n)), -4)

    frame = pd.DataFrame({
        "id": [f"OPP-{i:07d}" for i in range(1, n + 1)],
        "customer": customer,
        "project": customer + "·" + product.astype(object),
        "rep": rng.choice(reps["rep"].to_numpy(dtype=object), n),
        "project_manager": np.where(rng.random(n) < 0.45, None, rng.choice(_pool(sample["project_manager"]), n)),
        "region": rng.choice(_pool(sample["region"]), n),
        "product": product,
        "amount": amount.astype("float64"),
        "close_date": close.astype("datetime64[ns]"),
        "stage": stages[position],
        "status": status.astype(object),
        "created_date": created.astype("datetime64[ns]"),
        "stage_entered_date": entered.astype("datetime64[ns]"),
        "category": category,
        "priority": np.where(rng.random(n) < 0.1, None, rng.choice(["high", "medium", "low"], n, p=[.4, .4, .2])),
        "customer_size": rng.choice(["large", "medium", "small"], n, p=[.5, .4, .1]),
        "new_customer": pd.array(rng.random(n) < 0.65, dtype="boolean"),
        "competitors": np.where(rng.random(n) < 0.33, None, rng.choice(_pool(sample["competitors"]), n)),
        "notes": np.where(rng.random(n) < 0.9, None, rng.choice(_pool(sample["notes"]), n)),
    })
    frame = frame.loc[:, [c for c in OPPORTUNITY_COLUMNS if c in frame]]
    for col in OPPORTUNITY_COLUMNS:
        if col not in frame:  # a column added to the schema since this was written: resample the sample's values
            frame[col] = sample[col].sample(n, replace=True, random_state=seed).to_numpy()
            frame[col] = frame[col].astype(sample[col].dtype)
        elif sample[col].dtype == "str":
            frame[col] = frame[col].astype("str")
    for i, stage in enumerate(methodology.stages):
        for criterion in stage.criteria:
            met = evidence >= i
            partly = evidence == i - 1
            coin = rng.random(n) < 0.5
            values = np.where(met, True, np.where(partly, coin, False))
            known = met | partly
            frame[checklist_column(criterion.key)] = pd.array(
                np.where(known, values, None), dtype="boolean")
    frame = frame.loc[:, list(OPPORTUNITY_COLUMNS) + [c for c in frame.columns if c not in OPPORTUNITY_COLUMNS]]
    frame.index = pd.RangeIndex(2, 2 + n)
    return frame


def snapshot_dates(as_of: dt.date = AS_OF, weeks: int = HISTORY_WEEKS) -> list[dt.date]:
    """The weekly snapshot dates before ``as_of``: the same weekday, 1 to ``weeks`` weeks earlier, oldest first."""
    return [as_of - dt.timedelta(days=7 * k) for k in range(weeks, 0, -1)]


def make_snapshot(opps: pd.DataFrame, methodology: Methodology, date: dt.date) -> pd.DataFrame:
    """The pipeline as it stood on ``date``: rows created by then; those closed later still open, a stage lower
    while their current stage was entered after ``date``."""
    stamp = pd.Timestamp(date)
    rows = opps.loc[opps["created_date"].le(stamp)]
    rates = np.array([s.win_rate for s in methodology.stages])
    keys = list(methodology.stage_keys)
    position = rows["stage"].map(keys.index).to_numpy()
    not_yet = rows["stage_entered_date"].gt(stamp).to_numpy()
    position = np.where(not_yet, np.maximum(position - 1, 0), position)
    still_open = rows["close_date"].gt(stamp).to_numpy() & rows["status"].ne("open").to_numpy()
    position = np.where(still_open & (position == len(keys) - 1), len(keys) - 2, position)
    status = np.where(still_open, "open", rows["status"].to_numpy(dtype=object))
    snap = pd.DataFrame({
        "snapshot_date": pd.Series(stamp, index=rows.index).astype("datetime64[ns]"),
        "id": rows["id"], "rep": rows["rep"], "customer": rows["customer"], "project": rows["project"],
        "product": rows["product"], "region": rows["region"], "amount": rows["amount"],
        "close_date": rows["close_date"], "stage": np.array(keys, dtype=object)[position],
        "status": status, "win_rate": rates[position],
    })
    return snap.loc[:, list(SNAPSHOT_COLUMNS)].reset_index(drop=True)


def seed_history(workbook: Path, opps: pd.DataFrame, methodology: Methodology, as_of: dt.date = AS_OF,
                 weeks: int = HISTORY_WEEKS) -> Path:
    """Write ``weeks`` weekly snapshots into the SQLite sidecar of ``workbook`` (replacing any)."""
    from funnel_xl.domain.figures import weekly_totals
    from funnel_xl.history import SnapshotStore, history_path

    path = history_path(workbook)
    path.unlink(missing_ok=True)
    with SnapshotStore(path) as store:
        for date in snapshot_dates(as_of, weeks):
            snap = make_snapshot(opps, methodology, date)
            store.save(snap, weekly_totals(snap, date))
    return path


@contextlib.contextmanager
def formula_cache():
    """Memoise XlsxWriter's formula preparation while building: the table formulas are the same text on every row,
    and re-running its ~30 regular expressions per cell is most of the build time. The written bytes are the same
    (checked in benchmarks/README.md); only this process is affected, the product code is not."""
    from xlsxwriter.worksheet import Worksheet

    original = Worksheet._prepare_formula
    cache: dict[tuple, str] = {}

    def prepare(self, formula, expand_future_functions=False):
        key = (formula, expand_future_functions, self.use_future_functions)
        if key not in cache:
            cache[key] = original(self, formula, expand_future_functions)
        return cache[key]

    Worksheet._prepare_formula = prepare
    try:
        yield
    finally:
        Worksheet._prepare_formula = original


def workbook_path(n: int) -> Path:
    return CACHE_DIR / f"synth_{n}.xlsm"


def build(n: int, *, force: bool = False, weeks: int = HISTORY_WEEKS, log=print) -> Path:
    """The cached synthetic workbook of ``n`` rows with its history sidecar, built if missing."""
    from funnel_xl.history import history_path
    from funnel_xl.methodologies import load_methodology
    from funnel_xl.workbook.build import write_workbook

    out = workbook_path(n)
    if out.exists() and history_path(out).exists() and not force:
        return out
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    m = load_methodology("big_project")
    t0 = time.perf_counter()
    reps = make_reps(n)
    opps = make_opportunities(n, m, reps)
    t1 = time.perf_counter()
    history_path(out).unlink(missing_ok=True)
    tmp = out.with_name(f"building_{n}.xlsm")
    with formula_cache():
        write_workbook(tmp, lang="zh-CN", methodology=m, opportunities=opps, reps=reps, vba=True)
    t2 = time.perf_counter()
    seed_history(tmp, opps, m)
    t3 = time.perf_counter()
    history_path(tmp).replace(history_path(out))
    tmp.replace(out)
    log(f"built {out.name}: frames {t1 - t0:.1f} s, write_workbook {t2 - t1:.1f} s, "
        f"{weeks} weeks of history {t3 - t2:.1f} s")
    return out


def team_folder(teams: int, n: int) -> Path:
    return CACHE_DIR / f"teams_{teams}x{n}"


def build_team(job: tuple[int, int, int], *, weeks: int = HISTORY_WEEKS) -> Path:
    """Team ``k`` of a company (``job`` = (teams, n, k)): ``n`` opportunities whose ids start ``T<k>-``, drawn with
    their own seed, and a year of history; cached in ``team_folder``. Module level: a process pool builds them."""
    from funnel_xl.history import history_path
    from funnel_xl.methodologies import load_methodology
    from funnel_xl.workbook.build import write_workbook

    teams, n, k = job
    out = team_folder(teams, n) / f"team{k:02d}.xlsm"
    if out.exists() and history_path(out).exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    m = load_methodology("big_project")
    reps = make_reps(n, seed=100 + k)
    opps = make_opportunities(n, m, reps, seed=1000 + k)
    opps["id"] = f"T{k:02d}-" + opps["id"]
    tmp = out.with_name(f"building_{out.name}")
    history_path(tmp).unlink(missing_ok=True)
    with formula_cache():
        # The report date fixes the 函数示例 sheet's examples (a first deal won after the default date would not do).
        write_workbook(tmp, lang="zh-CN", methodology=m, opportunities=opps, reps=reps, vba=True, as_of=AS_OF)
    seed_history(tmp, opps, m, weeks=weeks)
    history_path(tmp).replace(history_path(out))
    tmp.replace(out)
    return out


def build_teams(teams: int, n: int, *, workers: int = 2, log=print) -> Path:
    """The folder of ``teams`` synthetic team workbooks of ``n`` deals each (ids distinct across teams)."""
    from concurrent.futures import ProcessPoolExecutor

    t0 = time.perf_counter()
    jobs = [(teams, n, k) for k in range(1, teams + 1)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for i, path in enumerate(pool.map(build_team, jobs), 1):
            if i % 10 == 0 or i == teams:
                log(f"{i}/{teams} team workbooks ({time.perf_counter() - t0:.0f} s)")
    return team_folder(teams, n)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("rows", type=int, nargs="+")
    p.add_argument("--force", action="store_true", help="rebuild even if cached")
    args = p.parse_args(argv)
    for n in args.rows:
        print(build(n, force=args.force, log=lambda m: print(m, file=sys.stderr)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
