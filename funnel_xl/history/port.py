"""The history port: what a recalculation (and later a roll-up) asks of the weekly snapshot history.

Two adapters implement it: ``SnapshotStore`` (a SQLite file beside the workbook, the embedded default) and
``PostgresHistory`` (one database for every team of a company). ``HistoryStore`` holds what both share, so an
adapter only says how to run its few queries.

Saving is one transaction, and it is idempotent: saving a date again replaces that date's snapshot and weekly rows
(first-seen dates only ever move earlier). ``staged`` keeps the transaction open while the caller finishes its own
write, so the workbook and its history can be committed together; a journal that replays a save after a crash
between the two commits is safe for the same reason.
"""

from __future__ import annotations

import abc
import contextlib
import datetime as dt
from collections.abc import Iterator, Mapping
from typing import ContextManager, Protocol, runtime_checkable

import pandas as pd

from funnel_xl.history.codec import (
    DatedSnapshot,
    dated_snapshots,
    first_seen_frame,
    snapshot_frame,
    weekly_frame,
    weekly_rows,
)


@runtime_checkable
class HistoryPort(Protocol):
    """The weekly history of one team's workbook."""

    def dates(self) -> list[dt.date]: ...
    def previous_week(self, as_of: dt.date) -> dt.date | None: ...
    def snapshot(self, date: dt.date) -> pd.DataFrame: ...
    def first_seen(self) -> pd.DataFrame: ...
    def weekly(self) -> pd.DataFrame: ...
    def strip(self, date: dt.date) -> dict[str, float]: ...
    def save(self, snapshot: pd.DataFrame, weekly: pd.DataFrame | None = None,
             strip: Mapping[str, float | None] | None = None) -> None: ...
    def staged(self, snapshot: pd.DataFrame, weekly: pd.DataFrame | None = None,
               strip: Mapping[str, float | None] | None = None) -> ContextManager[None]: ...
    def close(self) -> None: ...
    def __enter__(self) -> "HistoryPort": ...
    def __exit__(self, *exc) -> None: ...


class HistoryStore(abc.ABC):
    """The port's operations written once over an adapter's primitive queries (dates travel as ISO text)."""

    # -- what an adapter provides -----------------------------------------------------------------------
    @abc.abstractmethod
    def _date_rows(self) -> list[str]:
        """Every snapshot date, ascending."""

    @abc.abstractmethod
    def _latest(self, bound: str, inclusive: bool) -> str | None:
        """The latest snapshot date on or before (inclusive) or strictly before ``bound``."""

    @abc.abstractmethod
    def _blob(self, date: str) -> bytes | None:
        """The Parquet blob stored for a date."""

    @abc.abstractmethod
    def _seen_rows(self) -> list[tuple]:
        """(first-seen date, id) per opportunity."""

    @abc.abstractmethod
    def _weekly_rows(self) -> list[tuple]:
        """Weekly rows ordered by date, then rep by code point."""

    @abc.abstractmethod
    def _transaction(self) -> ContextManager[None]:
        """A write transaction: committed when the block ends, rolled back if it raises."""

    @abc.abstractmethod
    def _write(self, parts: list[DatedSnapshot], weekly_dates: list[str], weekly: list[tuple]) -> None:
        """Replace the snapshots, first-seen dates and weekly rows of those dates, inside the open transaction."""

    @abc.abstractmethod
    def _strip_rows(self, date: str) -> list[tuple]:
        """(key, value) of the KPI strip stored for a date."""

    @abc.abstractmethod
    def _write_strip(self, date: str, rows: list[tuple]) -> None:
        """Replace a date's KPI strip with ``rows`` (key, value), inside the open transaction."""

    @abc.abstractmethod
    def close(self) -> None: ...

    # -- the port -------------------------------------------------------------------------------------
    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def dates(self) -> list[dt.date]:
        return [dt.date.fromisoformat(d) for d in self._date_rows()]

    def previous_week(self, as_of: dt.date) -> dt.date | None:
        """The snapshot to compare this week with: the latest at least 7 days before as_of, else the latest before it."""
        week_ago = (as_of - dt.timedelta(days=7)).isoformat()
        for bound, inclusive in ((week_ago, True), (as_of.isoformat(), False)):
            latest = self._latest(bound, inclusive)
            if latest:
                return dt.date.fromisoformat(latest)
        return None

    def snapshot(self, date: dt.date) -> pd.DataFrame:
        return snapshot_frame(self._blob(date.isoformat()))

    def first_seen(self) -> pd.DataFrame:
        """One row per opportunity ever snapshotted: id and the date it first appeared (as snapshot_date)."""
        return first_seen_frame(self._seen_rows())

    def weekly(self) -> pd.DataFrame:
        return weekly_frame(self._weekly_rows())

    def strip(self, date: dt.date) -> dict[str, float]:
        """The KPI strip stored with a date's snapshot ({} before the strip was stored), for "change since last week"."""
        return {key: value for key, value in self._strip_rows(date.isoformat())}

    def save(self, snapshot: pd.DataFrame, weekly: pd.DataFrame | None = None,
             strip: Mapping[str, float | None] | None = None) -> None:
        """Store a snapshot (replacing one of the same date), its per-rep totals and its KPI strip, in one
        transaction."""
        with self.staged(snapshot, weekly, strip):
            pass

    @contextlib.contextmanager
    def staged(self, snapshot: pd.DataFrame, weekly: pd.DataFrame | None = None,
               strip: Mapping[str, float | None] | None = None) -> Iterator[None]:
        """Write a save inside a transaction that commits only when the caller's block ends without an error."""
        parts = dated_snapshots(snapshot)  # encoded before the transaction opens, so it stays short
        weekly_dates, weekly_values = weekly_rows(weekly)
        strip_rows = [(k, float(v)) for k, v in (strip or {}).items() if v is not None]
        with self._transaction():
            self._write(parts, weekly_dates, weekly_values)
            if strip is not None:
                for part in parts:
                    self._write_strip(part.date, strip_rows)
            yield
