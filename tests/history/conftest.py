"""Fixtures for the history tests: every store test runs on SQLite (the file beside the workbook) and PostgreSQL."""

from __future__ import annotations

import pandas as pd
import pytest

from funnel_xl.domain.schema import SNAPSHOT_COLUMNS
from funnel_xl.history import open_history


def snapshot_of(date: str, rows: list[tuple[str, str, float, str]], rep: str = "张伟") -> pd.DataFrame:
    """A snapshot frame of (id, stage, amount, status) rows on one date."""
    return pd.DataFrame(
        [{"snapshot_date": pd.Timestamp(date), "id": i, "rep": rep, "customer": "客户", "project": "项目",
          "product": "ERP", "region": "华东", "amount": amount, "close_date": pd.Timestamp("2027-01-15"),
          "stage": stage, "status": status, "win_rate": 0.5} for i, stage, amount, status in rows],
        columns=list(SNAPSHOT_COLUMNS),
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def open_team(request, tmp_path):
    """Open the history of a team's workbook (``<team>.xlsm``) on the backend under test, as recalc would.

    On SQLite each team has its own file; on PostgreSQL every team shares one fresh database. Every store opened
    is closed at the end of the test.
    """
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    opened = []

    def open_(team: str = "华东销售"):
        store = open_history(tmp_path / f"{team}.xlsm", url)
        opened.append(store)
        return store

    yield open_
    for store in opened:
        store.close()


@pytest.fixture
def store(open_team):
    return open_team()
