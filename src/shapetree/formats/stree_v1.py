"""The ``.stree`` file format, version 1 (see ``docs/format.md``): encode, decode, validate."""

from __future__ import annotations

import struct
import zlib

import numba as nb
import numpy as np

from ..errors import FormatError
from ..tree import Kind, Tree
from .kinds import writable_kind

MAGIC = b"STRE"
VERSION = 1
HEADER = struct.Struct("<4sBBH6d")  # magic, version, kind, n_trees, bounds
MAX_LEAVES = 1 << 28


@nb.njit(cache=True)
def encode_structure(left, value, occupancy):
    n = left.shape[0]
    n_leaves = 0
    for i in range(n):
        if left[i] < 0:
            n_leaves += 1
    n_bits = n + (n_leaves if occupancy else 0)
    out = np.zeros((n_bits + 7) // 8, np.uint8)
    b = 0
    for i in range(n):  # nodes are already in pre-order
        if left[i] < 0:
            out[b >> 3] |= np.uint8(1 << (b & 7))
            b += 1
            if occupancy:
                if value[i]:
                    out[b >> 3] |= np.uint8(1 << (b & 7))
                b += 1
        else:
            b += 1
    return out


@nb.njit(cache=True)
def decode_structure(bits, n_leaves, occupancy):
    """Rebuild pre-order children from the bit stream; status < 0 on a malformed stream."""
    n_nodes = 2 * n_leaves - 1
    left = np.full(n_nodes, -1, np.int32)
    right = np.full(n_nodes, -1, np.int32)
    value = np.zeros(n_nodes, np.bool_)
    stack = np.empty(n_nodes + 1, np.int64)  # branches still waiting for their right child
    sp = 0
    total_bits = bits.shape[0] * 8
    b = 0
    leaves = 0
    for i in range(n_nodes):
        if b >= total_bits:
            return left, right, value, -1
        if i > 0:
            if sp == 0:
                return left, right, value, -2  # tree complete before the node count
            parent = stack[sp - 1]
            if left[parent] < 0:
                left[parent] = i
            else:
                right[parent] = i
                sp -= 1
        is_leaf = (bits[b >> 3] >> (b & 7)) & 1
        b += 1
        if is_leaf:
            leaves += 1
            if occupancy:
                if b >= total_bits:
                    return left, right, value, -1
                value[i] = ((bits[b >> 3] >> (b & 7)) & 1) == 1
                b += 1
        else:
            stack[sp] = i
            sp += 1
    if sp != 0 or leaves != n_leaves:
        return left, right, value, -3
    while b < total_bits:  # padding must be zero
        if (bits[b >> 3] >> (b & 7)) & 1:
            return left, right, value, -4
        b += 1
    return left, right, value, 0


def structure_bytes(n_leaves: int, kind: int) -> int:
    n_nodes = 2 * n_leaves - 1
    return (n_nodes + (n_leaves if kind == Kind.OCCUPANCY else 0) + 7) // 8


def tree_bytes(n_leaves: int, kind: int) -> int:
    payload = 12 * n_leaves if kind == Kind.NORMALS else 0
    return 4 + structure_bytes(n_leaves, kind) + 16 * (n_leaves - 1) + payload


def encode_blocks(trees: list[Tree], kind: Kind) -> bytes:
    """The tree blocks (leaf count, structure bits, float32 planes, leaf vectors) of ``trees``,
    shared by v1 and v2 (see docs/format.md)."""
    parts = []
    for t in trees:
        leaf = t.left < 0
        parts.append(struct.pack("<I", int(leaf.sum())))
        parts.append(encode_structure(t.left, t.value, kind == Kind.OCCUPANCY).tobytes())
        planes = np.empty((int((~leaf).sum()), 4), "<f4")
        planes[:, :3] = t.normal[~leaf]
        planes[:, 3] = t.offset[~leaf]
        parts.append(planes.tobytes())
        if kind == Kind.NORMALS:
            parts.append(np.ascontiguousarray(t.value[leaf], "<f4").tobytes())
    return b"".join(parts)


def read_leaf_count(data: bytes, pos: int, end: int, name: str) -> tuple[int, int]:
    """A tree block's leaf count (validated) and the position after it."""
    if pos + 4 > end:
        raise FormatError(f"{name}: truncated (tree header past the end)")
    (n_leaves,) = struct.unpack_from("<I", data, pos)
    if n_leaves < 1 or n_leaves > MAX_LEAVES:
        raise FormatError(f"{name}: invalid leaf count {n_leaves}")
    return n_leaves, pos + 4


def read_structure(data: bytes, pos: int, n_leaves: int, kind: Kind, name: str) -> tuple:
    """``(left, right, value, position after)`` from a block's structure bits (bounds checked by
    the caller)."""
    sb = structure_bytes(n_leaves, kind)
    left, right, value, status = decode_structure(np.frombuffer(data, np.uint8, sb, pos), n_leaves,
                                                  kind == Kind.OCCUPANCY)
    if status != 0:
        raise FormatError(f"{name}: malformed tree structure (code {status})")
    return left, right, value, pos + sb


def read_leaf_vectors(data: bytes, pos: int, left: np.ndarray, name: str) -> tuple[np.ndarray, int]:
    """A normal-map block's float32 leaf vectors, as (n, 3) node values, and the position after."""
    leaf = left < 0
    n_leaves = int(np.count_nonzero(leaf))
    vals = np.frombuffer(data, "<f4", 3 * n_leaves, pos).reshape(-1, 3)
    if not np.all(np.isfinite(vals)):
        raise FormatError(f"{name}: non-finite leaf values")
    value = np.zeros((left.shape[0], 3), np.float32)
    value[leaf] = vals
    return value, pos + 12 * n_leaves


def decode_blocks(data: bytes, pos: int, end: int, n_trees: int, kind: Kind, name: str) -> list[tuple]:
    """Parse ``n_trees`` tree blocks from ``data[pos:end]`` (which they must fill exactly):
    ``(normal, offset, left, right, value)`` arrays per tree; every count is checked first."""
    out = []
    for _ in range(n_trees):
        n_leaves, pos = read_leaf_count(data, pos, end, name)
        if pos + tree_bytes(n_leaves, kind) - 4 > end:
            raise FormatError(f"{name}: header says {n_leaves} leaves but the file is too short")
        left, right, value, pos = read_structure(data, pos, n_leaves, kind, name)
        planes = np.frombuffer(data, "<f4", 4 * (n_leaves - 1), pos).reshape(-1, 4)
        pos += 16 * (n_leaves - 1)
        if not np.all(np.isfinite(planes)):
            raise FormatError(f"{name}: non-finite plane coefficients")
        leaf = left < 0
        normal = np.zeros((left.shape[0], 3), np.float32)
        offset = np.zeros(left.shape[0], np.float32)
        normal[~leaf] = planes[:, :3]
        offset[~leaf] = planes[:, 3]
        if kind == Kind.NORMALS:
            value, pos = read_leaf_vectors(data, pos, left, name)
        out.append((normal, offset, left, right, value))
    if pos != end:
        raise FormatError(f"{name}: {end - pos} unexpected trailing bytes")
    return out


def check_header(name: str, kind: int, n_trees: int, bounds: np.ndarray) -> Kind:
    """Validate the fields v1 and v2 headers share; the kind as a ``Kind``."""
    if kind not in Kind._value2member_map_:
        raise FormatError(f"{name}: unknown tree kind {kind}")
    if not np.all(np.isfinite(bounds)) or np.any(bounds[0] > bounds[1]):
        raise FormatError(f"{name}: invalid bounds {bounds.tolist()}")
    kind = Kind(kind)
    if n_trees < 1 or (kind == Kind.OCCUPANCY and n_trees != 1):
        raise FormatError(f"{name}: invalid tree count {n_trees} for a {kind.label} file")
    return kind


def check_crc(data: bytes, name: str) -> None:
    (crc,) = struct.unpack_from("<I", data, len(data) - 4)
    if zlib.crc32(memoryview(data)[: len(data) - 4]) != crc:
        raise FormatError(f"{name}: checksum mismatch (file is corrupted or truncated)")


def encode_trees(trees: list[Tree]) -> bytes:
    """Serialise one occupancy tree, or one or more normal-map trees sharing bounds, as v1 (planes
    in absolute coordinates: trees in the identity frame only)."""
    kind = writable_kind(trees, "an occupancy file")
    if not all(t.has_identity_frame for t in trees):
        raise FormatError(".stree v1 stores planes in absolute coordinates; this tree's planes are "
                          "relative to its bounds: write v2")
    bounds = trees[0].bounds
    body = HEADER.pack(MAGIC, VERSION, kind, len(trees), *bounds.reshape(-1).tolist()) + encode_blocks(trees, kind)
    return body + struct.pack("<I", zlib.crc32(body))


def decode_trees(data: bytes, name: str = "<bytes>") -> list[Tree]:
    """Parse and validate a v1 ``.stree`` file; every count is checked against the size first."""
    size = len(data)
    if size < HEADER.size + 4:
        raise FormatError(f"{name}: too short to be a .stree file ({size} bytes)")
    magic, version, kind, n_trees, *b = HEADER.unpack_from(data, 0)
    if magic != MAGIC:
        raise FormatError(f"{name}: not a .stree file (bad magic {magic!r})")
    if version != VERSION:
        raise FormatError(f"{name}: unsupported .stree version {version} (this reader knows 1 and 2)")
    if kind not in Kind._value2member_map_:
        raise FormatError(f"{name}: unknown tree kind {kind}")
    check_crc(data, name)
    bounds = np.array(b, np.float64).reshape(2, 3)
    kind = check_header(name, kind, n_trees, bounds)
    blocks = decode_blocks(data, HEADER.size, size - 4, n_trees, kind, name)
    return [Tree(*arrays, bounds, kind=kind) for arrays in blocks]
