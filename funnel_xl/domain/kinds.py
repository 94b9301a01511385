"""Column kinds: how a cell of each kind is read (its parser), typed (its dtype) and, by default, formatted.

A column of the registry (``columns.py``) names its kind; the normaliser, its pandera schema, the reader, the table
writer, the sheet builders, the sample loader and the CRM import ask the kind rather than listing columns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from funnel_xl.domain import columns as cols
from funnel_xl.domain.parsing import (
    parse_amount, parse_bool, parse_category, parse_customer_size, parse_date, parse_percent,
    parse_priority, parse_status, parse_text,
)
from funnel_xl.domain.schema import CATEGORIES, CHECKLIST_PREFIX, CUSTOMER_SIZES, PRIORITIES, STATUSES
from funnel_xl.errors import InputError

TEXT_DTYPE = "str"
# datetime64[ns] holds 1677-09-21 .. 2262-04-11; a sales date outside this span is a typo anyway.
FIRST_DATE = pd.Timestamp("1900-01-01")
LAST_DATE = pd.Timestamp("2262-04-11")


@dataclass(frozen=True)
class Kind:
    """How one kind of cell is read and typed.

    ``missing`` is what a blank cell becomes before typing; ``bad_is_error`` says whether a value that does not read
    rejects the row (error) or is left blank (warning); ``values`` are the keys a keyword kind takes, each labelled
    ``<labels>.<key>`` in the catalogue; ``read_as_text`` asks the typed reader for text cells; ``minimum`` is the
    least value the schema allows; ``format`` the palette key of an input cell of this kind.
    """

    name: str
    parse: Callable[[Any], Any]
    missing: Any
    dtype: str
    bad_is_error: bool
    format: str = "in_text"
    values: tuple[str, ...] = ()
    labels: str | None = None
    read_as_text: bool = False
    minimum: float | None = None


def checked_date(value: object) -> pd.Timestamp:
    """A date the workbook can hold (1900-01-01 to 2262-04-11), else InputError."""
    stamp = parse_date(value)
    if not FIRST_DATE <= stamp <= LAST_DATE:
        raise InputError(f"{value!r} is a date outside the span the workbook handles "
                         f"({FIRST_DATE:%Y-%m-%d} to {LAST_DATE:%Y-%m-%d})", code="date_out_of_span",
                         params=(("value", value), ("first", FIRST_DATE), ("last", LAST_DATE)))
    return stamp


def _whole_number(value: object) -> float:
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)) \
            and float(value).is_integer():
        return float(value)
    raise InputError(f"{value!r} is not a whole number", code="integer_unreadable", params=(("value", value),))


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind(cols.TEXT, parse_text, None, TEXT_DTYPE, True, read_as_text=True),
    # The stage is read against the methodology (names, synonyms); normalize_opportunities supplies that parser.
    Kind(cols.STAGE, parse_text, None, TEXT_DTYPE, True, read_as_text=True),
    Kind(cols.REP, parse_text, None, TEXT_DTYPE, True, read_as_text=True),
    Kind(cols.STATUS, parse_status, None, TEXT_DTYPE, True, values=STATUSES, labels="status", read_as_text=True),
    Kind(cols.CATEGORY, parse_category, None, TEXT_DTYPE, False, values=CATEGORIES, labels="category",
         read_as_text=True),
    Kind(cols.PRIORITY, parse_priority, None, TEXT_DTYPE, False, values=PRIORITIES, labels="priority",
         read_as_text=True),
    Kind(cols.CUSTOMER_SIZE, parse_customer_size, None, TEXT_DTYPE, False, values=CUSTOMER_SIZES,
         labels="customer_size", read_as_text=True),
    Kind(cols.YES_NO, parse_bool, None, "boolean", False, format="in_check"),
    Kind(cols.AMOUNT, parse_amount, np.nan, "float64", True, format="in_money", minimum=0),
    Kind(cols.DATE, checked_date, pd.NaT, "datetime64[ns]", True, format="in_date"),
    Kind(cols.PERCENT, parse_percent, np.nan, "float64", True, format="in_percent", minimum=0),
    Kind(cols.INTEGER, _whole_number, np.nan, "float64", True, format="in_integer"),
)}
assert tuple(KINDS) == cols.KIND_NAMES, "every kind the registry names has a parser here, in the same order"


def column_format(spec: cols.ColumnSpec) -> str:
    """The palette key of a column's cells: its own, else its kind's."""
    return spec.format or KINDS[spec.kind].format


def kind_of(column: str, tables: tuple[str, ...] = (cols.OPPORTUNITIES, cols.REPS)) -> Kind:
    """The kind of a column found by key in ``tables`` (checklist columns are yes/no; an unknown column is text)."""
    return _kind_of(column, tables, cols.version())


@lru_cache(maxsize=1024)
def _kind_of(column: str, tables: tuple[str, ...], _version: int) -> Kind:
    if column.startswith(CHECKLIST_PREFIX):
        return KINDS[cols.YES_NO]
    for table in tables:
        for spec in cols.columns(table):
            if spec.key == column:
                return KINDS[spec.kind]
    return KINDS[cols.TEXT]
