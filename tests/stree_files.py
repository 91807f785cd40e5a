"""The parts of a .stree v2 file, whichever header it has (long, or compact: flags bit 1), for tests
that take files apart and put lying ones together."""

from __future__ import annotations

import struct
import zlib

import numpy as np

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
