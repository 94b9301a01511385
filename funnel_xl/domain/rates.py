"""Win rate and weighted amount per opportunity: the one place the methodology's rates meet the rows.

Each deal has two stages: the one the rep claims (销售阶段) and the one its checklist supports (评估阶段, where the
checklist has been answered). The forecast basis (``settings.py``) says which sets the rate; the other is kept
beside it, so the claim and its difference from the evidence can be priced (声称与证据之差).
"""

from __future__ import annotations

import pandas as pd

from funnel_xl.domain.methodology import Methodology
from funnel_xl.domain.settings import ASSESSED, BASES
from funnel_xl.domain.stages import derive_stages
from funnel_xl.errors import InputError


def with_rates(opps: pd.DataFrame, methodology: Methodology, basis: str = ASSESSED,
               assessed: pd.Series | None = None) -> pd.DataFrame:
    """A copy of ``opps`` with the stages and rates every figure weights by.

    Added: the columns of ``derive_stages`` (``answered``, ``derived_stage``, ``stage_gap``, ...);
    ``claimed_stage`` (the rep's stage as typed); ``claimed_rate`` / ``claimed_weighted`` (at the claimed stage);
    ``evidence_stage`` / ``evidence_rate`` / ``evidence_weighted`` (at the assessed stage where the checklist is
    answered, else at the claimed stage: an unanswered checklist is no evidence against the claim); and
    ``win_rate`` / ``weighted``, the pair of the ``basis``. ``stage`` becomes the stage on the basis, so the funnel,
    the snapshots and the movement between them follow the same stage as the rate.
    ``assessed``, when given, is the assessed stage of each row as already worked out (a sheet's 评估阶段 column:
    a stage key, NA where not assessed); it stands in for the checklist, which a stage table alone cannot read.
    Weighted amounts count open rows only: won revenue is counted apart as achieved, lost revenue is gone.
    """
    if basis not in BASES:
        raise InputError(f"forecast basis {basis!r} is not one of {', '.join(BASES)}")
    out = opps.copy()
    if "claimed_stage" not in out.columns:  # a frame already rated keeps the rep's stage
        out["claimed_stage"] = out["stage"] if "stage" in out.columns else None
    claimed = out["claimed_stage"]
    derived = derive_stages(out.assign(stage=claimed), methodology)
    if assessed is not None:
        given = assessed.reindex(out.index)
        derived["answered"] = given.notna()
        derived["derived_stage"] = given.astype(object).where(given.notna(), None)
        position = given.map({k: i for i, k in enumerate(methodology.stage_keys)}).astype("Int64")
        derived["derived_position"] = position.fillna(-1).astype("int64")
        derived["stage_gap"] = (derived["claimed_position"] - position).astype("Int64")
    out = out.drop(columns=[c for c in derived.columns if c in out.columns]).join(derived)
    out["evidence_stage"] = out["derived_stage"].where(out["answered"], claimed)
    rates = methodology.rates()
    is_open = out["status"].eq("open").fillna(False).astype(bool) if "status" in out.columns else False
    amount = out["amount"].astype("float64")
    for prefix, stage in (("claimed", claimed), ("evidence", out["evidence_stage"])):
        rate = stage.map(rates).astype("float64")
        out[f"{prefix}_rate"] = rate
        out[f"{prefix}_weighted"] = (amount * rate).where(is_open, 0.0)
    chosen = "evidence" if basis == ASSESSED else "claimed"
    out["stage"] = out[f"{chosen}_stage"]
    out["win_rate"] = out[f"{chosen}_rate"]
    out["weighted"] = out[f"{chosen}_weighted"]
    return out
