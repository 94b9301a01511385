"""How wide a text shows, in Excel column-width units (one Latin digit), so a column can be sized to fit it.

A CJK character is two units wide, as in the fonts Excel and LibreOffice render Chinese with (and in a
terminal); others one. Bold text, as headers are, takes about a tenth more.
"""

from __future__ import annotations

import math
import unicodedata
from functools import lru_cache


@lru_cache(maxsize=1 << 16)
def _line_width(line: str) -> int:
    # Output sheets repeat the same few hundred texts (names, stages, messages) over thousands of cells.
    if line.isascii():
        return len(line)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)


def display_width(text: object, bold: bool = False) -> int | float:
    """Units ``text`` needs on one line (its widest line when it has several)."""
    text = "" if text is None else str(text)
    width = max(map(_line_width, text.split("\n"))) if "\n" in text else _line_width(text)
    return width * 1.1 if bold else width


def lines_needed(text: object, column_width: float, bold: bool = False) -> int:
    """Lines a wrapped cell of ``column_width`` units needs for ``text`` (a unit of padding each side)."""
    usable = max(column_width - 1, 1)
    return max(1, math.ceil(display_width(text, bold) / usable))


# Styles whose text may be wider than its column: titles, stamps, section titles and notes run on to the right over
# empty cells; headers and the strip's names wrap (headers on two lines, the strip's row grows).
RUNS_ON = frozenset({"title", "stamp", "section", "note"})
WRAPS = frozenset({"kpi_label", "header"})
_LARGE = {"kpi_value": 1.5, "kpi_percent": 1.5, "kpi_gap": 1.5}  # 16 pt against the 11 pt body
DEFAULT_WIDTH = 8.43  # Excel's, for a column the sheet does not size
HEADER_LINES = 2      # a header row is two lines high (table.SheetLayout.table)
MAX_WIDTH = 60.0


def shown_text(value: object, style: str) -> str:
    """A cell's value as its number format shows it (the formats of ``layout.PALETTE``)."""
    if value is None:
        return ""
    if isinstance(value, bool) or isinstance(value, str):
        return str(value)
    if isinstance(value, (int, float)):
        if "percent" in style:
            return f"{value:.1%}"
        if "integer" in style:
            return f"{value:,.0f}"
        if "gap" in style and value < 0:
            return f"✓ +{-value:,.1f}"
        if "change" in style:
            return f"▲ {abs(value):,.1f}"
        return f"{value:,.1f}" if style != "money" else f"{value:,.0f}"
    if hasattr(value, "year"):
        return "2026-01-01"
    return str(value)


def needed_width(value: object, style: str) -> float:
    """Column units a cell needs to show whole on one line (a unit of padding included)."""
    bold = style in ("header", "kpi_label") or style.startswith("total")
    return display_width(shown_text(value, style), bold) * _LARGE.get(style, 1.0) + 1


def fit_columns(sheet, max_width: float = MAX_WIDTH) -> None:
    """Widen each column of an ``OutputSheet`` to what its cells need, in whichever language they are written:
    numbers always (a number too wide shows ####), text unless it may run on over an empty cell to its right,
    headers on their two lines; then grow the strip's row of names to the lines they need."""
    need: dict[int, float] = {}
    seen: set[tuple] = set()  # a table repeats its texts (names, stages, messages): each measured once per column

    def measure(c: int, value, style: str, right) -> None:
        if style in RUNS_ON or value is None:
            return
        if right is None and isinstance(value, str) and style not in WRAPS:
            return  # runs on to the right
        key = (c, value.__class__, value, style)
        if key in seen:
            return
        seen.add(key)
        width = needed_width(value, style)
        if style in WRAPS:  # a wrapped line breaks at a character, not at the column's edge: a unit spare
            width = width / HEADER_LINES + 1.5
        need[c] = max(need.get(c, 0.0), min(width, max_width))

    loose = sheet.loose
    for (r, c), (value, style) in loose.items():
        measure(c, value, style, sheet.value(r, c + 1) if isinstance(value, str) else None)
    for block in sheet.blocks:  # column by column; the last one's neighbour is a cell outside the block, if any
        last = len(block.columns) - 1
        for j, (values, styles) in enumerate(zip(block.columns, map(block.column_styles, range(last + 1)))):
            col = block.first_col + j
            rights = block.columns[j + 1] if j < last else [
                None if (cell := loose.get((block.first_row + i, col + 1))) is None else cell.value
                for i in range(block.length)]
            # distinct (value, its type, style, whether the right is blank) first, at C speed: 50,000 rows, few texts
            for value, _, style, right_blank in set(zip(values, map(type, values), styles,
                                                         [x is None for x in rights])):
                measure(col, value, style, None if right_blank else True)
    for c, width in need.items():
        if width > sheet.widths.get(c, DEFAULT_WIDTH):
            sheet.widths[c] = round(width, 1)
    for (r, c), cell in [*loose.items(), *(x for b in sheet.blocks if "kpi_label" in _block_styles(b)
                                            for x in b.cells())]:
        if cell.style == "kpi_label":
            lines = lines_needed(cell.value, sheet.widths.get(c, DEFAULT_WIDTH), bold=True)
            sheet.heights[r] = max(sheet.heights.get(r, 15.0), 15.0 * lines + 4)


def _block_styles(block) -> set[str]:
    return {x for s in block.styles for x in ([s] if isinstance(s, str) else s)}
