"""Weekly snapshots of the pipeline, kept in a SQLite file beside the workbook (``<name>.history.sqlite``).

Why not inside the workbook: a year of weekly snapshots of a large pipeline is 52 copies of the opportunity
table, and every recalculation would have to read and rewrite them. Here a recalculation reads one snapshot
(last week's, a Parquet blob found by its date) and a one-row-per-opportunity "first seen" table, and adds one
snapshot, so its cost does not grow with the length of the history. The workbook's 进展 sheet carries the figures as values,
so an e-mailed copy without the history file still reads right.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from funnel_xl.errors import HistoryError
from funnel_xl.history.codec import DatedSnapshot
from funnel_xl.history.port import HistoryStore

# The file format of every history file already written: change it only with a migration of existing files. A table
# added later (strip: the KPI strip of each date) is created when an older file is opened, so adding one migrates it.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshot (snapshot_date TEXT PRIMARY KEY, rows INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY, first_seen TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS weekly (
    snapshot_date TEXT NOT NULL, rep TEXT NOT NULL, forecast REAL, achieved REAL, open_count INTEGER,
    PRIMARY KEY (snapshot_date, rep)
);
CREATE TABLE IF NOT EXISTS strip (
    snapshot_date TEXT NOT NULL, key TEXT NOT NULL, value REAL NOT NULL, PRIMARY KEY (snapshot_date, key)
);
"""


def history_path(workbook: str | Path) -> Path:
    workbook = Path(workbook)
    return workbook.with_name(f"{workbook.stem}.history.sqlite")


class SnapshotStore(HistoryStore):
    """The snapshot history of one workbook, in its own SQLite file.

    Each snapshot is one row: its date and the opportunities as a compressed Parquet blob (a 100,000-row
    snapshot reads and writes in a fraction of a second, where row-by-row SQL took seconds). ``seen`` keeps the
    date each opportunity first appeared, so "won but never seen in the funnel" needs no scan of old snapshots.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        with self._errors("open"):
            self._db = sqlite3.connect(self.path)
            try:
                self._db.executescript(_SCHEMA)
            except BaseException:
                self._db.close()
                raise

    @classmethod
    def for_workbook(cls, workbook: str | Path) -> "SnapshotStore":
        return cls(history_path(workbook))

    def close(self) -> None:
        self._db.close()

    def _rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._errors("read"):
            return self._db.execute(sql, params).fetchall()

    def _date_rows(self) -> list[str]:
        return [r[0] for r in self._rows("SELECT snapshot_date FROM snapshot ORDER BY 1")]

    def _latest(self, bound: str, inclusive: bool) -> str | None:
        op = "<=" if inclusive else "<"
        return self._rows(f"SELECT MAX(snapshot_date) FROM snapshot WHERE snapshot_date {op} ?", (bound,))[0][0]

    def _blob(self, date: str) -> bytes | None:
        rows = self._rows("SELECT data FROM snapshot WHERE snapshot_date = ?", (date,))
        return rows[0][0] if rows else None

    def _seen_rows(self) -> list[tuple]:
        return self._rows("SELECT first_seen AS snapshot_date, id FROM seen")

    def _weekly_rows(self) -> list[tuple]:
        return self._rows("SELECT snapshot_date, rep, forecast, achieved, open_count FROM weekly "
                          "ORDER BY snapshot_date, rep")

    def _strip_rows(self, date: str) -> list[tuple]:
        return self._rows("SELECT key, value FROM strip WHERE snapshot_date = ?", (date,))

    def _write_strip(self, date: str, rows: list[tuple]) -> None:
        self._db.execute("DELETE FROM strip WHERE snapshot_date = ?", (date,))
        self._db.executemany("INSERT INTO strip VALUES (?, ?, ?)", ((date, k, v) for k, v in rows))

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._errors("save"), self._db:
            yield

    @contextlib.contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """SQLite's faults as one line saying what to do: a file another program holds, a damaged file, no room."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            reason = str(exc)
            name = self.path.name
            if "locked" in reason or "busy" in reason:
                advice = "another program (or funnel-xl run) holds it: close that program and run again"
            elif "not a database" in reason or "malformed" in reason or "corrupt" in reason:
                advice = ("it is damaged: restore it from a copy, or move it away and a new, empty history starts "
                          "with the next recalculation")
            elif "full" in reason:
                advice = "the disk is full: free some space and run again"
            elif "readonly" in reason or "unable to open" in reason:
                advice = "it or its folder is read-only: make them writable and run again"
            else:
                advice = "check the file and run again"
            raise HistoryError(f"the history file {name} cannot {doing} ({reason}): {advice}; the workbook was "
                               f"not changed") from exc

    def _write(self, parts: list[DatedSnapshot], weekly_dates: list[str], weekly: list[tuple]) -> None:
        for part in parts:
            self._db.execute("INSERT OR REPLACE INTO snapshot VALUES (?, ?, ?)", (part.date, part.rows, part.blob))
            # Only ids not seen yet need a row, or an earlier date when history is filled in backwards.
            self._db.executemany(
                "INSERT INTO seen VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET first_seen = excluded.first_seen "
                "WHERE excluded.first_seen < seen.first_seen",
                ((i, part.date) for i in part.ids),
            )
        for d in weekly_dates:
            self._db.execute("DELETE FROM weekly WHERE snapshot_date = ?", (d,))
        self._db.executemany("INSERT INTO weekly VALUES (?, ?, ?, ?, ?)", weekly)
