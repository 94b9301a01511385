"""MS-CFB: a version 3 compound file (512-byte sectors) holding nested storages and streams.

Only what a VBA project needs: no DIFAT sectors (so at most about 7 MB), zero timestamps, a fixed sector
layout, so the same tree always gives the same bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass

from funnel_xl.workbook.vba.errors import VbaProjectError

_SECTOR = 512
_MINI_SECTOR = 64
_MINI_CUTOFF = 4096
_ENTRIES_PER_SECTOR = _SECTOR // 128
_IDS_PER_SECTOR = _SECTOR // 4
_FREESECT, _ENDOFCHAIN, _FATSECT, _NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
_HEADER_DIFAT = 109
_STORAGE, _STREAM, _ROOT = 1, 2, 5
_BLACK = 1


@dataclass
class _Entry:
    name: str
    kind: int
    data: bytes = b""
    children: list[int] | None = None
    left: int = _NOSTREAM
    right: int = _NOSTREAM
    child: int = _NOSTREAM
    start: int = _ENDOFCHAIN


def _cfb_order(name: str) -> tuple[int, str]:
    # Directory siblings are ordered by name length first, then by upper-cased name (MS-CFB 2.6.4).
    return len(name.encode("utf-16-le")), name.upper()


def _flatten(tree: Mapping[str, bytes | Mapping], entries: list[_Entry], parent: _Entry) -> None:
    parent.children = []
    for name, node in tree.items():
        if len(name) > 31:
            raise VbaProjectError(f"compound file entry name {name!r} is longer than 31 characters")
        entry = _Entry(name, _STREAM if isinstance(node, (bytes, bytearray)) else _STORAGE)
        parent.children.append(len(entries))
        entries.append(entry)
        if entry.kind == _STREAM:
            entry.data = bytes(node)  # type: ignore[arg-type]
        else:
            _flatten(node, entries, entry)  # type: ignore[arg-type]


def _link_siblings(entries: list[_Entry], ids: list[int]) -> int:
    """Arrange one storage's children as a balanced binary search tree (all black); returns its root."""
    if not ids:
        return _NOSTREAM
    middle = len(ids) // 2
    root = entries[ids[middle]]
    root.left = _link_siblings(entries, ids[:middle])
    root.right = _link_siblings(entries, ids[middle + 1:])
    return ids[middle]


def _chain(fat: list[int], first: int, count: int) -> None:
    for i in range(first, first + count - 1):
        fat[i] = i + 1
    fat[first + count - 1] = _ENDOFCHAIN


def _sectors(size: int, unit: int) -> int:
    return -(-size // unit)


def compound_file(tree: Mapping[str, bytes | Mapping]) -> bytes:
    """A compound file (MS-CFB, version 3, 512-byte sectors) holding ``tree``: a name maps to a
    stream's bytes or to a nested mapping (a storage). Timestamps are zero, so output is reproducible."""
    root = _Entry("Root Entry", _ROOT)
    entries = [root]
    _flatten(tree, entries, root)
    for entry in entries:
        if entry.children is not None:
            entry.child = _link_siblings(entries, sorted(entry.children, key=lambda i: _cfb_order(entries[i].name)))

    streams = [e for e in entries if e.kind == _STREAM]
    small = [e for e in streams if len(e.data) < _MINI_CUTOFF]
    big = [e for e in streams if len(e.data) >= _MINI_CUTOFF]

    mini_fat: list[int] = []
    mini_stream = bytearray()
    for entry in small:
        count = _sectors(len(entry.data), _MINI_SECTOR)
        if count:
            entry.start = len(mini_fat)
            mini_fat += [0] * count
            _chain(mini_fat, entry.start, count)
            mini_stream += entry.data.ljust(count * _MINI_SECTOR, b"\x00")

    # Sector layout: big streams, the mini stream, the directory, the mini FAT, then the FAT itself.
    layout: list[tuple[int, bytes]] = []   # (first sector, padded bytes)
    next_sector = 0

    def place(data: bytes) -> int:
        nonlocal next_sector
        count = _sectors(len(data), _SECTOR)
        if not count:
            return _ENDOFCHAIN
        first = next_sector
        layout.append((first, data.ljust(count * _SECTOR, b"\x00")))
        next_sector += count
        return first

    for entry in big:
        entry.start = place(entry.data)
    root.start = place(bytes(mini_stream))
    root.data = bytes(mini_stream)
    dir_count = _sectors(len(entries), _ENTRIES_PER_SECTOR)
    dir_start = next_sector
    next_sector += dir_count
    mini_fat_bytes = struct.pack(f"<{len(mini_fat)}I", *mini_fat)
    mini_fat_start = place(mini_fat_bytes.ljust(_sectors(len(mini_fat_bytes), _SECTOR) * _SECTOR, b"\xff"))
    mini_fat_count = _sectors(len(mini_fat_bytes), _SECTOR)

    fat_count = 1
    while fat_count * _IDS_PER_SECTOR < next_sector + fat_count:
        fat_count += 1
    if fat_count > _HEADER_DIFAT:
        raise VbaProjectError("the VBA project is too large for a compound file without DIFAT sectors (~7 MB)")
    fat = [_FREESECT] * (fat_count * _IDS_PER_SECTOR)
    for first, data in layout:
        _chain(fat, first, len(data) // _SECTOR)
    _chain(fat, dir_start, dir_count)
    fat_start = next_sector
    for i in range(fat_start, fat_start + fat_count):
        fat[i] = _FATSECT

    directory = bytearray()
    for entry in entries:
        wide = entry.name.encode("utf-16-le") + b"\x00\x00"
        size = len(entry.data) if entry.kind != _STORAGE else 0
        start = entry.start if entry.kind != _STORAGE else 0
        directory += struct.pack(
            "<64sHBBIII16sIQQIQ", wide, len(wide), entry.kind, _BLACK,
            entry.left, entry.right, entry.child, bytes(16), 0, 0, 0, start, size,
        )
    unused = struct.pack("<64sHBBIII16sIQQIQ", b"", 0, 0, 0, _NOSTREAM, _NOSTREAM, _NOSTREAM, bytes(16), 0, 0, 0, 0, 0)
    directory += unused * (dir_count * _ENTRIES_PER_SECTOR - len(entries))

    difat = [fat_start + i for i in range(fat_count)] + [_FREESECT] * (_HEADER_DIFAT - fat_count)
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII",
        bytes.fromhex("D0CF11E0A1B11AE1"), bytes(16), 0x003E, 0x0003, 0xFFFE, 9, 6, bytes(6),
        0, fat_count, dir_start, 0, _MINI_CUTOFF,
        mini_fat_start if mini_fat_count else _ENDOFCHAIN, mini_fat_count, _ENDOFCHAIN, 0,
    ) + struct.pack(f"<{_HEADER_DIFAT}I", *difat)

    body = bytearray(next_sector * _SECTOR + fat_count * _SECTOR)
    for first, data in layout:
        body[first * _SECTOR:first * _SECTOR + len(data)] = data
    body[dir_start * _SECTOR:(dir_start + dir_count) * _SECTOR] = directory
    body[fat_start * _SECTOR:] = struct.pack(f"<{len(fat)}I", *fat)
    return header + bytes(body)
