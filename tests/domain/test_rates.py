"""The forecast basis: the assessed stage sets a deal's rate where its checklist is answered, the claimed stage
elsewhere or when the workbook says so; the claim is priced beside it."""

from __future__ import annotations

import pandas as pd
import pytest
from factories import make_opps

from funnel_xl.domain.claims import claim_deals, claim_difference, claims_by
from funnel_xl.domain.rates import with_rates
from funnel_xl.domain.schema import checklist_column
from funnel_xl.domain.settings import CLAIMED
from funnel_xl.errors import InputError


def checklist_through(methodology, stage_key) -> dict:
    """Every criterion answered: 是 for the stages up to ``stage_key``, 否 beyond."""
    out, reached = {}, True
    for stage in methodology.stages:
        for c in stage.criteria:
            out[checklist_column(c.key)] = reached
        if stage.key == stage_key:
            reached = False
    return out


def with_checklists(rows: list[dict], checklists: list[dict | None]) -> pd.DataFrame:
    """make_opps' frame with each row's checklist answers (None: nothing answered)."""
    frame = make_opps(rows)
    for i, answers in enumerate(checklists):
        for column, answer in (answers or {}).items():
            if column not in frame:
                frame[column] = pd.array([pd.NA] * len(frame), dtype="boolean")
            frame.loc[frame.index[i], column] = answer
    return frame


@pytest.fixture
def three_deals(classic):
    """Classic rates: upper 25 %, middle 50 %, lower 75 %."""
    return with_checklists([
        # claimed above its evidence: the rep says lower (75 %), the checklist supports upper (25 %)
        {"id": "ABOVE", "rep": "Li", "stage": "lower", "amount": 1_000_000},
        # claimed below its evidence: the rep says upper (25 %), the checklist supports lower (75 %)
        {"id": "BELOW", "rep": "Wang", "stage": "upper", "amount": 400_000},
        # nothing answered (an imported deal): not assessed, so its claim, middle (50 %), stands
        {"id": "UNASSESSED", "rep": "Li", "stage": "middle", "amount": 200_000},
    ], [checklist_through(classic, "upper"), checklist_through(classic, "lower"), None])


def test_a_deal_claimed_above_its_evidence_is_weighted_at_the_evidence(classic, three_deals):
    rated = with_rates(three_deals, classic).set_index("id")
    assert (rated.at["ABOVE", "stage"], rated.at["ABOVE", "win_rate"]) == ("upper", 0.25)
    assert rated.at["ABOVE", "weighted"] == pytest.approx(250_000)
    assert rated.at["ABOVE", "claimed_weighted"] == pytest.approx(750_000)
    assert rated.at["ABOVE", "claimed_stage"] == "lower"


def test_a_deal_claimed_below_its_evidence_is_weighted_at_the_evidence_too(classic, three_deals):
    rated = with_rates(three_deals, classic).set_index("id")
    assert rated.at["BELOW", "weighted"] == pytest.approx(300_000)  # 400,000 × 75 %
    assert rated.at["BELOW", "claimed_weighted"] == pytest.approx(100_000)


def test_an_unanswered_checklist_keeps_the_claimed_stage_and_is_marked_not_assessed(classic, three_deals):
    rated = with_rates(three_deals, classic).set_index("id")
    assert not rated.at["UNASSESSED", "answered"]
    assert (rated.at["UNASSESSED", "stage"], rated.at["UNASSESSED", "weighted"]) == ("middle", 100_000)
    assert pd.isna(rated.at["UNASSESSED", "stage_gap"])  # never shown as a gap
    assert rated.at["UNASSESSED", "claimed_weighted"] == rated.at["UNASSESSED", "evidence_weighted"]


def test_the_claimed_basis_weighs_every_deal_at_the_stage_the_rep_claims(classic, three_deals):
    rated = with_rates(three_deals, classic, CLAIMED).set_index("id")
    assert rated["stage"].tolist() == ["lower", "upper", "middle"]
    assert rated["weighted"].tolist() == pytest.approx([750_000, 100_000, 100_000])
    # ... and the evidence is still there to price the claim
    assert rated["evidence_weighted"].tolist() == pytest.approx([250_000, 300_000, 100_000])


def test_the_claim_difference_is_claimed_minus_evidence_in_total_per_rep_and_per_deal(classic, three_deals):
    rated = with_rates(three_deals, classic)
    # By hand: (750,000 + 100,000 + 100,000) − (250,000 + 300,000 + 100,000) = 300,000.
    assert claim_difference(rated) == pytest.approx(300_000)
    per_rep = claims_by(rated, rated["rep"])
    assert per_rep["difference"].to_dict() == pytest.approx({"Li": 500_000, "Wang": -200_000})
    assert per_rep["difference"].sum() == pytest.approx(claim_difference(rated))
    deals = claim_deals(rated)
    assert deals["id"].tolist() == ["ABOVE", "BELOW"]  # largest difference first; the unassessed deal carries none
    assert deals.loc[0, ["claimed_stage", "derived_stage"]].tolist() == ["lower", "upper"]
    assert deals.loc[0, "missing_criteria"] == "middle_shortlist"  # what the rep must show to reach middle


def test_a_closed_deal_carries_no_claim(classic):
    won = with_checklists([{"stage": "lower", "status": "won", "close_date": "2026-10-01"}],
                          [checklist_through(classic, "upper")])
    rated = with_rates(won, classic)
    assert claim_difference(rated) == 0 and claim_deals(rated).empty


def test_an_unknown_basis_is_refused(classic, three_deals):
    with pytest.raises(InputError, match="basis 'gut'"):
        with_rates(three_deals, classic, "gut")


def test_an_assessed_stage_worked_out_elsewhere_stands_in_for_the_checklist(classic):
    # A stage table alone (a worksheet function's argument) has no criteria: the sheet's 评估阶段 column says it.
    deals = make_opps([{"stage": "lower", "amount": 100_000}, {"stage": "lower", "amount": 100_000}])
    rated = with_rates(deals, classic, assessed=pd.Series(["upper", None], index=deals.index))
    assert rated["weighted"].tolist() == pytest.approx([25_000, 75_000])
    assert rated["stage_gap"].iloc[0] == 2 and pd.isna(rated["stage_gap"].iloc[1])
