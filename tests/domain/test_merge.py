"""Merging an import into the workbook's table by id: no duplicates, exact change lists, nothing lost."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from funnel_xl.domain.merge import merge_by_id
from funnel_xl.errors import InputError


@pytest.fixture
def existing() -> pd.DataFrame:
    return pd.DataFrame({
        "id": ["P3", "P1", "P2"],
        "customer": ["Acme", "Betatech", "Cancity"],
        "amount": [1000.0, 2500.0, 400.0],
        "close_date": pd.to_datetime(["2024-03-01", "2024-04-01", "2024-05-01"]),
        "stage": ["quote", "needs", "initial_contact"],
        "notes": ["called twice", "", "VIP"],  # typed by the user, not in any export
    })


def incoming_from(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns="notes").copy()


def test_merging_the_same_rows_again_changes_nothing(existing):
    result = merge_by_id(existing, incoming_from(existing))
    assert not result.changes_anything
    assert result.unchanged_count == 3 and result.added_ids == () and result.updated.empty
    pd.testing.assert_frame_equal(result.merged, existing)


def test_an_update_changes_exactly_the_changed_cells(existing):
    incoming = incoming_from(existing)
    incoming.loc[incoming["id"].eq("P1"), "amount"] = 3000.0
    incoming.loc[incoming["id"].eq("P2"), "stage"] = "needs"
    result = merge_by_id(existing, incoming)
    assert result.updated.values.tolist() == [["P1", "amount", 2500.0, 3000.0],
                                              ["P2", "stage", "initial_contact", "needs"]]
    assert result.unchanged_count == 1 and result.updated_ids == ("P1", "P2")
    expected = existing.copy()
    expected.loc[1, "amount"] = 3000.0
    expected.loc[2, "stage"] = "needs"
    pd.testing.assert_frame_equal(result.merged, expected)


def test_existing_rows_keep_their_order_and_new_rows_follow_in_export_order(existing):
    incoming = pd.DataFrame({"id": ["P9", "P2", "P8"], "customer": ["Zed", "Cancity", "Yak"],
                             "amount": [1.0, 400.0, 2.0]})
    result = merge_by_id(existing, incoming)
    assert result.merged["id"].tolist() == ["P3", "P1", "P2", "P9", "P8"]
    assert result.added_ids == ("P9", "P8")
    assert result.merged.loc[3, "customer"] == "Zed"
    assert pd.isna(result.merged.loc[3, "notes"])


def test_rows_missing_from_the_export_are_kept_untouched(existing):
    result = merge_by_id(existing, incoming_from(existing).iloc[[0]])
    pd.testing.assert_frame_equal(result.merged, existing)
    assert result.unchanged_count == 1


def test_a_blank_incoming_cell_does_not_blank_a_filled_one(existing):
    incoming = incoming_from(existing)
    incoming["customer"] = [None, np.nan, ""]
    incoming["close_date"] = pd.NaT
    result = merge_by_id(existing, incoming)
    assert result.updated.empty
    pd.testing.assert_frame_equal(result.merged, existing)


def test_columns_only_the_workbook_has_are_left_alone(existing):
    incoming = incoming_from(existing)
    incoming["amount"] = [1.0, 2.0, 3.0]
    result = merge_by_id(existing, incoming)
    assert result.merged["notes"].tolist() == existing["notes"].tolist()
    assert set(result.updated["column"]) == {"amount"}


def test_equal_values_in_other_types_are_not_changes(existing):
    incoming = pd.DataFrame({"id": ["P3", "P1"], "amount": [1000, np.int64(2500)],
                             "close_date": [date(2024, 3, 1), pd.Timestamp("2024-04-01")]})
    result = merge_by_id(existing, incoming)
    assert result.updated.empty and result.unchanged_count == 2


def test_a_new_column_is_added_and_filled_for_matched_rows(existing):
    incoming = incoming_from(existing).assign(estimated=[False, True, False])
    result = merge_by_id(existing, incoming)
    assert result.merged["estimated"].tolist() == [False, True, False]
    assert len(result.updated) == 3  # each row's estimated went from blank to a value


def test_an_ambiguous_id_is_refused(existing):
    twice = pd.concat([existing, existing.iloc[[0]]], ignore_index=True)
    with pytest.raises(InputError, match="P3"):
        merge_by_id(twice, incoming_from(existing))
    with pytest.raises(InputError, match="P3"):
        merge_by_id(existing, incoming_from(twice))


def test_merging_into_an_empty_table_adds_every_row(existing):
    result = merge_by_id(pd.DataFrame(columns=["id"]), existing)
    assert result.added_ids == ("P3", "P1", "P2")
    assert result.merged["customer"].tolist() == ["Acme", "Betatech", "Cancity"]
