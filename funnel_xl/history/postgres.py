"""Weekly snapshots of every team in one PostgreSQL database (``--history postgresql://user@host:5432/db``).

Each table is keyed by team first; a save is one short transaction that inserts or replaces only that team's rows
(no table lock), so one team's write never waits for another's. The password comes from the URL or, better, from
libpq's own ``PGPASSWORD`` or ``~/.pgpass``; it is never printed: every message shows the URL masked.
psycopg is imported only here, so the SQLite default never needs it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

from funnel_xl.errors import HistoryError, InputError
from funnel_xl.history.codec import DatedSnapshot
from funnel_xl.history.migrations import migrate
from funnel_xl.history.port import HistoryStore

URL_SCHEMES = ("postgresql://", "postgres://")
# A save waiting this long for a row lock (the same team saving twice at once) gives up with a message.
LOCK_TIMEOUT = "30s"

_PASSWORD_IN_NETLOC = re.compile(r"(://[^/@:]*:)[^/@]*(@)")
_PASSWORD_IN_QUERY = re.compile(r"(password=)[^&\s]*", re.IGNORECASE)


def is_postgres_url(url: str) -> bool:
    return url.lower().startswith(URL_SCHEMES)


def mask_url(url: str) -> str:
    """The URL with any password replaced by ***, fit for a message or a log."""
    return _PASSWORD_IN_QUERY.sub(r"\1***", _PASSWORD_IN_NETLOC.sub(r"\1***\2", url))


class PostgresHistory(HistoryStore):
    """The snapshot history of one team (``team``) in a company's PostgreSQL database."""

    def __init__(self, url: str, team: str):
        team = (team or "").strip()
        if not team:
            raise InputError("the PostgreSQL history needs a team name (--team)")
        self.team = team
        self.url = mask_url(url)
        self._psycopg = psycopg = _import_psycopg()
        try:
            params = psycopg.conninfo.conninfo_to_dict(url)
        except psycopg.ProgrammingError:
            raise InputError(f"not a PostgreSQL URL: {self.url}") from None
        self._password = str(params.get("password") or "")
        params.setdefault("connect_timeout", 10)
        params.setdefault("application_name", "funnel_xl")
        with self._errors("open"):
            try:
                self._conn = psycopg.connect(autocommit=True, **params)
            except psycopg.ProgrammingError as exc:  # a setting libpq refuses, such as connect_timeout=x
                raise InputError(f"not a PostgreSQL URL libpq accepts: {self.url}: {self._scrub(exc)}") from None
        try:
            with self._errors("open"):
                self._conn.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
                migrate(self._conn)
        except BaseException:
            self._conn.close()
            raise

    def close(self) -> None:
        self._conn.close()

    def teams(self) -> list[str]:
        """Every team with a snapshot in this database (what a company roll-up reads)."""
        rows = self._rows('SELECT team FROM funnel_xl.snapshot GROUP BY team ORDER BY team COLLATE "C"')
        return [r[0] for r in rows]

    # -- the adapter's queries ------------------------------------------------------------------------
    def _rows(self, sql: str, params: tuple = (), binary: bool = False) -> list[tuple]:
        with self._errors("read"):
            return self._conn.execute(sql, params, binary=binary).fetchall()

    def _date_rows(self) -> list[str]:
        return [r[0] for r in self._rows(
            "SELECT to_char(snapshot_date, 'YYYY-MM-DD') FROM funnel_xl.snapshot WHERE team = %s ORDER BY 1",
            (self.team,))]

    def _latest(self, bound: str, inclusive: bool) -> str | None:
        op = "<=" if inclusive else "<"
        return self._rows(f"SELECT to_char(max(snapshot_date), 'YYYY-MM-DD') FROM funnel_xl.snapshot "
                          f"WHERE team = %s AND snapshot_date {op} %s::date", (self.team, bound))[0][0]

    def _blob(self, date: str) -> bytes | None:
        rows = self._rows("SELECT data FROM funnel_xl.snapshot WHERE team = %s AND snapshot_date = %s::date",
                          (self.team, date), binary=True)
        return bytes(rows[0][0]) if rows else None

    def _seen_rows(self) -> list[tuple]:
        return self._rows("SELECT to_char(first_seen, 'YYYY-MM-DD'), id FROM funnel_xl.seen WHERE team = %s",
                          (self.team,))

    def _weekly_rows(self) -> list[tuple]:
        # Reps in code-point order whatever the database's collation, as SQLite orders them.
        return self._rows(
            "SELECT to_char(snapshot_date, 'YYYY-MM-DD'), rep, forecast, achieved, open_count FROM funnel_xl.weekly "
            "WHERE team = %s ORDER BY snapshot_date, rep COLLATE \"C\"", (self.team,))

    def _strip_rows(self, date: str) -> list[tuple]:
        return self._rows("SELECT key, value FROM funnel_xl.strip WHERE team = %s AND snapshot_date = %s::date",
                          (self.team, date))

    def _write_strip(self, date: str, rows: list[tuple]) -> None:
        self._conn.execute("DELETE FROM funnel_xl.strip WHERE team = %s AND snapshot_date = %s::date",
                           (self.team, date))
        if rows:
            with self._conn.cursor() as cur:
                cur.executemany("INSERT INTO funnel_xl.strip (team, snapshot_date, key, value) "
                                "VALUES (%s, %s::date, %s, %s)", [(self.team, date, k, v) for k, v in rows])

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._errors("save"), self._conn.transaction():
            yield

    def _write(self, parts: list[DatedSnapshot], weekly_dates: list[str], weekly: list[tuple]) -> None:
        team, execute = self.team, self._conn.execute
        for part in parts:
            execute("INSERT INTO funnel_xl.snapshot (team, snapshot_date, rows, data) "
                    "VALUES (%s, %s::date, %s, %b) ON CONFLICT (team, snapshot_date) DO UPDATE "
                    "SET rows = excluded.rows, data = excluded.data, saved_at = now()",
                    (team, part.date, part.rows, part.blob))
            # New ids get a row; known ones are left alone (not even locked) unless this date is earlier.
            ids = _text_array(part.ids)
            execute("INSERT INTO funnel_xl.seen (team, id, first_seen) SELECT %s, u.id, %s::date "
                    "FROM unnest(%s::text[]) u(id) WHERE NOT EXISTS "
                    "(SELECT 1 FROM funnel_xl.seen s WHERE s.team = %s AND s.id = u.id) "
                    "ON CONFLICT (team, id) DO NOTHING", (team, part.date, ids, team))
            execute("UPDATE funnel_xl.seen s SET first_seen = %s::date FROM unnest(%s::text[]) u(id) "
                    "WHERE s.team = %s AND s.id = u.id AND s.first_seen > %s::date", (part.date, ids, team, part.date))
        if weekly_dates:
            execute("DELETE FROM funnel_xl.weekly WHERE team = %s AND snapshot_date = ANY(%s::date[])",
                    (team, weekly_dates))
        if weekly:
            with self._conn.cursor() as cur:
                cur.executemany("INSERT INTO funnel_xl.weekly (team, snapshot_date, rep, forecast, achieved, "
                                "open_count) VALUES (%s, %s::date, %s, %s, %s, %s)", [(team, *row) for row in weekly])

    @contextlib.contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """Database faults the user can act on (unreachable, refused, no rights, a lock held too long) as one line."""
        psycopg = self._psycopg
        try:
            yield
        except (psycopg.OperationalError, psycopg.errors.InsufficientPrivilege) as exc:
            raise HistoryError(f"the history database {self.url} (team {self.team}): cannot {doing}: "
                               f"{self._scrub(exc)}") from None

    def _scrub(self, exc: Exception) -> str:
        """The database's message on one line, with the password (should libpq ever quote it) masked."""
        reason = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        return reason.replace(self._password, "***") if self._password else reason


def _text_array(values: list[str]) -> str:
    """A PostgreSQL array literal of texts: one parameter the server parses in C, where adapting 100,000 strings one
    by one took 0.3 s. Every element is quoted, so commas, braces and the word NULL stay text."""
    return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


def _import_psycopg():
    try:
        import psycopg
    except ImportError:
        raise InputError('a PostgreSQL history needs psycopg: pip install "funnel_xl[postgres]"') from None
    return psycopg
