"""The derived stage (评估阶段): the stage the checklist evidence supports, and its gap to the claimed stage.

Derived stage = the highest stage all of whose required criteria, and those of every earlier stage, are met.
Where the rep's claimed stage is above it, the gap is the rep/manager disagreement made visible.

A checklist is *answered* when at least one criterion holds yes or no. An unanswered checklist (an imported deal,
a new row) is no evidence either way: such a deal has no derived stage (未评估, not assessed) and no gap. An answered
checklist that does not meet even the first stage's required criteria places the deal at the first stage, the
entry of the funnel: every deal in the table is at least there, and the first stage's rate is the lowest the
methodology knows; its missing criteria are the first stage's own.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from funnel_xl.domain.methodology import Methodology
from funnel_xl.domain.schema import checklist_column
from funnel_xl.errors import InputError

MISSING_SEPARATOR = ", "


def derive_stages(opps: pd.DataFrame, methodology: Methodology) -> pd.DataFrame:
    """Derived stage, claimed position, gap and the criteria to meet next, one row per opportunity.

    Evidence is read from the ``chk:<criterion key>`` columns: True is met; False, NA or a missing column
    is not met (an unanswered question is no evidence). Returns, aligned to ``opps.index``:
    ``answered`` (at least one criterion holds True or False), ``derived_stage`` (stage key; None where the
    checklist is unanswered; the first stage where it is answered but not even the first stage's required
    criteria are met), ``derived_position`` (0-based, -1 where unanswered), ``claimed_position`` (position of
    ``opps["stage"]``, NA where the stage is blank, not a stage key or the column is absent), ``stage_gap``
    (claimed − derived, positive where the rep claims more than the evidence shows; NA where unanswered) and
    ``missing_criteria`` (keys of the unmet required criteria of the next stage up, or of the first stage when
    even that is unmet, joined by ", "; empty at the last stage).
    Won and lost rows get no special case: their derived stage is what their checklist shows, so a deal
    marked won without the closing evidence shows a gap.
    """
    n = len(opps)
    stages = methodology.stages
    answered = _answered(opps, methodology)
    # unmet[s] is an (n, k) array: one column per required criterion of stage s, True where not met.
    unmet = [
        np.column_stack([~_met(opps, c.key) for c in s.required_criteria]) if s.required_criteria
        else np.zeros((n, 0), dtype=bool)
        for s in stages
    ]
    # A stage counts only if every earlier one does too, so the running AND is monotone and the derived
    # position is the number of leading stages fully met, minus one.
    all_met_so_far = np.ones(n, dtype=bool)
    met = np.full(n, -1, dtype=np.int64)
    for i, u in enumerate(unmet):
        all_met_so_far &= ~u.any(axis=1)
        met[all_met_so_far] = i
    derived = np.where(answered, np.maximum(met, 0), -1)

    keys = np.array([*methodology.stage_keys, None], dtype=object)
    derived_stage = keys[derived]  # index -1 picks the trailing None

    missing = np.full(n, "", dtype=object)
    next_pos = met + 1
    for i, s in enumerate(stages):
        rows = next_pos == i
        if not rows.any() or not s.required_criteria:
            continue
        missing[rows] = _join_unmet(unmet[i][rows], [c.key for c in s.required_criteria])

    if "stage" in opps.columns:
        found = pd.Index(methodology.stage_keys).get_indexer(opps["stage"])
        claimed = pd.Series(pd.array(found, dtype="Int64"), index=opps.index).where(found >= 0, pd.NA)
    else:
        claimed = pd.Series(pd.NA, index=opps.index, dtype="Int64")
    derived_series = pd.Series(derived, index=opps.index, dtype="int64")
    return pd.DataFrame(
        {
            "answered": pd.Series(answered, index=opps.index, dtype=bool),
            "derived_stage": pd.Series(derived_stage, index=opps.index, dtype=object),
            "derived_position": derived_series,
            "claimed_position": claimed,
            "stage_gap": (claimed - derived_series).astype("Int64").where(answered, pd.NA),
            "missing_criteria": pd.Series(missing, index=opps.index, dtype=object),
        },
        index=opps.index,
    )


def derive_stage_from_answers(answers: Mapping[str, bool | None], methodology: Methodology) -> str | None:
    """The derived stage of one assessment form: ``answers`` maps criterion key -> True / False / None.

    Unanswered criteria (None or absent) are not met; with nothing answered there is no stage (None, 未评估). A key
    the methodology does not have is refused, since it means the form was made for another methodology.
    """
    known = {c.key for c in methodology.criteria()}
    unknown = sorted(k for k in answers if k not in known)
    if unknown:
        raise InputError(
            f"assessment answers name criteria that methodology {methodology.key!r} does not have: "
            f"{', '.join(map(repr, unknown))}; expected criterion keys such as {sorted(known)[:3]}"
        )
    bad = {k: v for k, v in answers.items() if not (v is None or isinstance(v, (bool, np.bool_)))}
    if bad:
        raise InputError(f"assessment answers must be True, False or None (unanswered); got {bad!r}")
    row = pd.DataFrame({checklist_column(k): [v] for k, v in answers.items()}, dtype=object)
    row = row.reindex(range(1)) if row.empty else row
    return derive_stages(row, methodology)["derived_stage"].iloc[0]


def _answered(opps: pd.DataFrame, methodology: Methodology) -> np.ndarray:
    """True where at least one criterion of the methodology holds yes or no (the checklist has been answered)."""
    out = np.zeros(len(opps), dtype=bool)
    for criterion in methodology.criteria():
        column = checklist_column(criterion.key)
        if column in opps.columns:
            out |= opps[column].notna().to_numpy(dtype=bool)
    return out


def _met(opps: pd.DataFrame, criterion_key: str) -> np.ndarray:
    """True where the criterion is met; NA, False or a missing column are not met; anything else is refused."""
    column = checklist_column(criterion_key)
    if column not in opps.columns:
        return np.zeros(len(opps), dtype=bool)
    values = opps[column]
    if isinstance(values.dtype, pd.BooleanDtype):  # the normaliser's type: blank is not met
        return values.to_numpy(dtype=bool, na_value=False)
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.to_numpy(dtype=bool)
    try:
        return values.astype("boolean").fillna(False).to_numpy(dtype=bool)
    except (TypeError, ValueError):
        bad = values[~(values.isna() | values.isin([True, False]))]
        examples = ", ".join(f"row {i!r}: {v!r}" for i, v in bad.head(3).items())
        raise InputError(
            f"column {column!r}: {len(bad)} value(s) are not yes/no evidence ({examples}); "
            "expected True, False or blank"
        ) from None


def _join_unmet(unmet: np.ndarray, keys: list[str]) -> np.ndarray:
    """The unmet keys of each row joined by ", ", built once per distinct pattern of answers, not per row."""
    k = len(keys)
    if k <= 62:
        # One integer per row (bit j = criterion j unmet) sorts far faster than rows of booleans.
        bits = np.arange(k, dtype=np.int64)
        codes = unmet.astype(np.int64) @ (np.int64(1) << bits)
        unique_codes, inverse = np.unique(codes, return_inverse=True)
        patterns = ((unique_codes[:, None] >> bits) & 1).astype(bool)
    else:
        patterns, inverse = np.unique(unmet, axis=0, return_inverse=True)
    texts = np.array(
        [MISSING_SEPARATOR.join(key for key, miss in zip(keys, p) if miss) for p in patterns], dtype=object
    )
    return texts[inverse.reshape(-1)]
