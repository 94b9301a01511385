"""What the 商机 sheet's live formula cells show, computed with the domain, so every formula carries its value.

Mail previews, phones and pandas read cached values; Excel and LibreOffice recompute the same figures.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from funnel_xl.domain.columns import OPPORTUNITIES, TOOL, columns
from funnel_xl.domain.methodology import Methodology
from funnel_xl.domain.parsing import is_blank
from funnel_xl.domain.rates import with_rates
from funnel_xl.domain.schema import CHECKLIST_PREFIX
from funnel_xl.domain.settings import ASSESSED
from funnel_xl.labels import label


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
    frame = table.copy()
    for column in ("id", "stage", "status", "amount"):
        if column not in frame.columns:
            frame[column] = None
    frame["amount"] = pd.to_numeric(frame["amount"].map(lambda v: v if isinstance(v, (int, float))
                                                        and not isinstance(v, bool) else np.nan),
                                    errors="coerce").astype("float64")
    frame["status"] = frame["status"].astype(object)
    frame["stage"] = frame["stage"].where(frame["stage"].isin(methodology.stage_keys), None)
    for column in [c for c in frame.columns if str(c).startswith(CHECKLIST_PREFIX)]:
        # The formula counts only 是 and 否; a cell that did not read as yes/no is no evidence.
        frame[column] = frame[column].map(lambda v: bool(v) if isinstance(v, (bool, np.bool_)) else None).astype(object)
    cached = cached_figures(frame, methodology, basis)
    not_assessed = label("assessment.not_assessed", language)
    # The value of each formula builder the registry names, as the formula shows it.
    values: dict[str, list] = {}
    values["win_rate"] = [number_or_blank(v) for v in cached["win_rate"]]
    # The formula: IF(status=open, amount*rate, 0); a blank amount counts as 0, a rate it cannot find shows "".
    weighted = []
    for rate, amount, status in zip(cached["win_rate"], frame["amount"], frame["status"]):
        if status != "open":
            weighted.append(0.0)
        elif pd.isna(rate):
            weighted.append("")
        else:
            weighted.append((0.0 if math.isnan(amount) else float(amount)) * float(rate))
    values["weighted"] = weighted
    values["amount_wan"] = [0.0 if math.isnan(a) else float(a) / 10000.0 for a in frame["amount"]]
    values["derived_stage"] = [names[v] if answered else not_assessed
                               for v, answered in zip(cached["derived_stage"], cached["answered"])]
    values["stage_gap"] = [number_or_blank(gap) for gap in cached["stage_gap"]]
    return pd.DataFrame({spec.key: values[spec.formula] for spec in columns(OPPORTUNITIES, owner=TOOL)
                         if spec.formula is not None}, index=frame.index)
