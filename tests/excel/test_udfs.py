"""The worksheet functions (=FUNNEL_...): hand-worked figures, agreement with the domain on the shipped sample,
the argument shapes Excel passes, readable error texts instead of tracebacks, and the xlwings declarations."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from funnel_xl.domain.columns import STAGES
from funnel_xl.domain.forecast import forecast_category, time_bucket, weighted_forecast
from funnel_xl.domain.funnel import required_pipeline
from funnel_xl.domain.normalize import normalize_opportunities, normalize_reps
from funnel_xl.domain.progress import sales_progress, snapshot_totals
from funnel_xl.domain.quota import attainment, quota_proposal
from funnel_xl.domain.rates import with_rates
from funnel_xl.domain.schema import checklist_column
from funnel_xl.domain.settings import CLAIMED
from funnel_xl.domain.stages import derive_stages
from funnel_xl.excel import udfs
from funnel_xl.labels import label
from funnel_xl.workbook.contract import header_labels

from excel_args import call_like_excel, column, table_range

AS_OF = dt.datetime(2026, 11, 20)
# The worksheet functions, as Excel finds them: the FUNNEL_ members of the module xlwings.conf names.
UDF_NAMES = sorted(name for name in vars(udfs) if name.startswith("FUNNEL_"))


def stage_table(methodology, lang="zh-CN"):
    """tblStages[#All] as the 阶段设置 sheet holds it: header labels, win rates as fractions, an order column."""
    header = [label("col.stage_order", lang)] + [label(header_labels(STAGES)[k], lang) for k in ("zh", "win_rate", "key", "en")]
    rows = [[float(s.order), s.zh, s.win_rate, s.key, s.en] for s in methodology.stages]
    return [header, *rows]


# ---------------------------------------------------------------------------------------------- amounts

def test_typed_amounts_become_numbers_in_the_shape_of_the_range():
    got = udfs.FUNNEL_AMOUNT([["120万"], ["¥1,200,000"], ["1.2亿"], [None], [350000.0]])
    assert got == [[1_200_000.0], [1_200_000.0], [120_000_000.0], [None], [350_000.0]]


def test_a_single_cell_amount_gives_a_number_not_an_array():
    assert udfs.FUNNEL_AMOUNT("一百二十万") == 1_200_000.0


def test_an_estimate_shows_a_value_error_naming_the_row_and_the_reason():
    got = udfs.FUNNEL_AMOUNT([["100万"], ["约100万"]])
    assert got[0] == [1_000_000.0]
    text = got[1][0]
    assert text.startswith("#VALUE! text: row 2 '约100万' is not an amount")
    assert "estimate" in text


# -------------------------------------------------------------------------------------------- win rates

def test_win_rate_follows_the_stage_whatever_name_the_user_types():
    # big_project defaults: 引导客户立项 35 %, 赢得客户认可 50 %, 进行商务谈判 75 %, 完成销售成交 100 %
    got = udfs.FUNNEL_WINRATE([["引导客户立项"], ["Customer recognition"], ["negotiation"], ["closed"], [None]])
    assert got == [[0.35], [0.5], [0.75], [1.0], [None]]


def test_an_unknown_stage_shows_not_available_with_the_stages_expected():
    text = udfs.FUNNEL_WINRATE("约谈客户")
    assert text.startswith("#N/A stage: row 1 '约谈客户' is not a stage of")
    assert "赢得客户认可" in text


def test_the_workbook_stage_table_replaces_the_default_rates(big_project):
    table = stage_table(big_project)
    table[5][2] = 0.6  # the manager raised 赢得客户认可 from 50 % to 60 % (rates may not fall: 75 % comes next)
    assert udfs.FUNNEL_WINRATE("赢得客户认可", table) == pytest.approx(0.6)
    assert udfs.FUNNEL_WINRATE("Negotiation", table) == pytest.approx(0.75)


def test_a_two_column_stage_list_takes_rates_as_percent_or_fraction():
    table = [["报价", 70.0], ["商务谈判", "70%"], ["成交", 1.0]]
    assert udfs.FUNNEL_WINRATE([["报价"], ["成交"]], table) == [[0.7], [1.0]]


def test_a_stage_table_whose_rates_fall_is_refused_with_the_domain_reason(big_project):
    table = stage_table(big_project)
    table[6][2] = 0.4  # 进行商务谈判 40 % after 赢得客户认可 50 %
    text = udfs.FUNNEL_WINRATE("赢得客户认可", table)
    assert text.startswith("#VALUE! stages_table:")
    assert "lower than" in text and "\n" not in text


# ------------------------------------------------------------------------------------- weighted forecast

def test_the_seeds_example_weighs_one_million_at_the_upper_funnel_as_250000():
    assert udfs.FUNNEL_WEIGHTED(1_000_000.0, "列入候选清单", None, "classic") == pytest.approx(250_000.0)


def test_weighted_forecast_counts_open_rows_only_and_reads_text_amounts():
    # open 120万 × 50 % = 600,000; open 80万 × 35 % = 280,000; the won and lost rows weigh nothing
    amounts = [["120万"], [800_000.0], [2_000_000.0], [500_000.0], [None]]
    stages = [["赢得客户认可"], ["引导客户立项"], ["完成销售成交"], ["进行商务谈判"], [None]]
    statuses = [["进行中"], ["open"], ["赢单"], ["丢单"], [None]]
    assert udfs.FUNNEL_WEIGHTED(amounts, stages, statuses) == pytest.approx(880_000.0)


def test_rates_may_be_given_as_numbers_instead_of_stages():
    assert udfs.FUNNEL_WEIGHTED([[1_000_000.0], [400_000.0]], [[0.25], ["50%"]]) == pytest.approx(450_000.0)


def test_weighted_forecast_of_the_sample_equals_the_domains_at_the_stages_given(sample, big_project):
    opps = sample.opportunities
    rated = with_rates(opps, big_project)
    # Given the claimed stages, the function weighs the claim ...
    got = udfs.FUNNEL_WEIGHTED(column(opps, "amount"), column(opps, "stage"), column(opps, "status"))
    assert got == pytest.approx(weighted_forecast(rated, "claimed_weighted"), abs=0.005)
    # ... given the win rates 商机 shows (on the default basis, the evidence), the forecast every sheet shows.
    got = udfs.FUNNEL_WEIGHTED(column(opps, "amount"), column(rated, "win_rate"), column(opps, "status"))
    assert got == pytest.approx(weighted_forecast(rated), abs=0.005)
    assert weighted_forecast(rated) < weighted_forecast(rated, "claimed_weighted")  # the sample claims more


def test_an_unreadable_amount_makes_the_weighted_total_an_error_naming_its_row():
    text = udfs.FUNNEL_WEIGHTED([[100.0], ["100-200万"]], [["赢得客户认可"], ["赢得客户认可"]])
    assert text.startswith("#VALUE! amounts: row 2 '100-200万' is not an amount (a range")


def test_ranges_of_different_sizes_are_refused():
    text = udfs.FUNNEL_WEIGHTED([[1.0], [2.0]], [["赢得客户认可"]])
    assert text.startswith("#VALUE! stages_or_rates: has 1 cells but amounts has 2")


def test_an_empty_range_weighs_nothing():
    assert udfs.FUNNEL_WEIGHTED([[None], [None]], [[None], [None]]) == 0.0


# -------------------------------------------------------------------------------------- assessed stage

def _answers_through(methodology, last_stage_key, yes="是", no="否"):
    row, reached = [], True
    for stage in methodology.stages:
        row += [yes if reached else no] * len(stage.criteria)
        if stage.key == last_stage_key:
            reached = False
    return row


def test_the_stage_follows_the_highest_fully_met_checklist(big_project):
    rows = [_answers_through(big_project, "intent"), _answers_through(big_project, "negotiation"),
            ["否"] * len(big_project.criteria()), [None] * len(big_project.criteria())]
    # All 否: answered, but not even the first stage is met, so the deal sits at the first stage; nothing
    # answered: not assessed.
    assert udfs.FUNNEL_STAGE(rows) == [["确认客户意向"], ["进行商务谈判"], ["定位目标客户群"], ["未评估"]]
    assert udfs.FUNNEL_STAGE([rows[1]], "big_project", "en") == "Negotiation"  # one row: a single value


def test_assessed_stages_of_the_sample_equal_the_domains(sample, big_project):
    columns = [checklist_column(c.key) for c in big_project.criteria()]
    rows = [[None if pd.isna(v) else bool(v) for v in r] for r in sample.opportunities[columns].itertuples(index=False)]
    expected = derive_stages(sample.opportunities, big_project)["derived_stage"]
    names = ["" if pd.isna(k) else big_project.stage(k).zh for k in expected]
    assert udfs.FUNNEL_STAGE(rows) == [[n] for n in names]


def test_a_checklist_of_the_wrong_width_is_refused(big_project):
    text = udfs.FUNNEL_STAGE([["是", "是"]])
    assert text.startswith("#VALUE! checklist_range: has 2 columns")
    assert str(len(big_project.criteria())) in text


def test_an_answer_that_is_not_yes_or_no_marks_only_its_row(big_project):
    bad = _answers_through(big_project, "intent")
    bad[3] = "也许"
    got = udfs.FUNNEL_STAGE([_answers_through(big_project, "potential"), bad])
    assert got[0] == ["发掘潜在商机"]
    assert got[1][0].startswith("#VALUE! checklist_range: row 2, column 4 '也许' is not a yes/no answer")


# --------------------------------------------------------------------------------- buckets, categories

def test_close_dates_fall_into_time_buckets_counted_in_calendar_months():
    dates = [[dt.datetime(2027, 1, 15)], [dt.datetime(2027, 2, 20)], [dt.datetime(2026, 11, 1)],
             [dt.datetime(2026, 9, 1)], [dt.datetime(2026, 10, 1)], [None]]
    statuses = [["进行中"], ["进行中"], ["进行中"], ["赢单"], ["丢单"], [None]]
    got = udfs.FUNNEL_BUCKET(dates, AS_OF, statuses)
    # exactly three months out (2027-02-20) already belongs to 3-6 months
    assert got == [["三个月内成交"], ["三到六个月内成交"], ["已过预计成交日"], ["截止上报时间已成交"], [None], [None]]


def test_the_report_date_may_be_an_excel_serial_number():
    # =FUNNEL_BUCKET(DATE(2027,1,15), DATE(2026,11,20)) passes numbers, not dates: 46346 is 2026-11-20
    assert udfs.FUNNEL_BUCKET(46402.0, 46346.0, None, "en") == "Within 3 months"


def test_time_buckets_of_the_sample_equal_the_domains(sample):
    opps = sample.opportunities
    expected = time_bucket(opps, AS_OF)
    got = udfs.FUNNEL_BUCKET(column(opps, "close_date"), AS_OF, column(opps, "status"), "en")
    assert got == [[None if pd.isna(b) else label(f"bucket.{b}", "en")] for b in expected]


def test_an_unreadable_close_date_marks_only_its_cell():
    got = udfs.FUNNEL_BUCKET([["2027-01-15"], ["下个月"]], AS_OF)
    assert got[0] == ["三个月内成交"]
    assert got[1][0].startswith("#VALUE! close_dates: row 2 '下个月' is not a date")


def test_forecast_categories_follow_quarter_and_win_rate():
    # as of 2026-11-20 this quarter is Q4 2026 and next quarter Q1 2027; committed needs 75 % or more
    dates = [[dt.datetime(2026, 12, 20)], [dt.datetime(2026, 12, 20)], [dt.datetime(2027, 2, 1)],
             [dt.datetime(2027, 6, 1)], [dt.datetime(2026, 10, 5)]]
    stages = [["进行商务谈判"], ["引导客户立项"], ["进行商务谈判"], ["赢得客户认可"], ["完成销售成交"]]
    statuses = [["进行中"], ["进行中"], ["进行中"], ["进行中"], ["赢单"]]
    got = udfs.FUNNEL_CATEGORY(dates, stages, statuses, AS_OF)
    assert got == [["本季度保证实现"], ["本季度有希望实现"], ["下季度有希望实现"], ["有意向的"], ["截止上报时间已落单"]]


def test_forecast_categories_of_the_sample_equal_the_domains_derived_ones(sample, big_project):
    opps = sample.opportunities.drop(columns="category")  # the function derives; typed categories are not passed
    expected = forecast_category(with_rates(opps, big_project, CLAIMED), AS_OF)  # the stages passed are claimed
    got = udfs.FUNNEL_CATEGORY(column(opps, "close_date"), column(opps, "stage"), column(opps, "status"), AS_OF)
    assert got == [[None if pd.isna(c) else label(f"category.{c}", "zh-CN")] for c in expected]


# ----------------------------------------------------------------------------------- reverse calculation

def test_the_required_pipeline_spills_a_table_with_a_header():
    got = udfs.FUNNEL_REQUIRED(5_000_000.0, 500_000.0)
    assert got[0] == ["销售阶段", "赢率", "所需金额(元)", "所需商机数"]
    by_stage = {row[0]: row[1:] for row in got[1:]}
    # 5,000,000 ÷ 50 % = 10,000,000 = 20 deals of 500,000; at 35 %: 14,285,714.29 → 29 deals (28.57 rounded up)
    assert by_stage["赢得客户认可"] == [0.5, 10_000_000.0, 20]
    assert by_stage["引导客户立项"][1] == pytest.approx(14_285_714.2857, abs=0.01)
    assert by_stage["引导客户立项"][2] == 29
    assert by_stage["定位目标客户群"] == [0.0, None, None]  # nothing at 0 % counts toward revenue


def test_the_required_pipeline_equals_the_domains_for_the_workbook_table(big_project):
    got = udfs.FUNNEL_REQUIRED("500万", 400_000.0, stage_table(big_project), "en")
    expected = required_pipeline(5_000_000.0, big_project, avg_deal_size=400_000.0)
    assert [row[0] for row in got[1:]] == [s.en for s in big_project.stages]
    assert [row[2] for row in got[1:]] == [None if pd.isna(v) else pytest.approx(v) for v in expected["amount_needed"]]
    assert [row[3] for row in got[1:]] == [None if pd.isna(v) else v for v in expected["count_needed"]]


def test_a_target_that_is_not_an_amount_is_refused():
    assert udfs.FUNNEL_REQUIRED("很多", 100.0).startswith("#VALUE! target: '很多' is not an amount")


# ------------------------------------------------------------------------------------------- progress

def test_sales_progress_is_this_weeks_total_less_last_weeks():
    assert udfs.FUNNEL_PROGRESS(3_200_000.0, 1_500_000.0, 3_000_000.0, 1_200_000.0) == pytest.approx(500_000.0)


def test_sales_progress_of_the_last_sample_week_equals_the_domains(sample):
    history = sample.history
    dates = sorted(history["snapshot_date"].unique())
    last_date, this_date = pd.Timestamp(dates[-2]), pd.Timestamp(dates[-1])
    last = history[history["snapshot_date"].eq(last_date)]
    this = history[history["snapshot_date"].eq(this_date)]
    start = pd.Timestamp(year=last_date.year, month=1, day=1)
    t, lw = snapshot_totals(this, this_date, start), snapshot_totals(last, last_date, start)
    got = udfs.FUNNEL_PROGRESS(t["forecast"], t["achieved"], lw["forecast"], lw["achieved"])
    assert got == pytest.approx(sales_progress(this, last, this_date=this_date, last_date=last_date))


def test_progress_is_computed_cell_by_cell_over_ranges():
    got = udfs.FUNNEL_PROGRESS([[100.0], [None]], [[50.0], [None]], [[80.0], [None]], [[0.0], [None]])
    assert got == [[70.0], [None]]


# ------------------------------------------------------------------------------------ per-rep figures

REP_HEADERS = [label(f"rep_field.{k}", "zh-CN") for k in ("rep", "hire_date", "annual_quota")]


def _opportunity_rows(rows):
    header = [label(f"field.{k}", "zh-CN") for k in
              ("id", "customer", "rep", "amount", "close_date", "stage", "status", "created_date")]
    return [header, *rows]


def test_coverage_is_achieved_plus_this_years_weighted_pipeline_over_the_quota():
    reps = [REP_HEADERS, ["张伟", dt.datetime(2019, 3, 11), 8_000_000.0], ["王芳", dt.datetime(2021, 6, 1), 0.0]]
    opps = _opportunity_rows([
        ["A1", "甲", "张伟", 1_000_000.0, dt.datetime(2026, 12, 20), "赢得客户认可", "进行中", dt.datetime(2026, 1, 5)],
        ["A2", "乙", "张伟", 2_000_000.0, dt.datetime(2026, 6, 1), "完成销售成交", "赢单", dt.datetime(2026, 1, 5)],
        ["A3", "丙", "王芳", 500_000.0, dt.datetime(2027, 3, 1), "引导客户立项", "进行中", dt.datetime(2026, 1, 5)],
        ["A4", "丁", "张伟", 5_000_000.0, dt.datetime(2027, 3, 1), "赢得客户认可", "进行中", dt.datetime(2026, 1, 5)],
    ])
    got = udfs.FUNNEL_COVERAGE([["张伟"], ["王芳"], ["赵六"]], opps, reps, AS_OF)
    # (2,000,000 won + 1,000,000 × 50 %) ÷ 8,000,000 = 0.3125; A4 closes next year and is next year's pipeline
    assert got[0] == [pytest.approx(0.3125)]
    # With a fiscal year from April the current year runs to March 2027, so A4 counts: + 2,500,000; A2 (June 2026)
    # is this fiscal year's win too.
    fiscal = udfs.FUNNEL_COVERAGE("张伟", opps, reps, AS_OF, None, None, 4)
    assert fiscal == pytest.approx((2_000_000 + 500_000 + 2_500_000) / 8_000_000)
    assert got[1][0].startswith("#DIV/0! rep: row 2 '王芳' has no annual quota")
    assert got[2][0].startswith("#N/A rep: row 3 '赵六' is not in the reps table")


def test_the_quota_proposal_counts_open_deals_closing_in_the_plan_year():
    opps = _opportunity_rows([
        ["B1", "甲", "张伟", 1_000_000.0, dt.datetime(2027, 5, 1), "列入候选清单", "进行中", dt.datetime(2026, 1, 5)],
        ["B2", "乙", "张伟", 600_000.0, dt.datetime(2028, 2, 1), "列入优选清单", "进行中", dt.datetime(2026, 1, 5)],
    ])
    # the seed: 1,000,000 at the upper funnel (25 %) contributes 250,000; the 2028 deal belongs to next year
    assert udfs.FUNNEL_QUOTA("张伟", opps, 2027.0, "classic") == pytest.approx(250_000.0)
    # a fiscal year from April: plan year 2027 runs April 2027 - March 2028 and takes the February 2028 deal too
    assert udfs.FUNNEL_QUOTA("张伟", opps, 2027.0, "classic", None, 4) == pytest.approx(250_000.0 + 600_000.0 * 0.5)


def test_a_reps_figure_is_refused_when_one_of_its_rows_is_rejected():
    reps = [REP_HEADERS, ["张伟", dt.datetime(2019, 3, 11), 8_000_000.0]]
    opps = _opportunity_rows([
        ["C1", "甲", "张伟", "约100万", dt.datetime(2027, 3, 1), "赢得客户认可", "进行中", dt.datetime(2026, 1, 5)],
    ])
    text = udfs.FUNNEL_COVERAGE("张伟", opps, reps, AS_OF)
    assert text.startswith("#VALUE! opportunities: opportunities, row 2")
    assert "约100万" in text


def test_coverage_and_quota_proposal_of_the_sample_equal_the_domains(sample, big_project):
    reps_clean = normalize_reps(sample.reps).clean
    normalized = normalize_opportunities(sample.opportunities, big_project, reps=list(reps_clean["rep"]))
    rated = with_rates(normalized.clean, big_project)
    expected = attainment(rated, reps_clean, AS_OF)
    proposal = quota_proposal(rated, plan_start=dt.date(2027, 1, 1), plan_end=dt.date(2027, 12, 31))
    names = [[r] for r in sample.reps["rep"]]
    opps_range = table_range(sample.opportunities)
    coverage = udfs.FUNNEL_COVERAGE(names, opps_range, table_range(sample.reps), AS_OF)
    quota = udfs.FUNNEL_QUOTA(names, opps_range, 2027.0)
    claimed_quota = udfs.FUNNEL_QUOTA(names, opps_range, 2027.0, None, "销售阶段")
    claimed = quota_proposal(with_rates(normalized.clean, big_project, CLAIMED), plan_start=dt.date(2027, 1, 1),
                             plan_end=dt.date(2027, 12, 31))
    # Every row of the sample counts (its two mistakes are warnings), so every rep's figure is the domain's, on the
    # evidence by default and on the claim when asked.
    for (name,), (cov,), (quo,), (claim,) in zip(names, coverage, quota, claimed_quota):
        assert claim == pytest.approx(claimed.at[name, "proposal"])
        if pd.isna(expected.at[name, "coverage"]):
            assert cov.startswith("#DIV/0! rep:")  # no quota: no coverage, said so rather than shown as 0
        else:
            assert cov == pytest.approx(expected.at[name, "coverage"])
        if name in proposal.index:
            assert quo == pytest.approx(proposal.at[name, "proposal"])


# ------------------------------------------------------------------------------ never a traceback

@pytest.mark.parametrize("name", UDF_NAMES)
def test_every_function_answers_garbage_with_an_error_text_not_an_exception(name):
    func = getattr(udfs, name)
    n_required = func.__code__.co_argcount - len(func.__defaults__ or ())
    result = func(*([object()] * n_required))
    text = result if isinstance(result, str) else str(result)
    assert "#VALUE!" in text or "#N/A" in text


# ------------------------------------------------------------------------------ xlwings declarations

def test_every_function_is_declared_for_excel_with_a_wizard_text_for_each_argument(declared_udfs):
    assert sorted(name for name, f in vars(declared_udfs).items() if hasattr(f, "__xlfunc__")) == UDF_NAMES
    for name in UDF_NAMES:
        info = getattr(declared_udfs, name).__xlfunc__
        assert info["name"] == name and info["category"] == udfs.CATEGORY and not info["sub"]
        assert info["ret"]["doc"].strip(), name
        for arg in info["args"]:
            assert not arg["doc"].startswith("Positional argument"), f"{name}({arg['name']}) has no wizard text"


def test_range_arguments_are_declared_two_dimensional_and_scalars_are_not(declared_udfs):
    args = {a["name"]: a for a in declared_udfs.FUNNEL_WEIGHTED.__xlfunc__["args"]}
    assert {n: a["options"].get("ndim") for n, a in args.items()} == {
        "amounts": 2, "stages_or_rates": 2, "statuses": 2, "stages_table": 2}
    assert args["statuses"]["optional"] is None
    required = {a["name"]: a for a in declared_udfs.FUNNEL_REQUIRED.__xlfunc__["args"]}
    assert "ndim" not in required["target"]["options"] and required["stages_table"]["options"]["ndim"] == 2


def test_a_single_cell_passed_through_xlwings_conversion_gives_a_single_value(declared_udfs):
    # xlwings always hands Excel a 2-D array; 1 × 1 fills the calling cell and spills nothing
    assert call_like_excel(declared_udfs.FUNNEL_AMOUNT, "120万") == [[1_200_000.0]]


def test_a_column_passed_through_xlwings_conversion_spills_a_column(declared_udfs):
    raw = (("120万",), (None,), ("约100万",))  # what COM hands over for a 3-cell column
    got = call_like_excel(declared_udfs.FUNNEL_AMOUNT, raw)
    assert got[0] == [1_200_000.0] and got[1] == [""]  # "" is how the engine writes an empty cell
    assert got[2][0].startswith("#VALUE! text: row 3")


def test_dates_and_an_omitted_argument_pass_through_xlwings_conversion(declared_udfs):
    raw_dates = ((dt.datetime(2027, 1, 15),), (dt.datetime(2027, 9, 1),))
    got = call_like_excel(declared_udfs.FUNNEL_BUCKET, raw_dates, AS_OF, None, "en")
    assert got == [["Within 3 months"], ["9-12 months"]]


def test_the_required_table_converts_to_a_rectangular_array(declared_udfs):
    got = call_like_excel(declared_udfs.FUNNEL_REQUIRED, 5_000_000.0, 500_000.0, None, "en")
    assert len(got) == 8 and {len(r) for r in got} == {4}
    assert got[5][0] == "Customer recognition" and got[5][2] == 10_000_000.0


def test_every_function_has_a_documented_example_label():
    for name in UDF_NAMES:
        for lang in ("zh-CN", "en"):
            assert label(f"udf.{name}.example", lang).startswith(f"={name}(")
            assert label(f"udf.{name}.doc", lang)

