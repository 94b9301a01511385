"""The version token and the seal of a form.

The version token is a stable hash of a master row's canonical values at the time a form is sent: collect
compares it with the row's current token, and a difference means someone changed the row after the form went
out, so the form's answers are not merged over the newer data.

The seal makes a form hard to forge: an HMAC, keyed with a secret kept in the master (``new_form_key``; the
workbook keeps it as a hidden name, never in a form or an export), over the opportunity id, the rep and the
version token. A rep who edits a form's hidden block to point at another deal, another rep or another version
cannot compute the matching seal without the master, so collect refuses the form.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from typing import Any

from funnel_xl.domain.parsing import is_blank
from funnel_xl.domain.schema import OPPORTUNITY_COLUMNS, CHECKLIST_PREFIX, display_value

TOKEN_LENGTH = 16
SEAL_LENGTH = 32   # 128 bits of the HMAC-SHA256
KEY_BYTES = 32


def canonical_value(value: Any) -> str:
    """A cell value as text that does not depend on the reader: blanks are '', 1300000.0 and 1300000 agree."""
    if is_blank(value):
        return ""
    if isinstance(value, str):
        return value.strip()
    return display_value(value)


def version_token(row: Mapping[str, Any]) -> str:
    """Hash of the canonical columns (fields and checklist) of one raw master row; other columns are ignored.

    Derived columns and columns the user added are left out, so recalculating or adding a column of one's own
    does not turn every form out in the field into a conflict.
    """
    keys = sorted(k for k in row if k in OPPORTUNITY_COLUMNS or str(k).startswith(CHECKLIST_PREFIX))
    payload = json.dumps([[k, canonical_value(row[k])] for k in keys], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:TOKEN_LENGTH]


def new_form_key() -> bytes:
    """A fresh secret for a master's seals (kept in the master, never sent)."""
    return secrets.token_bytes(KEY_BYTES)


def seal(key: bytes, opportunity: str, rep: str, token: str) -> str:
    """The seal of a form: HMAC-SHA256 under the master's key of the opportunity id, the rep and the version token,
    as the form's hidden block holds them."""
    payload = json.dumps([opportunity, rep, token], ensure_ascii=False, separators=(",", ":"))
    return hmac.new(key, payload.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:SEAL_LENGTH]


def seal_verifies(key: bytes | None, opportunity: str, rep: str, token: str, found: str) -> bool:
    """Whether ``found`` is the seal the master's ``key`` gives (False without a key)."""
    return key is not None and hmac.compare_digest(seal(key, opportunity, rep, token), found or "")
