"""The PostgreSQL history schema, as ordered migrations the tool applies itself when it opens a database.

Every table sits in the schema ``funnel_xl`` and is keyed by team first, so one company database holds every
team's history and a team's save touches only its own rows. ``schema_version`` records each migration applied;
a new migration is appended to ``MIGRATIONS`` with the next number and is never edited once released.
"""

from __future__ import annotations

from funnel_xl.errors import HistoryError

SCHEMA = "funnel_xl"

MIGRATIONS: tuple[tuple[int, str], ...] = (
    (1, """
        CREATE TABLE funnel_xl.snapshot (
            team text NOT NULL,
            snapshot_date date NOT NULL,
            rows integer NOT NULL,
            data bytea NOT NULL,
            saved_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (team, snapshot_date)
        );
        -- The blobs are zstd-compressed Parquet already: store them out of line without another compression pass.
        ALTER TABLE funnel_xl.snapshot ALTER COLUMN data SET STORAGE EXTERNAL;
        CREATE TABLE funnel_xl.seen (
            team text NOT NULL,
            id text NOT NULL,
            first_seen date NOT NULL,
            PRIMARY KEY (team, id)
        );
        CREATE TABLE funnel_xl.weekly (
            team text NOT NULL,
            snapshot_date date NOT NULL,
            rep text NOT NULL,
            forecast double precision,
            achieved double precision,
            open_count integer,
            PRIMARY KEY (team, snapshot_date, rep)
        );
    """),
    # The KPI strip of each date (target, achieved, the gap, ...), so 预测 shows each figure's change since last week.
    (2, """
        CREATE TABLE funnel_xl.strip (
            team text NOT NULL,
            snapshot_date date NOT NULL,
            key text NOT NULL,
            value double precision NOT NULL,
            PRIMARY KEY (team, snapshot_date, key)
        );
    """),
)

# Any fixed number: the advisory lock that lets one process at a time migrate (it locks no table or row).
_MIGRATION_LOCK = 0x66756E6E656C  # "funnel"

_BOOTSTRAP = f"""
    CREATE SCHEMA IF NOT EXISTS {SCHEMA};
    CREATE TABLE IF NOT EXISTS {SCHEMA}.schema_version (
        version integer PRIMARY KEY,
        applied_at timestamptz NOT NULL DEFAULT now()
    );
"""


def latest_version() -> int:
    return MIGRATIONS[-1][0]


def schema_version(conn) -> int:
    """The version a database is at: 0 when the tool has never opened it."""
    if conn.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.schema_version",)).fetchone()[0] is None:
        return 0
    return conn.execute(f"SELECT coalesce(max(version), 0) FROM {SCHEMA}.schema_version").fetchone()[0]


def migrate(conn) -> int:
    """Bring the database to the latest schema (a no-op when it is there) and return its version.

    ``conn`` is an autocommit psycopg connection. Processes opening an old database at the same moment take
    turns through an advisory lock, so each migration is applied once; one at the latest version takes no lock.
    """
    current = schema_version(conn)
    if current == latest_version():
        return current
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.execute(_BOOTSTRAP)
        current = schema_version(conn)
        _refuse_newer(current)
        for version, sql in MIGRATIONS:
            if version > current:
                conn.execute(sql)
                conn.execute(f"INSERT INTO {SCHEMA}.schema_version (version) VALUES (%s)", (version,))
                current = version
    return current


def _refuse_newer(version: int) -> None:
    if version > latest_version():
        raise HistoryError(
            f"the history database is at schema version {version}, newer than this funnel_xl knows "
            f"({latest_version()}): upgrade funnel_xl")
