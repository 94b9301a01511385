"""Copy a history from one store to another, e.g. a team's SQLite file into the company database when it moves."""

from __future__ import annotations

from funnel_xl.history.port import HistoryPort


def copy_history(source: HistoryPort, target: HistoryPort) -> int:
    """Save every date of ``source`` into ``target`` (replacing those dates there), oldest first, one transaction per
    date so a year of large snapshots never sits in memory at once. Returns the number of dates copied."""
    weekly = source.weekly()
    dates = sorted(set(source.dates()) | {d.date() for d in weekly["snapshot_date"]})
    for date in dates:
        target.save(source.snapshot(date), weekly[weekly["snapshot_date"].dt.date == date], source.strip(date) or None)
    return len(dates)
