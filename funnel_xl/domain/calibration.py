"""Win-rate calibration: the rate each stage earns in history, set beside the rate the methodology claims.

The seed warns that copied rates ('一三五七十') may not fit a consultative business. The observed rate
of a stage is the share won among the opportunities that reached the stage and have had time to close;
a Wilson score interval says how far that figure can be trusted. The same history gives the
average sales cycle (days from created to won) and, from weekly snapshots, the days spent per stage.

Which deals count (the cohort rule, chosen over a survival estimate because a manager can check it by hand):
given a report date, only deals started (created) more than one typical sales cycle before it, the median days
from created to won, count; among them a deal still open is stalled and counts as not won. Young deals are left
out whatever their status, because among them the quick losses have closed while the deals being won are still
open, which reads low. Without a report date every closed deal counts and open ones are left out.

Two forms of history are accepted:

(a) snapshots (``SNAPSHOT_COLUMNS``): an opportunity reached stage *s* if any snapshot shows it at
    *s* or a later stage, or if it was won; its outcome is the status in its latest snapshot.
(b) plain opportunities (``OPPORTUNITY_COLUMNS``): a lost or stalled row's ``stage`` is the last stage it
    reached; a won row reached every stage.

A rate is suggested (``suggested_rate``, what the suggested file holds and the sheets show) only where the
history can say it: at least ``min_count`` deals reached the stage, some of them were not won (else the data
cannot tell where lost deals stopped, and the 100 % would be an artefact), the configured rate lies outside the
interval, and it is not the last stage (only won deals reach that one). ``verdict`` says which rule decided.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, replace
from statistics import NormalDist

import numpy as np
import pandas as pd

from funnel_xl.domain.methodology import Methodology
from funnel_xl.errors import InputError

CALIBRATION_COLUMNS: tuple[str, ...] = (
    "configured_rate", "reached", "won", "lost", "stalled", "observed_rate", "ci_low", "ci_high",
    "configured_outside_ci", "suggested_rate", "verdict",
)
# Why a stage gets a suggestion or none (labels calibration.verdict.*).
VERDICTS: tuple[str, ...] = ("suggest", "follows_earlier", "within_interval", "too_few", "cannot_tell",
                             "won_stage", "no_data")
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


def typical_cycle_days(opps: pd.DataFrame, as_of: dt.date | pd.Timestamp | None = None) -> float:
    """The typical sales cycle: median days from created to close over won deals with both dates (closed by
    ``as_of`` when given); NaN when no won deal has both."""
    won = opps["status"].eq("won")
    if as_of is not None:
        won &= pd.to_datetime(opps["close_date"]).le(pd.Timestamp(as_of))
    days = (pd.to_datetime(opps.loc[won, "close_date"]) - pd.to_datetime(opps.loc[won, "created_date"])).dt.days
    days = days.dropna()
    return float(days.median()) if len(days) else math.nan


def _cohort(history: pd.DataFrame, as_of, cycle_days: float | None) -> tuple[pd.DataFrame, dict]:
    """The plain rows that count and how they were chosen (see the module's cohort rule)."""
    closed = history["status"].isin(("won", "lost"))
    if as_of is None:
        return history[closed], {"cycle_days": math.nan, "cohort_end": None}
    stamp = pd.Timestamp(as_of).normalize()
    close = pd.to_datetime(history["close_date"]) if "close_date" in history else pd.Series(pd.NaT, history.index)
    # A deal closed after the report date was not closed on it: it counts as the open deal it then was.
    status = history["status"].where(~(closed & close.gt(stamp)), "open")
    cycle = typical_cycle_days(history, stamp) if cycle_days is None else float(cycle_days)
    if math.isnan(cycle):
        # The same mask on both sides: assigning a longer Series to an empty frame would grow it rows of NaN.
        closed_then = status.isin(("won", "lost"))
        return history[closed_then].assign(status=status[closed_then]), {"cycle_days": cycle, "cohort_end": None}
    created = (pd.to_datetime(history["created_date"]) if "created_date" in history
               else pd.Series(pd.NaT, index=history.index))
    started = created.fillna(close.where(status.ne("open")))  # no created date: a closed deal began by its close
    end = stamp - pd.Timedelta(days=round(cycle))
    mature = started.le(end).fillna(False).astype(bool)
    return history[mature].assign(status=status[mature]), {"cycle_days": cycle, "cohort_end": end}


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
    lost_unplaced = status.isin(("lost", "open")) & furthest.lt(0)
    if lost_unplaced.any():
        raise InputError(
            f"opportunity {lost_unplaced[lost_unplaced].index[0]!r} has no stage, so the stages it "
            "reached are unknown; give it the last stage it reached"
        )
    return status, furthest


def observed_win_rates(
    history: pd.DataFrame, methodology: Methodology, *, confidence: float = 0.95,
    as_of: dt.date | pd.Timestamp | None = None, cycle_days: float | None = None, min_count: int = 30,
) -> pd.DataFrame:
    """Per stage key: configured vs observed win rate, the counts behind it, a Wilson interval and the suggestion.

    With ``as_of`` (plain opportunities only) the cohort rule of this module chooses the deals: ``reached`` (n)
    counts the cohort's deals that reached the stage, ``won`` (k) those won, ``lost`` and ``stalled`` (still open,
    counted as not won) the rest; without it every closed deal counts. ``observed_rate`` = k / n, NA where no
    deal reached the stage, where none of them was lost or stalled, and at the last stage (an artefactual 100 %
    either way). ``configured_outside_ci`` flags stages whose configured rate lies outside the interval;
    ``suggested_rate`` and ``verdict`` follow the rules of this module. ``attrs`` keep the confidence, the cycle
    and the cohort's last start date.
    """
    rows = history
    chosen = {"cycle_days": math.nan, "cohort_end": None}
    if not _is_snapshot_history(history):
        rows, chosen = _cohort(history, as_of, cycle_days)
    status, furthest = _outcomes_and_reach(rows, methodology)
    # Open deals count (as stalled) only where the cohort rule chose them: old enough to have closed.
    counted = status.isin(("won", "lost", "open") if chosen["cohort_end"] is not None else ("won", "lost"))
    won = status.eq("won")
    last = len(methodology.stages) - 1
    table = []
    for i, stage in enumerate(methodology.stages):
        reached = counted & furthest.ge(i)
        n, k = int(reached.sum()), int((reached & won).sum())
        lost, stalled = int((reached & status.eq("lost")).sum()), int((reached & status.eq("open")).sum())
        low, high = wilson_interval(k, n, confidence)
        telling = n > 0 and k < n and i < last
        rate = k / n if telling else math.nan
        outside = telling and not (low <= stage.win_rate <= high)
        table.append((stage.win_rate, n, k, lost, stalled, rate, low, high, outside))
    out = pd.DataFrame(table, columns=list(CALIBRATION_COLUMNS[:-2]),
                       index=pd.Index(methodology.stage_keys, name="stage"))
    out = _suggest(out, min_count)
    out.attrs.update(confidence=confidence, **chosen)
    return out


def _suggest(table: pd.DataFrame, min_count: int) -> pd.DataFrame:
    """Add ``suggested_rate`` (NA: keep the configured rate) and ``verdict`` per the module's rules.

    A stage never gets a lower rate than the stage before it (the methodology refuses rates that fall down the
    funnel): where a kept or suggested rate would, it takes the earlier stage's rate ("follows_earlier").
    """
    out = table.copy()
    suggested, verdicts = [], []
    floor = 0.0
    last = len(out) - 1
    for i, (_, r) in enumerate(out.iterrows()):
        if i == last:
            verdict = "won_stage"
        elif r["reached"] == 0:
            verdict = "no_data"
        elif pd.isna(r["observed_rate"]):
            verdict = "cannot_tell"
        elif r["reached"] < min_count:
            verdict = "too_few"
        elif not r["configured_outside_ci"]:
            verdict = "within_interval"
        else:
            verdict = "suggest"
        rate = float(r["observed_rate"]) if verdict == "suggest" else float(r["configured_rate"])
        if rate < floor:
            rate, verdict = floor, "follows_earlier"
        floor = rate
        suggested.append(round(rate, 4) if verdict in ("suggest", "follows_earlier") else math.nan)
        verdicts.append(verdict)
    out["suggested_rate"] = suggested
    out["verdict"] = verdicts
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


def suggested_methodology(methodology: Methodology, calibration: pd.DataFrame) -> Methodology:
    """A copy of the methodology with the suggested rates (``observed_win_rates``' ``suggested_rate``) where there
    is one, the configured rates elsewhere: the rates the calibration table shows."""
    stages = []
    for stage in methodology.stages:
        rate = calibration.loc[stage.key, "suggested_rate"]
        stages.append(stage if pd.isna(rate) else replace(stage, win_rate=float(rate)))
    return replace(methodology, stages=tuple(stages), key=f"{methodology.key}_calibrated", source="")


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
