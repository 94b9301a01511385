"""The PostgreSQL history: a schema the tool creates and migrates, teams side by side, passwords never shown."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from funnel_xl.errors import HistoryError
from funnel_xl.history import migrations, open_history
from funnel_xl.history.postgres import PostgresHistory
from tests.history.conftest import snapshot_of
from tests.postgres_server import PASSWORD

pytestmark = pytest.mark.postgres
psycopg = pytest.importorskip("psycopg", reason='psycopg is not installed: pip install -e ".[postgres]"')


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                            (migrations.SCHEMA,)).fetchall()
    return {r[0] for r in rows}


def _versions(url: str) -> list[int]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute(f"SELECT version FROM {migrations.SCHEMA}.schema_version ORDER BY 1")]


def test_an_empty_database_gets_every_migration_once(postgres_url, tmp_path):
    assert _tables(postgres_url) == set()
    with open_history(tmp_path / "华东销售.xlsm", postgres_url):
        pass
    assert _tables(postgres_url) == {"schema_version", "snapshot", "seen", "weekly", "strip"}
    with open_history(tmp_path / "华东销售.xlsm", postgres_url):
        pass
    assert _versions(postgres_url) == [version for version, _ in migrations.MIGRATIONS]


def test_an_older_database_is_brought_up_to_date_and_keeps_its_data(postgres_url, tmp_path, monkeypatch):
    with open_history(tmp_path / "华东销售.xlsm", postgres_url) as store:
        store.save(snapshot_of("2026-11-13", [("OPP-1", "intent", 1.0, "open")]))
    nxt = migrations.latest_version() + 1
    monkeypatch.setattr(migrations, "MIGRATIONS", (
        *migrations.MIGRATIONS,
        (nxt, "CREATE INDEX snapshot_saved_at ON funnel_xl.snapshot (saved_at)"),
    ))
    with open_history(tmp_path / "华东销售.xlsm", postgres_url) as store:
        assert store.dates() == [dt.date(2026, 11, 13)]
    assert _versions(postgres_url)[-1] == nxt
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT to_regclass('funnel_xl.snapshot_saved_at')").fetchone()[0] is not None


def test_teams_opening_an_empty_database_at_the_same_moment_migrate_it_once(postgres_url, tmp_path):
    barrier, failures = threading.Barrier(4), []

    def open_as(team: str) -> None:
        try:
            barrier.wait(timeout=60)
            with open_history(tmp_path / f"{team}.xlsm", postgres_url) as store:
                store.save(snapshot_of("2026-11-20", [("OPP-1", "intent", 1.0, "open")]))
        except Exception as exc:  # reported below: an assertion in a thread would be lost
            failures.append(exc)

    threads = [threading.Thread(target=open_as, args=(f"team{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert failures == []
    assert _versions(postgres_url) == [version for version, _ in migrations.MIGRATIONS]
    with PostgresHistory(postgres_url, "team0") as store:
        assert store.teams() == ["team0", "team1", "team2", "team3"]


def test_a_database_migrated_by_a_newer_funnel_xl_is_refused(postgres_url, tmp_path):
    with open_history(tmp_path / "华东销售.xlsm", postgres_url):
        pass
    with psycopg.connect(postgres_url) as conn:
        conn.execute("INSERT INTO funnel_xl.schema_version (version) VALUES (%s)", (migrations.latest_version() + 1,))
    with pytest.raises(HistoryError, match="newer than this funnel_xl knows"):
        open_history(tmp_path / "华东销售.xlsm", postgres_url)


def test_the_team_is_the_workbooks_file_name_unless_given(postgres_url, tmp_path):
    with open_history(tmp_path / "华东销售.xlsm", postgres_url) as store:
        assert store.team == "华东销售"
    with open_history(tmp_path / "Funnel.xlsm", postgres_url, team="华北销售") as store:
        assert store.team == "华北销售"
        store.save(snapshot_of("2026-11-20", [("OPP-1", "intent", 1.0, "open")]))
    with open_history(tmp_path / "华北销售.xlsm", postgres_url) as store:
        assert store.dates() == [dt.date(2026, 11, 20)]


def test_the_password_may_come_from_pgpassword_instead_of_the_url(postgres_server, tmp_path, monkeypatch):
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    with open_history(tmp_path / "华东销售.xlsm", postgres_server.url(password=None)) as store:
        assert store.dates() == []


@pytest.mark.parametrize("fault", ["wrong password", "no server"])
def test_a_database_that_refuses_says_so_in_one_line_without_the_password(postgres_server, tmp_path, fault):
    password = "wrong:p@ss/секрет" if fault == "wrong password" else PASSWORD
    url = postgres_server.url(password=password)
    if fault == "no server":
        url = url.replace(f":{postgres_server.port}/", ":1/")
    with pytest.raises(HistoryError) as caught:
        open_history(tmp_path / "华东销售.xlsm", url)
    message = str(caught.value)
    assert "\n" not in message and "***" in message and "cannot open" in message
    for secret in (password, "p@ss", "секрет" if fault == "wrong password" else "пароль", "%40"):
        assert secret not in message
