"""Files as they arrive broken, for the fault tests of every layer: an encrypted workbook, an old .xls, a member
whose bytes no longer match its CRC."""

from __future__ import annotations

import os
import struct
import zipfile
from pathlib import Path

from funnel_xl.workbook.vba.compound_file import compound_file


def encrypted_workbook() -> bytes:
    """What Excel writes for a workbook with an open password: an OLE compound file holding EncryptionInfo and
    EncryptedPackage streams (the package itself encrypted, so it is no zip at all)."""
    return compound_file({"EncryptionInfo": b"\x04\x00\x04\x00\x40\x00\x00\x00" + os.urandom(200),
                          "EncryptedPackage": os.urandom(4096)})


def old_xls() -> bytes:
    """An Excel 97-2003 workbook: an OLE compound file with a Workbook stream."""
    return compound_file({"Workbook": os.urandom(4096)})


def damage_member(path: Path, member: str) -> Path:
    """Flip one bit in the middle of ``member``'s compressed bytes, in place: the member no longer inflates to
    the bytes its CRC was computed from (as a bad sector or a cut download leaves it)."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26: info.header_offset + 30])
    start = info.header_offset + 30 + name_len + extra_len
    data[start + info.compress_size // 2] ^= 0x01
    path.write_bytes(bytes(data))
    return path
