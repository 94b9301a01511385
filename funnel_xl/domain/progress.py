"""Weekly history: snapshots, sales progress (销售进展), pipeline movement and the discipline signals.

A snapshot is the state of every opportunity on one date (schema.SNAPSHOT_COLUMNS). Two snapshots give
the week's progress and what moved; the whole history shows deals won without ever being in the funnel
(签了大单但从未在漏斗上出现过). Deals parked in one stage too long are read off the current opportunities.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import pandas as pd

from funnel_xl.domain.forecast import _ids, _won_in_window, as_of_timestamp
from funnel_xl.domain.methodology import Methodology
from funnel_xl.domain.schema import SNAPSHOT_COLUMNS
from funnel_xl.errors import InputError

MOVEMENT_KINDS: tuple[str, ...] = (
    "new", "advanced", "moved_back", "slipped", "amount_changed", "won", "lost", "reopened", "removed",
)
MOVEMENT_COLUMNS: tuple[str, ...] = ("id", "rep", "customer", "kind", "old_value", "new_value", "amount")
NEVER_SEEN_COLUMNS: tuple[str, ...] = ("id", "rep", "customer", "amount", "close_date", "first_seen")
_AMOUNT_TOLERANCE = 0.005  # half a fen: a re-typed amount that differs by rounding only has not changed


# -------------------------------------------------------------------------------------------- snapshots

def take_snapshot(opps_with_rates: pd.DataFrame, snapshot_date: dt.date | pd.Timestamp) -> pd.DataFrame:
    """The state of every opportunity on ``snapshot_date``, in SNAPSHOT_COLUMNS, win rate as of that day.

    Pass the clean opportunities (rejected rows are not in them); every clean row is kept, whatever its
    status, so a later snapshot can tell a deal won from a deal removed.
    """
    stamp = as_of_timestamp(snapshot_date, "snapshot_date")
    missing = [c for c in SNAPSHOT_COLUMNS if c != "snapshot_date" and c not in opps_with_rates.columns]
    required = {"id", "rep", "amount", "close_date", "stage", "status", "win_rate"}
    if required & set(missing):
        raise InputError(f"snapshot: the opportunities lack column(s) {', '.join(sorted(required & set(missing)))}"
                         " (pass them through rates.with_rates first)")
    out = opps_with_rates.reindex(columns=[c for c in SNAPSHOT_COLUMNS if c != "snapshot_date"])
    out.insert(0, "snapshot_date", stamp)
    return out.reset_index(drop=True)


def snapshot_totals(snapshot: pd.DataFrame, as_of: dt.date | pd.Timestamp, period_start=None) -> dict[str, float]:
    """Forecast (Σ amount × win rate of open rows) and achieved (won, 1 January of as_of's year to as_of).

    ``period_start`` moves the start of the achieved window (see ``sales_progress`` for why).
    """
    parts = _contributions(snapshot, as_of, period_start, "snapshot")
    return {"forecast": float(parts["forecast"].sum()), "achieved": float(parts["achieved"].sum())}


def sales_progress(
    this: pd.DataFrame, last: pd.DataFrame, *, this_date: dt.date | pd.Timestamp,
    last_date: dt.date | pd.Timestamp, by: str | None = None,
) -> float | pd.DataFrame:
    """Sales progress (销售进展) = (this forecast + this achieved) − (last forecast + last achieved).

    Achieved is counted from 1 January of ``last_date``'s year in both weeks, so a week spanning New Year
    shows the week's real movement rather than the whole of last year's wins vanishing. With ``by="rep"``
    a frame per rep (reps of either week; columns last_forecast, last_achieved, this_forecast,
    this_achieved, progress) whose progress column sums to the total.
    """
    if by not in (None, "rep"):
        raise InputError(f"sales progress: cannot split by {by!r}; expected None or 'rep'")
    total, by_rep = sales_progress_and_by_rep(this, last, this_date=this_date, last_date=last_date,
                                              by_rep=by == "rep")
    return total if by is None else by_rep


def sales_progress_and_by_rep(
    this: pd.DataFrame, last: pd.DataFrame, *, this_date: dt.date | pd.Timestamp,
    last_date: dt.date | pd.Timestamp, by_rep: bool = True,
) -> tuple[float, pd.DataFrame | None]:
    """``sales_progress`` in total and by rep (None without ``by_rep``), each week's rows weighed once for both."""
    last_stamp = as_of_timestamp(last_date, "last_date")
    this_stamp = as_of_timestamp(this_date, "this_date")
    if last_stamp > this_stamp:
        raise InputError(f"sales progress: last_date {last_stamp.date()} is after this_date {this_stamp.date()}")
    start = pd.Timestamp(year=last_stamp.year, month=1, day=1)
    before = _contributions(last, last_stamp, start, "last week's snapshot")
    now = _contributions(this, this_stamp, start, "this week's snapshot")
    total = (float(now["forecast"].sum()) + float(now["achieved"].sum())) - (
        float(before["forecast"].sum()) + float(before["achieved"].sum()))
    if not by_rep:
        return total, None
    out = pd.concat(
        [before.groupby(last["rep"], dropna=False).sum().add_prefix("last_"),
         now.groupby(this["rep"], dropna=False).sum().add_prefix("this_")],
        axis=1,
    ).fillna(0.0).sort_index()
    out.index.name = "rep"
    out = out[["last_forecast", "last_achieved", "this_forecast", "this_achieved"]].astype("float64")
    out["progress"] = (out["this_forecast"] + out["this_achieved"]) - (out["last_forecast"] + out["last_achieved"])
    return total, out


def _contributions(snapshot: pd.DataFrame, as_of: pd.Timestamp, period_start, what: str) -> pd.DataFrame:
    """Per row: its forecast (amount × win rate if open) and achieved (amount if won in the window) parts."""
    _single_date(snapshot, what)
    is_open = snapshot["status"].eq("open").fillna(False).astype(bool)
    amount = snapshot["amount"].astype("float64")
    weighted = amount * snapshot["win_rate"].astype("float64")
    blank = is_open & weighted.isna()
    if blank.any():
        raise InputError(f"{what}: open opportunities {_ids(snapshot, blank)} have no amount or win rate; "
                         "expected both")
    won_in = _won_in_window(snapshot, as_of, period_start, what)
    return pd.DataFrame({"forecast": weighted.where(is_open, 0.0), "achieved": amount.where(won_in, 0.0)})


def _single_date(snapshot: pd.DataFrame, what: str) -> None:
    """A snapshot frame holds one date; a whole history passed by mistake would double every figure."""
    if "snapshot_date" in snapshot.columns:
        dates = pd.to_datetime(snapshot["snapshot_date"]).dropna().unique()
        if len(dates) > 1:
            raise InputError(f"{what}: holds {len(dates)} snapshot dates; expected one snapshot (one date)")
    ids = snapshot["id"]
    twice = ids[ids.duplicated()].unique()
    if len(twice):
        raise InputError(f"{what}: opportunity id(s) {', '.join(map(str, twice[:10]))} appear more than once; "
                         "expected one row per opportunity")


# --------------------------------------------------------------------------------------------- movement

def movement(last: pd.DataFrame, this: pd.DataFrame, methodology: Methodology) -> pd.DataFrame:
    """What changed between two snapshots: one row per opportunity and kind of change (MOVEMENT_KINDS).

    One row per kind, so a deal that advanced and grew shows twice and counting by kind is a plain count.
    new: only this week (old NA, new = stage). removed: only last week (old = stage, new NA). won / lost:
    status became won / lost (old and new = status); reopened: a won or lost deal is open again. advanced /
    moved_back: the stage position rose / fell (stage keys) on a deal open this week; a deal that was won
    or lost is reported as such, not as a stage move. slipped: an open deal's close date moved later
    (dates); a date moved earlier is not a warning sign and is not reported. amount_changed: the amount
    differs by more than half a fen (amounts). rep, customer and amount are this week's (last week's for
    removed). Rows sorted by rep, id, then kind in MOVEMENT_KINDS order.
    """
    _single_date(last, "last snapshot")
    _single_date(this, "this snapshot")
    old = last.set_index("id")
    new = this.set_index("id")
    both = old.index.intersection(new.index, sort=False)
    parts: list[pd.DataFrame] = []

    # rep, customer and amount of each week as arrays, looked up by position (one lookup per kind, not three)
    columns = {id(frame): (frame["rep"].to_numpy(),
                           frame["customer"].to_numpy() if "customer" in frame else None,
                           frame["amount"].astype("float64").to_numpy()) for frame in (old, new)}

    def add(kind: str, ids, frame: pd.DataFrame, old_values, new_values) -> None:
        ids = pd.Index(ids)
        if len(ids):
            at = frame.index.get_indexer(ids)
            rep, customer, amount = columns[id(frame)]
            parts.append(pd.DataFrame({
                "id": ids, "rep": rep[at], "customer": None if customer is None else customer[at],
                "kind": kind, "old_value": _objects(old_values), "new_value": _objects(new_values),
                "amount": amount[at],
            }))

    added = new.index.difference(old.index, sort=False)
    gone = old.index.difference(new.index, sort=False)
    add("new", added, new, [None] * len(added), new.loc[added, "stage"])
    add("removed", gone, old, old.loc[gone, "stage"], [None] * len(gone))

    a, b = old.loc[both], new.loc[both]
    a_status, b_status = a["status"].astype(object), b["status"].astype(object)
    for kind in ("won", "lost"):
        hit = both[(b_status.eq(kind) & a_status.ne(kind)).to_numpy()]
        add(kind, hit, new, a_status[hit], b_status[hit])
    reopened = both[(b_status.eq("open") & a_status.isin(["won", "lost"])).to_numpy()]
    add("reopened", reopened, new, a_status[reopened], b_status[reopened])

    still_open = b_status.eq("open").to_numpy()
    pos_a = _positions(a, methodology, "last snapshot")
    pos_b = _positions(b, methodology, "this snapshot")
    for kind, moved in (("advanced", pos_b > pos_a), ("moved_back", pos_b < pos_a)):
        hit = both[(moved.to_numpy() & still_open)]
        add(kind, hit, new, a.loc[hit, "stage"], b.loc[hit, "stage"])
    close_a, close_b = pd.to_datetime(a["close_date"]), pd.to_datetime(b["close_date"])
    slipped = both[((close_b > close_a).to_numpy() & still_open)]
    add("slipped", slipped, new, close_a[slipped], close_b[slipped])
    amt_a, amt_b = a["amount"].astype("float64"), b["amount"].astype("float64")
    changed = (amt_a - amt_b).abs().gt(_AMOUNT_TOLERANCE) | (amt_a.isna() != amt_b.isna())
    hit = both[changed.to_numpy()]
    add("amount_changed", hit, new, amt_a[hit], amt_b[hit])

    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="float64" if c == "amount" else object) for c in MOVEMENT_COLUMNS})
    out = pd.concat(parts, ignore_index=True)
    order = out["kind"].map({k: i for i, k in enumerate(MOVEMENT_KINDS)})
    out = out.assign(_order=order).sort_values(["rep", "id", "_order"], kind="stable").drop(columns="_order")
    return out[list(MOVEMENT_COLUMNS)].reset_index(drop=True)


