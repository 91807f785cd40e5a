"""The ``.stree`` file format, version 2 (see ``docs/format.md``): planes in the tree's frame, either
float32 (plane coding 0, lossless) or quantised to the region they cut (coding 1: boxes; 2: boxes,
with escapes to reused and exact planes; 3: exact cells, with the escapes; 4: coding 3 with upward
normals and quarter-step precisions, the default), the tree
blocks deflated (zlib, which browsers decode natively), a CRC-32 over the whole file. A tree in the frame
of its bounds (every tree ``build`` makes) gets the compact header (flag 2): no stored frame, raw deflate."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np

from ..errors import FormatError
from ..tree import Kind, Tree, bounds_frame
from . import quantized
from .kinds import writable_kind
from .quantized import CODINGS, DEFAULT_CODING, ESCAPED_PLANES, QUANTIZED_PLANES
from .stree_v1 import (
    MAGIC,
    check_crc,
    check_header,
    decode_blocks,
    encode_blocks,
    encode_structure,
    read_leaf_count,
    read_leaf_vectors,
    read_structure,
    structure_bytes,
)

VERSION = 2
# magic, version, kind, plane coding, flags, n_trees, reserved, bounds, origin, scale, raw size, packed size
HEADER = struct.Struct("<4sBBBBHH6d3ddII")
# flags COMPACT: magic, version, kind, plane coding, flags, n_trees, bounds, raw size, packed size (the frame
# is bounds_frame(bounds); the blocks are raw deflate, without zlib's 2-byte header and Adler-32)
COMPACT_HEADER = struct.Struct("<4sBBBBH6dII")
PREFIX = 8  # magic, version, kind, plane coding, flags: what every v2 header starts with
FLOAT32_PLANES = 0  # float32 normal and offset per branch (the tree blocks of v1)
PROGRESSIVE = 1  # flags bit 0: levels of detail, coarse first (formats/progressive.py)
COMPACT = 2  # flags bit 1: the compact header, the frame derived from the bounds, raw deflate
FLAGS = PROGRESSIVE | COMPACT
MAX_RAW = 1 << 31
MAX_RATIO = 1100  # deflate cannot expand data more than ~1032:1; a header that claims more lies


def check_parameters(precision: float, extra: int, coding: int) -> int:
    """The precision byte of ``precision`` in ``coding`` (``quantized.precision_byte``), after checking
    ``extra`` too: a ``FormatError`` for values the format cannot hold."""
    if not (isinstance(extra, (int, np.integer)) and 0 <= extra <= quantized.MAX_NORMAL_EXTRA):
        raise FormatError(f"normal_extra must be in 0..{quantized.MAX_NORMAL_EXTRA}, got {extra!r}")
    return quantized.precision_byte(precision, coding)


def encode_quantized_blocks(trees: list[Tree], kind: Kind, precision: float = quantized.DEFAULT_PRECISION,
                            extra: int = quantized.DEFAULT_NORMAL_EXTRA, coding: int = DEFAULT_CODING) -> bytes:
    """The inflated stream of plane ``coding`` 1 to 4: the coding's two parameters, then per tree its
    leaf count, structure bits, plane stream (its size first) and, in normal maps, float32 leaf
    vectors (coding 4 writes the trees ``quantized.oriented``)."""
    parts = [struct.pack("<BB", check_parameters(precision, extra, coding), extra)]
    for t in trees:
        t = quantized.oriented_for(t, coding)
        leaf = t.left < 0
        planes, _, _ = quantized.encode_planes(t, precision, extra, coding)
        parts.append(struct.pack("<I", int(leaf.sum())))
        parts.append(encode_structure(t.left, t.value, kind == Kind.OCCUPANCY).tobytes())
        parts.append(struct.pack("<I", len(planes)))
        parts.append(planes)
        if kind == Kind.NORMALS:
            parts.append(np.ascontiguousarray(t.value[leaf], "<f4").tobytes())
    return b"".join(parts)


def min_plane_bytes(n_leaves: int, coding: int = QUANTIZED_PLANES) -> int:
    """The fewest bytes a plane stream of ``n_leaves - 1`` branches takes: two 2-bit normal codes
    each in coding 1; in codings 2 and 3 a reuse escape takes 3 bits (a 2-bit escape code, a 0 bit, no index
    while there is one plane to reuse)."""
    per_branch = quantized.MIN_NORMAL_BITS + 1 if coding >= ESCAPED_PLANES else 2 * quantized.MIN_NORMAL_BITS
    return (per_branch * (n_leaves - 1) + 7) // 8


def decode_quantized_blocks(data: bytes, end: int, n_trees: int, kind: Kind, lo: np.ndarray, hi: np.ndarray,
                            name: str, coding: int = QUANTIZED_PLANES) -> list[tuple]:
    """Parse plane ``coding`` 1, 2 or 3's inflated stream ``data[:end]`` (which it must fill exactly): ``(normal,
    offset, left, right, value)`` per tree; every count is checked before anything is allocated."""
    _, extra, tol = read_parameters(data, end, lo, hi, name, coding)
    pos = 2
    out = []
    for _ in range(n_trees):
        arrays, pos = read_quantized_tree(data, pos, end, kind, lo, hi, tol, extra, coding, None, name)
        out.append(arrays)
    if pos != end:
        raise FormatError(f"{name}: {end - pos} unexpected trailing bytes")
    return out


def read_parameters(data: bytes, end: int, lo: np.ndarray, hi: np.ndarray, name: str,
                    coding: int) -> tuple[float, int, float]:
    """The quantisation parameters opening a coding-1 to 4 stream, checked: (precision, normal extra,
    tolerance); coding 4's precision byte counts quarter steps."""
    if end < 2:
        raise FormatError(f"{name}: truncated (no quantisation parameters)")
    precision, extra = quantized.precision_of(data[0], coding), data[1]
    if precision is None or extra > quantized.MAX_NORMAL_EXTRA:
        raise FormatError(f"{name}: invalid quantisation parameters (precision byte {data[0]}, normal extra {extra})")
    if not quantized.frame_fits(lo, hi):
        raise FormatError(f"{name}: bounds too far from the frame for quantised planes")
    return precision, extra, quantized.tolerance(lo, hi, precision)


