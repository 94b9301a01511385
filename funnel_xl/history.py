"""Weekly snapshots of the pipeline, kept in a SQLite file beside the workbook (``<name>.history.sqlite``).

Why not inside the workbook: a year of weekly snapshots of a large pipeline is 52 copies of the opportunity
table, and every recalculation would have to read and rewrite them. Here a recalculation reads one snapshot
(last week's, a Parquet blob found by its date) and a one-row-per-opportunity "first seen" table, and adds one
snapshot, so its cost does not grow with the length of the history. The workbook's 进展 sheet carries the figures as values,
so an e-mailed copy without the history file still reads right.
"""

from __future__ import annotations

import datetime as dt
import io
import sqlite3
from pathlib import Path

import pandas as pd

from funnel_xl.domain.columns import DATE, SNAPSHOTS, ColumnKeys
from funnel_xl.domain.schema import SNAPSHOT_COLUMNS

_DATE_COLUMNS = ColumnKeys(SNAPSHOTS, owner=None, kinds=(DATE,))

_SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshot (snapshot_date TEXT PRIMARY KEY, rows INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY, first_seen TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS weekly (
    snapshot_date TEXT NOT NULL, rep TEXT NOT NULL, forecast REAL, achieved REAL, open_count INTEGER,
    PRIMARY KEY (snapshot_date, rep)
);
"""


def history_path(workbook: str | Path) -> Path:
    workbook = Path(workbook)
    return workbook.with_name(f"{workbook.stem}.history.sqlite")


def _to_parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False, compression="zstd")
    return buffer.getvalue()


class SnapshotStore:
    """The snapshot history of one workbook.

    Each snapshot is one row: its date and the opportunities as a compressed Parquet blob (a 100,000-row
    snapshot reads and writes in a fraction of a second, where row-by-row SQL took seconds). ``seen`` keeps the
    date each opportunity first appeared, so "won but never seen in the funnel" needs no scan of old snapshots.
    """

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
        rows = self._db.execute("SELECT snapshot_date FROM snapshot ORDER BY 1").fetchall()
        return [dt.date.fromisoformat(r[0]) for r in rows]

    def previous_week(self, as_of: dt.date) -> dt.date | None:
        """The snapshot to compare this week with: the latest at least 7 days before as_of, else the latest before it."""
        week_ago = (as_of - dt.timedelta(days=7)).isoformat()
        for bound, op in ((week_ago, "<="), (as_of.isoformat(), "<")):
            row = self._db.execute(
                f"SELECT MAX(snapshot_date) FROM snapshot WHERE snapshot_date {op} ?", (bound,)
            ).fetchone()
            if row and row[0]:
                return dt.date.fromisoformat(row[0])
        return None

    def snapshot(self, date: dt.date) -> pd.DataFrame:
        row = self._db.execute("SELECT data FROM snapshot WHERE snapshot_date = ?", (date.isoformat(),)).fetchone()
        if row is None:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in SNAPSHOT_COLUMNS})
        return _typed(pd.read_parquet(io.BytesIO(row[0])))

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
            rows[col] = pd.to_datetime(rows[col]).astype("datetime64[ns]")
        rows["id"] = rows["id"].astype(str)
        with self._db:
            for date, part in rows.groupby(rows["snapshot_date"].dt.strftime("%Y-%m-%d"), sort=True):
                self._db.execute("INSERT OR REPLACE INTO snapshot VALUES (?, ?, ?)",
                                 (date, len(part), _to_parquet(part.reset_index(drop=True))))
                # Only ids not seen yet need a row, or an earlier date when history is filled in backwards.
                self._db.executemany(
                    "INSERT INTO seen VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET first_seen = excluded.first_seen "
                    "WHERE excluded.first_seen < seen.first_seen",
                    ((i, date) for i in part["id"].unique()),
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
        frame[col] = pd.to_datetime(frame[col]).astype("datetime64[ns]")
    for col in ("amount", "win_rate"):
        frame[col] = frame[col].astype("float64")
    return frame
