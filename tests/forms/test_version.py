"""The version token: the same master row gives the same token, a changed value a different one."""

import datetime as dt

from funnel_xl.forms.version import version_token

ROW = {"id": "OPP-1", "amount": 1300000.0, "close_date": dt.datetime(2026, 10, 31), "stage": "引导客户立项",
       "chk:target_industry": "是", "notes": None}


def test_the_token_does_not_depend_on_how_a_reader_typed_the_same_values():
    same = {**ROW, "amount": 1300000, "close_date": dt.date(2026, 10, 31), "id": " OPP-1 ", "notes": ""}
    assert version_token(same) == version_token(ROW)


def test_changing_any_field_or_answer_changes_the_token():
    for key, value in (("amount", 1300001.0), ("stage", "赢得客户认可"), ("chk:target_industry", "否"),
                       ("notes", "客户预算待批")):
        assert version_token({**ROW, key: value}) != version_token(ROW), key


def test_derived_and_user_added_columns_do_not_change_the_token():
    assert version_token({**ROW, "win_rate": 0.35, "my own column": "x"}) == version_token(ROW)
