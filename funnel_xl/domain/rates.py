"""Win rate and weighted amount per opportunity: the one place the methodology's rates meet the rows."""

from __future__ import annotations

import pandas as pd

from funnel_xl.domain.methodology import Methodology


def with_rates(opps: pd.DataFrame, methodology: Methodology) -> pd.DataFrame:
    """A copy of ``opps`` with ``win_rate`` (the stage's rate) and ``weighted`` (amount × rate, open rows only).

    Won and lost rows keep their stage's rate for display but weigh nothing: won revenue is counted
    apart as achieved, lost revenue is gone.
    """
    out = opps.copy()
    out["win_rate"] = out["stage"].map(methodology.rates()).astype("float64")
    is_open = out["status"].eq("open")
    out["weighted"] = (out["amount"].astype("float64") * out["win_rate"]).where(is_open, 0.0)
    return out
