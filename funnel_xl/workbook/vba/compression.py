"""MS-OVBA 2.4.1 compression: how every module stream and the ``dir`` stream of a VBA project are stored.

Linear in the input (a bounded candidate search per position) and reproducing the specification's worked
examples (MS-OVBA 3.2) byte for byte.
"""

from __future__ import annotations

import struct

_CHUNK = 4096
_MIN_MATCH = 3
# Candidates tried per position: bounds the work per chunk, so compression is linear in the input.
_MAX_CANDIDATES = 64


def _copy_token_bits(difference: int) -> int:
    """CopyToken Help (MS-OVBA 2.4.1.3.19.1): bits of a copy token used for the offset."""
    return max((difference - 1).bit_length(), 4)


def _common_length(buf: bytes, a: int, b: int, limit: int) -> int:
    """How many bytes from ``a`` and from ``b`` agree, up to ``limit`` (slices first: Python loops are slow)."""
    n = 0
    while n + 32 <= limit and buf[a + n:a + n + 32] == buf[b + n:b + n + 32]:
        n += 32
    while n < limit and buf[a + n] == buf[b + n]:
        n += 1
    return n


def _compress_chunk(chunk: bytes) -> bytes:
    """One CompressedChunk (2.4.1.3.7): header, then token sequences of literals and copy tokens."""
    size = len(chunk)
    out = bytearray()
    # Where earlier tokens started, by their first three bytes. Only token starts are candidates: that
    # is what reproduces the worked example of MS-OVBA 3.2.2 byte for byte, and it keeps the search short.
    chains: dict[bytes, list[int]] = {}
    pos = 0
    while pos < size:
        flag_at = len(out)
        out.append(0)
        flags = 0
        for bit in range(8):
            if pos >= size:
                break
            best_length = best_candidate = 0
            remaining = size - pos
            candidates = chains.setdefault(chunk[pos:pos + _MIN_MATCH], [])
            if remaining >= _MIN_MATCH:
                # Nearest first, and only a strictly longer match replaces it (as in 2.4.1.3.19.4).
                for candidate in reversed(candidates[-_MAX_CANDIDATES:]):
                    length = _common_length(chunk, candidate, pos, remaining)
                    if length > best_length:
                        best_length, best_candidate = length, candidate
                        if length == remaining:
                            break
            candidates.append(pos)
            if best_length >= _MIN_MATCH:
                bit_count = _copy_token_bits(pos)
                length = min(best_length, (0xFFFF >> bit_count) + 3)
                token = ((pos - best_candidate - 1) << (16 - bit_count)) | (length - 3)
                out += struct.pack("<H", token)
                flags |= 1 << bit
                pos += length
            else:
                out.append(chunk[pos])
                pos += 1
        out[flag_at] = flags
    if len(out) > _CHUNK:
        # Incompressible: a raw chunk is always 4096 bytes (2.4.1.3.10), zero-padded if the data is shorter.
        return struct.pack("<H", 0x3000 | (_CHUNK + 2 - 3)) + chunk.ljust(_CHUNK, b"\x00")
    return struct.pack("<H", 0xB000 | (len(out) + 2 - 3)) + bytes(out)


def compress(data: bytes) -> bytes:
    """A CompressedContainer (MS-OVBA 2.4.1.1.1): signature byte 0x01, then one chunk per 4096 bytes."""
    data = bytes(data)
    return b"\x01" + b"".join(_compress_chunk(data[i:i + _CHUNK]) for i in range(0, len(data), _CHUNK))
