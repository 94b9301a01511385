"""Cell values of the input tables: a canonical value as the sheet shows it, and a sheet cell read back.

Both go by the column's kind in the registry (``domain/kinds.py``): stage keys show as stage names in the
workbook's language, keyword kinds (status, category, priority, customer size) as their labels, yes/no as 是/否,
dates as dates. The builder, the table writer and the import all use these, so a cell reads the same whoever wrote it.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from funnel_xl.domain.columns import DATE, STAGE, YES_NO
from funnel_xl.domain.distinct import distinct
from funnel_xl.domain.kinds import kind_of
from funnel_xl.domain.methodology import Methodology
from funnel_xl.domain.parsing import is_blank, parse_bool, parse_date, parse_text
from funnel_xl.errors import FunnelError
from funnel_xl.labels import catalogue, label


def plain(value: object) -> object:
    """A numpy scalar as the Python value it holds; anything else as it is."""
    return value.item() if isinstance(value, np.generic) else value


def display_value(column: str, value: object, methodology: Methodology, lang: str) -> object:
    """A canonical value as the builder shows it: the cell value (a date as a datetime) or None."""
    value = plain(value)
    if is_blank(value):
        return None
    kind = kind_of(column)
    if kind.name == STAGE:
        stage = methodology.stage(str(value)) if str(value) in methodology.stage_keys else None
        return stage.name(lang) if stage else str(value)
    if kind.labels:
        key = f"{kind.labels}.{value}"
        return label(key, lang) if key in catalogue() else str(value)
    if kind.name == YES_NO:
        if isinstance(value, bool):
            return label("out.yes" if value else "out.no", lang)
        return str(value)
    if isinstance(value, (dt.date, dt.datetime, pd.Timestamp)):
        return pd.Timestamp(value).to_pydatetime().replace(tzinfo=None)
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    return str(value)


def canonical_value(column: str, value: object, methodology: Methodology) -> object:
    """A cell as the sheet holds it, read back to its canonical form; a value that does not read stays as it is
    (the import then overwrites it, and Recalculate reports it), so nothing is guessed and nothing is lost."""
    value = plain(value)
    if is_blank(value):
        return None
    kind = kind_of(column)
    try:
        if kind.name == STAGE:
            return methodology.resolve_stage(str(value).strip()) or value
        if kind.name == YES_NO:
            result = parse_bool(value)
            return value if result is None else result
        if kind.name == DATE:
            return parse_date(value)  # any date, even one outside the span a clean table allows
        return kind.parse(value)
    except (FunnelError, ValueError, TypeError):
        return value


def canonical_frame(raw: pd.DataFrame, methodology: Methodology) -> pd.DataFrame:
    """Every cell of a raw table (as ``read_inputs`` gives it) in canonical form; index and columns kept. Each
    column's distinct values are read once (a 100,000-row table holds four million cells, but few distinct ones
    outside the ids)."""
    out = pd.DataFrame(index=raw.index)
    for column in raw.columns:
        uniques, codes = distinct(raw[column])
        canonical = np.empty(len(uniques) + 1, dtype=object)
        if kind_of(column).parse is parse_text and kind_of(column).name != STAGE:
            # Plain text (ids, names: nearly one distinct value per row) is its trimmed self, read without the call.
            values = [(v.strip() or None) if v.__class__ is str else canonical_value(column, v, methodology)
                      for v in uniques]
        else:
            values = [canonical_value(column, v, methodology) for v in uniques]
        canonical[:] = values + [None]
        out[column] = pd.Series(canonical[codes], index=raw.index, dtype=object)
    return out
