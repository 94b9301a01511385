"""How wide a text shows, in Excel column-width units (one Latin digit), so a column can be sized to fit it.

A CJK character is two units wide, as in the fonts Excel and LibreOffice render Chinese with (and in a
terminal); others one. Bold text, as headers are, takes about a tenth more.
"""

from __future__ import annotations

import math
import unicodedata


def display_width(text: object, bold: bool = False) -> int | float:
    """Units ``text`` needs on one line (its widest line when it has several)."""
    lines = str(text).split("\n") if text is not None else [""]
    width = max(sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line) for line in lines)
    return width * 1.1 if bold else width


def lines_needed(text: object, column_width: float, bold: bool = False) -> int:
    """Lines a wrapped cell of ``column_width`` units needs for ``text`` (a unit of padding each side)."""
    usable = max(column_width - 1, 1)
    return max(1, math.ceil(display_width(text, bold) / usable))
