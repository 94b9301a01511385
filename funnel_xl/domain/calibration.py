"""Win-rate calibration: the rate each stage earns in history, set beside the rate the methodology claims.

The seed warns that copied rates ('一三五七十') may not fit a consultative business. The observed rate
of a stage is the share won among the opportunities that reached the stage and have since closed;
a Wilson score interval says how far that figure can be trusted. The same history gives the
average sales cycle (days from created to won) and, from weekly snapshots, the days spent per stage.

Two forms of history are accepted:

(a) snapshots (``SNAPSHOT_COLUMNS``): an opportunity reached stage *s* if any snapshot shows it at
    *s* or a later stage, or if it was won; its outcome is the status in its latest snapshot.
(b) plain opportunities (``OPPORTUNITY_COLUMNS``): a lost row's ``stage`` is the last stage it
    reached; a won row reached every stage; open rows have no outcome yet and are left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from statistics import NormalDist

import numpy as np
import pandas as pd

from funnel_xl.domain.methodology import Methodology
from funnel_xl.errors import InputError

CALIBRATION_COLUMNS: tuple[str, ...] = (
    "configured_rate", "reached_closed", "won", "lost", "observed_rate", "ci_low", "ci_high",
    "configured_outside_ci",
)
STAGE_DAYS_COLUMNS: tuple[str, ...] = ("stays", "mean_days", "median_days", "unfinished_stays")


def wilson_interval(won: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval for ``won`` successes out of ``n`` (NaN, NaN when n is 0).

    Chosen over the plain normal interval because it stays inside 0-1 and behaves at 0 % and
    100 %, which late funnel stages often show.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence!r}")
    if n == 0:
        return (math.nan, math.nan)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = won / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (max(0.0, centre - half), min(1.0, centre + half))


def _is_snapshot_history(frame: pd.DataFrame) -> bool:
    return "snapshot_date" in frame.columns


def _check_stages(stages: pd.Series, ids: pd.Series, methodology: Methodology, what: str) -> None:
    known = set(methodology.stage_keys)
    bad = stages.notna() & ~stages.isin(known)
    if bad.any():
        shown = ", ".join(f"{i!r}: {s!r}" for i, s in zip(ids[bad].head(5), stages[bad].head(5)))
        raise InputError(
            f"{what}: {int(bad.sum())} row(s) name a stage that methodology {methodology.key!r} "
            f"lacks ({shown}); expected one of {', '.join(methodology.stage_keys)}"
        )


def _outcomes_and_reach(history: pd.DataFrame, methodology: Methodology) -> tuple[pd.Series, pd.Series]:
    """Per opportunity id: final status and the furthest stage position reached (-1 for none)."""
    position = {k: i for i, k in enumerate(methodology.stage_keys)}
    if _is_snapshot_history(history):
        _check_stages(history["stage"], history["id"], methodology, "snapshot history")
        ordered = history.sort_values(["id", "snapshot_date"], kind="stable")
        status = ordered.groupby("id", sort=False)["status"].last()
        furthest = ordered["stage"].map(position).groupby(ordered["id"], sort=False).max()
    else:
        dup = history["id"][history["id"].duplicated()]
        if not dup.empty:
            raise InputError(
                f"opportunities: id {dup.iloc[0]!r} appears more than once; calibration needs one row "
                "per opportunity (or pass snapshots, which carry a snapshot_date column)"
            )
        _check_stages(history["stage"], history["id"], methodology, "opportunities")
        status = history.set_index("id")["status"]
        furthest = history.set_index("id")["stage"].map(position)
    furthest = furthest.reindex(status.index).fillna(-1).astype(int)
    # A won deal passed every stage, whatever stage the record shows.
    furthest = furthest.where(status.ne("won"), len(methodology.stages) - 1)
    lost_unplaced = status.eq("lost") & furthest.lt(0)
    if lost_unplaced.any():
        raise InputError(
            f"lost opportunity {lost_unplaced[lost_unplaced].index[0]!r} has no stage, so the stages it "
            "reached are unknown; give it the last stage it reached"
        )
    return status, furthest


def observed_win_rates(
    history: pd.DataFrame, methodology: Methodology, *, confidence: float = 0.95
) -> pd.DataFrame:
    """Per stage key: configured vs observed win rate, the counts behind it and a Wilson interval.

    ``reached_closed`` (n) counts the closed opportunities that reached the stage, ``won`` (k) those
    of them won; ``observed_rate`` = k / n. ``configured_outside_ci`` flags stages whose
    configured rate lies outside the interval (never set where n is 0).
    Caveat: only closed deals count, so a young history, where deals still being won are open
    while quick losses have closed, reads low; calibrate on cohorts old enough to have closed.
    """
    status, furthest = _outcomes_and_reach(history, methodology)
    closed = status.isin(("won", "lost"))
    won = status.eq("won")
    rows = []
    for i, stage in enumerate(methodology.stages):
        reached = closed & furthest.ge(i)
        n = int(reached.sum())
        k = int((reached & won).sum())
        low, high = wilson_interval(k, n, confidence)
        rate = k / n if n else math.nan
        outside = bool(n) and not (low <= stage.win_rate <= high)
        rows.append((stage.win_rate, n, k, n - k, rate, low, high, outside))
    out = pd.DataFrame(rows, columns=list(CALIBRATION_COLUMNS),
                       index=pd.Index(methodology.stage_keys, name="stage"))
    out.attrs["confidence"] = confidence
    return out


def overall_win_rate(history: pd.DataFrame) -> float:
    """Won ÷ (won + lost) over closed opportunities (a snapshot history counts each id's last status)."""
    if _is_snapshot_history(history):
        status = history.sort_values(["id", "snapshot_date"], kind="stable").groupby("id")["status"].last()
    else:
        status = history["status"]
    won = int(status.eq("won").sum())
    lost = int(status.eq("lost").sum())
    return won / (won + lost) if won + lost else math.nan


def suggested_methodology(
    methodology: Methodology, calibration: pd.DataFrame, *, min_count: int = 30
) -> Methodology:
    """A copy of the methodology whose rates are the observed ones where history is strong enough.

    A stage takes its observed rate when at least ``min_count`` closed opportunities reached it and
    at least one of them was lost (with none lost, the history cannot tell a rate below 100 % from
    lost deals whose last stage was never recorded); otherwise it keeps its configured rate.
    Monotone fix-up: a later stage never gets a lower rate than an earlier one, so where it would,
    it takes the rate of the stage before it (a running maximum down the funnel).
    """
    stages = []
    floor = 0.0
    for stage in methodology.stages:
        row = calibration.loc[stage.key]
        usable = row["reached_closed"] >= min_count and row["lost"] >= 1
        rate = float(row["observed_rate"]) if usable else stage.win_rate
        rate = max(rate, floor)
        floor = rate
        stages.append(replace(stage, win_rate=round(rate, 4)))
    return replace(methodology, stages=tuple(stages), key=f"{methodology.key}_calibrated",
                   source="")


@dataclass(frozen=True)
class CycleStats:
    """Average sales cycle (created → won) and days per stage, from the same history."""

    mean_cycle_days: float
    median_cycle_days: float
    won_counted: int          # won opportunities with both dates, counted in the cycle
    won_without_dates: int    # won opportunities left out because a date is missing
    stage_days: pd.DataFrame  # index stage keys; STAGE_DAYS_COLUMNS (empty counts without snapshots)


def _stage_days_from_snapshots(snapshots: pd.DataFrame, methodology: Methodology) -> pd.DataFrame:
    """Finished stays per stage: from the first snapshot at a stage to the first one that shows another
    stage or a closed status. A stay still running at the last snapshot is counted as unfinished."""
    snaps = snapshots.sort_values(["id", "snapshot_date"], kind="stable")
    durations: dict[str, list[float]] = {k: [] for k in methodology.stage_keys}
    unfinished = dict.fromkeys(methodology.stage_keys, 0)
    for _, rows in snaps.groupby("id", sort=False):
        dates = pd.to_datetime(rows["snapshot_date"]).tolist()
        stages = rows["stage"].tolist()
        statuses = rows["status"].tolist()
        start = None
        for j, (when, stage, status) in enumerate(zip(dates, stages, statuses)):
            if start is not None and (stage != stages[start] or status != "open"):
                durations[stages[start]].append((when - dates[start]).days)
                start = None
            if start is None and status == "open" and stage in durations:
                start = j
        if start is not None:
            unfinished[stages[start]] += 1
    rows = []
    for key in methodology.stage_keys:
        d = np.asarray(durations[key], dtype="float64")
        rows.append((len(d), d.mean() if len(d) else math.nan,
                     float(np.median(d)) if len(d) else math.nan, unfinished[key]))
    return pd.DataFrame(rows, columns=list(STAGE_DAYS_COLUMNS),
                        index=pd.Index(methodology.stage_keys, name="stage"))


def cycle_and_stage_days(
    opps: pd.DataFrame, methodology: Methodology, snapshots: pd.DataFrame | None = None
) -> CycleStats:
    """Sales cycle in days (created_date → close_date of won opportunities) and days per stage.

    Days per stage need stage history, so they come from ``snapshots`` when given; without them the
    stage table has zero stays and NaN days rather than a figure made up from the final stage.
    """
    won = opps[opps["status"].eq("won")]
    days = (pd.to_datetime(won["close_date"]) - pd.to_datetime(won["created_date"])).dt.days
    counted = days.dropna()
    if snapshots is not None and len(snapshots):
        _check_stages(snapshots["stage"], snapshots["id"], methodology, "snapshot history")
        stage_days = _stage_days_from_snapshots(snapshots, methodology)
    else:
        stage_days = pd.DataFrame(
            {"stays": 0, "mean_days": math.nan, "median_days": math.nan, "unfinished_stays": 0},
            index=pd.Index(methodology.stage_keys, name="stage"),
        )[list(STAGE_DAYS_COLUMNS)]
    return CycleStats(
        mean_cycle_days=float(counted.mean()) if len(counted) else math.nan,
        median_cycle_days=float(counted.median()) if len(counted) else math.nan,
        won_counted=int(len(counted)),
        won_without_dates=int(len(days) - len(counted)),
        stage_days=stage_days,
    )
