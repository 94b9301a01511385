"""The pandera schemas of the clean frames the normaliser hands over, generated from the column registry.

Every clean frame satisfies them; the property tests check it (``tests/domain/test_normalize.py``) and draw sheets
from them. A run does not import pandera (its import alone cost every command half a second): the normaliser checks
each column's dtype (``normalize.check_dtypes``), what a caller relies on.
"""

from __future__ import annotations

from functools import lru_cache

import pandera.pandas as pa

from funnel_xl.domain.columns import OPPORTUNITIES, REPS, STAGE, USER, ColumnSpec, columns, version as registry_version
from funnel_xl.domain.kinds import KINDS
from funnel_xl.domain.methodology import Methodology
from funnel_xl.domain.schema import CHECKLIST_PREFIX

__all__ = ["opportunity_schema", "rep_schema"]


def _column_schema(spec: ColumnSpec, stage_keys: tuple[str, ...]) -> pa.Column:
    kind = KINDS[spec.kind]
    checks = []
    if kind.minimum is not None:
        checks.append(pa.Check.ge(kind.minimum))
    if kind.values:
        checks.append(pa.Check.isin(kind.values))
    if spec.kind == STAGE:
        checks.append(pa.Check.isin(stage_keys))
    return pa.Column(kind.dtype, checks, nullable=not spec.required, unique=spec.unique)


def _table_schema(table: str, stage_keys: tuple[str, ...] = (), extra: dict[str, pa.Column] | None = None,
                  checks: list[pa.Check] | None = None) -> pa.DataFrameSchema:
    """A column per registry column the user types, then ``extra``; other columns are carried along untouched."""
    return pa.DataFrameSchema(
        {spec.key: _column_schema(spec, stage_keys) for spec in columns(table, owner=USER)} | (extra or {}),
        checks=checks, strict=False, name=table)


def opportunity_schema(methodology: Methodology) -> pa.DataFrameSchema:
    """The pandera schema every clean opportunities frame satisfies, for one methodology."""
    return _opportunity_schema(methodology, registry_version())


@lru_cache(maxsize=8)
def _opportunity_schema(methodology: Methodology, _version: int) -> pa.DataFrameSchema:
    # A won deal has its signing date; an open one may not have a close date yet (dates before the created date
    # are warned about, not refused).
    won_dated = [pa.Check(lambda df: df["status"].ne("won") | df["close_date"].notna(),
                          error="a won deal has a close date")]
    # One regex column covers every checklist column (normalize adds the methodology's own).
    checklist = {f"^{CHECKLIST_PREFIX}": pa.Column("boolean", nullable=True, regex=True, required=False)}
    return _table_schema(OPPORTUNITIES, methodology.stage_keys, extra=checklist, checks=won_dated)


def rep_schema() -> pa.DataFrameSchema:
    """The pandera schema every clean reps frame satisfies."""
    return _rep_schema(registry_version())


@lru_cache(maxsize=1)
def _rep_schema(_version: int) -> pa.DataFrameSchema:
    return _table_schema(REPS)
