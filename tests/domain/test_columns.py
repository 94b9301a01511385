"""The column registry: one description per column, which the lists, the schemas and the catalogue follow."""

from __future__ import annotations

import pytest

from funnel_xl.domain.columns import (
    CRITERIA, META, OPPORTUNITIES, REPS, SNAPSHOTS, STAGES, TOOL, ColumnSpec, added_column, columns,
)
from funnel_xl.domain.clean_schema import opportunity_schema
from funnel_xl.domain.schema import OPPORTUNITY_COLUMNS, REQUIRED_OPPORTUNITY_COLUMNS
from funnel_xl.labels import LANGUAGES, label

TABLES = (OPPORTUNITIES, REPS, STAGES, CRITERIA, META, SNAPSHOTS)


def test_a_column_added_for_a_block_is_in_every_list_and_schema_only_while_the_block_runs(big_project):
    spec = ColumnSpec("contract_no", "field.contract_no", need="required")
    before = list(OPPORTUNITY_COLUMNS)
    with added_column(OPPORTUNITIES, spec, after="project"):
        assert list(OPPORTUNITY_COLUMNS) == [*before[:3], "contract_no", *before[3:]]
        assert "contract_no" in REQUIRED_OPPORTUNITY_COLUMNS
        assert not opportunity_schema(big_project).columns["contract_no"].nullable
    assert list(OPPORTUNITY_COLUMNS) == before
    assert "contract_no" not in opportunity_schema(big_project).columns


def test_a_column_of_a_kind_the_registry_does_not_know_is_refused():
    with pytest.raises(ValueError, match="kind 'colour'"):
        ColumnSpec("paint", "field.paint", "colour")


def test_only_a_tool_column_carries_a_formula():
    with pytest.raises(ValueError, match="only a tool-owned column"):
        ColumnSpec("score", "field.score", formula="score")


def test_a_column_cannot_be_added_twice():
    with pytest.raises(ValueError, match="already has a column 'amount'"):
        with added_column(OPPORTUNITIES, ColumnSpec("amount", "field.amount")):
            pass


@pytest.mark.parametrize("table", TABLES)
def test_every_column_has_its_header_in_both_languages(table):
    for spec in columns(table):
        assert all(label(spec.label, lang) for lang in LANGUAGES), spec.key


def test_every_tool_column_of_the_opportunities_names_a_formula_builder():
    assert all(spec.formula for spec in columns(OPPORTUNITIES, owner=TOOL))
