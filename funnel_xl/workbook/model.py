"""What an output sheet holds, independent of how it reaches the workbook (zip patch or live Excel).

Report writers fill an ``OutputSheet`` with values and palette style keys; the file adapter renders it to sheet
XML, the live adapter to ranges. Rows and columns are 1-based, as a user reads them.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any, Iterator, NamedTuple, Sequence


class Cell(NamedTuple):
    """One cell: its value and its palette style key (a tuple: an output sheet holds hundreds of thousands)."""

    value: Any
    style: str = "text"


@dataclass(frozen=True)
class Block:
    """A table body kept as columns rather than cells (a 数据问题 sheet may list 50,000 problems): ``columns[j][i]``
    is the value at row ``first_row + i``, column ``first_col + j``; ``styles[j]`` is column j's palette style key,
    or a list of one key per row."""

    first_row: int
    first_col: int
    columns: tuple[list, ...]
    styles: tuple[str | list[str], ...]

    @property
    def length(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    @property
    def last_row(self) -> int:
        return self.first_row + self.length - 1

    @property
    def last_col(self) -> int:
        return self.first_col + len(self.columns) - 1

    def holds_row(self, row: int) -> bool:
        return self.first_row <= row <= self.last_row

    def holds(self, row: int, col: int) -> bool:
        return self.first_row <= row <= self.last_row and self.first_col <= col <= self.last_col

    def column_styles(self, j: int) -> list[str]:
        s = self.styles[j]
        return [s] * self.length if isinstance(s, str) else s

    def cells(self) -> Iterator[tuple[tuple[int, int], Cell]]:
        for j, values in enumerate(self.columns):
            col = self.first_col + j
            for i, (value, style) in enumerate(zip(values, self.column_styles(j))):
                yield (self.first_row + i, col), Cell(value, style)


@dataclass
class OutputSheet:
    """The cells of one output sheet, its column widths, and how many items each chart shows; ``links`` holds the
    in-workbook hyperlinks (cell -> a reference like ``'商机'!A12``).

    A long table body may be kept as a ``Block`` of columns (``put_block``): the file adapter renders it column by
    column. ``cells`` holds every cell, a block's too: asking for it writes the blocks into it, so any reader sees
    one dict, and a ``put`` inside a block does the same first (the later value wins, as it always has)."""

    key: str
    widths: dict[int, float] = field(default_factory=dict)
    heights: dict[int, float] = field(default_factory=dict)
    chart_items: dict[str, int] = field(default_factory=dict)
    links: dict[tuple[int, int], str] = field(default_factory=dict)
    loose: dict[tuple[int, int], Cell] = field(default_factory=dict)  # the cells outside ``blocks``
    blocks: list[Block] = field(default_factory=list)

    @property
    def cells(self) -> dict[tuple[int, int], Cell]:
        """Every cell (the blocks written into the dict of cells, for good)."""
        if self.blocks:
            for block in self.blocks:
                self.loose.update(block.cells())
            self.blocks.clear()
        return self.loose

    def _into_blocks(self, row: int, first_col: int, last_col: int) -> None:
        if any(b.holds_row(row) and first_col <= b.last_col and last_col >= b.first_col for b in self.blocks):
            self.cells  # noqa: B018 - the blocks become cells before one of them is overwritten

    def put(self, row: int, col: int, value: Any, style: str = "text") -> None:
        if self.blocks:
            self._into_blocks(row, col, col)
        self.loose[(row, col)] = Cell(clean_value(value), style)

    def put_row(self, row: int, first_col: int, values: Sequence[Any], styles: Sequence[str] | str) -> None:
        if isinstance(styles, str):
            styles = [styles] * len(values)
        if len(styles) != len(values):
            raise ValueError(f"row {row}: {len(values)} values but {len(styles)} styles")
        if self.blocks:
            self._into_blocks(row, first_col, first_col + len(values) - 1)
        cells, plain = self.loose, _PLAIN
        for col, value, style in zip(range(first_col, first_col + len(values)), values, styles):
            # most cells hold text or a whole number: no cleaning call for them (a 数据问题 sheet has 400,000)
            cells[(row, col)] = Cell(value if value is None or value.__class__ in plain else clean_value(value),
                                     style)

    def put_block(self, first_row: int, first_col: int, columns: Sequence[Sequence[Any]],
                  styles: Sequence[str | Sequence[str]]) -> None:
        """Rows ``first_row``… of columns ``first_col``… from whole columns of values, each column in one style or a
        style per row: what ``put_row`` row after row would hold, kept as columns."""
        if len(styles) != len(columns):
            raise ValueError(f"row {first_row}: {len(columns)} columns but {len(styles)} styles")
        lengths = {len(c) for c in columns} | {len(s) for s in styles if not isinstance(s, str)}
        if len(lengths) > 1:
            raise ValueError(f"row {first_row}: columns of different lengths {sorted(lengths)}")
        if not columns or not lengths or not lengths.pop():
            return
        plain = _PLAIN
        block = Block(first_row, first_col,
                      tuple([v if v is None or v.__class__ in plain else clean_value(v) for v in c] for c in columns),
                      tuple(s if isinstance(s, str) else list(s) for s in styles))
        # Cells already in its place, or a block sharing its rows, make it cells: blocks never share a row.
        if any(block.holds(r, c) for r, c in self.loose) or any(
                b.first_row <= block.last_row and b.last_row >= first_row for b in self.blocks):
            self.cells  # noqa: B018
            self.loose.update(block.cells())
            return
        self.blocks.append(block)

    def value(self, row: int, col: int) -> Any:
        for block in self.blocks:
            if block.holds(row, col):
                return block.columns[col - block.first_col][row - block.first_row]
        cell = self.loose.get((row, col))
        return None if cell is None else cell.value

    @property
    def max_row(self) -> int:
        return max(max((r for r, _ in self.loose), default=1), *(b.last_row for b in self.blocks), 1)

    @property
    def max_col(self) -> int:
        return max(max({c for _, c in self.loose}, default=1), *(b.last_col for b in self.blocks), 1)

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
