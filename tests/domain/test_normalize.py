"""A raw sheet becomes clean typed rows plus problems that point at the user's row, column and value; no row is lost."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from funnel_xl.domain.clean_schema import opportunity_schema, rep_schema
from funnel_xl.domain.normalize import Normalized, normalize_opportunities, normalize_reps
from funnel_xl.domain.schema import OPPORTUNITY_COLUMNS, REP_COLUMNS, checklist_column
from funnel_xl.errors import InputError
from funnel_xl.labels import label

FIRST_ROW = 2  # the sheet's header is row 1, so the first data row the user sees is row 2
SHEET = "商机"  # the name the caller passes; the domain never reads the label catalogue itself
ZH = {col: label(f"field.{col}") for col in OPPORTUNITY_COLUMNS}


def a_row(**overrides) -> dict:
    """One opportunity as a rep types it: text amounts and dates, the stage by its Chinese label."""
    row = {
        "id": "OPP-1", "customer": "华东电力集团", "project": "ERP 一期", "rep": "张伟",
        "amount": "120万", "close_date": "2026年6月30日", "stage": "确认客户意向",
        "status": "进行中", "created_date": "2026/1/15",
    }
    row.update(overrides)
    return row


def sheet(*rows: dict) -> pd.DataFrame:
    """A raw frame indexed by sheet row number, as the workbook reader hands it over."""
    return pd.DataFrame(list(rows), index=range(FIRST_ROW, FIRST_ROW + len(rows)))


def run(big_project, *rows: dict, **kwargs) -> Normalized:
    kwargs.setdefault("sheet", SHEET)
    kwargs.setdefault("column_labels", ZH)
    return normalize_opportunities(sheet(*rows), big_project, **kwargs)


def only_error(result: Normalized):
    assert len(result.errors) == 1, [str(p) for p in result.problems]
    return result.errors[0]


# --- what comes out clean ----------------------------------------------------------------------------------


def test_a_well_typed_row_comes_out_clean_with_exact_amount_date_stage_and_status(big_project):
    result = run(big_project, a_row())
    assert result.problems == [] and result.rejected.empty
    row = result.clean.loc[FIRST_ROW]
    assert row["amount"] == 1_200_000.0
    assert row["close_date"] == pd.Timestamp(2026, 6, 30)
    assert row["created_date"] == pd.Timestamp(2026, 1, 15)
    assert row["stage"] == "intent"
    assert row["status"] == "open"
    assert row["id"] == "OPP-1" and row["customer"] == "华东电力集团"


def test_the_clean_frame_has_the_documented_types_and_every_canonical_column(big_project):
    clean = run(big_project, a_row()).clean
    assert list(clean.columns[: len(OPPORTUNITY_COLUMNS)]) == list(OPPORTUNITY_COLUMNS)
    assert clean["amount"].dtype == "float64"
    for col in ("close_date", "created_date", "stage_entered_date"):
        assert clean[col].dtype == "datetime64[ns]"
    assert clean["new_customer"].dtype == "boolean"
    assert pd.api.types.is_string_dtype(clean["id"].dtype)
    # Optional columns the sheet does not have are there, and blank.
    assert clean["priority"].isna().all() and clean["stage_entered_date"].isna().all()


def test_clean_and_rejected_rows_keep_the_sheet_row_numbers(big_project):
    result = run(big_project, a_row(id="A"), a_row(id="B", amount="TBD"), a_row(id="C"))
    assert list(result.clean.index) == [2, 4]
    assert list(result.rejected.index) == [3]
    assert result.rejected.loc[3, "amount"] == "TBD"  # the raw row, unchanged


@pytest.mark.parametrize("typed", ["确认客户意向", "intent", "Confirmed intent", "CONFIRMED  INTENT", "意向客户"])
def test_a_stage_is_recognised_by_key_label_or_synonym(big_project, typed):
    assert run(big_project, a_row(stage=typed)).clean.loc[FIRST_ROW, "stage"] == "intent"


@pytest.mark.parametrize(("typed", "expected"), [("跟进中", "open"), ("已成交", "won"), ("Won", "won"),
                                                  ("输单", "lost"), ("LOST", "lost")])
def test_status_words_become_status_keys(big_project, typed, expected):
    assert run(big_project, a_row(status=typed)).clean.loc[FIRST_ROW, "status"] == expected


def test_a_won_or_lost_row_may_sit_at_any_stage(big_project):
    # A lost deal keeps the stage it was lost at: calibration needs that.
    result = run(big_project, a_row(id="A", status="丢单", stage="发掘潜在商机"),
                 a_row(id="B", status="赢单", stage="引导客户立项"))
    assert result.problems == []
    assert list(result.clean["stage"]) == ["potential", "approved"]


def test_numbers_and_dates_already_typed_by_the_reader_are_kept(big_project):
    raw = sheet(a_row(id=1001.0, amount=250_000, close_date=dt.datetime(2026, 6, 30, 18, 0),
                      created_date=46086))
    clean = normalize_opportunities(raw, big_project).clean
    assert clean.loc[FIRST_ROW, "id"] == "1001"
    assert clean.loc[FIRST_ROW, "amount"] == 250_000.0
    assert clean.loc[FIRST_ROW, "close_date"] == pd.Timestamp(2026, 6, 30)
    assert clean.loc[FIRST_ROW, "created_date"] == pd.Timestamp(2026, 3, 5)


def test_a_yes_no_value_in_the_amount_column_is_refused_even_beside_the_number_one(big_project):
    # Python treats True == 1; the row holding True must still be refused, the row holding 1 kept.
    result = run(big_project, a_row(id="A", amount=1), a_row(id="B", amount=True))
    assert list(result.clean.index) == [2] and list(result.rejected.index) == [3]
    assert "yes/no" in only_error(result).message


def test_typed_columns_from_a_fast_reader_are_normalised_to_midnight(big_project):
    raw = sheet(a_row(id="A"), a_row(id="B"))
    raw["amount"] = np.array([1_000_000, 250_000], dtype="int64")
    raw["close_date"] = pd.to_datetime(["2026-06-30 10:00", "2026-07-01 00:00"])
    clean = normalize_opportunities(raw, big_project).clean
    assert list(clean["amount"]) == [1_000_000.0, 250_000.0]
    assert list(clean["close_date"]) == [pd.Timestamp(2026, 6, 30), pd.Timestamp(2026, 7, 1)]
    assert clean["close_date"].dtype == "datetime64[ns]"


def test_checklist_answers_become_yes_no_or_unknown(big_project):
    q1, q2, q3 = (checklist_column(k) for k in ("intent_interest", "intent_accepts_buying", "intent_initial_needs"))
    result = run(big_project, a_row(**{q1: "是", q2: "否", q3: None}))
    clean = result.clean
    assert clean[q1].tolist() == [True] and clean[q2].tolist() == [False] and clean[q3].isna().all()
    # Criteria the sheet has no column for are there too, unknown.
    assert result.clean[checklist_column("closed_shipped")].isna().all()


def test_category_and_priority_are_read_from_their_labels(big_project):
    row = run(big_project, a_row(category="本季度保证实现", priority="高", customer_size="大型",
                                 new_customer="是")).clean.loc[FIRST_ROW]
    assert (row["category"], row["priority"], row["customer_size"]) == ("commit", "high", "large")
    assert bool(row["new_customer"]) is True


def test_columns_the_user_added_are_carried_through_untouched(big_project):
    clean = run(big_project, a_row(**{"my note": 42})).clean
    assert clean.loc[FIRST_ROW, "my note"] == 42


# --- what is rejected, and what the user is told -----------------------------------------------------------


def test_a_problem_names_sheet_row_column_value_and_what_was_expected(big_project):
    result = run(big_project, a_row(), a_row(id="OPP-2", amount="约100万"))
    problem = only_error(result)
    assert (problem.sheet, problem.row, problem.column, problem.value) == (SHEET, 3, ZH["amount"], "约100万")
    text = str(problem)
    for part in (SHEET, "row 3", ZH["amount"], "约100万", "expected", "120万"):
        assert part in text
    assert list(result.rejected.index) == [3]


@pytest.mark.parametrize(
    ("column", "typed", "expected_words"),
    [
        ("amount", "TBD", "not an amount"),
        ("close_date", "下个月", "not a date"),
        ("created_date", "2026-02-30", "no day 2026-02-30"),
        ("stage", "快成了", "not a stage of methodology 'big_project'"),
        ("status", "暂停", "not a status"),
        ("stage_entered_date", "soon", "not a date"),
    ],
)
def test_an_unreadable_value_rejects_the_row_and_says_what_was_expected(big_project, column, typed, expected_words):
    result = run(big_project, a_row(**{column: typed}))
    problem = only_error(result)
    assert problem.column == ZH[column] and problem.value == typed and problem.row == FIRST_ROW
    assert expected_words in problem.message and "expected" in problem.message
    assert result.clean.empty and list(result.rejected.index) == [FIRST_ROW]


def test_an_unknown_stage_message_lists_the_methodologys_stages(big_project):
    message = only_error(run(big_project, a_row(stage="快成了"))).message
    for stage in big_project.stages:
        assert stage.key in message and stage.zh in message


@pytest.mark.parametrize("column", ["id", "amount", "stage", "status"])
@pytest.mark.parametrize("blank", [None, "", "\u3000"])
def test_a_missing_required_value_rejects_the_row(big_project, column, blank):
    problem = only_error(run(big_project, a_row(**{column: blank})))
    assert problem.column == ZH[column] and problem.row == FIRST_ROW
    assert "required" in problem.message


@pytest.mark.parametrize(("column", "code"), [("customer", "no_customer"), ("rep", "rep_missing"),
                                              ("close_date", "no_close_date"), ("created_date", "no_created_date")])
@pytest.mark.parametrize("blank", [None, "", "\u3000"])
def test_a_blank_that_leaves_amount_stage_and_status_readable_keeps_the_deal_with_a_warning(big_project, column,
                                                                                          code, blank):
    result = run(big_project, a_row(**{column: blank}))
    (warning,) = result.problems
    assert (warning.severity, warning.code, warning.column, warning.value) == ("warning", code, ZH[column], None)
    assert list(result.clean.index) == [FIRST_ROW] and pd.isna(result.clean.at[FIRST_ROW, column])


def test_a_won_deal_without_its_close_date_is_left_out_for_it_cannot_count_as_achieved(big_project):
    problem = only_error(run(big_project, a_row(status="赢单", close_date=None)))
    assert (problem.code, problem.column) == ("won_no_close_date", ZH["close_date"])


def test_a_lost_deal_needs_no_close_date(big_project):
    assert run(big_project, a_row(status="丢单", close_date=None)).problems == []


@pytest.mark.parametrize("typed", ["1e309", "9" * 400, 10 ** 400, float("inf"), "2e15"])
def test_an_infinite_or_absurd_amount_is_reported_on_its_cell_and_never_counted(big_project, typed):
    problem = only_error(run(big_project, a_row(amount=typed)))
    assert problem.column == ZH["amount"] and problem.code in ("amount_not_finite", "amount_too_large")


def test_a_typed_column_with_an_infinite_or_absurd_amount_is_reported_too(big_project):
    raw = sheet(a_row(id="A"), a_row(id="B"), a_row(id="C"))
    raw["amount"] = pd.Series([1_200_000.0, float("inf"), 3e15], index=raw.index)
    result = normalize_opportunities(raw, big_project)
    assert list(result.clean.index) == [2] and [p.row for p in result.errors] == [3, 4]


def test_a_negative_amount_rejects_the_row(big_project):
    problem = only_error(run(big_project, a_row(amount="-5万")))
    assert problem.value == "-5万" and "negative" in problem.message


def test_the_first_row_of_a_repeated_id_is_kept_and_the_later_ones_are_reported_on_the_id(big_project):
    # As Excel's Remove Duplicates: the sheet's order decides, the first stays.
    result = run(big_project, a_row(id="OPP-7"), a_row(id="OPP-8"), a_row(id="OPP-7"), a_row(id=" OPP-7 "))
    assert list(result.clean.index) == [2, 3]
    assert list(result.rejected.index) == [4, 5]
    messages = {p.row: p.message for p in result.errors}
    assert "2, 5" in messages[4] and "2, 4" in messages[5] and "first row is kept" in messages[4]
    assert all(p.column == ZH["id"] and p.code == "duplicate_id_later" for p in result.errors)


def test_refusing_duplicates_leaves_out_every_row_sharing_an_id(big_project):
    result = run(big_project, a_row(id="OPP-7"), a_row(id="OPP-8"), a_row(id="OPP-7"), duplicate_ids="refuse")
    assert list(result.clean.index) == [3] and list(result.rejected.index) == [2, 4]
    assert {p.code for p in result.errors} == {"duplicate_id"}


def test_a_sheet_pasted_twice_names_ten_other_rows_and_counts_the_rest(big_project):
    result = run(big_project, *[a_row(id="OPP-7") for _ in range(13)])
    last = result.errors[-1]
    assert last.row == 14
    assert "2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and 2 more" in last.message
    assert list(result.clean.index) == [2] and len(result.rejected) == 12


def test_an_id_excel_stored_as_a_number_collides_with_the_same_id_typed_as_text(big_project):
    result = run(big_project, a_row(id=1001.0), a_row(id="1001"))
    assert list(result.clean.index) == [2] and len(result.errors) == 1


def only_warning(result: Normalized):
    assert result.errors == [] and len(result.warnings) == 1, [str(p) for p in result.problems]
    assert not result.clean.empty
    return result.warnings[0]


def test_a_rep_missing_from_the_reps_table_keeps_the_deal_with_a_warning_when_reps_are_given(big_project):
    result = run(big_project, a_row(id="A", rep="张伟"), a_row(id="B", rep="李娜"), reps=["张伟", "王芳"])
    problem = only_warning(result)
    assert (problem.row, problem.column, problem.value) == (3, ZH["rep"], "李娜")
    assert "王芳" in problem.message and list(result.clean["rep"]) == ["张伟", "李娜"]
    # Without a reps list no rep is judged.
    assert run(big_project, a_row(rep="李娜")).problems == []


def test_a_close_date_before_the_created_date_is_a_warning_and_the_deal_counts(big_project):
    problem = only_warning(run(big_project, a_row(close_date="2025-12-31", created_date="2026-01-15")))
    assert problem.column == ZH["close_date"] and problem.value == "2025-12-31"
    assert "2025-12-31" in problem.message and "2026-01-15" in problem.message


def test_a_stage_entered_before_the_opportunity_was_created_is_a_warning(big_project):
    problem = only_warning(run(big_project, a_row(stage_entered_date="2026/1/1", created_date="2026/1/15")))
    assert problem.column == ZH["stage_entered_date"]


def test_a_close_date_on_the_created_date_is_fine(big_project):
    assert run(big_project, a_row(close_date="2026-01-15", created_date="2026-01-15")).problems == []


def test_a_row_with_several_faults_is_reported_once_per_fault_in_column_order(big_project):
    result = run(big_project, a_row(amount="TBD", stage="?", status="?"))
    assert [p.column for p in result.errors] == [ZH["amount"], ZH["stage"], ZH["status"]]
    assert len(result.rejected) == 1


def test_an_unreadable_optional_answer_is_a_warning_and_the_row_is_kept_with_it_blank(big_project):
    q = checklist_column("intent_interest")
    result = run(big_project, a_row(priority="urgent", **{q: "maybe"}))
    assert result.errors == [] and len(result.warnings) == 2
    assert {p.value for p in result.warnings} == {"urgent", "maybe"}
    assert all("left blank" in p.message for p in result.warnings)
    assert result.clean["priority"].isna().all() and result.clean[q].isna().all()


def test_a_checklist_column_the_methodology_does_not_know_is_kept_with_a_warning(big_project):
    result = run(big_project, a_row(**{"chk:made_up": "是"}))
    (warning,) = result.warnings
    assert warning.row is None and warning.column == "chk:made_up" and "big_project" in warning.message
    assert result.clean["chk:made_up"].tolist() == [True]


def test_a_sheet_lacking_a_required_column_is_refused_naming_the_sheet_and_the_column(big_project):
    raw = sheet(a_row()).drop(columns=["amount", "status"])
    with pytest.raises(InputError) as err:
        normalize_opportunities(raw, big_project, sheet=SHEET, column_labels=ZH)
    message = str(err.value)
    assert SHEET in message and ZH["amount"] in message and ZH["status"] in message


def test_without_column_labels_problems_name_the_canonical_column(big_project):
    result = normalize_opportunities(sheet(a_row(amount="TBD")), big_project)
    assert result.errors[0].column == "amount"


def test_row_numbers_must_be_unique(big_project):
    raw = pd.DataFrame([a_row(id="A"), a_row(id="B")], index=[2, 2])
    with pytest.raises(ValueError, match="row numbers"):
        normalize_opportunities(raw, big_project)


# --- blank rows ----------------------------------------------------------------------------------------------


def test_a_blank_row_is_skipped_without_a_problem_and_counted_apart(big_project):
    blank = {col: value for col, value in zip(a_row(), [None, "", "\u3000", " ", None, None, np.nan, "", None])}
    result = run(big_project, a_row(id="A"), blank, a_row(id="B"))
    assert result.problems == []
    assert result.blank_rows == (3,)
    assert list(result.clean.index) == [2, 4]


# --- reps ----------------------------------------------------------------------------------------------------

REP_ZH = {col: label(f"rep_field.{col}") for col in REP_COLUMNS}


def reps_sheet(*rows: dict) -> pd.DataFrame:
    base = {"rep": "张伟", "email": "zhang.wei@example.com", "hire_date": "2025年3月1日",
            "region": "华东", "annual_quota": "500万", "manager": "刘强"}
    return pd.DataFrame([{**base, **r} for r in rows], index=range(FIRST_ROW, FIRST_ROW + len(rows)))


def test_a_rep_row_comes_out_with_quota_in_yuan_and_hire_date(big_project):
    result = normalize_reps(reps_sheet({}), column_labels=REP_ZH)
    assert result.problems == []
    row = result.clean.loc[FIRST_ROW]
    assert row["annual_quota"] == 5_000_000.0 and row["hire_date"] == pd.Timestamp(2025, 3, 1)
    rep_schema().validate(result.clean)


def test_reps_listed_twice_are_both_rejected(big_project):
    result = normalize_reps(reps_sheet({}, {"rep": "王芳"}, {}), column_labels=REP_ZH)
    assert list(result.rejected.index) == [2, 4]
    assert all(p.column == REP_ZH["rep"] for p in result.errors)


def test_a_negative_or_unreadable_quota_is_an_error():
    result = normalize_reps(reps_sheet({"annual_quota": "-1"}, {"rep": "B", "annual_quota": "很多"}),
                            column_labels=REP_ZH)
    assert [(p.row, p.column) for p in result.errors] == [(2, REP_ZH["annual_quota"]), (3, REP_ZH["annual_quota"])]
    assert result.clean.empty


def test_a_rep_without_hire_date_or_quota_is_kept_with_a_warning_saying_what_it_costs():
    result = normalize_reps(reps_sheet({"rep": "C", "hire_date": None}, {"rep": "D", "annual_quota": None}),
                            column_labels=REP_ZH)
    assert result.errors == [] and list(result.clean["rep"]) == ["C", "D"]
    assert [(p.row, p.column) for p in result.warnings] == [(2, REP_ZH["hire_date"]), (3, REP_ZH["annual_quota"])]
    assert "roadmap" in result.warnings[0].message and "training" in result.warnings[1].message


def test_an_email_without_at_sign_is_a_warning_and_the_rep_is_kept():
    result = normalize_reps(reps_sheet({"email": "zhangwei"}))
    assert result.errors == [] and len(result.warnings) == 1 and len(result.clean) == 1


def test_a_reps_sheet_lacking_the_quota_column_is_refused():
    with pytest.raises(InputError, match="annual_quota"):
        normalize_reps(reps_sheet({}).drop(columns=["annual_quota"]))


# --- properties: nothing lost, clean always valid -----------------------------------------------------------

# Cell values a user might leave in each column: good ones, bad ones and blanks.
CELLS = {
    "id": st.sampled_from(["A", "B", "C", "D", "E", 1001.0, "1001", None, ""]),
    "customer": st.sampled_from(["华东电力", "Acme", None, "\u3000"]),
    "rep": st.sampled_from(["张伟", "王芳", "李娜", None]),
    "amount": st.one_of(st.sampled_from(["120万", "1.2亿", "¥1,200,000", "-5", "TBD", "约100万", None, ""]),
                        st.floats(min_value=-1e6, max_value=1e9), st.just(float("nan"))),
    "close_date": st.sampled_from(["2026年3月5日", "2026/3/5", 46086, "2026-02-30", "3/5/2026", None,
                                   dt.datetime(2025, 1, 1)]),
    "stage": st.sampled_from(["确认客户意向", "negotiation", "成交", "快成了", None]),
    "status": st.sampled_from(["进行中", "赢单", "lost", "暂停", None]),
    "created_date": st.sampled_from(["2026-01-01", "2025/6/1", 46000, "soon", None]),
    "stage_entered_date": st.sampled_from([None, "2026-02-01", "2024-01-01", "x"]),
    "priority": st.sampled_from([None, "高", "urgent"]),
    checklist_column("intent_interest"): st.sampled_from([None, "是", "否", "maybe", 1]),
}


@st.composite
def raw_sheets(draw):
    n = draw(st.integers(min_value=0, max_value=12))
    rows = []
    for _ in range(n):
        if draw(st.integers(0, 5)) == 0:
            rows.append({col: None for col in CELLS})  # a blank row
        else:
            rows.append({col: draw(strategy) for col, strategy in CELLS.items()})
    first = draw(st.integers(min_value=2, max_value=1000))
    return pd.DataFrame(rows, columns=list(CELLS), index=range(first, first + n), dtype=object)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=raw_sheets())
def test_normalisation_never_loses_a_row(big_project, raw):
    result = normalize_opportunities(raw, big_project, reps=["张伟", "王芳"])
    clean, rejected, blank = set(result.clean.index), set(result.rejected.index), set(result.blank_rows)
    assert len(result.clean) + len(result.rejected) + len(result.blank_rows) == len(raw)
    assert clean.isdisjoint(rejected) and clean.isdisjoint(blank) and rejected.isdisjoint(blank)
    assert clean | rejected | blank == set(raw.index)
    # Rejected rows are the user's rows unchanged, and each has at least one error pointing at it.
    pd.testing.assert_frame_equal(result.rejected, raw.loc[result.rejected.index])
    assert {p.row for p in result.errors} == rejected


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=raw_sheets())
def test_the_clean_frame_always_passes_the_schema(big_project, raw):
    clean = normalize_opportunities(raw, big_project, reps=["张伟", "王芳"]).clean
    opportunity_schema(big_project).validate(clean)
    assert clean["id"].is_unique and (clean["amount"] >= 0).all()
    assert (clean["status"].ne("won") | clean["close_date"].notna()).all()  # a win has its signing date


def typed_sheets(methodology):
    """Sheets as the typed reader hands them over, drawn by pandera from the clean schema's columns (the registry's):
    each column in its dtype, with any text, date or amount the dtype holds, the stage and keywords among their keys.
    The schema's row check (a won deal has its close date) is left out: a sheet need not pass it."""
    schema = opportunity_schema(methodology)
    columns = pa.DataFrameSchema({k: c for k, c in schema.columns.items() if not c.regex})

    def numbered(frame: pd.DataFrame) -> pd.DataFrame:
        frame.index = range(FIRST_ROW, FIRST_ROW + len(frame))
        return frame

    return st.integers(min_value=0, max_value=6).flatmap(lambda n: columns.strategy(size=n)).map(numbered)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_typed_sheet_loses_no_row_and_its_clean_rows_normalise_to_themselves(big_project, data):
    raw = data.draw(typed_sheets(big_project))
    result = normalize_opportunities(raw, big_project)
    assert sorted([*result.clean.index, *result.rejected.index, *result.blank_rows]) == list(raw.index)
    pd.testing.assert_frame_equal(result.rejected, raw.loc[result.rejected.index])
    again = normalize_opportunities(result.clean, big_project)
    assert again.errors == []
    pd.testing.assert_frame_equal(again.clean, result.clean)
