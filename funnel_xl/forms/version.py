"""The version token of a master row: a stable hash of the row's canonical values at the time a form is sent.

Collect compares the token in a returned form with the master row's current token; a difference means someone
changed the row after the form went out, so the form's answers are not merged over the newer data.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from funnel_xl.domain.parsing import is_blank
from funnel_xl.domain.schema import OPPORTUNITY_COLUMNS, CHECKLIST_PREFIX, display_value

TOKEN_LENGTH = 16


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