def read_quantized_tree(data: bytes, pos: int, end: int, kind: Kind, lo: np.ndarray, hi: np.ndarray, tol: float,
                        extra: int, coding: int, table: quantized.PlaneTable | None, name: str) -> tuple[tuple, int]:
    """One tree block of a coding-1/2 stream at ``pos``: ``((normal, offset, left, right, value), position
    after)``; its coded planes join ``table`` (None: a fresh one)."""
    n_leaves, pos = read_leaf_count(data, pos, end, name)
    sb = structure_bytes(n_leaves, kind)
    vector_bytes = 12 * n_leaves if kind == Kind.NORMALS else 0
    if pos + sb + 4 + min_plane_bytes(n_leaves, coding) + vector_bytes > end:
        raise FormatError(f"{name}: header says {n_leaves} leaves but the file is too short")
    left, right, value, pos = read_structure(data, pos, n_leaves, kind, name)
    if table is None:
        table = quantized.PlaneTable(n_leaves - 1, 0)
    n = left.shape[0]
    normal, offset, pos = read_planes(data, pos, end - vector_bytes, n_leaves - 1, left, right, lo, hi, tol, extra,
                                      coding, table, np.zeros(n, np.bool_), np.zeros((n, 3), np.float32),
                                      np.zeros(n, np.float32), name)
    if kind == Kind.NORMALS:
        value, pos = read_leaf_vectors(data, pos, left, name)
    return (normal, offset, left, right, value), pos


def read_planes(data: bytes, pos: int, end: int, n_coded: int, left: np.ndarray, right: np.ndarray, lo: np.ndarray,
                hi: np.ndarray, tol: float, extra: int, coding: int, table: quantized.PlaneTable, known: np.ndarray,
                kn: np.ndarray, ko: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray, int]:
    """A plane stream (its size first) at ``pos`` within ``data[:end]`` coding the ``n_coded`` branches
    that are not ``known`` (whose planes are ``kn, ko``): (normal, offset, position after)."""
    if pos + 4 > end:
        raise FormatError(f"{name}: truncated (plane stream size past the end)")
    (plane_bytes,) = struct.unpack_from("<I", data, pos)
    pos += 4
    if plane_bytes < min_plane_bytes(n_coded + 1, coding) or pos + plane_bytes > end:
        raise FormatError(f"{name}: invalid plane stream size {plane_bytes} for {n_coded} planes")
    stream = np.frombuffer(data, np.uint8, plane_bytes, pos)
    normal, offset, status, table.size = quantized.decode_step(
        stream, left.astype(np.int64), right.astype(np.int64), lo, hi, tol, extra, *quantized.step_flags(coding),
        known, kn, ko, table.normal, table.offset, table.size)
    if status != 0:
        raise FormatError(f"{name}: malformed plane stream (code {status})")
    return normal, offset, pos + plane_bytes


