"""The funnel figures (漏斗): per-stage counts and conversions, ideal vs actual shape, and the reverse calculation.

Pure functions over a clean opportunities frame (``schema.py`` columns, through ``rates.with_rates``)
and a ``Methodology``. Stage keys index every result, in the methodology's order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from funnel_xl.domain.forecast import _ids, _is, _require_columns, _require_weighted, as_of_timestamp
from funnel_xl.domain.methodology import Methodology
from funnel_xl.errors import InputError


def _positions(stages: pd.Series, methodology: Methodology, where: str, frame: pd.DataFrame) -> pd.Series:
    """0-based funnel position of each stage key; an unknown stage is refused, never guessed."""
    lookup = {key: i for i, key in enumerate(methodology.stage_keys)}
    pos = stages.map(lookup)
    unknown = pos.isna()
    if unknown.any():
        values = sorted({str(v) for v in stages[unknown]})
        raise InputError(
            f"{where}: rows {_ids(frame, unknown)} have stage(s) {', '.join(values)} that are not in methodology "
            f"{methodology.key!r}; expected one of {', '.join(methodology.stage_keys)}")
    return pos.astype("int64")


def reached_position(opps: pd.DataFrame, methodology: Methodology, history: pd.DataFrame | None = None) -> pd.Series:
    """The furthest funnel position (0-based) each opportunity reached, index aligned.

    Assumption: being in a stage implies every earlier stage was passed, so an open or lost row reached
    its current stage and a won row reached the last stage. Snapshots (``history`` with columns id and
    stage) refine it: a deal that was further along in an earlier week and slipped back keeps the
    furthest position seen.
    """
    _require_columns(opps, ("stage", "status"), "funnel")
    last = len(methodology.stages) - 1
    won = _is(opps, "won")
    current = pd.Series(last, index=opps.index, dtype="int64")
    if (~won).any():
        current[~won] = _positions(opps.loc[~won, "stage"], methodology, "opportunities", opps.loc[~won])
    if history is None or history.empty:
        return current.rename("reached_position")
    _require_columns(opps, ("id",), "funnel with history")
    for column in ("id", "stage"):
        if column not in history.columns:
            raise InputError(f"funnel history: the snapshot table lacks column {column}")
    seen = _positions(history["stage"], methodology, "snapshots", history)
    best = seen.groupby(history["id"].astype(str)).max()
    from_history = opps["id"].astype(str).map(best)
    return current.where(~(from_history > current).fillna(False), from_history).astype("int64").rename(
        "reached_position")


def funnel_by_stage(opps: pd.DataFrame, methodology: Methodology, as_of: object,
                    history: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per stage (methodology order): what sits there now and how deals move on from it.

    open_count, pipeline, weighted: open rows currently in the stage. reached_count: opportunities of
    any status that reached the stage (see ``reached_position``). conversion_to_next: reached(s+1) /
    reached(s), NA at the last stage or when none reached s. conversion_to_won: won / (won + lost) among
    those that reached s, NA when none of them has closed. avg_days_in_stage: mean of as_of − stage
    entered date over the open rows in the stage that have that date, NA when none has it.
    """
    stamp = as_of_timestamp(as_of)
    _require_weighted(opps, "funnel")
    keys = list(methodology.stage_keys)
    is_open, won, lost = _is(opps, "open"), _is(opps, "won"), _is(opps, "lost")
    reached = reached_position(opps, methodology, history)

    open_rows = opps[is_open]
    stage_pos = _positions(open_rows["stage"], methodology, "opportunities", open_rows)
    now = pd.DataFrame({"pos": stage_pos, "amount": open_rows["amount"].astype("float64"),
                        "weighted": open_rows["weighted"].astype("float64")})
    if "stage_entered_date" in opps.columns:
        entered = pd.to_datetime(open_rows["stage_entered_date"]).dt.normalize()
        now["days"] = (stamp - entered).dt.days.astype("float64")
    else:
        now["days"] = float("nan")
    by_pos = now.groupby("pos")

    out = pd.DataFrame(index=pd.Index(keys, name="stage"))
    out["stage_zh"] = [s.zh for s in methodology.stages]
    out["stage_en"] = [s.en for s in methodology.stages]
    out["win_rate"] = [float(s.win_rate) for s in methodology.stages]
    positions = range(len(keys))
    out["open_count"] = by_pos.size().reindex(positions, fill_value=0).astype("int64").to_numpy()
    out["pipeline"] = by_pos["amount"].sum().reindex(positions, fill_value=0.0).to_numpy()
    out["weighted"] = by_pos["weighted"].sum().reindex(positions, fill_value=0.0).to_numpy()

    reached_count = [int((reached >= p).sum()) for p in positions]
    out["reached_count"] = reached_count
    out["conversion_to_next"] = pd.array(
        [reached_count[p + 1] / reached_count[p] if p + 1 < len(keys) and reached_count[p] else pd.NA
         for p in positions], dtype="Float64")
    to_won = []
    for p in positions:
        got_here = reached >= p
        n_won, n_lost = int((got_here & won).sum()), int((got_here & lost).sum())
        to_won.append(n_won / (n_won + n_lost) if n_won + n_lost else pd.NA)
    out["conversion_to_won"] = pd.array(to_won, dtype="Float64")
    out["avg_days_in_stage"] = pd.array(by_pos["days"].mean().reindex(positions).to_numpy(), dtype="Float64")
    return out


