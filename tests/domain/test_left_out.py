"""The rows a forecast cannot count are listed with what they would have carried, so the total left out shows."""

from __future__ import annotations

import pandas as pd
import pytest

from funnel_xl.domain.left_out import left_out
from funnel_xl.domain.normalize import normalize_opportunities


def row(**overrides) -> dict:
    base = {"id": "OPP-1", "customer": "华东电力集团", "rep": "张伟", "amount": "120万", "close_date": "2026-12-31",
            "stage": "引导客户立项", "status": "进行中", "created_date": "2026-01-15"}
    return {**base, **overrides}


def test_each_row_left_out_shows_the_amount_and_weighted_amount_it_would_have_carried(big_project):
    raw = pd.DataFrame([
        row(id="A"),                                     # counted
        row(id="A", amount="200万"),                      # a later copy of A: 2,000,000 at 35 % would be 700,000
        row(id="B", amount="约100万"),                     # an amount that does not read: nothing to show
        row(id="C", stage="快成了"),                        # a stage that does not read: the amount, no weight
        row(id="D", status="赢单", close_date=None),        # won without its date: closed deals weigh nothing
    ], index=range(2, 7))
    normalized = normalize_opportunities(raw, big_project)
    listed = left_out(normalized.rejected_values, normalized.problems, big_project).set_index("id")
    assert listed.index.tolist() == ["A", "B", "C", "D"] and listed["row"].tolist() == [3, 4, 5, 6]
    assert listed.at["A", "amount"] == 2_000_000 and listed.at["A", "weighted"] == pytest.approx(700_000)
    assert pd.isna(listed.at["B", "amount"]) and pd.isna(listed.at["B", "weighted"])
    assert listed.at["C", "amount"] == 1_200_000 and pd.isna(listed.at["C", "weighted"])
    assert listed.at["D", "weighted"] == 0
    assert [p.code for p in listed["reason"]] == ["duplicate_id_later", "amount_estimate", "stage_unknown",
                                                  "won_no_close_date"]
    assert listed["weighted"].sum() == pytest.approx(700_000)  # the total left out of the forecast
