"""The roll-up reading every team's weekly history from PostgreSQL (``--history``) instead of the files beside them."""

from __future__ import annotations

import pytest

from funnel_xl.history import SnapshotStore, copy_history, history_path, open_history
from funnel_xl.sample import SAMPLE_AS_OF
from funnel_xl.services.rollup import rollup_workbooks
from tests.services.conftest import TEAMS

pytestmark = pytest.mark.postgres


def test_progress_from_the_company_database_is_the_progress_from_the_teams_files(teams, postgres_url, tmp_path):
    from_files = rollup_workbooks([teams], SAMPLE_AS_OF, workers=1)
    for team in TEAMS:
        book = teams / f"{team}.xlsm"
        with SnapshotStore.for_workbook(book) as source, open_history(book, postgres_url) as target:
            copy_history(source, target)
        history_path(book).unlink()  # only the database is left to read
    from_db = rollup_workbooks([teams], SAMPLE_AS_OF, workers=1, url=postgres_url, output=tmp_path / "公司汇总.xlsx")
    assert from_db.figures.progress.last_date == from_files.figures.progress.last_date is not None
    assert from_db.figures.progress.totals == pytest.approx(from_files.figures.progress.totals)
    for team in TEAMS:
        assert from_db.tables["team"].loc[team, "progress"] == pytest.approx(
            from_files.tables["team"].loc[team, "progress"])
    # The company's own history (its adjustments) went to the database too, not beside the company workbook.
    assert not history_path(tmp_path / "公司汇总.xlsx").exists()
