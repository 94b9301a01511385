"""Choose the history of a workbook: the SQLite file beside it, or its team's rows in a PostgreSQL database."""

from __future__ import annotations

from pathlib import Path

from funnel_xl.errors import InputError
from funnel_xl.history.port import HistoryPort
from funnel_xl.history.sqlite import SnapshotStore, history_path


def default_team(workbook: str | Path) -> str:
    """The team a workbook's history is filed under in a shared database: its file name without the extension
    (华东销售.xlsm -> 华东销售), so each team's workbook needs a name of its own, or pass the team explicitly."""
    return Path(workbook).stem


def open_history(workbook: str | Path, url: str | None = None, team: str | None = None) -> HistoryPort:
    """The history of ``workbook``: without ``url`` the SQLite file beside it (``team`` is not needed: the file is
    the team's); with a ``postgresql://`` URL that database, under ``team`` (default: ``default_team``)."""
    if not url:
        return SnapshotStore.for_workbook(workbook)
    return _postgres(workbook, url, team)


def read_history(workbook: str | Path, url: str | None = None, team: str | None = None) -> HistoryPort | None:
    """The history of ``workbook`` opened only to read it (the roll-up reads other teams' histories): the SQLite file
    beside it, read-only, or None where there is none; with ``url`` that database under ``team``."""
    if not url:
        path = history_path(workbook)
        return SnapshotStore(path, read_only=True) if path.is_file() else None
    return _postgres(workbook, url, team)


def _postgres(workbook: str | Path, url: str, team: str | None) -> HistoryPort:
    from funnel_xl.history.postgres import PostgresHistory, is_postgres_url, mask_url

    if not is_postgres_url(url):
        raise InputError(f"the history must be a postgresql:// URL (or left out for the file beside the workbook), "
                         f"got {mask_url(url)!r}")
    return PostgresHistory(url, team or default_team(workbook))
