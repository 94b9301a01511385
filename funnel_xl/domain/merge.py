"""Merging an imported table into the one the workbook holds, row by id, so re-importing never duplicates.

The rules protect what the user already has: existing rows keep their order and are never deleted
(a row missing from the new export stays as it is), new rows are appended in the export's order,
and a blank incoming cell never blanks a filled one (a CRM that does not know a value is not saying
the value is gone). Every changed cell is listed, so a dry run can show it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from numbers import Number

import numpy as np
import pandas as pd

from funnel_xl.domain.parsing import is_blank
from funnel_xl.errors import InputError

UPDATE_COLUMNS: tuple[str, ...] = ("id", "column", "old", "new")


@dataclass(frozen=True)
class MergeResult:
    """The merged table and what changed: ids added, cells updated, rows left as they were."""

    merged: pd.DataFrame
    added_ids: tuple
    updated: pd.DataFrame  # one row per changed cell: UPDATE_COLUMNS
    unchanged_count: int   # existing rows the incoming table matched without changing a cell

    @property
    def updated_ids(self) -> tuple:
        return tuple(dict.fromkeys(self.updated["id"]))

    @property
    def added(self) -> pd.DataFrame:
        """The merged table's appended rows (the last ``len(added_ids)``, in the incoming order)."""
        return self.merged.iloc[len(self.merged) - len(self.added_ids):]

    @property
    def changes_anything(self) -> bool:
        return bool(self.added_ids) or not self.updated.empty


def _normal(value: object) -> object:
    """One comparable form per value, so 1054 and 1054.0, or a date and its midnight Timestamp, match."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (datetime, date)):
        return pd.Timestamp(value)
    if isinstance(value, Number):
        return float(value)
    if hasattr(value, "item"):  # numpy scalars
        return _normal(value.item())
    return value


def same_value(old: object, new: object) -> bool:
    """Whether two cells hold the same value (both blank counts as the same)."""
    if is_blank(old) or is_blank(new):
        return is_blank(old) and is_blank(new)
    a, b = _normal(old), _normal(new)
    if isinstance(a, float) and isinstance(b, float):
        return a == b or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-9)
    return a == b


def _check_unique(frame: pd.DataFrame, key: str, which: str) -> None:
    if key not in frame.columns:
        raise InputError(f"{which} table has no {key!r} column to match rows by")
    ids = frame[key]
    if ids.map(is_blank).any():
        raise InputError(f"{which} table has a row without {key!r}; every row needs one to be matched")
    dup = ids[ids.duplicated()]
    if not dup.empty:
        raise InputError(f"{which} table holds {key} {dup.iloc[0]!r} more than once; ids must be unique")


def _blank_mask(values: pd.Series) -> pd.Series:
    mask = values.isna()
    if values.dtype == object or isinstance(values.dtype, pd.StringDtype):
        mask |= values.map(lambda v: isinstance(v, str) and not v.strip()).astype(bool)
    return mask


def _equal_mask(old: pd.Series, new: pd.Series) -> pd.Series:
    """Cell-wise ``same_value`` of two aligned columns, vectorised where both have a plain dtype."""
    kinds = (getattr(old.dtype, "kind", "O"), getattr(new.dtype, "kind", "O"))
    if kinds[0] in "fiu" and kinds[1] in "fiu":
        a, b = old.to_numpy("float64"), new.to_numpy("float64")
        return pd.Series((a == b) | np.isclose(a, b, rtol=1e-12, atol=1e-9), index=old.index)
    if kinds == ("M", "M"):
        return pd.Series(old.to_numpy("datetime64[ns]") == new.to_numpy("datetime64[ns]"), index=old.index)
    return pd.Series([same_value(a, b) for a, b in zip(old.tolist(), new.tolist())], index=old.index,
                     dtype=bool)


def merge_by_id(existing: pd.DataFrame, incoming: pd.DataFrame, *, key: str = "id") -> MergeResult:
    """Update ``existing`` rows from ``incoming`` by ``key``; append incoming rows with new keys.

    Only columns present in ``incoming`` are compared; columns only ``existing`` has (checklists,
    notes the user typed) are left alone. A blank incoming cell keeps the existing value.
    """
    _check_unique(existing, key, "existing")
    _check_unique(incoming, key, "incoming")
    columns = list(existing.columns) + [c for c in incoming.columns if c not in existing.columns]
    merged = existing.reset_index(drop=True).reindex(columns=columns).astype(
        {c: "object" for c in incoming.columns if c not in existing.columns}
    )
    incoming = incoming.reset_index(drop=True)
    position = pd.Series(range(len(merged)), index=merged[key].tolist(), dtype="int64")
    target = incoming[key].map(position)
    is_new = target.isna()
    matched = incoming[~is_new]
    rows = target[~is_new].astype("int64").to_numpy()
    changes: list[tuple] = []
    for col_order, col in enumerate(c for c in incoming.columns if c != key):
        new = matched[col]
        old = merged[col].iloc[rows].set_axis(new.index)
        changed = ~_blank_mask(new) & (_blank_mask(old) | ~_equal_mask(old, new))
        if not changed.any():
            continue
        for at in changed[changed].index:
            value, was = new.at[at], old.at[at]
            changes.append((at, col_order, matched.at[at, key], col, None if is_blank(was) else was, value))
        values = new[changed].tolist()
        if merged[col].dtype != object and not all(_fits(merged[col].dtype, v) for v in values):
            merged[col] = merged[col].astype("object")
        merged.loc[rows[changed.to_numpy()], col] = values
    changes.sort(key=lambda c: (c[0], c[1]))
    updated = pd.DataFrame([c[2:] for c in changes], columns=list(UPDATE_COLUMNS))
    added = incoming[is_new]
    if len(added):
        appended = added.reindex(columns=columns)
        merged = pd.concat([merged, appended], ignore_index=True) if len(merged) else appended.reset_index(drop=True)
    touched = len(set(updated["id"]))
    return MergeResult(
        merged=merged,
        added_ids=tuple(added[key].tolist()),
        updated=updated,
        unchanged_count=len(matched) - touched,
    )


def _fits(dtype, value: object) -> bool:
    """Whether ``value`` can be stored in a column of ``dtype`` without pandas refusing it."""
    if isinstance(dtype, pd.StringDtype):
        return isinstance(value, str)
    kind = getattr(dtype, "kind", "O")
    number = _normal(value)
    if kind == "f":
        return isinstance(number, float) and not isinstance(value, bool)
    if kind in "iu":
        return isinstance(number, float) and not isinstance(value, bool) and number.is_integer()
    if kind == "M":
        return isinstance(value, (datetime, date))
    if kind == "b":
        return isinstance(value, bool)
    return isinstance(value, str) or kind == "O"
