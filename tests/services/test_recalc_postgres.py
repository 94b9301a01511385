"""Recalculate with the weekly history in PostgreSQL (``--history postgresql://...``) instead of the file beside it."""

from __future__ import annotations

import json
import shutil

import pytest
import python_calamine

from funnel_xl.history import SnapshotStore, copy_history, history_path, open_history
from funnel_xl.sample import SAMPLE_AS_OF
from tests.postgres_server import PASSWORD
from tests.services.conftest import run_cli

pytestmark = pytest.mark.postgres

TEAM = "华东销售"


def _progress_sheet(path) -> list[list]:
    rows = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name("进展").to_python(
        skip_empty_area=False)
    return [row for row in rows if not str(row[0]).startswith("计算时间")]  # the stamp names the minute of the run


def _recalc(path, *extra) -> dict:
    done = run_cli("recalc", str(path), "--as-of", SAMPLE_AS_OF.isoformat(), "--json", *extra)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    del summary["run_at"]
    return summary


@pytest.fixture
def database_copy(workbook, tmp_path, postgres_url):
    """A second copy of the sample workbook, with no file beside it: its history copied into the database."""
    copy = tmp_path / "company" / workbook.name
    copy.parent.mkdir()
    shutil.copy2(workbook, copy)
    with SnapshotStore.for_workbook(workbook) as source, open_history(copy, postgres_url, team=TEAM) as target:
        copy_history(source, target)
    return copy


def test_the_progress_from_the_database_equals_the_progress_from_the_file(workbook, database_copy, postgres_url):
    from_file = _recalc(workbook)
    from_database = _recalc(database_copy, "--history", postgres_url, "--team", TEAM)

    assert from_file["progress"] is not None  # the sample has last week's snapshot: a real comparison
    assert from_database == from_file
    assert _progress_sheet(database_copy) == _progress_sheet(workbook)
    assert not history_path(database_copy).exists()
    with SnapshotStore.for_workbook(workbook) as file, open_history(database_copy, postgres_url, team=TEAM) as db:
        assert db.dates() == file.dates() and SAMPLE_AS_OF in db.dates()
        assert db.snapshot(SAMPLE_AS_OF).equals(file.snapshot(SAMPLE_AS_OF))


def test_a_refused_database_login_stops_recalc_in_one_line_without_the_password(workbook, postgres_server):
    before = workbook.read_bytes()
    url = postgres_server.url(password=PASSWORD + "-typo")
    done = run_cli("recalc", str(workbook), "--history", url)
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert "history database" in done.stderr and "***" in done.stderr and "p@ss" not in done.stderr
    assert workbook.read_bytes() == before
