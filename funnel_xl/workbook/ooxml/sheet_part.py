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
    ``<sheetData>``, ``tail`` from ``</sheetData>``), which an edit may change (the dimension, ranges that grow)."""

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
            self.end = data.index(b"</sheetData>", self.start)
            self.head = data[:self.start].decode("utf-8")
            self.tail = data[self.end:].decode("utf-8")
        found = [(int(m.group(1)), m.start()) for m in _ROW_START.finditer(data, self.start, self.end)]
        self.numbers = [n for n, _ in found]
        if self.numbers != sorted(set(self.numbers)):
            raise ValueError("worksheet part has rows out of order or twice")
        starts = [s for _, s in found] + [self.end]
        self._spans = {n: (starts[i], starts[i + 1]) for i, n in enumerate(self.numbers)}

    def __contains__(self, row: int) -> bool:
        return row in self._spans

    def row(self, row: int) -> str | None:
        """Row ``row``'s ``<row>`` element as text, or None when the part has no such row."""
        span = self._spans.get(row)
        if span is None:
            return None
        return bytes(self.data[span[0]:span[1]]).decode("utf-8")

    def written(self, rows: dict[int, str], block: RowBlock | None = None) -> StreamedXml:
        """The part with ``rows`` (row number -> ``<row>`` text) in place of the rows of those numbers or put where
        their numbers go, and ``block``'s rows (none of which the part has) put where theirs go."""
        events: list[tuple[int, int, str | RowBlock, bool]] = []  # (before row index, order, content, replaces)
        for number, xml in rows.items():
            events.append((bisect.bisect_left(self.numbers, number), 1 if number in self._spans else 0, xml,
                           number in self._spans))
        if block is not None and len(block):
            at = np.searchsorted(np.asarray(self.numbers, dtype=np.int64), block.rows)
            cuts = np.flatnonzero(np.diff(at)) + 1
            for first, last in zip([0, *cuts.tolist()], [*cuts.tolist(), len(block)]):
                events.append((int(at[first]), 0, block.part(slice(first, last)), False))
        events.sort(key=lambda e: (e[0], e[1], _first_row(e[2])))
        pieces: list[str | memoryview | RowBlock] = [self.head]
        pos = self.start
        for index, _, content, replaces in events:
            here = self._spans[self.numbers[index]][0] if index < len(self.numbers) else self.end
            if here > pos:
                pieces.append(self.data[pos:here])
            pieces.append(content)
            pos = self._spans[self.numbers[index]][1] if replaces else max(pos, here)
        if self.end > pos:
            pieces.append(self.data[pos:self.end])
        pieces.append(self.tail)
        return StreamedXml(tuple(pieces))


def _first_row(content: str | RowBlock) -> int:
    if isinstance(content, RowBlock):
        return int(content.rows[0])
    return int(re.match(r'<row\b[^>]*?\br="(\d+)"', content).group(1))
