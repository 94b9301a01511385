"""What needs attention: the deals a manager should ask about this week, in short lists with count and amount.

Each list is a frame of deals (id, customer, rep, amount and what makes it a case) with ``row``, the deal's row on
商机, so a sheet can link each entry to it. Pure: the lists are cut from figures already computed.
"""

from __future__ import annotations

import pandas as pd

ATTENTION_LISTS: tuple[str, ...] = (
    "claimed_above_evidence", "overdue", "stalled", "never_seen", "not_assessed",
)


def _sheet_rows(opps: pd.DataFrame) -> pd.Series:
    """The 商机 row of each id (the rated frame's index is the sheet row), the first where an id repeats."""
    rows = pd.Series(opps.index, index=opps["id"].astype(str))
    return rows[~rows.index.duplicated()]


def _with_rows(frame: pd.DataFrame, rows: pd.Series) -> pd.DataFrame:
    """``frame`` with ``row``: the 商机 row of each id (``_sheet_rows``)."""
    out = frame.reset_index(drop=True).copy()
    out["row"] = out["id"].astype(str).map(rows).astype("Int64")
    return out


def attention_lists(opps: pd.DataFrame, *, claim_deals: pd.DataFrame, dates_to_update: pd.DataFrame,
                    stalled: pd.DataFrame, never_seen: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Every list of ATTENTION_LISTS, largest case first: deals claimed above their evidence (largest difference),
    open deals past their close date (longest overdue), stalled deals (longest in stage), won deals never seen
    in the funnel (largest), open deals whose checklist has no answer (largest)."""
    is_open = opps["status"].eq("open").fillna(False).astype(bool)
    unanswered = opps.loc[is_open & ~opps["answered"].fillna(False).astype(bool),
                          ["id", "customer", "rep", "claimed_stage", "amount"]]
    overdue = dates_to_update[dates_to_update["issue"].eq("overdue").fillna(False).astype(bool)]
    lists = {
        "claimed_above_evidence": claim_deals[claim_deals["difference"].gt(0)],
        "overdue": overdue.sort_values("close_date", kind="stable"),
        "stalled": stalled,
        "never_seen": never_seen.sort_values("amount", ascending=False, kind="stable"),
        "not_assessed": unanswered.sort_values("amount", ascending=False, kind="stable"),
    }
    rows = _sheet_rows(opps)
    return {key: _with_rows(frame, rows) for key, frame in lists.items()}


def attention_summary(lists: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Count and amount (Σ the deals' amounts) per list, in ATTENTION_LISTS order."""
    return pd.DataFrame(
        {"count": [len(lists[k]) for k in ATTENTION_LISTS],
         "amount": [float(lists[k]["amount"].astype("float64").sum()) for k in ATTENTION_LISTS]},
        index=pd.Index(ATTENTION_LISTS, name="list"))
