"""What the 商机 sheet's live formula cells show, computed with the domain, so every formula carries its value.

Mail previews, phones and pandas read cached values; Excel and LibreOffice recompute the same figures.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from funnel_xl.domain.columns import OPPORTUNITIES, TOOL, columns
from funnel_xl.domain.distinct import distinct
from funnel_xl.domain.methodology import Methodology
from funnel_xl.domain.parsing import is_blank
from funnel_xl.domain.rates import with_rates
from funnel_xl.domain.schema import CHECKLIST_PREFIX
from funnel_xl.domain.settings import ASSESSED
from funnel_xl.labels import label


_FIGURE_INPUTS = ("id", "stage", "status", "amount")


def cached_figures(opportunities: pd.DataFrame, m: Methodology, basis: str = ASSESSED) -> pd.DataFrame:
    """The domain's figures behind the formula cells: win_rate, weighted (on the basis), answered, derived_stage and
    stage_gap."""
    if opportunities.empty:
        return pd.DataFrame(columns=["win_rate", "weighted", "answered", "derived_stage", "stage_gap"])
    rated = with_rates(opportunities, m, basis)
    return rated[["win_rate", "weighted", "answered", "derived_stage", "stage_gap"]]


def number_or_blank(value: object) -> object:
    """A number, or "" where the formula shows a blank (a blank, NaN or NA value)."""
    if is_blank(value):
        return ""
    value = float(value)
    return "" if math.isnan(value) else value


def derived_cell_values(table: pd.DataFrame, methodology: Methodology, language: str,
                        basis: str = ASSESSED) -> pd.DataFrame:
    """The cached value of each formula cell of 商机, as the formula shows it ("" where it shows blank), one column
    per tool column of the registry, computed by the builder it names, on the workbook's forecast ``basis``.

    ``table`` holds canonical values (stage keys, open/won/lost, booleans); the builder and the table writer both
    use this, so a cell's cached value is the same whichever wrote it, and LibreOffice recalculates it unchanged.
    """
    names = {s.key: s.name(language) for s in methodology.stages}
    # Only what the figures read (a 100,000-row table's other columns would be copied twice for nothing).
    frame = table[[c for c in table.columns if c in _FIGURE_INPUTS or str(c).startswith(CHECKLIST_PREFIX)]].copy()
    for column in ("id", "stage", "status", "amount"):
        if column not in frame.columns:
            frame[column] = None
    frame["amount"] = _numbers_only(frame["amount"])
    frame["status"] = frame["status"].astype(object)
    frame["stage"] = frame["stage"].where(frame["stage"].isin(methodology.stage_keys), None)
    for column in [c for c in frame.columns if str(c).startswith(CHECKLIST_PREFIX)]:
        # The formula counts only 是 and 否; a cell that did not read as yes/no is no evidence.
        frame[column] = _by_distinct(frame[column], lambda v: bool(v) if isinstance(v, (bool, np.bool_)) else None)
    cached = cached_figures(frame, methodology, basis)
    not_assessed = label("assessment.not_assessed", language)
    amount = frame["amount"].to_numpy(dtype="float64")
    is_open = (frame["status"] == "open").to_numpy(dtype=bool)
    rate = _numbers(cached["win_rate"])
    every = np.ones(len(frame), dtype=bool)
    answered = cached["answered"].to_numpy(dtype=bool)
    # The value of each formula builder the registry names, as the formula shows it: "" where it shows blank.
    values = {
        "win_rate": _shown(rate, every),
        # IF(status=open, amount*rate, 0): a blank amount counts as 0, a rate it cannot find shows "".
        "weighted": _shown(np.where(is_open, np.nan_to_num(amount) * rate, 0.0), every),
        "amount_wan": (np.nan_to_num(amount) / 10000.0).astype(object),
        "derived_stage": np.where(answered, _by_distinct(cached["derived_stage"], lambda v: names.get(v)).to_numpy(),
                                  not_assessed),
        "stage_gap": _shown(_numbers(cached["stage_gap"]), every),
    }
    return pd.DataFrame({spec.key: values[spec.formula] for spec in columns(OPPORTUNITIES, owner=TOOL)
                         if spec.formula is not None}, index=frame.index)


def _numbers_only(values: pd.Series) -> pd.Series:
    """A column as float64: its numbers (booleans and text are no amount), NaN for the rest."""
    if values.dtype.kind in "fiu":
        return values.astype("float64")
    return _by_distinct(values, lambda v: float(v) if isinstance(v, (int, float, np.number))
                        and not isinstance(v, (bool, np.bool_)) else np.nan).astype("float64")


def _numbers(values: pd.Series) -> np.ndarray:
    """A figure column as float64 (NA and blanks as NaN)."""
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _by_distinct(values: pd.Series, fn) -> pd.Series:
    """``fn`` of every cell, worked out once per distinct value (the codes' -1, a blank, is ``fn(None)``)."""
    uniques, codes = distinct(values)
    results = np.empty(len(uniques) + 1, dtype=object)
    results[:] = [fn(v) for v in uniques] + [fn(None)]
    return pd.Series(results[codes], index=values.index, dtype=object)


def _shown(numbers: np.ndarray, shown: np.ndarray) -> np.ndarray:
    """Python floats where ``shown`` and the number is one, "" elsewhere (what the formula cell shows)."""
    out = np.full(len(numbers), "", dtype=object)
    keep = shown & ~np.isnan(numbers)
    out[keep] = numbers[keep].tolist()
    return out
