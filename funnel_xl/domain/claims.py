"""The claim made visible (声称与证据之差): the forecast at the stages reps claim beside the forecast at the stages
their checklists support, and the deals that carry the difference.

The seed's "the rep says 80 %, the boss says 20 %" priced: claimed weighted − evidence weighted, in total, per rep
and per category. Pure functions over a frame rated by ``rates.with_rates`` (claimed_weighted, evidence_weighted).
"""

from __future__ import annotations

import pandas as pd

from funnel_xl.domain.forecast import _is, _require_columns

CLAIM_COLUMNS: tuple[str, ...] = ("open_count", "weighted", "claimed_weighted", "evidence_weighted", "difference")
CLAIM_DEAL_COLUMNS: tuple[str, ...] = (
    "id", "customer", "rep", "claimed_stage", "derived_stage", "amount", "claimed_weighted", "evidence_weighted",
    "difference", "missing_criteria",
)
_RATED = ("status", "weighted", "claimed_weighted", "evidence_weighted")


def claim_difference(opps: pd.DataFrame) -> float:
    """Σ claimed weighted − Σ evidence weighted over open deals: positive where reps claim more than they show."""
    _require_columns(opps, _RATED, "claim difference")
    is_open = _is(opps, "open")
    return float(opps.loc[is_open, "claimed_weighted"].sum() - opps.loc[is_open, "evidence_weighted"].sum())


def claims_by(opps: pd.DataFrame, key: pd.Series, order: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Per value of ``key`` (a rep, a category) over open deals: their count, the weighted forecast on the basis in
    use, at the claimed and at the evidence stages, and the difference (claimed − evidence).

    ``order`` lists the groups to show, in order (zeros where empty); without it, every group with an open deal
    appears, largest difference first, a blank group (no rep) last. The columns sum to the team's figures.
    """
    _require_columns(opps, _RATED, "claims")
    is_open = _is(opps, "open")
    parts = pd.DataFrame({"open_count": 1, "weighted": opps["weighted"], "claimed_weighted": opps["claimed_weighted"],
                          "evidence_weighted": opps["evidence_weighted"]}, index=opps.index)[is_open]
    table = parts.groupby(key[is_open].rename(key.name), dropna=False, sort=False).sum()
    table["difference"] = table["claimed_weighted"] - table["evidence_weighted"]
    if order is not None:
        out = table.reindex(list(order), fill_value=0)
    else:
        blank = table.index.isna()
        named = table[~blank]
        named = named.assign(_name=named.index.astype(str)).sort_values(
            ["difference", "_name"], ascending=[False, True], kind="stable").drop(columns="_name")
        out = pd.concat([named, table[blank]])
    out["open_count"] = out["open_count"].astype("int64")
    out.index.name = key.name
    return out[list(CLAIM_COLUMNS)]


def claim_deals(opps: pd.DataFrame) -> pd.DataFrame:
    """The open deals that carry the difference: claimed at another stage than their checklist supports.

    Columns: CLAIM_DEAL_COLUMNS (the stages as keys; missing_criteria the keys still unmet for the next stage up).
    Largest difference first, so the deals claimed furthest above their evidence lead; deals claimed below their
    evidence follow with a negative difference.
    """
    _require_columns(opps, (*_RATED, "claimed_stage", "derived_stage", "answered"), "claims")
    differs = _is(opps, "open") & opps["answered"].astype(bool) & opps["claimed_stage"].ne(opps["derived_stage"])
    rows = opps.loc[differs]
    out = pd.DataFrame({
        "id": rows["id"], "customer": rows.get("customer"), "rep": rows["rep"], "claimed_stage": rows["claimed_stage"],
        "derived_stage": rows["derived_stage"], "amount": rows["amount"].astype("float64"),
        "claimed_weighted": rows["claimed_weighted"], "evidence_weighted": rows["evidence_weighted"],
        "difference": rows["claimed_weighted"] - rows["evidence_weighted"],
        "missing_criteria": rows.get("missing_criteria"),
    })
    return out.sort_values(["difference", "amount"], ascending=False, kind="stable").reset_index(drop=True)