def movement_summary(moves: pd.DataFrame) -> pd.DataFrame:
    """Counts of each movement kind per rep: index rep, one column per kind of MOVEMENT_KINDS (zeros shown)."""
    # Deals without a rep (未分配) are a row of their own, as in every other per-rep table.
    table = moves.groupby(["rep", "kind"], dropna=False).size().unstack(fill_value=0) if len(moves) else pd.DataFrame()
    out = table.reindex(columns=list(MOVEMENT_KINDS), fill_value=0).fillna(0).astype("int64")
    out.index.name = "rep"
    out.columns.name = None
    return out


def _objects(values) -> np.ndarray:
    """Values as an object array, so stage keys, dates and amounts can share the old/new columns."""
    return np.asarray(list(values), dtype=object)


def _positions(snapshot: pd.DataFrame, methodology: Methodology, what: str) -> pd.Series:
    positions = snapshot["stage"].map({k: i for i, k in enumerate(methodology.stage_keys)})
    unknown = positions.isna()
    if unknown.any():
        listed = ", ".join(f"id {i!r} stage {s!r}" for i, s in snapshot.loc[unknown, "stage"].head(5).items())
        raise InputError(f"movement, {what}: {listed} not in methodology {methodology.key!r}; "
                         f"expected one of {', '.join(methodology.stage_keys)}")
    return positions.astype("int64")


