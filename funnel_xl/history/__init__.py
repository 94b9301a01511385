"""The weekly snapshot history: a port, its SQLite adapter (the file beside the workbook, the default) and its
PostgreSQL adapter (one database for every team of a company, imported only when asked for)."""

from funnel_xl.history.copy import copy_history
from funnel_xl.history.factory import default_team, open_history, read_history
from funnel_xl.history.port import HistoryPort, HistoryStore
from funnel_xl.history.sqlite import SnapshotStore, history_path

__all__ = ["HistoryPort", "HistoryStore", "SnapshotStore", "copy_history", "default_team", "history_path",
           "open_history", "read_history"]
