"""Whole rows written column by column, and a worksheet part streamed into its zip member as they are joined.

Writing 100,000 table rows cell by cell renders four million cells one at a time. Here each column is factorised
(its distinct values found at C speed), each distinct value is rendered once through the one cell rule
(``cells.cell_body``), and each row is joined from its columns' pieces, a chunk of rows at a time, while the zip
member is written: the part's XML is never held whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from funnel_xl.domain.distinct import distinct
from funnel_xl.workbook.ooxml.refs import col_letter

# Stands for the row number in a pre-rendered piece. No written XML holds it: the escaping rule replaces it in text.
ROW_MARK = "\0"
_MARK = ROW_MARK.encode()
CHUNK_ROWS = 2048


@dataclass(frozen=True)
class ColumnCells:
    """One column of a block of rows: the rendered cell of each distinct value (the blank cell last, so that the
    code -1 picks it) and each row's code."""

    col: int
    pieces: np.ndarray          # object array of b'<c r="B\0" ...>...</c>' (UTF-8: rows are joined as bytes)
    codes: np.ndarray           # one per row; -1 is a blank cell

    def take(self, rows: slice) -> list[bytes]:
        return self.pieces[self.codes[rows]].tolist()


def column_cells(col: int, values: Sequence[Any] | pd.Series | np.ndarray,
                 render: Callable[[Any], str]) -> ColumnCells:
    """Column ``col`` of a block: ``render(value)`` (a cell's body, ``cells.cell_body``; ``render(None)`` is the
    blank cell) once per distinct value of ``values`` (one per row)."""
    uniques, codes = distinct(values)
    head = f'<c r="{col_letter(col)}{ROW_MARK}"'
    pieces = np.empty(len(uniques) + 1, dtype=object)
    pieces[:] = [(head + render(v)).encode("utf-8") for v in [*uniques, None]]
    return ColumnCells(col, pieces, np.asarray(codes, dtype=np.intp))


def constant_column(col: int, body: str, length: int) -> ColumnCells:
    """A column whose every row holds the same cell (a styled empty cell carried along from a template row)."""
    pieces = np.empty(1, dtype=object)
    pieces[0] = f'<c r="{col_letter(col)}{ROW_MARK}"{body}'.encode("utf-8")
    return ColumnCells(col, pieces, np.full(length, -1, dtype=np.intp))


@dataclass(frozen=True)
class RowBlock:
    """New rows of a worksheet, numbered ``rows`` (ascending), each holding the cells of ``columns`` (in column
    order) and opened with ``open_tag`` (its row number written as ``ROW_MARK``)."""

    rows: np.ndarray
    open_tag: str
    columns: tuple[ColumnCells, ...]

    def __len__(self) -> int:
        return len(self.rows)

    def part(self, keep: slice) -> RowBlock:
        return replace(self, rows=self.rows[keep],
                       columns=tuple(replace(c, codes=c.codes[keep]) for c in self.columns))

    def chunks(self, chunk: int = CHUNK_ROWS) -> Iterator[bytes]:
        """The rows' XML (UTF-8), ``chunk`` rows at a time: each row its columns' pieces joined, its number put in."""
        head, tail = self.open_tag.encode("utf-8"), b"</row>"
        for start in range(0, len(self.rows), chunk):
            rows = slice(start, start + chunk)
            cells = [c.take(rows) for c in self.columns]
            yield b"".join([(head + b"".join(row) + tail).replace(_MARK, b"%d" % number)
                            for number, row in zip(self.rows[rows].tolist(), zip(*cells))])


@dataclass(frozen=True)
class StreamedXml:
    """A part's content as pieces, written (UTF-8) as the zip member is: text this write produced, bytes copied as
    they were (``memoryview`` slices of the part read), and blocks of rows joined as they go.

    Iterating gives the bytes in order; ``map_text`` edits the text pieces (each is whole rows or the parts around
    them, so a cell never straddles two pieces)."""

    pieces: tuple[str | bytes | memoryview | RowBlock, ...]

    def __iter__(self) -> Iterator[bytes | memoryview]:
        for piece in self.pieces:
            if isinstance(piece, str):
                yield piece.encode("utf-8")
            elif isinstance(piece, RowBlock):
                yield from piece.chunks()
            else:
                yield piece

    def map_text(self, edit: Callable[[str], str]) -> StreamedXml:
        return StreamedXml(tuple(edit(p) if isinstance(p, str) else p for p in self.pieces))

    def size_bound(self) -> int:
        """At most this many bytes: three per character of text, each row its columns' longest cells (and the row
        number's digits)."""
        size = 0
        for piece in self.pieces:
            if isinstance(piece, str):
                size += 3 * len(piece)
            elif isinstance(piece, RowBlock):
                cells = sum(max(len(p) for p in c.pieces.tolist()) + 8 for c in piece.columns)
                size += len(piece) * (3 * len(piece.open_tag) + 16 + cells)
            else:
                size += len(piece)
        return size

    def text(self) -> str:
        """The whole part as one string (for tests and small parts)."""
        return b"".join(self).decode("utf-8")
