"""How snapshots travel to and from every history store: one Parquet blob per date in, typed frames out.

Both adapters store the same bytes and read back the same frames, so a figure never depends on where the history
lives.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from funnel_xl.domain.columns import DATE, SNAPSHOTS, ColumnKeys
from funnel_xl.domain.schema import SNAPSHOT_COLUMNS

DATE_COLUMNS = ColumnKeys(SNAPSHOTS, owner=None, kinds=(DATE,))
WEEKLY_COLUMNS = ("snapshot_date", "rep", "forecast", "achieved", "open_count")
# The weekly table keys on the rep; deals without a rep (未分配) are filed under this name, never NULL.
UNASSIGNED_REP = ""


@dataclass(frozen=True)
class DatedSnapshot:
    """One date's part of a snapshot, ready to store: its ISO date, row count, Parquet blob and opportunity ids."""

    date: str
    rows: int
    blob: bytes
    ids: list[str]


def dated_snapshots(snapshot: pd.DataFrame) -> list[DatedSnapshot]:
    """Split a snapshot frame by date (a build seeds many weeks at once) and encode each part."""
    rows = snapshot.loc[:, list(SNAPSHOT_COLUMNS)].copy()
    for col in DATE_COLUMNS:
        rows[col] = pd.to_datetime(rows[col]).astype("datetime64[ns]")
    rows["id"] = rows["id"].astype(str)
    return [
        DatedSnapshot(date, len(part), _to_parquet(part.reset_index(drop=True)), list(part["id"].unique()))
        for date, part in rows.groupby(rows["snapshot_date"].dt.strftime("%Y-%m-%d"), sort=True)
    ]


def weekly_rows(weekly: pd.DataFrame | None) -> tuple[list[str], list[tuple]]:
    """The ISO dates a weekly frame covers and its rows as plain Python tuples (WEEKLY_COLUMNS order)."""
    if weekly is None or not len(weekly):
        return [], []
    w = weekly.copy()
    w["snapshot_date"] = pd.to_datetime(w["snapshot_date"]).dt.strftime("%Y-%m-%d")
    w["rep"] = w["rep"].astype(object).where(w["rep"].notna(), UNASSIGNED_REP)
    rows = list(w[list(WEEKLY_COLUMNS)].astype(object).itertuples(index=False, name=None))
    return sorted(set(w["snapshot_date"])), rows


def snapshot_frame(blob: bytes | None) -> pd.DataFrame:
    """A stored blob as a typed snapshot frame; no blob gives an empty frame with the snapshot columns."""
    if blob is None:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in SNAPSHOT_COLUMNS})
    frame = pd.read_parquet(io.BytesIO(blob))
    for col in DATE_COLUMNS:
        frame[col] = pd.to_datetime(frame[col]).astype("datetime64[ns]")
    for col in ("amount", "win_rate"):
        frame[col] = frame[col].astype("float64")
    return frame


def first_seen_frame(rows: Iterable[tuple]) -> pd.DataFrame:
    """Rows of (ISO first-seen date, id) as the frame the domain reads: snapshot_date and id."""
    frame = pd.DataFrame.from_records(list(rows), columns=["snapshot_date", "id"])
    frame["snapshot_date"] = pd.to_datetime(frame["snapshot_date"])
    return frame


def weekly_frame(rows: Iterable[tuple]) -> pd.DataFrame:
    """Rows in WEEKLY_COLUMNS order (ISO dates) as the weekly per-rep totals frame."""
    frame = pd.DataFrame.from_records(list(rows), columns=list(WEEKLY_COLUMNS), coerce_float=True)
    frame["snapshot_date"] = pd.to_datetime(frame["snapshot_date"])
    frame["rep"] = frame["rep"].mask(frame["rep"].eq(UNASSIGNED_REP))
    return frame


def _to_parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False, compression="zstd")
    return buffer.getvalue()
