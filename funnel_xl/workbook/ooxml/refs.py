"""Cell addresses and sheet-qualified references, as formulas, charts and defined names write them.

``'B4:H20'`` <-> (4, 2, 20, 8); ``'漏斗'!$A$6:$A$12`` <-> a ``SheetRef``. Rows and columns are 1-based.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_CELL = re.compile(r"^\$?([A-Z]{1,3})\$?(\d+)$")
_SHEET_REF = re.compile(
    r"^(?P<sheet>'(?P<q>(?:[^']|'')+)'|(?P<u>[^!']+))!(?P<a>\$?[A-Z]+\$?\d+)(?::(?P<b>\$?[A-Z]+\$?\d+))?$")


@lru_cache(maxsize=16384)
def col_letter(col: int) -> str:
    """1 -> 'A', 27 -> 'AA'."""
    found = _LETTERS.get(col)
    if found is not None:
        return found
    out, n = "", col
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    if len(_LETTERS) < 16384:  # Excel's last column is XFD (16,384): a sheet writer asks for the same few, often
        _LETTERS[col] = out
    return out


_LETTERS: dict[int, str] = {}


def col_number(letters: str) -> int:
    """'A' -> 1, 'AA' -> 27."""
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def cell_to_rowcol(cell: str) -> tuple[int, int]:
    """'$B$4' or 'B4' -> (4, 2)."""
    m = _CELL.match(cell.strip())
    if not m:
        raise ValueError(f"not a cell reference: {cell!r}")
    return int(m.group(2)), col_number(m.group(1))


def split_ref(ref: str) -> tuple[int, int, int, int]:
    """'B4:H20' -> (first_row, first_col, last_row, last_col), 1-based."""
    a, _, b = ref.partition(":")
    r1, c1 = cell_to_rowcol(a)
    r2, c2 = cell_to_rowcol(b or a)
    return r1, c1, r2, c2


def range_ref(r1: int, c1: int, r2: int, c2: int, *, absolute: bool = False) -> str:
    """(4, 2, 20, 8) -> 'B4:H20' (or '$B$4:$H$20')."""
    d = "$" if absolute else ""
    return f"{d}{col_letter(c1)}{d}{r1}:{d}{col_letter(c2)}{d}{r2}"


def quote_sheet(name: str) -> str:
    """A sheet name as a formula or chart reference writes it: in apostrophes, an apostrophe doubled."""
    return "'" + name.replace("'", "''") + "'"


@dataclass(frozen=True)
class SheetRef:
    """One sheet-qualified cell or range: the sheet (as named and as written), its corners, and whether it was
    written as a range (a chart over one row says ``$D$6``, not ``$D$6:$D$6``)."""

    sheet: str
    written: str
    r1: int
    c1: int
    r2: int
    c2: int
    is_range: bool

    def text(self, *, quoted: bool = False) -> str:
        """The reference in absolute form, the sheet as written or (``quoted``) always in apostrophes."""
        sheet = quote_sheet(self.sheet) if quoted else self.written
        first = f"${col_letter(self.c1)}${self.r1}"
        return f"{sheet}!{first}:${col_letter(self.c2)}${self.r2}" if self.is_range else f"{sheet}!{first}"


def parse_sheet_ref(text: str) -> SheetRef | None:
    """``'Sheet'!$A$1:$B$9`` (or ``Sheet!A1``) as a ``SheetRef``; None for anything else (several areas, names)."""
    m = _SHEET_REF.match(text.strip())
    if not m:
        return None
    sheet = m.group("q").replace("''", "'") if m.group("q") else m.group("u")
    r1, c1 = cell_to_rowcol(m.group("a"))
    r2, c2 = cell_to_rowcol(m.group("b") or m.group("a"))
    return SheetRef(sheet, m.group("sheet"), r1, c1, r2, c2, bool(m.group("b")))
