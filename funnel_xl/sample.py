"""The shipped sample pipeline (templates/sample/): loaded into canonical, typed DataFrames for the demo and tests.

The CSV files are UTF-8 with a byte-order mark, ISO dates, plain numbers, stage keys, status keys and
checklist evidence as 1 / 0 / blank. Rows are loaded as they are, the two deliberately bad ones included:
checking them is the data-issues sheet's job, not the loader's. A value that cannot be read at all (the
files were edited by hand) raises InputError naming the file, line, column and value.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from funnel_xl.domain.schema import (
    CHECKLIST_PREFIX,
    OPPORTUNITY_COLUMNS,
    REP_COLUMNS,
    SNAPSHOT_COLUMNS,
    checklist_columns,
)
from funnel_xl.errors import InputError
from funnel_xl.paths import sample_dir

SAMPLE_AS_OF: dt.date = dt.date(2026, 11, 20)  # the report date the sample is built around, a Friday
SAMPLE_METHODOLOGY = "big_project"

FIRST_DATA_ROW = 2  # the row number of the first record in a sheet with one header row

_DATE_COLUMNS = {"close_date", "created_date", "stage_entered_date", "hire_date", "snapshot_date"}
_NUMBER_COLUMNS = {"amount", "annual_quota", "win_rate"}
_FLAG_COLUMNS = {"new_customer", "estimated"}
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
        opportunities=read_table(folder / "opportunities.csv", OPPORTUNITY_COLUMNS, checklist=True),
        reps=read_table(folder / "reps.csv", REP_COLUMNS),
        history=read_table(folder / "history.csv", SNAPSHOT_COLUMNS),
    )


def read_table(path: Path, columns: tuple[str, ...], checklist: bool = False) -> pd.DataFrame:
    """One sample CSV as a typed frame: the canonical ``columns`` in order, then checklist columns if allowed.

    The index is the row number the record would have in a sheet with one header row (2, 3, ...), which is
    also its line in the CSV file, so a problem found later can point the user at it.
    """
    raw = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    _check_header(path, list(raw.columns), columns, checklist)
    raw.index = pd.RangeIndex(FIRST_DATA_ROW, FIRST_DATA_ROW + len(raw))
    wanted = list(columns) + (checklist_columns(raw.columns) if checklist else [])
    out = pd.DataFrame(index=raw.index)
    for column in wanted:
        text = raw[column]
        if column in _DATE_COLUMNS:
            out[column] = _dates(path, column, text)
        elif column in _NUMBER_COLUMNS:
            out[column] = _numbers(path, column, text)
        elif column in _FLAG_COLUMNS or column.startswith(CHECKLIST_PREFIX):
            out[column] = _flags(path, column, text)
        else:
            out[column] = text.where(text.ne(""))
    return out


def _check_header(path: Path, header: list[str], columns: tuple[str, ...], checklist: bool) -> None:
    missing = [c for c in columns if c not in header]
    extra = [c for c in header if c not in columns and not (checklist and c.startswith(CHECKLIST_PREFIX))]
    if missing or extra or len(set(header)) != len(header):
        raise InputError(
            f"{path.name}, line 1 (header): columns {header!r}; expected {list(columns)!r}"
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