def sales_cycle_days(opps: pd.DataFrame) -> float | None:
    """Mean days from created date to close date over won deals (销售周期); None when no won deal has both
    dates (a deal without its created date has an unknown cycle and is left out of the mean)."""
    _require_columns(opps, ("status", "created_date", "close_date"), "sales cycle")
    won = _is(opps, "won")
    created = pd.to_datetime(opps.loc[won, "created_date"]).dt.normalize()
    closed = pd.to_datetime(opps.loc[won, "close_date"]).dt.normalize()
    days = (closed - created).dt.days.dropna()
    return float(days.mean()) if len(days) else None


def ideal_vs_actual(opps: pd.DataFrame, methodology: Methodology) -> pd.DataFrame:
    """The planned share of open opportunities per stage (理想漏斗) against the actual one (实际漏斗).

    ideal_share is ``Stage.ideal_share`` normalised over the stages that have one (NA elsewhere);
    actual_share is the stage's share of open opportunities by count (NA when nothing is open);
    ideal_count = ideal_share × open count; gap_count = actual_count − ideal_count (negative: thin there).
    """
    _require_columns(opps, ("stage", "status"), "ideal vs actual funnel")
    keys = list(methodology.stage_keys)
    open_rows = opps[_is(opps, "open")]
    pos = _positions(open_rows["stage"], methodology, "opportunities", open_rows)
    actual = pos.value_counts().reindex(range(len(keys)), fill_value=0).astype("int64").to_numpy()
    total_open = int(actual.sum())

    shares = [s.ideal_share for s in methodology.stages]
    planned = sum(x for x in shares if x is not None)
    ideal = pd.array([x / planned if x is not None and planned > 0 else pd.NA for x in shares], dtype="Float64")

    out = pd.DataFrame(index=pd.Index(keys, name="stage"))
    out["ideal_share"] = ideal
    out["actual_share"] = pd.array([n / total_open if total_open else pd.NA for n in actual], dtype="Float64")
    out["ideal_count"] = ideal * total_open
    out["actual_count"] = actual
    out["gap_count"] = out["actual_count"].astype("Float64") - out["ideal_count"]
    return out


def required_pipeline(target: float, methodology: Methodology, *, avg_deal_size: float,
                      rates: Mapping[str, float] | pd.Series | None = None) -> pd.DataFrame:
    """The reverse calculation (漏斗计算, from the bottom up): what must sit in each stage to reach a target.

    For a stage with rate r > 0: amount_needed = target / r and count_needed = ceil(amount_needed /
    avg_deal_size). ``rates`` default to the methodology's win rates; passed rates (e.g. observed
    conversion to won) are used as given, and a stage they omit or leave blank gets NA. A stage with
    rate 0 gets NA: nothing there counts toward revenue yet (the seed's "not yet counted" top of the
    funnel), so no amount there would be enough.
    """
    target = _non_negative_number(target, "target", allow_zero=True)
    avg_deal_size = _non_negative_number(avg_deal_size, "avg_deal_size", allow_zero=False)
    keys = list(methodology.stage_keys)
    given = methodology.rates() if rates is None else dict(rates)
    strangers = sorted(str(k) for k in given if k not in keys)
    if strangers:
        raise InputError(f"required pipeline: rates name stage(s) {', '.join(strangers)} that are not in "
                         f"methodology {methodology.key!r}; expected among {', '.join(keys)}")

    rate_col, amount_col, count_col = [], [], []
    for key in keys:
        r = given.get(key)
        r = None if r is None or pd.isna(r) else float(r)
        if r is not None and not 0.0 <= r <= 1.0:
            raise InputError(f"required pipeline: rate for stage {key!r} is {r!r}; expected a fraction 0-1")
        rate_col.append(pd.NA if r is None else r)
        if r is None or r == 0.0:
            amount_col.append(pd.NA)
            count_col.append(pd.NA)
            continue
        amount = target / r
        amount_col.append(amount)
        # Rounded first so 1e6 / 0.1 / 1e6 = 10.000000000000002 does not become 11 deals.
        count_col.append(math.ceil(round(amount / avg_deal_size, 9)))

    out = pd.DataFrame(index=pd.Index(keys, name="stage"))
    out["stage_zh"] = [s.zh for s in methodology.stages]
    out["stage_en"] = [s.en for s in methodology.stages]
    out["rate"] = pd.array(rate_col, dtype="Float64")
    out["amount_needed"] = pd.array(amount_col, dtype="Float64")
    out["count_needed"] = pd.array(count_col, dtype="Int64")
    return out


def _non_negative_number(value: object, name: str, *, allow_zero: bool) -> float:
    expected = "a number ≥ 0" if allow_zero else "a number > 0"
    if isinstance(value, bool):
        raise InputError(f"required pipeline: {name} is {value!r}; expected {expected}")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(f"required pipeline: {name} is {value!r}; expected {expected}") from None
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        raise InputError(f"required pipeline: {name} is {value!r}; expected {expected}")
    return number
