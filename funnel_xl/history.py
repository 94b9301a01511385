"""Weekly snapshots of the pipeline, kept in a SQLite file beside the workbook (``<name>.history.sqlite``).

Why not inside the workbook: a year of weekly snapshots of a large pipeline is 52 copies of the opportunity
table, and every recalculation would have to read and rewrite them. Here a recalculation reads one snapshot
(last week's) and a one-row-per-opportunity "first seen" table through indexes, and appends one snapshot, so
its cost does not grow with the length of the history. The workbook's 进展 sheet carries the figures as values,
so an e-mailed copy without the history file still reads right.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pandas as pd

from funnel_xl.domain.schema import SNAPSHOT_COLUMNS

_SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshots (
    snapshot_date TEXT NOT NULL, id TEXT NOT NULL, rep TEXT, customer TEXT, project TEXT, product TEXT,
    region TEXT, amount REAL, close_date TEXT, stage TEXT, status TEXT, win_rate REAL,
    PRIMARY KEY (snapshot_date, id)
);
CREATE TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY, first_seen TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS weekly (
    snapshot_date TEXT NOT NULL, rep TEXT NOT NULL, forecast REAL, achieved REAL, open_count INTEGER,
    PRIMARY KEY (snapshot_date, rep)
);
"""
_DATE_COLUMNS = ("snapshot_date", "close_date")


def history_path(workbook: str | Path) -> Path:
    workbook = Path(workbook)
    return workbook.with_name(f"{workbook.stem}.history.sqlite")


class SnapshotStore:
    """The snapshot history of one workbook."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._db = sqlite3.connect(self.path)
        self._db.executescript(_SCHEMA)

    @classmethod
    def for_workbook(cls, workbook: str | Path) -> "SnapshotStore":
        return cls(history_path(workbook))

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "SnapshotStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- reading ---------------------------------------------------------------------------------------
    def dates(self) -> list[dt.date]:
        rows = self._db.execute("SELECT DISTINCT snapshot_date FROM snapshots ORDER BY 1").fetchall()
        return [dt.date.fromisoformat(r[0]) for r in rows]

    def previous_week(self, as_of: dt.date) -> dt.date | None:
        """The snapshot to compare this week with: the latest at least 7 days before as_of, else the latest before it."""
        week_ago = (as_of - dt.timedelta(days=7)).isoformat()
        for bound, op in ((week_ago, "<="), (as_of.isoformat(), "<")):
            row = self._db.execute(
                f"SELECT MAX(snapshot_date) FROM snapshots WHERE snapshot_date {op} ?", (bound,)
            ).fetchone()
            if row and row[0]:
                return dt.date.fromisoformat(row[0])
        return None

    def snapshot(self, date: dt.date) -> pd.DataFrame:
        frame = pd.read_sql_query(
            f"SELECT {', '.join(SNAPSHOT_COLUMNS)} FROM snapshots WHERE snapshot_date = ? ORDER BY rowid",
            self._db, params=(date.isoformat(),),
        )
        return _typed(frame)

    def first_seen(self) -> pd.DataFrame:
        """One row per opportunity ever snapshotted: id and the date it first appeared (as snapshot_date)."""
        frame = pd.read_sql_query("SELECT first_seen AS snapshot_date, id FROM seen", self._db)
        frame["snapshot_date"] = pd.to_datetime(frame["snapshot_date"])
        return frame

    def weekly(self) -> pd.DataFrame:
        frame = pd.read_sql_query("SELECT * FROM weekly ORDER BY snapshot_date, rep", self._db)
        frame["snapshot_date"] = pd.to_datetime(frame["snapshot_date"])
        return frame

    # -- writing ---------------------------------------------------------------------------------------
    def save(self, snapshot: pd.DataFrame, weekly: pd.DataFrame | None = None) -> None:
        """Store a snapshot (replacing one of the same date) and its per-rep totals."""
        rows = snapshot.loc[:, list(SNAPSHOT_COLUMNS)].copy()
        for col in _DATE_COLUMNS:
            rows[col] = pd.to_datetime(rows[col]).dt.strftime("%Y-%m-%d")
        rows = rows.astype(object).where(rows.notna(), None)
        dates = sorted(set(rows["snapshot_date"]))
        with self._db:
            for d in dates:
                self._db.execute("DELETE FROM snapshots WHERE snapshot_date = ?", (d,))
            self._db.executemany(
                f"INSERT INTO snapshots VALUES ({', '.join('?' * len(SNAPSHOT_COLUMNS))})",
                rows.itertuples(index=False, name=None),
            )
            self._db.executemany(
                "INSERT INTO seen VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET first_seen = MIN(first_seen, excluded.first_seen)",
                rows[["id", "snapshot_date"]].itertuples(index=False, name=None),
            )
            if weekly is not None and len(weekly):
                w = weekly.copy()
                w["snapshot_date"] = pd.to_datetime(w["snapshot_date"]).dt.strftime("%Y-%m-%d")
                for d in sorted(set(w["snapshot_date"])):
                    self._db.execute("DELETE FROM weekly WHERE snapshot_date = ?", (d,))
                self._db.executemany(
                    "INSERT INTO weekly VALUES (?, ?, ?, ?, ?)",
                    w[["snapshot_date", "rep", "forecast", "achieved", "open_count"]]
                    .astype(object).itertuples(index=False, name=None),
                )


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    for col in _DATE_COLUMNS:
        frame[col] = pd.to_datetime(frame[col])
    for col in ("amount", "win_rate"):
        frame[col] = frame[col].astype("float64")
    return frame