def encode_trees(trees: list[Tree], lossless: bool = False, *, precision: float | None = None,
                 normal_extra: int = quantized.DEFAULT_NORMAL_EXTRA, coding: int = DEFAULT_CODING,
                 budget=quantized.DISAGREEMENT_BUDGET) -> bytes:
    """Serialise one occupancy tree, or one or more normal-map trees sharing bounds and frame:
    quantised planes (what ``quantized.quantize`` gives for the same ``precision``, a tolerance of
    ``2^-precision`` of the box, None for ``quantized.auto_precision`` within ``budget``, ``normal_extra``
    and the plane ``coding``, 4 by default, or 1 to 3), or float32 ones when ``lossless``."""
    kind = writable_kind(trees, "an occupancy file")
    t0 = trees[0]
    if any(not np.array_equal(t.origin, t0.origin) or t.scale != t0.scale for t in trees):
        raise FormatError("all trees of one file must share one frame")
    if lossless:
        coding, raw = FLOAT32_PLANES, encode_blocks(trees, kind)
    else:
        if coding not in CODINGS:
            raise FormatError(f"plane coding must be one of {CODINGS}, got {coding!r}")
        # flipped once here: the precision choice and the blocks then find nothing left to flip
        trees = [quantized.oriented_for(t, coding) for t in trees]
        if precision is None:
            precision = max(quantized.auto_precision(t, normal_extra, coding, budget=budget) for t in trees)
        check_parameters(precision, normal_extra, coding)
        raw = encode_quantized_blocks(trees, kind, precision, normal_extra, coding)
    flags = COMPACT if has_derived_frame(t0) else 0
    packed = deflate(raw, flags)
    body = pack_header(kind, coding, flags, len(trees), t0, len(raw), len(packed)) + packed
    return body + struct.pack("<I", zlib.crc32(body))


def derived_frame(bounds: np.ndarray) -> tuple[np.ndarray, float] | None:
    """``bounds_frame(bounds)``, the frame a compact header stands for (None for bounds without
    extent; bounds near the float64 limit give an infinite scale, which no tree has)."""
    with np.errstate(all="ignore"):
        try:
            return bounds_frame(bounds)
        except ValueError:
            return None


def has_derived_frame(tree: Tree) -> bool:
    """Whether ``tree``'s frame is bit for bit ``bounds_frame`` of its bounds (true of every tree ``build``
    makes): then a compact header holds it."""
    frame = derived_frame(tree.bounds)
    if frame is None:
        return False
    origin, scale = frame
    return (np.asarray(origin, "<f8").tobytes() == np.asarray(tree.origin, "<f8").tobytes()
            and struct.pack("<d", scale) == struct.pack("<d", tree.scale))


def deflater(flags: int):
    """The deflater of a v2 file's blocks (level 9): raw deflate with flags ``COMPACT``, else a zlib stream."""
    return zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS if flags & COMPACT else zlib.MAX_WBITS)


def deflate(raw: bytes, flags: int) -> bytes:
    """``raw`` deflated as one stream by ``deflater(flags)`` (without ``COMPACT`` the bytes of
    ``zlib.compress(raw, 9)``)."""
    z = deflater(flags)
    return z.compress(raw) + z.flush()


def pack_header(kind: Kind, coding: int, flags: int, n_trees: int, tree: Tree, raw_size: int,
                packed_size: int) -> bytes:
    """A v2 header for trees with ``tree``'s bounds and frame: the compact layout with flags ``COMPACT``
    (the frame must be the bounds', ``has_derived_frame``), the long one otherwise."""
    bounds = tree.bounds.reshape(-1).tolist()
    if flags & COMPACT:
        return COMPACT_HEADER.pack(MAGIC, VERSION, kind, coding, flags, n_trees, *bounds, raw_size, packed_size)
    return HEADER.pack(MAGIC, VERSION, kind, coding, flags, n_trees, 0, *bounds, *tree.origin.tolist(), tree.scale,
                       raw_size, packed_size)


@dataclass(frozen=True)
class Header:
    """The validated fields of a v2 header (its first ``size`` bytes; a compact header's frame is the
    one its bounds imply)."""

    kind: Kind
    coding: int
    flags: int
    n_trees: int
    bounds: np.ndarray
    origin: np.ndarray
    scale: float
    raw_size: int
    packed_size: int

    @property
    def compact(self) -> bool:
        return bool(self.flags & COMPACT)

    @property
    def size(self) -> int:
        """The header's bytes: 66 compact, 100 long."""
        return COMPACT_HEADER.size if self.compact else HEADER.size

    def inflater(self):
        """A fresh inflater of the blocks: raw deflate in a compact file, a zlib stream otherwise."""
        return zlib.decompressobj(-zlib.MAX_WBITS if self.compact else zlib.MAX_WBITS)

    @property
    def root_box(self) -> tuple[np.ndarray, np.ndarray]:
        return (self.bounds[0] - self.origin) / self.scale, (self.bounds[1] - self.origin) / self.scale

    def check_raw_size(self, name: str) -> None:
        if self.raw_size > MAX_RAW or self.raw_size > MAX_RATIO * self.packed_size + 64:
            raise FormatError(f"{name}: implausible unpacked size {self.raw_size} for {self.packed_size} packed bytes")

    def trees(self, blocks: list[tuple]) -> list[Tree]:
        return [Tree(*arrays, self.bounds, kind=self.kind, origin=self.origin, scale=self.scale) for arrays in blocks]


