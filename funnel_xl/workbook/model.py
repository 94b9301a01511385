"""What an output sheet holds, independent of how it reaches the workbook (zip patch or live Excel).

Report writers fill an ``OutputSheet`` with values and palette style keys; the file adapter renders it to sheet
XML, the live adapter to ranges. Rows and columns are 1-based, as a user reads them.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Sequence


class Cell(NamedTuple):
    """One cell: its value and its palette style key (a tuple: an output sheet holds hundreds of thousands)."""

    value: Any
    style: str = "text"


@dataclass
class OutputSheet:
    """The cells of one output sheet, its column widths, and how many items each chart shows; ``links`` holds the
    in-workbook hyperlinks (cell -> a reference like ``'商机'!A12``)."""

    key: str
    cells: dict[tuple[int, int], Cell] = field(default_factory=dict)
    widths: dict[int, float] = field(default_factory=dict)
    heights: dict[int, float] = field(default_factory=dict)
    chart_items: dict[str, int] = field(default_factory=dict)
    links: dict[tuple[int, int], str] = field(default_factory=dict)

    def put(self, row: int, col: int, value: Any, style: str = "text") -> None:
        self.cells[(row, col)] = Cell(clean_value(value), style)

    def put_row(self, row: int, first_col: int, values: Sequence[Any], styles: Sequence[str] | str) -> None:
        if isinstance(styles, str):
            styles = [styles] * len(values)
        if len(styles) != len(values):
            raise ValueError(f"row {row}: {len(values)} values but {len(styles)} styles")
        cells, plain = self.cells, _PLAIN
        for col, value, style in zip(range(first_col, first_col + len(values)), values, styles):
            # most cells hold text or a whole number: no cleaning call for them (a 数据问题 sheet has 400,000)
            cells[(row, col)] = Cell(value if value is None or value.__class__ in plain else clean_value(value),
                                     style)

    def value(self, row: int, col: int) -> Any:
        cell = self.cells.get((row, col))
        return None if cell is None else cell.value

    @property
    def max_row(self) -> int:
        return max((r for r, _ in self.cells), default=1)

    @property
    def max_col(self) -> int:
        return max({c for _, c in self.cells}, default=1)

    def rows(self) -> list[list[Any]]:
        """The sheet as a dense list of rows of values (None where empty), from A1."""
        out = [[None] * self.max_col for _ in range(self.max_row)]
        for (r, c), cell in self.cells.items():
            out[r - 1][c - 1] = cell.value
        return out


_PLAIN = frozenset({str, int, bool})


def clean_value(value: Any) -> Any:
    """Values a sheet can hold: None for NA/NaN, plain Python numbers, dates, strings."""
    if value is None or value.__class__ in _PLAIN:  # most cells: nothing to change
        return value
    if value.__class__ is float:
        return None if math.isnan(value) or math.isinf(value) else value
    try:
        import pandas as pd

        if value is pd.NaT or (not isinstance(value, (str, bytes)) and pd.isna(value)):
            return None
        if isinstance(value, pd.Timestamp):
            return value.to_pydatetime()
    except (TypeError, ValueError):
        pass
    if isinstance(value, bool):
        return value
    if hasattr(value, "item") and not isinstance(value, (str, dt.date)):
        value = value.item()  # numpy scalar
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value