# ------------------------------------------------------------------------------------ discipline signals

def never_seen_wins(
    history: pd.DataFrame, current: pd.DataFrame, as_of: dt.date | pd.Timestamp, *,
    lookback_snapshots: int | None = None,
) -> pd.DataFrame:
    """Won deals that no snapshot taken before their close date shows (签了大单但从未在漏斗上出现过).

    Considered: current opportunities won with close_date ≤ as_of and after the first snapshot of the
    history (a deal closed before any snapshot existed could not have been seen). "Before" is strictly
    earlier than the close date; ``lookback_snapshots`` = n looks only at the n snapshots before the close
    date (a deal that surfaced months ago then vanished until it was won is also flagged then).
    first_seen is the first snapshot showing the deal at all (on or after its close: entered afterwards),
    NaT if none. Sorted by amount, largest first.
    """
    stamp = as_of_timestamp(as_of)
    if lookback_snapshots is not None and (
            isinstance(lookback_snapshots, bool) or not isinstance(lookback_snapshots, int) or lookback_snapshots < 1):
        raise InputError(f"never-seen wins: lookback_snapshots {lookback_snapshots!r} must be a whole number ≥ 1")
    seen_on = pd.to_datetime(history["snapshot_date"]).to_numpy().astype("datetime64[ns]")
    dates = np.unique(seen_on[~np.isnat(seen_on)])
    close = pd.to_datetime(current["close_date"]).astype("datetime64[ns]")
    candidate = current["status"].eq("won").fillna(False).astype(bool) & close.le(stamp)
    candidate &= close.gt(dates[0]) if len(dates) else False
    wins = pd.DataFrame({
        "id": current["id"], "rep": current["rep"], "customer": current.get("customer"),
        "amount": current["amount"].astype("float64"), "close_date": close,
    })[candidate.to_numpy()]
    closed_on = wins["close_date"].to_numpy()
    # The window of snapshots that count for each win: [earliest counted snapshot, close date).
    before = np.searchsorted(dates, closed_on, side="left")
    first = np.zeros_like(before) if lookback_snapshots is None else np.maximum(before - lookback_snapshots, 0)
    window_start = dates[np.minimum(first, len(dates) - 1)] if len(dates) else closed_on
    # Ids are factorised once: a year of weekly snapshots runs to millions of rows.
    codes, uniques = pd.factorize(history["id"])
    win_code = pd.Index(uniques).get_indexer(wins["id"])
    win_of_code = np.full(len(uniques) + 1, -1)
    known = win_code >= 0
    win_of_code[win_code[known]] = np.flatnonzero(known)
    row_win = win_of_code[codes]  # a blank id has code -1, which lands on the extra slot: no win
    rows = np.flatnonzero((row_win >= 0) & ~np.isnat(seen_on))
    seen_at, which = seen_on[rows], row_win[rows]
    in_window = (seen_at >= window_start[which]) & (seen_at < closed_on[which])
    spotted = np.zeros(len(wins), dtype=bool)
    spotted[which[in_window]] = True
    never = np.iinfo("int64").max
    earliest = np.full(len(wins), never, dtype="int64")
    np.minimum.at(earliest, which, seen_at.view("int64"))
    first_seen = np.where(earliest == never, np.datetime64("NaT", "ns"), earliest.view("datetime64[ns]"))
    out = wins.assign(first_seen=first_seen)[~spotted]
    out = out[list(NEVER_SEEN_COLUMNS)]
    return out.sort_values("amount", ascending=False, kind="stable").reset_index(drop=True)


