"""Reading 预测调整: what a manager types is read or said to be wrong, and set beside the computed forecast."""

from __future__ import annotations

import pandas as pd
import pytest

from funnel_xl.domain.adjustments import beside_computed, read_adjustments

REPS = {"华东销售": {"张伟", "王芳"}, "华北销售": {"李强"}}


def typed(*rows) -> pd.DataFrame:
    keys = ("team", "rep", "quarter", "adjusted", "reason", "by", "entered")
    return pd.DataFrame([dict(zip(keys, r)) for r in rows], index=range(6, 6 + len(rows)))


def test_a_quarter_and_an_amount_read_as_a_manager_types_them():
    frame, problems = read_adjustments(typed(("华东销售", "张伟", "2026 q4", "120万", "大单", "王总", "2026-11-19")),
                                       REPS, sheet="预测调整")
    assert problems == []
    row = frame.iloc[0]
    assert (row.quarter, row.adjusted, bool(row.counted)) == ("2026Q4", 1_200_000, True)


@pytest.mark.parametrize("row, column", [
    (("华南销售", None, "2026Q4", 1, "x", None, None), "team"),
    (("华东销售", "李强", "2026Q4", 1, "x", None, None), "rep"),       # a rep of another team
    (("华东销售", None, "下季度", 1, "x", None, None), "quarter"),
    (("华东销售", None, "2026Q4", "约100万", "x", None, None), "adjusted"),
])
def test_a_row_that_does_not_read_is_not_counted_kept_as_typed_and_named(row, column):
    frame, problems = read_adjustments(typed(row), REPS, sheet="预测调整")
    assert [(p.row, p.column, p.severity) for p in problems] == [(6, column, "error")]
    assert not frame["counted"].any() and frame.iloc[0][column] == row[("team", "rep", "quarter", "adjusted").index(column)]


def test_an_adjustment_without_a_reason_counts_with_a_warning():
    frame, problems = read_adjustments(typed(("华东销售", None, "2026Q4", 5, None, None, None)), REPS, sheet="预测调整")
    assert frame["counted"].all() and [p.severity for p in problems] == ["warning"]


def test_the_computed_forecast_beside_an_adjustment_is_the_open_weighted_forecast_of_its_rep_or_team_and_quarter():
    opps = pd.DataFrame({
        "team": ["华东销售"] * 4, "rep": ["张伟", "张伟", "王芳", "张伟"],
        "close_date": pd.to_datetime(["2026-11-30", "2026-12-15", "2026-10-01", "2027-01-05"]),
        "status": ["open", "open", "open", "open"], "weighted": [100.0, 50.0, 7.0, 1000.0]})
    frame, _ = read_adjustments(typed(("华东销售", "张伟", "2026Q4", 200, "r", None, None),
                                      ("华东销售", None, "2026Q4", 300, "r", None, None),
                                      ("华东销售", "王芳", "2027Q2", 10, "r", None, None)), REPS, sheet="预测调整")
    out = beside_computed(frame, opps)
    assert out["computed"].tolist() == [150.0, 157.0, 0.0]
    assert out["difference"].tolist() == [50.0, 143.0, 10.0]
