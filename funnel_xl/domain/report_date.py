"""A report date in the past means the past: deals won or lost after it were still open on it.

Recalculating as of an earlier date (截止上报时间) must not count a deal won later as won, nor a deal lost later as
lost; and it must treat the two alike, or the observed win rate would mix what was known with what was not.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from funnel_xl.domain.forecast import as_of_timestamp
from funnel_xl.domain.schema import CHECKLIST_PREFIX

CLOSED_AFTER_COLUMNS: tuple[str, ...] = ("id", "customer", "rep", "status", "close_date", "amount")
# What a snapshot says of a deal on its date; the rest of the row (customer, notes, ...) is today's.
_AS_KNOWN = ("stage", "status", "amount", "close_date")


def as_of_view(opps: pd.DataFrame, as_of: dt.date | pd.Timestamp,
               known: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the opportunities as they stood on ``as_of``, the deals closed after it that nothing places).

    A deal won or lost after as_of was not closed on it. Where ``known`` (the latest snapshot on or before as_of)
    holds it, it counts as the snapshot shows it (stage, status, amount, close date), its checklist and typed
    category blanked: today's answers are not that day's evidence (the snapshot's stage was itself stored on the
    forecast basis), and the category is derived from that day's stage and date. Without
    it the deal is left out of won and lost alike and listed once in the second frame (CLOSED_AFTER_COLUMNS).
    """
    stamp = as_of_timestamp(as_of)
    close = pd.to_datetime(opps["close_date"])
    after = opps["status"].isin(("won", "lost")).fillna(False).astype(bool) & close.gt(stamp).fillna(False)
    if not after.any():
        return opps, pd.DataFrame({c: pd.Series(dtype=object) for c in CLOSED_AFTER_COLUMNS})
    out = opps.copy()
    placed = pd.Series(False, index=opps.index)
    if known is not None and len(known):
        latest = known.drop_duplicates("id", keep="last").set_index("id")
        placed = after & opps["id"].isin(latest.index)
        for column in _AS_KNOWN:
            out[column] = out[column].mask(placed, opps["id"].map(latest[column]))
        # Today's answers and typed category are not that day's: the checklist is blanked, the category derived.
        for column in (c for c in out.columns if isinstance(c, str) and (c.startswith(CHECKLIST_PREFIX)
                                                                       or c == "category")):
            out[column] = out[column].mask(placed)
    left = after & ~placed
    listed = opps.loc[left].reindex(columns=list(CLOSED_AFTER_COLUMNS)).reset_index(drop=True)
    return out.loc[~left], listed