def stalled(
    opps: pd.DataFrame, methodology: Methodology, as_of: dt.date | pd.Timestamp, *,
    max_days: Mapping[str, int] | int,
) -> pd.DataFrame:
    """Open deals parked in their stage longer than allowed: as_of − stage_entered_date > the stage's limit.

    ``max_days`` is one limit for every stage or a limit per stage key (stages left out are not checked;
    an unknown stage key is refused). Rows without stage_entered_date cannot be judged and are not listed
    (the data-issues check reports blank dates). Sorted by days in stage, longest first.
    """
    stamp = as_of_timestamp(as_of)
    limits = _stage_limits(max_days, methodology)
    is_open = opps["status"].eq("open").fillna(False).astype(bool)
    entered = pd.to_datetime(opps["stage_entered_date"]) if "stage_entered_date" in opps else pd.Series(
        pd.NaT, index=opps.index)
    days = (stamp - entered.dt.normalize()).dt.days
    allowed = opps["stage"].map(limits).astype("float64")
    hit = is_open & allowed.notna() & days.gt(allowed).fillna(False).astype(bool)
    out = pd.DataFrame({
        "id": opps["id"], "rep": opps["rep"], "customer": opps.get("customer"), "stage": opps["stage"],
        "stage_entered_date": entered, "days_in_stage": days, "max_days": allowed, "amount": opps["amount"],
    })[hit]
    out["days_in_stage"] = out["days_in_stage"].astype("int64")
    out["max_days"] = out["max_days"].astype("int64")
    return out.sort_values("days_in_stage", ascending=False, kind="stable").reset_index(drop=True)


def _stage_limits(max_days: Mapping[str, int] | int, methodology: Methodology) -> dict[str, int]:
    if isinstance(max_days, Mapping):
        limits = dict(max_days)
    elif isinstance(max_days, int) and not isinstance(max_days, bool):
        limits = dict.fromkeys(methodology.stage_keys, max_days)
    else:
        raise InputError(f"stalled deals: max_days {max_days!r} must be a number of days or a mapping stage → days")
    unknown = [k for k in limits if k not in methodology.stage_keys]
    if unknown:
        raise InputError(f"stalled deals: max_days names stage(s) {', '.join(map(repr, unknown))} not in methodology "
                         f"{methodology.key!r}; expected {', '.join(methodology.stage_keys)}")
    bad = {k: v for k, v in limits.items() if isinstance(v, bool) or not isinstance(v, int) or v < 0}
    if bad:
        raise InputError(f"stalled deals: max_days {bad!r} must be whole numbers of days, 0 or more")
    return limits
