"""The shipped sample pipeline (templates/sample/): loaded into canonical, typed DataFrames for the demo and tests.

The CSV files are UTF-8 with a byte-order mark, ISO dates, plain numbers, stage keys, status keys and
yes/no values (checklist evidence among them) as 1 / 0 / blank. Which columns a file has and how each reads come
from the column registry: a required column must be there, an optional one may be missing (it loads blank), any
other column except the checklist is refused. Rows are loaded as they are, the two deliberately bad ones included:
checking them is the data-issues sheet's job, not the loader's. A value that cannot be read at all (the
files were edited by hand) raises InputError naming the file, line, column and value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from funnel_xl.domain.columns import (
    AMOUNT, DATE, OPPORTUNITIES, OPTIONAL, PERCENT, REPS, SNAPSHOTS, USER, YES_NO, ColumnSpec, columns,
)
from funnel_xl.domain.schema import CHECKLIST_PREFIX, checklist_columns
from funnel_xl.errors import InputError
from funnel_xl.paths import sample_dir

SAMPLE_AS_OF: dt.date = dt.date(2026, 11, 20)  # the report date the sample is built around, a Friday
SAMPLE_METHODOLOGY = "big_project"

FIRST_DATA_ROW = 2  # the row number of the first record in a sheet with one header row

_FLAGS = {"1": True, "0": False}


@dataclass(frozen=True)
class Sample:
    """The sample's three tables, with canonical columns and dtypes, and the methodology and date they assume."""

    opportunities: pd.DataFrame
    reps: pd.DataFrame
    history: pd.DataFrame
    methodology_key: str = SAMPLE_METHODOLOGY
    as_of: dt.date = SAMPLE_AS_OF


def load_sample(folder: Path | None = None) -> Sample:
    """Read opportunities.csv, reps.csv and history.csv from ``folder`` (default: the shipped templates/sample)."""
    folder = Path(folder) if folder is not None else sample_dir()
    return Sample(
        opportunities=read_table(folder / "opportunities.csv", columns(OPPORTUNITIES, owner=USER), checklist=True),
        reps=read_table(folder / "reps.csv", columns(REPS, owner=USER)),
        history=read_table(folder / "history.csv", columns(SNAPSHOTS)),
    )


def read_table(path: Path, specs: Sequence[ColumnSpec], checklist: bool = False) -> pd.DataFrame:
    """One sample CSV as a typed frame: the registry columns ``specs`` in order, then checklist columns if allowed.

    The index is the row number the record would have in a sheet with one header row (2, 3, ...), which is
    also its line in the CSV file, so a problem found later can point the user at it.
    """
    raw = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    _check_header(path, list(raw.columns), specs, checklist)
    raw.index = pd.RangeIndex(FIRST_DATA_ROW, FIRST_DATA_ROW + len(raw))
    out = pd.DataFrame(index=raw.index)
    for spec in specs:
        # An optional column the file lacks loads blank.
        text = raw[spec.key] if spec.key in raw.columns else pd.Series("", index=raw.index, dtype=object)
        out[spec.key] = _READERS.get(spec.kind, _text)(path, spec.key, text)
    for column in checklist_columns(raw.columns) if checklist else []:
        out[column] = _flags(path, column, raw[column])
    return out


def _check_header(path: Path, header: list[str], specs: Sequence[ColumnSpec], checklist: bool) -> None:
    keys = [s.key for s in specs]
    missing = [s.key for s in specs if s.key not in header and s.need != OPTIONAL]
    extra = [c for c in header if c not in keys and not (checklist and c.startswith(CHECKLIST_PREFIX))]
    if missing or extra or len(set(header)) != len(header):
        raise InputError(
            f"{path.name}, line 1 (header): columns {header!r}; expected {keys!r}"
            + (" followed by chk:<criterion> checklist columns" if checklist else "")
            + (f" (missing {missing!r})" if missing else "") + (f" (not expected {extra!r})" if extra else ""))


def _bad(path: Path, column: str, text: pd.Series, bad: pd.Series, expected: str) -> InputError:
    row = bad.idxmax()
    return InputError(f"{path.name}, line {row}, column {column}: {text[row]!r}; expected {expected}")


def _dates(path: Path, column: str, text: pd.Series) -> pd.Series:
    values = pd.to_datetime(text.where(text.ne("")), format="%Y-%m-%d", errors="coerce")
    bad = values.isna() & text.ne("")
    if bad.any():
        raise _bad(path, column, text, bad, "an ISO date like 2026-11-20, or blank")
    return values.astype("datetime64[ns]")


def _numbers(path: Path, column: str, text: pd.Series) -> pd.Series:
    values = pd.to_numeric(text.where(text.ne("")), errors="coerce").astype("float64")
    bad = values.isna() & text.ne("")
    if bad.any():
        raise _bad(path, column, text, bad, "a plain number like 1200000, or blank")
    return values


def _flags(path: Path, column: str, text: pd.Series) -> pd.Series:
    bad = ~text.isin(["1", "0", ""])
    if bad.any():
        raise _bad(path, column, text, bad, "1 (yes), 0 (no) or blank (not known)")
    return text.map(_FLAGS).astype("boolean")


def _text(path: Path, column: str, text: pd.Series) -> pd.Series:
    return text.where(text.ne(""))


# How a column of each kind is read from the CSV (any other kind: as text, blank = missing).
_READERS = {DATE: _dates, AMOUNT: _numbers, PERCENT: _numbers, YES_NO: _flags}
