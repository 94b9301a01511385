"""The derived stage: what the checklist evidence supports, the gap to the rep's claim, and what to do next."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnel_xl.domain.schema import checklist_column
from funnel_xl.domain.stages import derive_stage_from_answers, derive_stages
from funnel_xl.errors import InputError


def evidence(methodology, met_keys, stage=None, **extra) -> dict:
    """One opportunity row: every criterion answered, True for ``met_keys`` and False otherwise."""
    row = {checklist_column(c.key): c.key in met_keys for c in methodology.criteria()}
    if stage is not None:
        row["stage"] = stage
    row.update(extra)
    return row


def required_up_to(methodology, stage_key) -> set[str]:
    """Keys of every required criterion of the stages up to and including ``stage_key``."""
    keys: set[str] = set()
    for s in methodology.stages[: methodology.position(stage_key) + 1]:
        keys |= {c.key for c in s.required_criteria}
    return keys


def test_stage_follows_the_highest_fully_met_checklist(classic):
    met = {"top_need", "top_screened", "upper_candidate_list", "upper_real_need", "middle_shortlist"}
    out = derive_stages(pd.DataFrame([evidence(classic, met, stage="middle")]), classic)
    assert out.loc[0, "derived_stage"] == "middle"
    assert out.loc[0, "derived_position"] == 2
    assert out.loc[0, "stage_gap"] == 0


def test_an_unmet_optional_criterion_does_not_hold_a_project_back(big_project):
    # 参与竞争的软件厂商 and 项目组人员情况 are optional in the shipped file.
    met = required_up_to(big_project, "potential")
    assert "potential_competitors" not in met and "potential_project_team" not in met
    out = derive_stages(pd.DataFrame([evidence(big_project, met)]), big_project)
    assert out.loc[0, "derived_stage"] == "potential"


def test_a_gap_in_an_earlier_stage_caps_the_derived_stage(big_project):
    # Everything up to 赢得客户认可 is met except that the customer is not yet interested (确认客户意向).
    met = required_up_to(big_project, "recognition") - {"intent_interest"}
    out = derive_stages(pd.DataFrame([evidence(big_project, met)]), big_project)
    assert out.loc[0, "derived_stage"] == "potential"
    assert out.loc[0, "missing_criteria"] == "intent_interest"


def test_a_rep_claiming_more_than_the_evidence_shows_gets_a_positive_gap(big_project):
    # The seed's complaint: the rep says negotiation (75 %), the evidence supports potential (10 %).
    met = required_up_to(big_project, "potential")
    out = derive_stages(pd.DataFrame([evidence(big_project, met, stage="negotiation")]), big_project)
    assert out.loc[0, "claimed_position"] == 5
    assert out.loc[0, "derived_position"] == 1
    assert out.loc[0, "stage_gap"] == 4


def test_a_rep_claiming_less_than_the_evidence_shows_gets_a_negative_gap(classic):
    met = required_up_to(classic, "lower")
    out = derive_stages(pd.DataFrame([evidence(classic, met, stage="upper")]), classic)
    assert out.loc[0, "stage_gap"] == 1 - 3


def test_missing_criteria_name_the_unmet_required_criteria_of_the_next_stage_only(classic):
    # upper is reached; of middle, the shortlist is unmet (required), trial and intelligence are optional.
    met = required_up_to(classic, "upper")
    out = derive_stages(pd.DataFrame([evidence(classic, met)]), classic)
    assert out.loc[0, "missing_criteria"] == "middle_shortlist"


def test_missing_criteria_list_several_keys_in_checklist_order(classic):
    out = derive_stages(pd.DataFrame([evidence(classic, {"top_need", "top_screened"})]), classic)
    assert out.loc[0, "missing_criteria"] == "upper_candidate_list, upper_real_need"


def test_an_unanswered_checklist_is_not_assessed_shows_no_gap_and_lists_the_first_stages_checklist(classic):
    out = derive_stages(pd.DataFrame({"stage": ["upper"]}), classic)
    assert not out.loc[0, "answered"]
    assert out.loc[0, "derived_stage"] is None
    assert out.loc[0, "derived_position"] == -1
    assert pd.isna(out.loc[0, "stage_gap"])  # 未评估: no evidence, so no gap either way
    assert out.loc[0, "missing_criteria"] == "top_need, top_screened"


def test_answers_that_meet_not_even_the_first_stage_place_the_deal_at_the_first_stage(classic):
    # Answered (all 否): the deal is assessed, at the funnel's entry, with the first stage's criteria to meet.
    out = derive_stages(pd.DataFrame([evidence(classic, set(), stage="middle")]), classic)
    assert out.loc[0, "answered"]
    assert (out.loc[0, "derived_stage"], out.loc[0, "derived_position"], out.loc[0, "stage_gap"]) == ("top", 0, 2)
    assert out.loc[0, "missing_criteria"] == "top_need, top_screened"


def test_the_last_stage_leaves_nothing_to_do(classic):
    met = required_up_to(classic, "bottom")
    out = derive_stages(pd.DataFrame([evidence(classic, met)]), classic)
    assert out.loc[0, "derived_stage"] == "bottom"
    assert out.loc[0, "missing_criteria"] == ""


def test_an_unanswered_criterion_counts_as_not_met(classic):
    frame = pd.DataFrame({
        checklist_column("top_need"): pd.array([True, True, pd.NA], dtype="boolean"),
        checklist_column("top_screened"): [True, None, True],
    })
    out = derive_stages(frame, classic)
    assert list(out["answered"]) == [True, True, True]
    assert list(out["missing_criteria"])[1:] == ["top_screened", "top_need"]


def test_a_missing_checklist_column_counts_as_unanswered(classic):
    frame = pd.DataFrame({checklist_column("top_need"): [True]})  # no top_screened column at all
    out = derive_stages(frame, classic)
    assert out.loc[0, "derived_position"] == 0  # answered (top_need), but the first stage is not met
    assert out.loc[0, "missing_criteria"] == "top_screened"


def test_evidence_that_is_not_yes_or_no_is_refused_with_the_column_and_row(classic):
    frame = pd.DataFrame({checklist_column("top_need"): [True, "是"]}, index=[7, 8])
    with pytest.raises(InputError, match=r"column 'chk:top_need'.*row 8: '是'.*expected True, False or blank"):
        derive_stages(frame, classic)


def test_a_stage_that_is_not_in_the_methodology_has_no_claimed_position_and_no_gap(classic):
    out = derive_stages(pd.DataFrame([evidence(classic, set(), stage="someday")]), classic)
    assert pd.isna(out.loc[0, "claimed_position"])
    assert pd.isna(out.loc[0, "stage_gap"])


def test_a_won_deal_without_the_closing_evidence_shows_a_gap(classic):
    # No special case for won rows: marking a deal won does not tick its checklist.
    met = required_up_to(classic, "lower")
    row = evidence(classic, met, stage="bottom", status="won")
    out = derive_stages(pd.DataFrame([row]), classic)
    assert out.loc[0, "derived_stage"] == "lower"
    assert out.loc[0, "stage_gap"] == 1


def test_results_line_up_with_the_opportunities_index(classic):
    frame = pd.DataFrame(
        [evidence(classic, set(), stage="top"), evidence(classic, required_up_to(classic, "upper"), stage="top")],
        index=["OPP-9", "OPP-3"],
    )
    out = derive_stages(frame, classic)
    assert list(out.index) == ["OPP-9", "OPP-3"]
    assert out.loc["OPP-3", "derived_stage"] == "upper"
    assert out.loc["OPP-9", "derived_stage"] == "top"


def test_one_forms_answers_give_the_same_stage_as_the_table(big_project):
    answers = {key: True for key in required_up_to(big_project, "intent")} | {"approved_budget": None}
    assert derive_stage_from_answers(answers, big_project) == "intent"
    assert derive_stage_from_answers({}, big_project) is None


def test_answers_for_criteria_of_another_methodology_are_refused(classic):
    with pytest.raises(InputError, match=r"'potential_profile'"):
        derive_stage_from_answers({"potential_profile": True}, classic)


# --- properties -------------------------------------------------------------------------------------------

_answer = st.sampled_from([True, False, None])


@st.composite
def checklists(draw, methodology, rows=st.integers(1, 12)):
    """A frame of answers (True / False / unanswered) for every criterion of the methodology.

    Each row is filled up to a random stage and then given a few random holes, so that every stage, not
    only the first, is reached often; the rest is random.
    """
    n = draw(rows)
    keys = [c.key for c in methodology.criteria()]
    columns: dict[str, list] = {k: [] for k in keys}
    for _ in range(n):
        level = draw(st.integers(-1, len(methodology.stages) - 1))
        filled = {c.key for s in methodology.stages[: level + 1] for c in s.criteria}
        holes = set(draw(st.lists(st.sampled_from(keys), max_size=3)))
        for k in keys:
            if k in filled and k not in holes:
                columns[k].append(True)
            else:
                columns[k].append(draw(_answer))
    return pd.DataFrame({checklist_column(k): pd.array(v, dtype="boolean") for k, v in columns.items()})


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_the_derived_stage_is_never_above_a_stage_with_an_unmet_required_criterion(big_project, data):
    frame = data.draw(checklists(big_project))
    out = derive_stages(frame, big_project)
    for i, row in frame.iterrows():
        position = out.loc[i, "derived_position"]
        # Unanswered rows have no position (-1); answered ones are at the first stage at least.
        assert (position == -1) == row.isna().all()
        for s_pos, stage in enumerate(big_project.stages[1:], start=1):
            unmet = any(row[checklist_column(c.key)] is not True for c in stage.required_criteria)
            if unmet:
                assert position < s_pos
        # and it is the highest such stage: something is unmet up to the next stage
        if position + 1 < len(big_project.stages):
            assert any(row[checklist_column(c.key)] is not True
                       for stage in big_project.stages[: position + 2] for c in stage.required_criteria)


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_meeting_more_criteria_never_lowers_the_derived_stage(big_project, data):
    before = data.draw(checklists(big_project))
    extra = data.draw(checklists(big_project, rows=st.just(len(before))))
    after = before.copy()
    for column in before.columns:
        after[column] = before[column].fillna(False) | extra[column].fillna(False)
    low = derive_stages(before, big_project)["derived_position"]
    high = derive_stages(after, big_project)["derived_position"]
    assert (high >= low).all()


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_a_single_form_and_the_table_agree(product_sales, data):
    frame = data.draw(checklists(product_sales, rows=st.just(1)))
    answers = {c.key: (None if pd.isna(frame.loc[0, checklist_column(c.key)])
                       else bool(frame.loc[0, checklist_column(c.key)])) for c in product_sales.criteria()}
    expected = derive_stages(frame, product_sales).loc[0, "derived_stage"]
    assert derive_stage_from_answers(answers, product_sales) == expected


def test_a_stage_with_very_many_criteria_still_lists_what_is_missing():
    # 70 required criteria in one stage: more than fit in one 64-bit pattern code.
    from funnel_xl.domain.methodology import parse_methodology

    criteria = "".join(f'[[stages.criteria]]\nkey = "c{j}"\nzh = "z{j}"\nen = "e{j}"\n' for j in range(70))
    m = parse_methodology(f'key = "wide"\nzh = "z"\nen = "e"\n[[stages]]\nkey = "only"\nzh = "z"\nen = "e"\n'
                          f"win_rate = 100\n{criteria}")
    met = {f"c{j}" for j in range(70) if j not in (3, 68)}
    out = derive_stages(pd.DataFrame([evidence(m, met)]), m)
    assert out.loc[0, "derived_position"] == 0  # the only stage, not met: its own criteria are missing
    assert out.loc[0, "missing_criteria"] == "c3, c68"
