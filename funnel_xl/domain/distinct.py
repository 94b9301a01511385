"""A column's distinct values and each cell's index into them, so that work per value is done once per distinct value.

Reading, checking and writing 100,000 rows cell by cell costs a Python call per cell; most columns hold few distinct
values (stages, reps, dates, 是/否), and even an id column is found at C speed. Values are told apart by type as well
as by value, because Python holds 1 == 1.0 == True: an amount of True must not borrow the result for 1.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

# What ``pandas.api.types.infer_dtype`` says of an object column whose values (blanks aside) are of one kind.
_ONE_KIND = frozenset({"string", "empty", "boolean", "floating", "integer", "datetime", "datetime64", "date",
                       "timedelta", "timedelta64", "decimal"})


def distinct_by_type(values: np.ndarray, wanted: np.ndarray, *, one_type: bool = False
                     ) -> Iterator[tuple[np.ndarray, list[Any], np.ndarray]]:
    """Yield (positions, distinct values, codes) per Python type among the ``wanted`` cells; a blank (None, NaN) is a
    value of its own. ``one_type`` says the column's dtype already guarantees a single type (text, numbers), so the
    per-cell type grouping, the slow part, is skipped."""
    positions = np.flatnonzero(wanted)
    if not len(positions):
        return
    subset = values[positions]
    if one_type:
        codes, uniques = pd.factorize(subset, use_na_sentinel=False)
        yield positions, list(uniques), np.asarray(codes)
        return
    type_codes, types = pd.factorize(pd.Series(subset, dtype=object).map(type).to_numpy(dtype=object))
    for t in range(len(types)):
        group = positions[type_codes == t] if len(types) > 1 else positions
        try:
            codes, uniques = pd.factorize(values[group], use_na_sentinel=False)
        except TypeError:  # unhashable cell values: take each as its own distinct value
            codes, uniques = np.arange(len(group)), values[group]
        yield group, list(uniques), np.asarray(codes)


def distinct(values: Sequence[Any] | pd.Series | np.ndarray) -> tuple[list[Any], np.ndarray]:
    """The distinct values of a whole column and each cell's index into them; -1 may stand for a blank (None, NaN,
    NaT, NA), which otherwise is one of the values. A date column's values come back as Timestamps."""
    series = values if isinstance(values, pd.Series) else pd.Series(
        values, dtype=None if isinstance(values, np.ndarray) else object)
    if series.dtype != object or pd.api.types.infer_dtype(series, skipna=True) in _ONE_KIND:
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        return uniques.tolist(), np.asarray(codes)  # Python values (Timestamps for dates), in one conversion
    array = series.to_numpy(dtype=object)
    codes = np.empty(len(array), dtype=np.intp)
    uniques: list[Any] = []
    for positions, found, group_codes in distinct_by_type(array, np.ones(len(array), dtype=bool)):
        codes[positions] = group_codes + len(uniques)
        uniques += found
    return uniques, codes
