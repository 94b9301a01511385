"""The import mapping file: every fault reported at once, with the file and the key."""

from __future__ import annotations

import pytest

from funnel_xl.errors import MappingError
from funnel_xl.exchange.mapping import DateDefault, FromReps, load_mapping, parse_mapping

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


def test_an_unquoted_chinese_key_is_reported_with_its_line_and_the_quoted_form():
    text = GOOD.replace('id = "opportunity_id"', '预计金额(元) = "amount"')
    with pytest.raises(MappingError) as info:
        parse_mapping(text, "crm.toml")
    line = 1 + text.splitlines().index('预计金额(元) = "amount"')
    assert f"crm.toml: line {line}, column 1: TOML syntax error" in str(info.value)
    assert 'must be quoted: write "预计金额(元)" = "amount"' in str(info.value)


def test_an_unquoted_text_value_is_reported_with_the_quoted_form():
    with pytest.raises(MappingError, match=r'a text value must be quoted: write customer = "客户名称"'):
        parse_mapping(GOOD.replace('rep = "sales_agent"', 'rep = "sales_agent"\ncustomer = 客户名称'), "crm.toml")


def test_a_windows_path_in_double_quotes_gets_the_single_quote_fix():
    with pytest.raises(MappingError, match=r"Unescaped.*single quotes"):
        parse_mapping(GOOD.replace('file = "teams.csv"', 'file = "C:\\data\\teams.csv"'), "crm.toml")


def test_the_date_format_may_be_left_out():
    mapping = parse_mapping(GOOD.replace('date_format = "%m/%d/%Y"', ""), "crm.toml")
    assert mapping.date_formats == ()


def test_the_header_row_must_be_a_row_number():
    assert parse_mapping(GOOD.replace("[source]", "[source]\nheader_row = 3"), "crm.toml").header_row == 3
    with pytest.raises(MappingError, match=r"header_row 0: expected the number of the header row"):
        parse_mapping(GOOD.replace("[source]", "[source]\nheader_row = 0"), "crm.toml")


def test_duplicate_ids_are_kept_first_unless_the_mapping_refuses_them():
    assert parse_mapping(GOOD, "crm.toml").duplicate_ids == "keep_first"
    refusing = GOOD.replace("[source]", '[source]\nduplicate_ids = "refuse"')
    assert parse_mapping(refusing, "crm.toml").duplicate_ids == "refuse"
    with pytest.raises(MappingError, match=r"duplicate_ids 'drop': expected one of keep_first, refuse"):
        parse_mapping(GOOD.replace("[source]", '[source]\nduplicate_ids = "drop"'), "crm.toml")


@pytest.mark.parametrize("default, expected", [
    ('{ from = "created_date", add_days = 90 }', DateDefault("created_date", 90)),
    ('{ from = "created_date", add_days = "sales_cycle" }', DateDefault("created_date", "sales_cycle")),
    ('{ from = "report_date", add_days = 90 }', DateDefault("report_date", 90)),
])
def test_a_blank_close_date_may_take_a_date_relative_to_another(default, expected):
    mapping = parse_mapping(GOOD.replace("[defaults]", f"[defaults]\nclose_date = {default}"), "crm.toml")
    assert mapping.defaults["close_date"] == expected


@pytest.mark.parametrize("default", [
    '{ from = "close_date", add_days = 90 }',       # from itself
    '{ from = "created_date", add_days = -5 }',     # backwards
    '{ from = "created_date", add_days = "soon" }',
    '{ from = "tomorrow", add_days = 1 }',
])
def test_a_relative_date_default_that_cannot_be_computed_is_refused(default):
    with pytest.raises(MappingError, match=r"\[defaults\]: 'close_date' = .*expected \{ from = \"created_date\""):
        parse_mapping(GOOD.replace("[defaults]", f"[defaults]\nclose_date = {default}"), "crm.toml")


def test_a_status_column_makes_the_status_table_optional():
    text = GOOD.replace('stage = "deal_stage"', 'stage = "deal_stage"\nstatus = "state"')
    text = text.replace('[status]\nOpen = "open"\nWon = "won"\n', "")
    assert parse_mapping(text, "crm.toml").status == {}
    with pytest.raises(MappingError, match=r"\[status\]: missing or empty"):
        parse_mapping(GOOD.replace('[status]\nOpen = "open"\nWon = "won"\n', ""), "crm.toml")


def test_guesses_left_commented_by_import_init_are_pointed_out():
    text = GOOD.replace('id = "opportunity_id"', '# id = "opportunity_id"  # guess')
    with pytest.raises(MappingError, match=r"still commented out: remove the '#'"):
        parse_mapping(text, "crm.toml")


def test_the_reference_mapping_in_the_crm_readme_is_a_valid_mapping():
    import re

    from funnel_xl.paths import templates_dir

    text = (templates_dir() / "crm" / "README.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"```toml\n(.*?)```", text, re.S)
    mapping = parse_mapping(block, "README.toml")
    assert mapping.header_row == 3 and mapping.duplicate_ids == "keep_first"