def is_v2(data: bytes) -> bool:
    return len(data) > 4 and data[:4] == MAGIC and data[4] == VERSION


def header_layout(data: bytes, name: str) -> struct.Struct:
    """The layout of a v2 header, by its flags byte (``data``: at least its first ``PREFIX`` bytes);
    unknown flag bits are an error."""
    flags = data[7]
    if flags & ~FLAGS:
        raise FormatError(f"{name}: unknown flags {flags:#x}")
    return COMPACT_HEADER if flags & COMPACT else HEADER


def parse_header(data: bytes, name: str) -> Header:
    """Check every field of a v2 header but the checksum (``data``: at least the header's bytes,
    ``header_layout(data, name).size``)."""
    if data[:4] != MAGIC or data[4] != VERSION:
        raise FormatError(f"{name}: not a .stree v2 file")
    layout = header_layout(data, name)
    fields = layout.unpack_from(data, 0)
    kind, coding, flags, n_trees = fields[2:6]
    if layout is COMPACT_HEADER:
        reserved = 0
        bounds = np.array(fields[6:12], np.float64).reshape(2, 3)
        raw_size, packed_size = fields[12:14]
    else:
        reserved = fields[6]
        bounds = np.array(fields[7:13], np.float64).reshape(2, 3)
        origin = np.array(fields[13:16], np.float64)
        scale, raw_size, packed_size = fields[16:19]
    kind = check_header(name, kind, n_trees, bounds)
    if coding != FLOAT32_PLANES and coding not in CODINGS:
        raise FormatError(f"{name}: unknown plane coding {coding}")
    if reserved:
        raise FormatError(f"{name}: reserved field {reserved} is not 0")
    if layout is COMPACT_HEADER:
        frame = derived_frame(bounds)
        if frame is None:
            raise FormatError(f"{name}: invalid frame (bounds without extent)")
        origin, scale = frame
    if not (np.all(np.isfinite(origin)) and np.isfinite(scale) and scale > 0):
        raise FormatError(f"{name}: invalid frame (origin {origin.tolist()}, scale {scale})")
    return Header(kind, coding, flags, n_trees, bounds, origin, scale, raw_size, packed_size)


def decode_trees(data: bytes, name: str = "<bytes>") -> list[Tree]:
    """Parse and validate a flat v2 ``.stree`` file; sizes are checked before anything is inflated."""
    size = len(data)
    if size < COMPACT_HEADER.size + 4:
        raise FormatError(f"{name}: too short to be a .stree v2 file ({size} bytes)")
    if not is_v2(data):
        raise FormatError(f"{name}: not a .stree v2 file")
    check_crc(data, name)
    if size < header_layout(data, name).size + 4:
        raise FormatError(f"{name}: too short to be a .stree v2 file ({size} bytes)")
    h = parse_header(data, name)
    if h.flags & PROGRESSIVE:
        raise FormatError(f"{name}: a progressive file (flags {h.flags:#x}): read it with formats.progressive")
    if h.size + h.packed_size + 4 != size:
        raise FormatError(f"{name}: header says {h.packed_size} packed bytes, the file holds {size - h.size - 4}")
    h.check_raw_size(name)
    raw_size = h.raw_size
    inflater = h.inflater()
    try:
        raw = inflater.decompress(memoryview(data)[h.size:h.size + h.packed_size], raw_size + 1)
    except zlib.error as e:
        raise FormatError(f"{name}: corrupted tree data ({e})") from None
    if len(raw) != raw_size or not inflater.eof or inflater.unused_data:
        raise FormatError(f"{name}: tree data does not match the header's size {raw_size}")
    if h.coding == FLOAT32_PLANES:
        blocks = decode_blocks(raw, 0, raw_size, h.n_trees, h.kind, name)
    else:
        lo, hi = h.root_box
        blocks = decode_quantized_blocks(raw, raw_size, h.n_trees, h.kind, lo, hi, name, h.coding)
    return h.trees(blocks)
