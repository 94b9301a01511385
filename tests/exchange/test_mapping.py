"""The import mapping file: every fault reported at once, with the file and the key."""

from __future__ import annotations

import pytest

from funnel_xl.errors import MappingError
from funnel_xl.exchange.mapping import FromReps, load_mapping, parse_mapping

GOOD = """
methodology = "product_sales"
[source]
date_format = "%m/%d/%Y"
[columns]
id = "opportunity_id"
rep = "sales_agent"
stage = "deal_stage"
[stages]
Open = "needs"
Won = "closed"
[status]
Open = "open"
Won = "won"
[defaults]
region = { from_reps = "region" }
project_manager = "Ma Li"
[reps]
file = "teams.csv"
rep = "agent"
region = "office"
"""


def test_a_valid_mapping_reads_into_its_parts():
    mapping = parse_mapping(GOOD, "crm.toml")
    assert mapping.columns["rep"] == "sales_agent"
    assert mapping.stages == {"Open": "needs", "Won": "closed"}
    assert mapping.status_column == "deal_stage"
    assert mapping.defaults == {"region": FromReps("region"), "project_manager": "Ma Li"}
    assert mapping.reps.columns == {"rep": "agent", "region": "office"}
    assert mapping.date_formats == ("%m/%d/%Y",)


def test_unknown_keys_are_reported_with_where_they_are():
    text = GOOD.replace("[source]", "[source]\ndate_fmt = 'x'").replace("[reps]", "[reps]\nteam = 'x'")
    with pytest.raises(MappingError) as info:
        parse_mapping("colums = 1\n" + text, "crm.toml")
    message = str(info.value)
    assert "crm.toml" in message
    assert "top level: unknown key 'colums'" in message
    assert "[source]: unknown key 'date_fmt'" in message
    assert "[reps]: unknown key 'team'" in message


def test_a_status_that_is_not_open_won_or_lost_is_refused():
    with pytest.raises(MappingError, match=r"crm.toml: \[status\]: 'Won' = 'closed-won': expected one of open, won, lost"):
        parse_mapping(GOOD.replace('Won = "won"', 'Won = "closed-won"'), "crm.toml")


def test_a_stage_without_a_status_is_refused():
    with pytest.raises(MappingError, match=r"\[status\]: lacks 'Won'"):
        parse_mapping(GOOD.replace('Won = "won"', ""), "crm.toml")


def test_the_id_and_stage_columns_must_be_mapped():
    text = GOOD.replace('id = "opportunity_id"', "").replace('stage = "deal_stage"', 'stg = "x"')
    with pytest.raises(MappingError) as info:
        parse_mapping(text, "crm.toml")
    message = str(info.value)
    assert "[columns]: id is missing" in message and "[columns]: stage is missing" in message
    assert "[columns]: 'stg': not an opportunity field" in message


def test_a_default_from_the_reps_needs_the_reps_to_map_that_column():
    with pytest.raises(MappingError, match=r"\[defaults\]: 'region' takes the rep's 'region'"):
        parse_mapping(GOOD.replace('region = "office"', ""), "crm.toml")


def test_a_date_format_must_be_a_strftime_pattern():
    with pytest.raises(MappingError, match=r"date_format 'MM/DD/YYYY'"):
        parse_mapping(GOOD.replace('"%m/%d/%Y"', '"MM/DD/YYYY"'), "crm.toml")


def test_a_field_both_mapped_and_defaulted_keeps_both_for_the_blank_cells():
    text = GOOD.replace('rep = "sales_agent"', 'rep = "sales_agent"\nproject_manager = "pm"')
    mapping = parse_mapping(text, "crm.toml")
    assert mapping.columns["project_manager"] == "pm" and mapping.defaults["project_manager"] == "Ma Li"


def test_broken_toml_is_reported_with_the_file_name_and_the_line():
    with pytest.raises(MappingError, match=r"crm.toml: line 1, column \d+: TOML syntax error"):
        parse_mapping("[columns\nid = 1", "crm.toml")


def test_a_missing_mapping_file_is_reported(tmp_path):
    with pytest.raises(MappingError, match="does not exist"):
        load_mapping(tmp_path / "nope.toml")
