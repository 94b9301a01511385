"""A worksheet part kept as the bytes it was read as: its rows found once, read and replaced one at a time, new rows
put in their place, every other byte copied into the part written back as it was.

A 100,000-row table is 400 MB of sheet XML. Decoded, patched as one string and encoded again it would be held three
times over and cost seconds per pass; here only the rows an edit touches are decoded, and the part is written back
as a ``StreamedXml``: the untouched stretches as slices of the original bytes, the edited rows as text.
"""

from __future__ import annotations

import bisect
import re

import numpy as np

from funnel_xl.workbook.ooxml.row_block import RowBlock, StreamedXml

_ROW_START = re.compile(rb'<row\b[^>]*?\br="(\d+)"')
_SHEET_DATA = re.compile(rb"<sheetData\s*/>|<sheetData\s*>")


class SheetPart:
    """The rows of one worksheet part by number, and the text around them (``head`` up to and including
    ``<sheetData>``, ``tail`` from ``</sheetData>``), which an edit may change (the dimension, ranges that grow).

    Rows are found where an edit needs them, not all at once: a row start every ``MARK_BYTES`` or so is noted when
    the part is opened, and a row is looked for between the two marks around its number (a collect touches 1,000 of
    100,000 rows; finding every row took most of a second). Rows out of order or twice are refused where they are
    met: between marks when the part is opened, and in the stretch an edit reads.
    """

    MARK_BYTES = 64 << 10

    def __init__(self, data: bytes) -> None:
        opening = _SHEET_DATA.search(data)
        if opening is None:
            raise ValueError("worksheet part has no <sheetData>")
        self.data = memoryview(data)
        if opening.group(0).endswith(b"/>"):
            self.start = self.end = opening.end()
            self.head = data[:opening.start()].decode("utf-8") + "<sheetData>"
            self.tail = "</sheetData>" + data[opening.end():].decode("utf-8")
        else:
            self.start = opening.end()
            self.end = data.rindex(b"</sheetData>")
            if self.end < self.start:
                raise ValueError("worksheet part has no </sheetData> after its <sheetData>")
            self.head = data[:self.start].decode("utf-8")
            self.tail = data[self.end:].decode("utf-8")
        self._bytes = data
        marks: list[tuple[int, int]] = []  # (row number, where its <row starts)
        pos = self.start
        while (m := _ROW_START.search(data, pos, self.end)) is not None:
            marks.append((int(m.group(1)), m.start()))
            pos = max(m.end(), m.start() + self.MARK_BYTES)
        _check_order([n for n, _ in marks])
        self._mark_numbers = [n for n, _ in marks]
        self._mark_starts = [s for _, s in marks]
        self._windows: dict[int, list[tuple[int, int]]] = {}

    @property
    def numbers(self) -> list[int]:
        """Every row's number, in order (a whole pass over the part)."""
        return [int(m.group(1)) for m in _ROW_START.finditer(self._bytes, self.start, self.end)]

    def _window(self, i: int) -> list[tuple[int, int]]:
        """(number, start) of the rows from mark ``i`` (-1: the start of <sheetData>) to the next mark."""
        if i not in self._windows:
            lo = self._mark_starts[i] if i >= 0 else self.start
            hi = self._mark_starts[i + 1] if i + 1 < len(self._mark_starts) else self.end
            found = [(int(m.group(1)), m.start()) for m in _ROW_START.finditer(self._bytes, lo, hi)]
            _check_order([n for n, _ in found])
            self._windows[i] = found
        return self._windows[i]

    def _locate(self, row: int) -> tuple[int, int | None, int | None]:
        """Where row ``row`` starts (or would go), where it ends (None when the part has no such row), and the
        number of the first row after it (None when there is none)."""
        i = bisect.bisect_right(self._mark_numbers, row) - 1
        hi = self._mark_starts[i + 1] if i + 1 < len(self._mark_starts) else self.end
        after = self._mark_numbers[i + 1] if i + 1 < len(self._mark_numbers) else None
        window = self._window(i)
        k = bisect.bisect_left(window, (row, -1))
        if k == len(window):
            return hi, None, after
        number, start = window[k]
        if number != row:
            return start, None, number
        if k + 1 < len(window):
            return start, window[k + 1][1], window[k + 1][0]
        return start, hi, after

    def __contains__(self, row: int) -> bool:
        return self._locate(row)[1] is not None

    def row(self, row: int) -> str | None:
        """Row ``row``'s ``<row>`` element as text, or None when the part has no such row."""
        start, end, _ = self._locate(row)
        if end is None:
            return None
        return bytes(self.data[start:end]).decode("utf-8")

    def written(self, rows: dict[int, str], block: RowBlock | None = None) -> StreamedXml:
        """The part with ``rows`` (row number -> ``<row>`` text) in place of the rows of those numbers or put where
        their numbers go, and ``block``'s rows (none of which the part has) put where theirs go."""
        events: list[tuple[int, int, str | RowBlock, int | None]] = []  # (where, order, content, end replaced)
        for number, xml in rows.items():
            start, end, _ = self._locate(number)
            events.append((start, 0 if end is None else 1, xml, end))
        if block is not None and len(block):
            first = 0
            while first < len(block):  # the block's rows in runs, each run between two rows of the part
                start, _, after = self._locate(int(block.rows[first]))
                last = len(block) if after is None else int(np.searchsorted(block.rows, after))
                events.append((start, 0, block.part(slice(first, last)), None))
                first = last
        events.sort(key=lambda e: (e[0], e[1], _first_row(e[2])))
        pieces: list[str | memoryview | RowBlock] = [self.head]
        pos = self.start
        for here, _, content, end in events:
            if here > pos:
                pieces.append(self.data[pos:here])
            pieces.append(content)
            pos = end if end is not None else max(pos, here)
        if self.end > pos:
            pieces.append(self.data[pos:self.end])
        pieces.append(self.tail)
        return StreamedXml(tuple(pieces))


def _check_order(numbers: list[int]) -> None:
    if any(a >= b for a, b in zip(numbers, numbers[1:])):
        raise ValueError("worksheet part has rows out of order or twice")


def _first_row(content: str | RowBlock) -> int:
    if isinstance(content, RowBlock):
        return int(content.rows[0])
    return int(re.match(r'<row\b[^>]*?\br="(\d+)"', content).group(1))
