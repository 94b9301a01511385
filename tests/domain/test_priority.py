"""Customer priority (客户分类与优先级): the user's choice, else size + need + buying intent."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from factories import make_opps

from funnel_xl.domain.priority import customer_priority
from funnel_xl.errors import InputError


def test_size_need_and_intent_add_up_to_the_priority(big_project):
    opps = make_opps([
        {"customer_size": "large", "stage": "negotiation"},   # 2 + need 1 + intent 1 (75 % ≥ 35 %) = 4 → high
        {"customer_size": "medium", "stage": "approved"},     # 1 + 1 + 1 (35 %) = 3 → high
        {"customer_size": "large", "stage": "target"},        # 2 + 0 (0 %: no need shown yet) + 0 = 2 → medium
        {"customer_size": "small", "stage": "recognition"},   # 0 + 1 + 1 = 2 → medium
        {"customer_size": "small", "stage": "potential"},     # 0 + 1 + 0 = 1 → low
        {"customer_size": "medium", "stage": "intent"},       # 1 + 1 + 0 (20 %) = 2 → medium
    ], big_project)
    assert customer_priority(opps).tolist() == ["high", "high", "medium", "medium", "low", "medium"]


def test_without_a_size_the_amount_decides_how_big_the_customer_is(big_project):
    opps = make_opps([
        {"amount": 1_000_000, "stage": "potential"},  # large by amount: 2 + 1 = 3 → high
        {"amount": 300_000, "stage": "potential"},    # medium: 1 + 1 = 2 → medium
        {"amount": 299_999, "stage": "potential"},    # small: 0 + 1 = 1 → low
    ], big_project)
    assert customer_priority(opps).tolist() == ["high", "medium", "low"]


def test_the_users_priority_wins_over_the_score(big_project):
    opps = make_opps([
        {"customer_size": "large", "stage": "negotiation", "priority": "low"},
        {"customer_size": "small", "stage": "target", "priority": " High "},
    ], big_project)
    assert customer_priority(opps).tolist() == ["low", "high"]


def test_a_close_within_six_months_shows_buying_intent_when_a_report_date_is_given(big_project):
    opps = make_opps([
        {"customer_size": "medium", "stage": "intent", "close_date": "2027-05-20"},  # exactly 6 months on
        {"customer_size": "medium", "stage": "intent", "close_date": "2027-05-21"},
    ], big_project)
    # 1 + 1 + intent 1 = 3 → high for the first; the second closes a day too late: 2 → medium.
    assert customer_priority(opps, as_of=dt.date(2026, 11, 20)).tolist() == ["high", "medium"]
    assert customer_priority(opps).tolist() == ["medium", "medium"]


def test_a_lost_deal_has_no_priority_unless_the_user_gave_one(big_project):
    opps = make_opps([
        {"customer_size": "large", "stage": "negotiation", "status": "lost"},
        {"customer_size": "large", "stage": "negotiation", "status": "lost", "priority": "medium"},
    ], big_project)
    result = customer_priority(opps)
    assert pd.isna(result.iloc[0]) and result.iloc[1] == "medium"


def test_missing_optional_columns_fall_back_to_what_exists():
    opps = pd.DataFrame({"id": ["A", "B"], "amount": [2_000_000.0, 10_000.0]})
    # Only the size by amount is known: 2 → medium, 0 → low.
    assert customer_priority(opps).tolist() == ["medium", "low"]


def test_an_unknown_priority_or_size_is_refused_naming_the_row(big_project):
    typed = make_opps([{"id": "P7", "stage": "intent", "priority": "urgent"}], big_project)
    with pytest.raises(InputError, match="column priority: id 'P7': 'urgent'; expected one of high, medium, low"):
        customer_priority(typed)
    sized = make_opps([{"id": "P8", "stage": "intent", "customer_size": "huge"}], big_project)
    with pytest.raises(InputError, match="column customer_size: id 'P8': 'huge'"):
        customer_priority(sized)
