"""The rows a forecast cannot count, with what each would have carried, so the total left out can be shown.

A row is left out when its amount, stage or status cannot be read, or another error keeps it from being counted
(a repeated id, a won deal without its signing date). What it would have carried is read from the values that
did read: its amount, and its weighted amount where the stage and an open status read too.
"""

from __future__ import annotations

import pandas as pd

from funnel_xl.domain.methodology import Methodology
from funnel_xl.domain.rates import with_rates
from funnel_xl.domain.schema import Problem
from funnel_xl.domain.settings import ASSESSED

LEFT_OUT_COLUMNS: tuple[str, ...] = ("row", "id", "rep", "amount", "weighted", "reason")


def left_out(values: pd.DataFrame, problems: list[Problem], methodology: Methodology,
             basis: str = ASSESSED) -> pd.DataFrame:
    """One row per rejected row: its sheet row, id, rep, amount (NA where unreadable), weighted amount on the basis
    (NA where the amount, stage or status did not read; 0 for a closed deal) and the reason, its first error (a
    Problem, for the writer to word in the workbook's language).

    ``values`` are the rejected rows as far as they read (``Normalized.rejected_values``: NA where a cell did not);
    ``problems`` are the sheet's problems, whose first error per row gives the reason.
    """
    if values.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64" if c in ("amount", "weighted") else object)
                             for c in LEFT_OUT_COLUMNS})
    rated = with_rates(values, methodology, basis)
    readable = rated["amount"].notna() & rated["win_rate"].notna() & rated["status"].notna()
    reasons: dict = {}
    for p in problems:
        if p.severity == "error" and p.row is not None:
            reasons.setdefault(p.row, p)
    return pd.DataFrame({
        "row": values.index, "id": values["id"], "rep": values["rep"], "amount": rated["amount"].astype("float64"),
        "weighted": rated["weighted"].where(readable),
        "reason": [reasons.get(row) for row in values.index],
    }).reset_index(drop=True)
