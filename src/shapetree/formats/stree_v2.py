"""The ``.stree`` file format, version 2 (see ``docs/format.md``): planes in the tree's frame, the
tree blocks deflated (zlib, which browsers decode natively), a CRC-32 over the whole file."""

from __future__ import annotations

import struct
import zlib

import numpy as np

from ..errors import FormatError
from ..tree import Tree
from .kinds import writable_kind
from .stree_v1 import MAGIC, check_crc, check_header, decode_blocks, encode_blocks

VERSION = 2
# magic, version, kind, plane coding, flags, n_trees, reserved, bounds, origin, scale, raw size, packed size
HEADER = struct.Struct("<4sBBBBHH6d3ddII")
FLOAT32_PLANES = 0  # the only plane coding so far: float32 normal and offset per branch
MAX_RAW = 1 << 31
MAX_RATIO = 1100  # deflate cannot expand data more than ~1032:1; a header that claims more lies


def encode_trees(trees: list[Tree]) -> bytes:
    """Serialise one occupancy tree, or one or more normal-map trees sharing bounds and frame."""
    kind = writable_kind(trees, "an occupancy file")
    t0 = trees[0]
    if any(not np.array_equal(t.origin, t0.origin) or t.scale != t0.scale for t in trees):
        raise FormatError("all trees of one file must share one frame")
    raw = encode_blocks(trees, kind)
    packed = zlib.compress(raw, 9)
    head = HEADER.pack(MAGIC, VERSION, kind, FLOAT32_PLANES, 0, len(trees), 0, *t0.bounds.reshape(-1).tolist(),
                       *t0.origin.tolist(), t0.scale, len(raw), len(packed))
    body = head + packed
    return body + struct.pack("<I", zlib.crc32(body))


def decode_trees(data: bytes, name: str = "<bytes>") -> list[Tree]:
    """Parse and validate a v2 ``.stree`` file; sizes are checked before anything is inflated."""
    size = len(data)
    if size < HEADER.size + 4:
        raise FormatError(f"{name}: too short to be a .stree v2 file ({size} bytes)")
    fields = HEADER.unpack_from(data, 0)
    magic, version, kind, coding, flags, n_trees, reserved = fields[:7]
    bounds = np.array(fields[7:13], np.float64).reshape(2, 3)
    origin = np.array(fields[13:16], np.float64)
    scale, raw_size, packed_size = fields[16:19]
    if magic != MAGIC or version != VERSION:
        raise FormatError(f"{name}: not a .stree v2 file")
    check_crc(data, name)
    kind = check_header(name, kind, n_trees, bounds)
    if coding != FLOAT32_PLANES:
        raise FormatError(f"{name}: unknown plane coding {coding}")
    if flags or reserved:
        raise FormatError(f"{name}: unknown flags {flags:#x} / reserved field {reserved}")
    if not (np.all(np.isfinite(origin)) and np.isfinite(scale) and scale > 0):
        raise FormatError(f"{name}: invalid frame (origin {origin.tolist()}, scale {scale})")
    if HEADER.size + packed_size + 4 != size:
        raise FormatError(f"{name}: header says {packed_size} packed bytes, the file holds {size - HEADER.size - 4}")
    if raw_size > MAX_RAW or raw_size > MAX_RATIO * packed_size + 64:
        raise FormatError(f"{name}: implausible unpacked size {raw_size} for {packed_size} packed bytes")
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(memoryview(data)[HEADER.size:HEADER.size + packed_size], raw_size + 1)
    except zlib.error as e:
        raise FormatError(f"{name}: corrupted tree data ({e})") from None
    if len(raw) != raw_size or not inflater.eof or inflater.unused_data:
        raise FormatError(f"{name}: tree data does not match the header's size {raw_size}")
    blocks = decode_blocks(raw, 0, raw_size, n_trees, kind, name)
    return [Tree(*arrays, bounds, kind=kind, origin=origin, scale=scale) for arrays in blocks]
