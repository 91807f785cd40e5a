"""The parts of a .stree v2 file, whichever header it has (long, or compact: flags bit 1), for tests
that take files apart and put lying ones together."""

from __future__ import annotations

import struct
import zlib

import numpy as np

from shapetree.formats import progressive as prog
from shapetree.formats.stree_v2 import COMPACT, COMPACT_HEADER, HEADER


def long_framed(tree):
    """The same tree in a frame twice as large (scale doubled, offsets halved: every point on the same
    side, but for float32 underflow), which is not its bounds' frame: it is written with the long header."""
    return tree.replace(scale=2 * tree.scale, offset=tree.offset / np.float32(2))


def with_crc(body: bytes) -> bytes:
    return body + struct.pack("<I", zlib.crc32(body))


def compact(data: bytes) -> bool:
    return bool(data[7] & COMPACT)


def header_size(data: bytes) -> int:
    """The header's bytes: 66 compact, 100 long."""
    return COMPACT_HEADER.size if compact(data) else HEADER.size


def sizes_at(data: bytes) -> int:
    """Where the header's raw size (u32) is; the packed size (u32) follows it."""
    return header_size(data) - 8


def deflated(raw: bytes, data: bytes) -> bytes:
    """``raw`` deflated as ``data``'s blocks are: raw deflate after a compact header, else a zlib stream."""
    z = zlib.compressobj(9, zlib.DEFLATED, -15 if compact(data) else 15)
    return z.compress(raw) + z.flush()


def inflated(data: bytes) -> bytes:
    """A flat file's blocks, inflated (unchecked)."""
    return zlib.decompressobj(-15 if compact(data) else 15).decompress(data[header_size(data):-4])


def rewrapped(data: bytes, raw: bytes) -> bytes:
    """A flat file with ``data``'s header around the blocks ``raw`` (deflated alike), sizes and CRC made right."""
    packed = deflated(raw, data)
    head = bytearray(data[:header_size(data)])
    struct.pack_into("<II", head, sizes_at(data), len(raw), len(packed))
    return with_crc(bytes(head) + packed)


# -- progressive files ------------------------------------------------------------------------------

def _number(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        b = data[pos]
        value |= (b & 0x7F) << shift
        shift += 7
        pos += 1
        if not b & 0x80:
            return value, pos


def table(data: bytes) -> tuple[int, list[list[int]], int]:
    """A progressive file's level table as it is stored: (where its first row is, its rows, where the
    header's checksum is). Long rows: leaves, packed end, raw end, CRC; compact ones: new leaves, packed
    size, raw size, CRC."""
    size = header_size(data)
    if not compact(data):
        (n,) = struct.unpack_from("<I", data, size)
        first = size + 4
        return first, [list(struct.unpack_from("<IIII", data, first + 16 * i)) for i in range(n)], first + 16 * n
    n = data[size]
    pos = first = size + 1
    rows = []
    for _ in range(n):
        row = []
        for _ in range(3):
            v, pos = _number(data, pos)
            row.append(v)
        row.append(struct.unpack_from("<I", data, pos)[0])
        pos += 4
        rows.append(row)
    return first, rows, pos


def table_bytes(data: bytes, rows: list) -> bytes:
    """Rows (as ``table`` gives them) in ``data``'s layout; a compact row's number may be bytes, stored as
    they are (a malformed number)."""
    if not compact(data):
        return b"".join(struct.pack("<IIII", *r) for r in rows)
    out = []
    for *numbers, crc in rows:
        out += [v if isinstance(v, bytes) else prog.leb128(v) for v in numbers]
        out.append(struct.pack("<I", crc))
    return b"".join(out)


def with_table(data: bytes, rows: list | None = None, count: int | None = None) -> bytes:
    """``data`` with the level table ``rows`` (default: its own) and level ``count`` (default: the rows'),
    the header's packed size, the header checksum and the file's checksum made right: a lie only the
    table's own checks can catch."""
    _, old_rows, end = table(data)
    size = header_size(data)
    rows = old_rows if rows is None else rows
    count = len(rows) if count is None else count
    head = bytearray(data[:size])
    head += struct.pack("<B", count) if compact(data) else struct.pack("<I", count)
    head += table_bytes(data, rows)
    rest = data[end + 4:-4]
    struct.pack_into("<I", head, size - 4, len(head) - size + 4 + len(rest))
    head += struct.pack("<I", zlib.crc32(bytes(head)))
    return with_crc(bytes(head) + rest)


def crcs_fixed(data: bytes) -> bytes:
    """The file with its header checksum and file checksum recomputed (if its table still parses)."""
    try:
        _, _, end = table(data)
    except (IndexError, struct.error):
        return bytes(data)
    if end + 8 > len(data):
        return bytes(data)
    b = bytearray(data)
    struct.pack_into("<I", b, end, zlib.crc32(bytes(b[:end])))
    struct.pack_into("<I", b, len(b) - 4, zlib.crc32(bytes(b[:-4])))
    return bytes(b)


def chunk_crcs_fixed(data: bytes) -> bytes:
    """Every chunk's CRC in the table, the header checksum and the file checksum recomputed for the
    (damaged) chunks."""
    _, rows, end = table(data)
    start = end + 4
    pend = 0
    fixed = []
    for row in rows:
        stop = row[1] if not compact(data) else pend + row[1]
        fixed.append(row[:3] + [zlib.crc32(data[start + pend:start + stop])])
        pend = stop
    return with_table(data, fixed)
