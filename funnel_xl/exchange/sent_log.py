"""The sent-log of a forms folder (``sent-log.csv``): one line per message the mail server accepted.

``send`` writes a line the moment the server has accepted a message (recipient, rep, file, the file's SHA-256,
message id, time), forced to disk, so after a failure or a kill the log says exactly who got mail. ``send
--resume`` skips every message whose recipient, file and file content the log already holds; forms generated
anew (other content) are sent again. The log opens in Excel (UTF-8 with a byte-order mark).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import os
from dataclasses import astuple, dataclass, fields
from pathlib import Path

SENT_LOG = "sent-log.csv"


@dataclass(frozen=True)
class SentEntry:
    sent_at: str
    recipient: str
    rep: str
    file: str
    sha256: str
    message_id: str

    def key(self) -> tuple[str, str, str]:
        return self.recipient.lower(), self.file, self.sha256


def file_digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class SentLog:
    """The messages already sent from one forms folder."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._entries = self._read()

    def _read(self) -> list[SentEntry]:
        if not self.path.exists():
            return []
        names = [f.name for f in fields(SentEntry)]
        with open(self.path, encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
        return [SentEntry(**{n: row.get(n) or "" for n in names}) for row in rows]

    @property
    def entries(self) -> list[SentEntry]:
        return list(self._entries)

    def holds(self, recipient: str, file: str, sha256: str) -> SentEntry | None:
        key = (recipient.lower(), file, sha256)
        return next((e for e in self._entries if e.key() == key), None)

    def record(self, recipient: str, rep: str, file: str, sha256: str, message_id: str,
               when: dt.datetime | None = None) -> SentEntry:
        """Append one line and force it to disk before the next message goes out."""
        entry = SentEntry((when or dt.datetime.now()).isoformat(timespec="seconds"), recipient, rep, file, sha256,
                          message_id)
        new = not self.path.exists() or self.path.stat().st_size == 0
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        if new:
            writer.writerow([f.name for f in fields(SentEntry)])
        writer.writerow(astuple(entry))
        with open(self.path, "a", encoding="utf-8-sig" if new else "utf-8", newline="") as fh:
            fh.write(out.getvalue())
            fh.flush()
            os.fsync(fh.fileno())
        self._entries.append(entry)
        return entry
