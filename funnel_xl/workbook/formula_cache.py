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
from funnel_xl.domain.stages import derive_stages


def cached_figures(opportunities: pd.DataFrame, m: Methodology) -> pd.DataFrame:
    """The domain's figures behind the formula cells: win_rate, weighted, derived_stage, stage_gap."""
    if opportunities.empty:
        return pd.DataFrame(columns=["win_rate", "weighted", "derived_stage", "stage_gap"])
    rated = with_rates(opportunities, m)
    derived = derive_stages(opportunities, m)
    return pd.DataFrame({
        "win_rate": rated["win_rate"], "weighted": rated["weighted"],
        "derived_stage": derived["derived_stage"], "stage_gap": derived["stage_gap"],
    }, index=opportunities.index)


def number_or_blank(value: object) -> object:
    """A number, or "" where the formula shows a blank (a blank, NaN or NA value)."""
    if is_blank(value):
        return ""
    value = float(value)
    return "" if math.isnan(value) else value


def derived_cell_values(table: pd.DataFrame, methodology: Methodology, language: str) -> pd.DataFrame:
    """The cached value of each formula cell of 商机, as the formula shows it ("" where it shows blank), one column
    per tool column of the registry, computed by the builder it names.

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
    for column in [c for c in frame.columns if str(c).startswith(CHECKLIST_PREFIX)]:
        # The formula counts only 是; a cell that did not read as yes/no is no evidence.
        frame[column] = frame[column].map(lambda v: bool(v) if isinstance(v, (bool, np.bool_)) else None).astype(object)
    cached = cached_figures(frame, methodology)
    stage_known = frame["stage"].isin(methodology.stage_keys)
    # The value of each formula builder the registry names, as the formula shows it.
    values: dict[str, list] = {}
    values["win_rate"] = [number_or_blank(v) if known else "" for v, known in zip(cached["win_rate"], stage_known)]
    # The formula: IF(status=open, amount*rate, 0); a blank amount counts as 0, an unknown stage shows "".
    weighted = []
    for rate, amount, status, known in zip(cached["win_rate"], frame["amount"], frame["status"], stage_known):
        if status != "open":
            weighted.append(0.0)
        elif not known:
            weighted.append("")
        else:
            weighted.append((0.0 if math.isnan(amount) else float(amount)) * float(rate))
    values["weighted"] = weighted
    values["amount_wan"] = [0.0 if math.isnan(a) else float(a) / 10000.0 for a in frame["amount"]]
    values["derived_stage"] = ["" if is_blank(v) else names[v] for v in cached["derived_stage"]]
    values["stage_gap"] = [number_or_blank(gap) if known else ""
                           for gap, known in zip(cached["stage_gap"], stage_known)]
    return pd.DataFrame({spec.key: values[spec.formula] for spec in columns(OPPORTUNITIES, owner=TOOL)
                         if spec.formula is not None}, index=frame.index)
