"""Methodologies as data: the shipped files, the validator's answers to a user's mistakes, and round trips."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnel_xl.domain.methodology import (
    Criterion,
    Methodology,
    Stage,
    methodology_from_tables,
    methodology_to_tables,
    methodology_to_toml,
    parse_methodology,
)
from funnel_xl.errors import MethodologyError
from funnel_xl.labels import label
from funnel_xl.methodologies import builtin_keys, load_methodology

# A small valid file; each mistake test edits one piece of it.
VALID = """\
key = "mini"
zh = "小漏斗"
en = "Mini funnel"

[[stages]]
key = "lead"
zh = "线索"
en = "Lead"
win_rate = 10
ideal_share = 0.5
  [[stages.criteria]]
  key = "lead_contact"
  zh = "已联系"
  en = "Contacted"

[[stages]]
key = "deal"
zh = "成交"
en = "Deal"
win_rate = 100
ideal_share = 0.2
  [[stages.criteria]]
  key = "deal_signed"
  zh = "已签约"
  en = "Signed"
  [[stages.criteria]]
  key = "deal_paid"
  zh = "已回款"
  en = "Paid"
  required = false
"""


def mistakes_in(text: str, source: str = "mine.toml") -> list[str]:
    """The mistake lines the validator reports for a file (the first line is the heading)."""
    with pytest.raises(MethodologyError) as caught:
        parse_methodology(text, source=source)
    lines = str(caught.value).splitlines()
    assert lines[0].startswith(f"{source}: the methodology is not valid")
    return lines[1:]


# --- the shipped methodologies ----------------------------------------------------------------------------


def test_the_three_builtin_methodologies_are_shipped():
    assert {"big_project", "classic", "product_sales"} <= set(builtin_keys())


@pytest.mark.parametrize(
    ("key", "percent"),
    [
        ("product_sales", [10, 30, 50, 70, 70, 100]),
        ("classic", [0, 25, 50, 75, 100]),
        ("big_project", [0, 10, 20, 35, 50, 75, 100]),
    ],
)
def test_builtin_methodologies_have_the_domain_win_rates(key, percent):
    m = load_methodology(key)
    assert [s.win_rate for s in m.stages] == [p / 100 for p in percent]
    assert [s.order for s in m.stages] == list(range(1, len(percent) + 1))


def test_the_seeds_quota_example_uses_the_upper_funnel_rate(classic):
    # 某潜在用户下一年有意向购买100万元的产品目前处在漏斗的上部: 100 x 25 % = 25 万
    assert 1_000_000 * classic.stage("upper").win_rate == 250_000


@pytest.mark.parametrize(
    ("fixture", "text", "key"),
    [
        ("big_project", "发掘客户潜在的商机", "potential"),
        ("big_project", "发掘潜在的商机", "potential"),
        ("big_project", "商务沟通", "negotiation"),
        ("big_project", "定位目标客户群", "target"),
        ("big_project", "确认客户意向", "intent"),
        ("big_project", "引导客户立项", "approved"),
        ("big_project", "赢得客户认可", "recognition"),
        ("big_project", "进行商务谈判", "negotiation"),
        ("big_project", "完成销售成交", "closed"),
        ("product_sales", "初步接洽", "initial_contact"),
        ("product_sales", "了解客户需求", "needs"),
        ("product_sales", "确定客户需求", "needs"),
        ("product_sales", "验证产品符合客户需求", "solution"),
        ("product_sales", "报价", "quote"),
        ("product_sales", "商务谈判", "negotiation"),
        ("product_sales", "签单", "closed"),
        ("classic", "有购买需求的潜在用户", "top"),
        ("classic", "列入候选清单", "upper"),
        ("classic", "列入优选清单(两个品牌中选一个)", "middle"),
        ("classic", "基本确定", "lower"),
        ("classic", "漏斗底部", "bottom"),
    ],
)
def test_the_seeds_stage_names_resolve_to_their_stage(request, fixture, text, key):
    assert request.getfixturevalue(fixture).resolve_stage(text) == key


def test_big_project_carries_every_criterion_the_seed_lists_per_stage(big_project):
    # Counted in the seed: 目标客户群 3 features; 潜在商机 5 facts to obtain + 4 evaluation standards;
    # 意向客户 4; 立项 6; 赢得认可 4; 商务谈判 3; 成交 3.
    counts = {s.key: len(s.criteria) for s in big_project.stages}
    assert counts == {"target": 3, "potential": 9, "intent": 4, "approved": 6, "recognition": 4,
                      "negotiation": 3, "closed": 3}


@pytest.mark.parametrize("key", ["product_sales", "classic"])
def test_every_stage_has_two_to_four_criteria_with_both_texts_and_at_least_one_required(key):
    for stage in load_methodology(key).stages:
        assert 2 <= len(stage.criteria) <= 4, stage.key
        assert stage.required_criteria, stage.key
        for c in stage.criteria:
            assert c.zh.strip() and c.en.strip()


@pytest.mark.parametrize("key", ["product_sales", "classic", "big_project"])
def test_planned_shares_of_a_builtin_funnel_add_up_to_one(key):
    shares = [s.ideal_share for s in load_methodology(key).stages]
    assert sum(shares) == pytest.approx(1.0)


# --- the validator's answers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('key = "deal"', 'key = "lead"', ["stage 2 ('lead')", "duplicate stage key 'lead'", "stage 1"]),
        ('zh = "成交"', 'zh = "线索"', ["stage 2 ('deal')", "duplicate stage label (zh) '线索'"]),
        ('en = "Deal"', 'en = "lead "', ["stage 2 ('deal')", "duplicate stage label (en)"]),
        ('key = "deal_paid"', 'key = "lead_contact"',
         ["stage 2 ('deal'), criterion 2 ('lead_contact')", "duplicate criterion key 'lead_contact'",
          "already used at stage 1 ('lead'), criterion 1"]),
        ("win_rate = 10\n", "", ["stage 1 ('lead')", "win_rate is missing"]),
        ("win_rate = 10\n", 'win_rate = "ten"\n', ["stage 1 ('lead')", "win_rate must be a number", "'ten'"]),
        ("win_rate = 100\n", "win_rate = 150\n", ["stage 2 ('deal')", "win_rate 150 is outside 0-100"]),
        ("win_rate = 10\n", "win_rate = -5\n", ["stage 1 ('lead')", "win_rate -5 is outside 0-100"]),
        ("win_rate = 100\n", "win_rate = 5\n",
         ["stage 2 ('deal')", "win_rate 5 % is lower than the 10 % of the stage before it ('lead')"]),
        ('  zh = "已联系"\n', "", ["stage 1 ('lead'), criterion 1 ('lead_contact')", "zh text is missing"]),
        ('  en = "Signed"\n', '  en = " "\n', ["stage 2 ('deal'), criterion 1 ('deal_signed')", "en text is empty"]),
        ("required = false", "requird = false",
         ["criterion 2 ('deal_paid')", "unknown key 'requird' (did you mean 'required'?)"]),
        ('en = "Mini funnel"\n', 'en = "Mini funnel"\nowner = "me"\n', ["mine.toml: unknown key 'owner'"]),
        ('key = "deal_signed"', 'key = "deal signed"',
         ["stage 2 ('deal'), criterion 1", "criterion key 'deal signed' is not a valid key"]),
        ('key = "lead_contact"', 'key = "1st_contact"', ["criterion key '1st_contact' is not a valid key"]),
        ("required = false", 'required = "maybe"', ["criterion 2 ('deal_paid')", "required must be true or false"]),
        ("ideal_share = 0.5", "ideal_share = 30", ["stage 1 ('lead')", "ideal_share 30 is outside 0-1"]),
        ("ideal_share = 0.5", "ideal_share = 0.9", ["ideal_share values add up to 1.1", "at most 1"]),
        ('key = "mini"\n', "", ["mine.toml: methodology key (key) is missing"]),
        ('zh = "小漏斗"', 'zh = ""', ["mine.toml: zh text is empty"]),
        ('en = "Deal"', 'en = "Deal"\nsynonyms = ["线索"]', ["stage 2 ('deal')", "synonym '线索'", "stage 1"]),
    ],
)
def test_each_mistake_is_answered_with_the_file_the_stage_and_what_is_wrong(old, new, expected):
    assert old in VALID
    lines = mistakes_in(VALID.replace(old, new, 1))
    assert len(lines) == 1, lines
    assert lines[0].startswith("mine.toml: ")
    for fragment in expected:
        assert fragment in lines[0]


def test_a_misspelt_key_is_named_with_the_likely_meaning_and_its_loss_reported():
    lines = mistakes_in(VALID.replace("win_rate = 10\n", "win_rat = 10\n"))
    assert lines == [
        "mine.toml: stage 1 ('lead'): unknown key 'win_rat' (did you mean 'win_rate'?)",
        "mine.toml: stage 1 ('lead'): win_rate is missing (percent, 0-100)",
    ]


def test_a_file_without_stages_is_refused():
    lines = mistakes_in(VALID.split("[[stages]]")[0])
    assert lines == ["mine.toml: no stages: add at least one [[stages]] table"]


def test_a_toml_syntax_error_reports_the_line():
    broken = VALID.replace("win_rate = 100", "win_rate = = 100")
    line_number = broken.splitlines().index("win_rate = = 100") + 1
    lines = mistakes_in(broken)
    assert len(lines) == 1
    assert re.match(rf"mine\.toml: line {line_number}, column \d+: TOML syntax error", lines[0])


def test_win_rates_written_as_fractions_are_refused_not_read_as_tiny_percentages():
    lines = mistakes_in(VALID.replace("win_rate = 10\n", "win_rate = 0.1\n").replace("win_rate = 100", "win_rate = 1"))
    assert lines == ["mine.toml: every win_rate is 1 or less: they look like fractions (0.25 for 25 %); "
                     "write win rates in percent, 0-100"]


def test_equal_win_rates_on_neighbouring_stages_are_allowed(product_sales):
    assert product_sales.stage("quote").win_rate == product_sales.stage("negotiation").win_rate == 0.7


def test_every_mistake_is_reported_at_once_one_line_each():
    text = (VALID.replace("win_rate = 10\n", "win_rat = 10\n")
                 .replace('  en = "Signed"\n', "")
                 .replace("ideal_share = 0.5", "ideal_share = 2"))
    lines = mistakes_in(text)
    assert len(lines) == 4  # unknown key, then win_rate missing, bad share, missing criterion text
    assert all(line.startswith("mine.toml: stage ") for line in lines)
    assert any("unknown key 'win_rat'" in line for line in lines)
    assert any("win_rate is missing" in line for line in lines)
    assert any("ideal_share 2 is outside 0-1" in line for line in lines)
    assert any("criterion 1 ('deal_signed'): en text is missing" in line for line in lines)


def test_a_single_mistake_is_counted_in_the_heading_and_told_on_its_own_line():
    with pytest.raises(MethodologyError) as caught:
        parse_methodology(VALID.replace("win_rate = 100", "win_rate = 500"), source="x.toml")
    assert str(caught.value).splitlines() == [
        "x.toml: the methodology is not valid (1 mistake):",
        "x.toml: stage 2 ('deal'): win_rate 500 is outside 0-100 (percent)",
    ]


def test_a_valid_file_reads_percent_as_fractions_and_keeps_optional_criteria_optional():
    m = parse_methodology(VALID, source="mine.toml")
    assert m.rates() == {"lead": 0.1, "deal": 1.0}
    assert [c.key for c in m.stage("deal").required_criteria] == ["deal_signed"]
    assert [s.ideal_share for s in m.stages] == [0.5, 0.2]
    assert m.source == "mine.toml"


# --- loading files ----------------------------------------------------------------------------------------


def test_a_users_edited_copy_loads_from_its_path(tmp_path):
    path = tmp_path / "ours.toml"
    path.write_text(VALID.replace("win_rate = 10\n", "win_rate = 15\n"), encoding="utf-8")
    assert load_methodology(path).stage("lead").win_rate == 0.15


def test_a_file_saved_with_a_byte_order_mark_still_loads(tmp_path):
    path = tmp_path / "notepad.toml"
    path.write_bytes(b"\xef\xbb\xbf" + VALID.encode("utf-8"))
    assert load_methodology(str(path)).key == "mini"


def test_loading_errors_name_the_users_file(tmp_path):
    path = tmp_path / "ours.toml"
    path.write_text(VALID.replace("win_rate = 100", "win_rate = 101"), encoding="utf-8")
    with pytest.raises(MethodologyError, match=re.escape(f"{path}: stage 2 ('deal'): win_rate 101")):
        load_methodology(path)


def test_a_missing_file_is_named_with_the_builtin_choices(tmp_path):
    with pytest.raises(MethodologyError, match=r"nothere\.toml: no such methodology file.*big_project"):
        load_methodology(tmp_path / "nothere.toml")


def test_a_file_that_is_not_utf8_is_refused_with_its_name(tmp_path):
    path = tmp_path / "gbk.toml"
    path.write_bytes(VALID.encode("gbk"))
    with pytest.raises(MethodologyError, match=r"gbk\.toml: not UTF-8 text"):
        load_methodology(path)


# --- round trips ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["product_sales", "classic", "big_project"])
def test_toml_round_trip_gives_the_same_methodology_and_the_same_text(key):
    m = load_methodology(key)
    text = methodology_to_toml(m)
    again = parse_methodology(text, source="written.toml")
    assert again == m
    assert methodology_to_toml(again) == text


@pytest.mark.parametrize("key", ["product_sales", "classic", "big_project"])
def test_tables_round_trip_gives_the_same_methodology(key):
    m = load_methodology(key)
    meta, stages, criteria = methodology_to_tables(m)
    assert list(stages["win_rate"]) == [round(s.win_rate * 100, 6) for s in m.stages]
    assert methodology_from_tables(meta, stages, criteria, source="Funnel.xlsm") == m


_text = st.text(min_size=1, max_size=20).filter(lambda s: s.strip())


def generated(rates: list[float], zh: str, en: str, criterion_text: str, required: bool) -> Methodology:
    if max(rates) <= 0.01:  # such files are refused as fractions-instead-of-percent, tested above
        rates = [*rates[:-1], 1.0]
    stages = tuple(
        Stage(key=f"s{i}", order=i + 1, zh=f"{zh.strip()}{i}", en=f"{en.strip()}{i}", win_rate=r,
              criteria=(Criterion(f"c{i}", criterion_text.strip(), criterion_text.strip(), required),))
        for i, r in enumerate(rates)
    )
    return Methodology(key="gen", zh=zh.strip(), en=en.strip(), stages=stages)


# Rates a person or a rounded calibration writes: percent with up to six decimals.
_written_rates = st.lists(st.integers(0, 100_000_000), min_size=1, max_size=6).map(
    lambda xs: [float(Decimal(x) / Decimal(100_000_000)) for x in sorted(xs)]
)


@settings(max_examples=80, deadline=None)
@given(rates=_written_rates, zh=_text, en=_text, criterion_text=_text, required=st.booleans())
def test_any_texts_and_written_rates_survive_the_toml_round_trip_exactly(rates, zh, en, criterion_text, required):
    m = generated(rates, zh, en, criterion_text, required)
    assert parse_methodology(methodology_to_toml(m)) == m


@settings(max_examples=80, deadline=None)
@given(rates=st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=6).map(sorted))
def test_a_rate_with_all_seventeen_digits_comes_back_within_one_part_in_a_quadrillion(rates):
    m = generated(rates, "z", "e", "c", True)
    back = parse_methodology(methodology_to_toml(m))
    for mine, theirs in zip(m.stages, back.stages):
        assert theirs.win_rate == pytest.approx(mine.win_rate, abs=1e-15)


def test_a_percent_with_decimals_reads_as_the_fraction_written():
    m = parse_methodology(VALID.replace("win_rate = 10\n", "win_rate = 35.1\n"))
    assert m.stage("lead").win_rate == 0.351  # not 35.1 / 100 == 0.35100000000000003


# --- the 阶段设置 sheet -------------------------------------------------------------------------------------

SHEET = label("sheet.stages", "zh-CN")


def sheet_tables(m: Methodology, first_stage_row: int = 5, first_criterion_row: int = 20):
    """The tables as a workbook reader hands them over: indexed by the rows the user sees."""
    meta, stages, criteria = methodology_to_tables(m)
    stages.index = range(first_stage_row, first_stage_row + len(stages))
    criteria.index = range(first_criterion_row, first_criterion_row + len(criteria))
    return meta, stages, criteria


def test_sheet_errors_name_the_sheet_the_row_and_the_stage(classic):
    meta, stages, criteria = sheet_tables(classic)
    stages.loc[6, "win_rate"] = 250  # the second stage row: upper
    with pytest.raises(MethodologyError) as caught:
        methodology_from_tables(meta, stages, criteria, source="Funnel.xlsm", sheet=SHEET)
    assert str(caught.value).splitlines()[1:] == [
        f"Funnel.xlsm: sheet {SHEET}, stages table, row 6 (stage 'upper'): win_rate 250 is outside 0-100 (percent)"
    ]


def test_a_criterion_row_naming_an_unknown_stage_is_reported_with_its_row(classic):
    meta, stages, criteria = sheet_tables(classic)
    criteria.loc[21, "stage_key"] = "uper"
    with pytest.raises(MethodologyError, match=rf"sheet {SHEET}, criteria table, row 21: stage_key 'uper' is not a stage"):
        methodology_from_tables(meta, stages, criteria, source="Funnel.xlsm", sheet=SHEET)


def test_sheet_cells_accept_what_people_type(classic):
    meta, stages, criteria = sheet_tables(classic)
    stages["win_rate"] = stages["win_rate"].astype(object)
    stages.loc[6, "win_rate"] = "25%"
    stages.loc[7, "synonyms"] = "中部, 优选清单，列入优选清单(两个品牌中选一个)"
    stages["ideal_share"] = stages["ideal_share"].astype(object)
    stages.loc[5, "ideal_share"] = "40%"
    criteria["required"] = ["是" if r else "否" for r in criteria["required"]]
    criteria.iloc[0, criteria.columns.get_loc("required")] = "Yes"
    m = methodology_from_tables(meta, stages, criteria, source="Funnel.xlsm", sheet=SHEET)
    assert m.stage("upper").win_rate == 0.25
    assert m.stage("top").ideal_share == 0.40
    assert m.stage("middle").synonyms == ("中部", "优选清单", "列入优选清单(两个品牌中选一个)")
    assert [c.required for c in m.criteria()] == [c.required for c in classic.criteria()]


@pytest.mark.parametrize(("required", "optional"), [("√", "×"), ("1", "0"), ("必须", "可选"), ("required", "Optional")])
def test_the_required_column_takes_every_yes_no_answer_and_its_own_words(classic, required, optional):
    meta, stages, criteria = sheet_tables(classic)
    criteria["required"] = [required if r else optional for r in criteria["required"]]
    m = methodology_from_tables(meta, stages, criteria, source="Funnel.xlsm", sheet=SHEET)
    assert [c.required for c in m.criteria()] == [c.required for c in classic.criteria()]


def test_a_blank_required_cell_means_required_as_an_omitted_key_does(classic):
    meta, stages, criteria = sheet_tables(classic)
    criteria["required"] = criteria["required"].astype(object)
    criteria.loc[22, "required"] = None  # top_profile, optional in the file
    m = methodology_from_tables(meta, stages, criteria, source="Funnel.xlsm")
    assert m.stage("top").criteria[2].required is True


def test_an_unreadable_required_cell_is_refused(classic):
    meta, stages, criteria = sheet_tables(classic)
    criteria["required"] = criteria["required"].astype(object)
    criteria.loc[20, "required"] = "也许"
    with pytest.raises(MethodologyError, match=r"criteria table, row 20 \(criterion 'top_need' of stage 'top'\): "
                                               r"required must be true or false, got '也许'"):
        methodology_from_tables(meta, stages, criteria, source="Funnel.xlsm")


def test_win_rates_formatted_as_percent_in_excel_are_caught(classic):
    meta, stages, criteria = sheet_tables(classic)
    stages["win_rate"] = stages["win_rate"] / 100  # what a cell formatted "25%" holds
    with pytest.raises(MethodologyError, match="look like fractions"):
        methodology_from_tables(meta, stages, criteria, source="Funnel.xlsm", sheet=SHEET)


def test_a_missing_table_column_is_reported(classic):
    meta, stages, criteria = sheet_tables(classic)
    with pytest.raises(MethodologyError, match=rf"sheet {SHEET}, stages table: column 'win_rate' is missing"):
        methodology_from_tables(meta, stages.drop(columns="win_rate"), criteria, source="F.xlsm", sheet=SHEET)


def test_the_users_own_columns_on_the_sheet_are_ignored(classic):
    meta, stages, criteria = sheet_tables(classic)
    stages["my_notes"] = "remember"
    assert methodology_from_tables(meta, stages, criteria, source="Funnel.xlsm") == classic
