"""Customer priority (客户分类与优先级): high / medium / low from size, need and buying intent.

The user's own ``priority`` wins where set; otherwise a small points score decides, with its thresholds
held in ``PriorityRule`` so a company can tune them without touching the logic.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from funnel_xl.domain.forecast import as_of_timestamp
from funnel_xl.domain.schema import PRIORITIES
from funnel_xl.errors import InputError


@dataclass(frozen=True)
class PriorityRule:
    """The scoring thresholds: sizes and amounts give 0-2 points, need 1, buying intent 1.

    high ≥ ``high_points``, medium ≥ ``medium_points``, else low. The intent rate 0.35 is the big-project
    sale's first stage with a budget and a selection team (引导客户立项).
    """

    size_points: tuple[tuple[str, int], ...] = (("large", 2), ("medium", 1), ("small", 0))
    large_amount: float = 1_000_000.0   # without a customer_size, an amount this big counts as large
    medium_amount: float = 300_000.0    # ... and this big as medium
    intent_rate: float = 0.35
    intent_months: int = 6              # an open deal expected to close within this many months shows intent
    high_points: int = 3
    medium_points: int = 2


DEFAULT_RULE = PriorityRule()


def customer_priority(
    opps: pd.DataFrame, *, as_of: dt.date | pd.Timestamp | None = None, rule: PriorityRule = DEFAULT_RULE,
) -> pd.Series:
    """"high" / "medium" / "low" per opportunity (index aligned): the user's priority, else the score.

    Score (0-4): size 0-2 (customer_size large 2 / medium 1 / small 0; where blank, amount ≥ 1,000,000 → 2,
    ≥ 300,000 → 1, else 0); need 1 when the win rate is above 0 (the deal is past the funnel's first,
    unqualified stage); intent 1 when the win rate is ≥ 0.35 or, given ``as_of``, an open deal closes within
    6 months of it. 3-4 → high, 2 → medium, 0-1 → low. Missing optional columns (customer_size, win_rate,
    close_date) simply give no points. Lost rows get NA unless the user set a priority: nobody pursues them.
    A typed priority outside high/medium/low is refused, naming the row.
    """
    points = _size_points(opps, rule)
    rate = opps["win_rate"].astype("float64") if "win_rate" in opps else pd.Series(float("nan"), index=opps.index)
    points += rate.gt(0).fillna(False).astype("int64")
    intent = rate.ge(rule.intent_rate).fillna(False).astype(bool)
    if as_of is not None and "close_date" in opps:
        stamp = as_of_timestamp(as_of)
        close = pd.to_datetime(opps["close_date"])
        soon = close.le(stamp + pd.DateOffset(months=rule.intent_months)) & close.ge(stamp)
        intent |= soon.fillna(False).astype(bool) & _status_is(opps, "open")
    points += intent.astype("int64")

    scored = pd.Series("low", index=opps.index, dtype="string", name="priority")
    scored[points.ge(rule.medium_points)] = "medium"
    scored[points.ge(rule.high_points)] = "high"
    scored[_status_is(opps, "lost")] = pd.NA
    typed = _typed_priority(opps)
    return typed.fillna(scored).rename("priority")


def _size_points(opps: pd.DataFrame, rule: PriorityRule) -> pd.Series:
    by_amount = pd.Series(0, index=opps.index, dtype="int64")
    if "amount" in opps:
        amount = opps["amount"].astype("float64")
        by_amount[amount.ge(rule.medium_amount).fillna(False).astype(bool)] = 1
        by_amount[amount.ge(rule.large_amount).fillna(False).astype(bool)] = 2
    if "customer_size" not in opps:
        return by_amount
    size = opps["customer_size"].astype("string").str.strip().str.lower()
    size = size.mask(size.eq(""))
    named = dict(rule.size_points)
    unknown = size.notna() & ~size.isin(named).fillna(False).astype(bool)
    if unknown.any():
        raise InputError(_bad_values(opps, unknown, "customer_size", ", ".join(named)))
    return size.map(named).astype("Float64").fillna(by_amount.astype("Float64")).astype("int64")


def _typed_priority(opps: pd.DataFrame) -> pd.Series:
    if "priority" not in opps:
        return pd.Series(pd.NA, index=opps.index, dtype="string")
    typed = opps["priority"].astype("string").str.strip().str.lower()
    typed = typed.mask(typed.eq(""))
    unknown = typed.notna() & ~typed.isin(PRIORITIES).fillna(False).astype(bool)
    if unknown.any():
        raise InputError(_bad_values(opps, unknown, "priority", ", ".join(PRIORITIES)))
    return typed


def _status_is(opps: pd.DataFrame, status: str) -> pd.Series:
    if "status" not in opps:
        return pd.Series(False, index=opps.index)
    return opps["status"].eq(status).fillna(False).astype(bool)


def _bad_values(opps: pd.DataFrame, mask: pd.Series, column: str, expected: str) -> str:
    ids = opps["id"] if "id" in opps else pd.Series(opps.index, index=opps.index)
    listed = "; ".join(f"id {i!r}: {v!r}" for i, v in zip(ids[mask].head(10), opps.loc[mask, column].head(10)))
    return f"customer priority, column {column}: {listed}; expected one of {expected} or blank"
