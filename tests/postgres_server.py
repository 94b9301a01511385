"""A real PostgreSQL server for the tests, from the system's package (``initdb`` and ``pg_ctl``), started once per
session on a temporary data directory and a free localhost port; each test gets a database of its own.

PostgreSQL refuses to run as root, so under root (as CI runs) the server runs as the ``postgres`` user its package
creates. The superuser has a password (scram), so the tests pass it as a user would. Without PostgreSQL or psycopg
the tests that need the server are skipped with the reason.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

SUPERUSER = "funnel"
PASSWORD = "s3cret:p@ss/пароль"  # URL-special and non-ASCII: it must survive the URL and appear in no message


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int

    def url(self, database: str = "postgres", password: str | None = PASSWORD) -> str:
        from urllib.parse import quote

        auth = SUPERUSER if password is None else f"{SUPERUSER}:{quote(password, safe='')}"
        return f"postgresql://{auth}@{self.host}:{self.port}/{database}"


def _binaries() -> Path | None:
    """The bin folder of the newest installed PostgreSQL (Debian: /usr/lib/postgresql/<ver>/bin), else PATH's."""
    def version(path: str) -> int:
        return int(Path(path).parent.parent.name) if Path(path).parent.parent.name.isdigit() else 0

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=version)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).resolve().parent if on_path else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_server():
    """Start a throw-away server; stop it and delete its data at the end of the session."""
    pytest.importorskip("psycopg", reason='psycopg is not installed: pip install -e ".[postgres]"')
    bindir = _binaries()
    if bindir is None or not (bindir / "initdb").exists():
        pytest.skip("PostgreSQL is not installed (no initdb/pg_ctl): bash tools/setup.sh installs it")
    as_user: list[str] = []
    base = Path(tempfile.mkdtemp(prefix="funnel-pg-"))
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL as its own user")
        try:
            shutil.chown(base, "postgres", "postgres")
        except LookupError:
            pytest.skip("running as root and the postgres user does not exist: cannot start PostgreSQL")
        as_user = ["runuser", "-u", "postgres", "--"]
    (base / "pwfile").write_text(PASSWORD + "\n", encoding="utf-8")
    if as_user:
        shutil.chown(base / "pwfile", "postgres", "postgres")
    data, port = base / "data", _free_port()

    def run(*cmd: str) -> None:
        done = subprocess.run([*as_user, *cmd], capture_output=True, text=True, timeout=120, cwd=base)
        if done.returncode != 0:
            raise RuntimeError(f"{Path(cmd[0]).name} failed: {done.stdout}{done.stderr}")

    run(str(bindir / "initdb"), "-D", str(data), "-U", SUPERUSER, "-A", "scram-sha-256",
        f"--pwfile={base / 'pwfile'}", "-E", "UTF8", "--locale=C", "--no-sync")
    run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "server.log"), "-w", "-t", "60", "-o",
        f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off", "start")
    try:
        yield PostgresServer("127.0.0.1", port)
    finally:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server):
    """The URL of a fresh, empty database for this test (dropped afterwards)."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server.url(), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield postgres_server.url(name)
    with psycopg.connect(postgres_server.url(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
