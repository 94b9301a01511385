"""A report date in the past means the past: deals won and lost after it are treated alike."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from factories import make_methodology, make_opps
from rep_and_snapshot_factories import make_snapshot

from funnel_xl.domain.calibration import observed_win_rates
from funnel_xl.domain.report_date import as_of_view
from funnel_xl.domain.schema import checklist_column

AS_OF = dt.date(2026, 9, 30)
THREE = make_methodology([0.1, 0.5, 1.0])


@pytest.fixture
def closed_later():
    """A deal won and a deal lost after the report date, and one of each before it."""
    frame = make_opps([
        {"id": "WON_LATER", "stage": "s3", "status": "won", "amount": 900_000, "close_date": "2026-10-15",
         "category": "closed"},
        {"id": "LOST_LATER", "stage": "s2", "status": "lost", "amount": 500_000, "close_date": "2026-11-02"},
        {"id": "WON_BEFORE", "stage": "s3", "status": "won", "amount": 100_000, "close_date": "2026-09-01"},
        {"id": "LOST_BEFORE", "stage": "s1", "status": "lost", "amount": 200_000, "close_date": "2026-08-01"},
    ])
    frame[checklist_column("c1")] = pd.array([True, True, True, False], dtype="boolean")
    return frame


def test_without_history_deals_closed_after_the_report_date_are_left_out_of_won_and_lost_alike(closed_later):
    view, listed = as_of_view(closed_later, AS_OF)
    assert view["id"].tolist() == ["WON_BEFORE", "LOST_BEFORE"]
    assert listed["id"].tolist() == ["WON_LATER", "LOST_LATER"]  # reported once, each with its status
    assert listed["status"].tolist() == ["won", "lost"]


def test_with_history_they_are_open_at_the_stage_the_last_snapshot_before_the_date_shows(closed_later):
    known = make_snapshot([
        {"id": "WON_LATER", "stage": "s2", "status": "open", "amount": 800_000, "close_date": "2026-10-31"},
        {"id": "LOST_LATER", "stage": "s1", "status": "open", "amount": 500_000, "close_date": "2026-12-31"},
    ], THREE, "2026-09-25")
    view, listed = as_of_view(closed_later, AS_OF, known)
    assert listed.empty
    later = view.set_index("id").loc[["WON_LATER", "LOST_LATER"]]
    assert later["status"].tolist() == ["open", "open"]
    assert later["stage"].tolist() == ["s2", "s1"] and later["amount"].tolist() == [800_000, 500_000]
    assert later[checklist_column("c1")].isna().all()  # today's answers are not that day's evidence
    assert later["category"].isna().all()  # nor is today's category ("closed"): it is derived again
    assert view.set_index("id").at["WON_BEFORE", "status"] == "won"


def test_the_observed_win_rate_never_mixes_deals_closed_before_and_after_the_report_date(closed_later):
    view, _ = as_of_view(closed_later, AS_OF)
    table = observed_win_rates(view, THREE)
    # Known on the report date: one won, one lost, whatever happened later.
    assert table.loc["s1", ["reached", "won", "lost"]].tolist() == [2, 1, 1]
