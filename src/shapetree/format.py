"""The ``.stree`` file format, version 1 (see ``docs/format.md``): read, write, validate."""

from __future__ import annotations

import os
import struct
import tempfile
import zlib
from pathlib import Path

import numba as nb
import numpy as np

from .errors import FormatError
from .tree import KIND_NAMES, NORMALS, OCCUPANCY, Tree

MAGIC = b"STRE"
VERSION = 1
HEADER = struct.Struct("<4sBBH6d")  # magic, version, kind, n_trees, bounds
MAX_LEAVES = 1 << 28


@nb.njit(cache=True)
def _encode_structure(left, value, occupancy):
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
def _decode_structure(bits, n_leaves, occupancy):
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


def _structure_bytes(n_leaves: int, kind: int) -> int:
    n_nodes = 2 * n_leaves - 1
    return (n_nodes + (n_leaves if kind == OCCUPANCY else 0) + 7) // 8


def _tree_bytes(n_leaves: int, kind: int) -> int:
    payload = 12 * n_leaves if kind == NORMALS else 0
    return 4 + _structure_bytes(n_leaves, kind) + 16 * (n_leaves - 1) + payload


def _writable_kind(trees: list[Tree], occupancy_file: str) -> int:
    """The kind shared by the trees of one file: one occupancy tree, or normal-map trees."""
    if not trees:
        raise FormatError("nothing to write: no trees")
    kind = trees[0].kind
    if any(t.kind != kind for t in trees):
        raise FormatError("all trees of one file must be of the same kind")
    if kind == OCCUPANCY and len(trees) != 1:
        raise FormatError(f"{occupancy_file} holds exactly one tree")
    return kind


def encode_trees(trees: list[Tree]) -> bytes:
    """Serialise one occupancy tree, or one or more normal-map trees sharing bounds."""
    kind = _writable_kind(trees, "an occupancy file")
    bounds = trees[0].bounds
    parts = [HEADER.pack(MAGIC, VERSION, kind, len(trees), *bounds.reshape(-1).tolist())]
    for t in trees:
        leaf = t.left < 0
        parts.append(struct.pack("<I", int(leaf.sum())))
        parts.append(_encode_structure(t.left, t.value, kind == OCCUPANCY).tobytes())
        planes = np.empty((int((~leaf).sum()), 4), "<f4")
        planes[:, :3] = t.normal[~leaf]
        planes[:, 3] = t.offset[~leaf]
        parts.append(planes.tobytes())
        if kind == NORMALS:
            parts.append(np.ascontiguousarray(t.value[leaf], "<f4").tobytes())
    body = b"".join(parts)
    return body + struct.pack("<I", zlib.crc32(body))


def decode_trees(data: bytes, name: str = "<bytes>") -> list[Tree]:
    """Parse and validate a ``.stree`` file; every count is checked against the size first."""
    size = len(data)
    if size < HEADER.size + 4:
        raise FormatError(f"{name}: too short to be a .stree file ({size} bytes)")
    magic, version, kind, n_trees, *b = HEADER.unpack_from(data, 0)
    if magic != MAGIC:
        raise FormatError(f"{name}: not a .stree file (bad magic {magic!r})")
    if version != VERSION:
        raise FormatError(f"{name}: unsupported .stree version {version} (this reader knows {VERSION})")
    if kind not in KIND_NAMES:
        raise FormatError(f"{name}: unknown tree kind {kind}")
    (crc,) = struct.unpack_from("<I", data, size - 4)
    if zlib.crc32(memoryview(data)[: size - 4]) != crc:
        raise FormatError(f"{name}: checksum mismatch (file is corrupted or truncated)")
    bounds = np.array(b, np.float64).reshape(2, 3)
    if not np.all(np.isfinite(bounds)) or np.any(bounds[0] > bounds[1]):
        raise FormatError(f"{name}: invalid bounds {bounds.tolist()}")
    if n_trees < 1 or (kind == OCCUPANCY and n_trees != 1):
        raise FormatError(f"{name}: invalid tree count {n_trees} for a {KIND_NAMES[kind]} file")
    pos = HEADER.size
    end = size - 4
    trees = []
    for _ in range(n_trees):
        if pos + 4 > end:
            raise FormatError(f"{name}: truncated (tree header past the end)")
        (n_leaves,) = struct.unpack_from("<I", data, pos)
        pos += 4
        if n_leaves < 1 or n_leaves > MAX_LEAVES:
            raise FormatError(f"{name}: invalid leaf count {n_leaves}")
        need = _tree_bytes(n_leaves, kind) - 4
        if pos + need > end:
            raise FormatError(f"{name}: header says {n_leaves} leaves but the file is too short")
        sb = _structure_bytes(n_leaves, kind)
        bits = np.frombuffer(data, np.uint8, sb, pos)
        pos += sb
        left, right, value, status = _decode_structure(bits, n_leaves, kind == OCCUPANCY)
        if status != 0:
            raise FormatError(f"{name}: malformed tree structure (code {status})")
        planes = np.frombuffer(data, "<f4", 4 * (n_leaves - 1), pos).reshape(-1, 4)
        pos += 16 * (n_leaves - 1)
        if not np.all(np.isfinite(planes)):
            raise FormatError(f"{name}: non-finite plane coefficients")
        leaf = left < 0
        normal = np.zeros((left.shape[0], 3), np.float32)
        offset = np.zeros(left.shape[0], np.float32)
        normal[~leaf] = planes[:, :3]
        offset[~leaf] = planes[:, 3]
        if kind == NORMALS:
            vals = np.frombuffer(data, "<f4", 3 * n_leaves, pos).reshape(-1, 3)
            pos += 12 * n_leaves
            if not np.all(np.isfinite(vals)):
                raise FormatError(f"{name}: non-finite leaf values")
            value = np.zeros((left.shape[0], 3), np.float32)
            value[leaf] = vals
        trees.append(Tree(normal, offset, left, right, value, bounds.copy(), kind=kind))
    if pos != end:
        raise FormatError(f"{name}: {end - pos} unexpected trailing bytes")
    return trees


def read_trees(path: str | Path, kind: int | None = None) -> list[Tree]:
    """Read every tree of a ``.stree`` file, optionally requiring a kind."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise FormatError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise FormatError(f"{p}: is a directory, not a .stree file") from None
    except OSError as e:
        raise FormatError(f"{p}: cannot read ({e.strerror})") from None
    trees = decode_trees(data, str(p))
    if kind is not None and trees[0].kind != kind:
        raise FormatError(
            f"{p}: holds a {KIND_NAMES[trees[0].kind]} tree, a {KIND_NAMES[kind]} tree is needed"
        )
    return trees


def load(path: str | Path) -> Tree:
    """Read an occupancy tree from a ``.stree`` file."""
    return read_trees(path, OCCUPANCY)[0]


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to a temp file beside ``path``, then rename it into place."""
    p = Path(path)
    directory = p.parent if str(p.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, p)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_trees(path: str | Path, trees: list[Tree]) -> None:
    write_atomic(path, encode_trees(trees))


# --- reference implementation's binary format ("treed") ---
#
# Little-endian float32 throughout, no magic. An occupancy file is the bounding box (min xyz,
# max xyz) then one tree; a normal-map file is one or more trees back to back, no box. Nodes in
# pre-order: a branch is (axis x, y, z, threshold) -- "less than" (our left) iff axis . x <
# threshold; a leaf is the marker (0, 0, 0) then its payload (1 float for occupancy, non-zero =
# inside; 3 floats for a normal). So an occupancy file of L leaves is 32 L + 8 bytes.

TREED_PAYLOAD = {OCCUPANCY: 1, NORMALS: 3}


@nb.njit(cache=True)
def _parse_treed(f, start, payload):
    """Parse one pre-order tree from float32 words ``f[start:]``.

    Returns (normal, offset, left, right, value, next_word, status); status < 0 when the words
    end inside a node (-1) or the tree never closes (-2).
    """
    end = f.shape[0]
    cap = (end - start) // 4 + 1  # every node takes at least 4 words
    normal = np.zeros((cap, 3), np.float32)
    offset = np.zeros(cap, np.float32)
    left = np.full(cap, -1, np.int32)
    right = np.full(cap, -1, np.int32)
    value = np.zeros((cap, 3), np.float32)
    stack = np.empty(cap + 1, np.int64)  # branches still waiting for their right child
    sp = 0
    pos = start
    n = 0
    while True:
        if pos + 3 > end:
            return normal[:n], offset[:n], left[:n], right[:n], value[:n], pos, -1
        if n > 0:
            parent = stack[sp - 1]
            if left[parent] < 0:
                left[parent] = n
            else:
                right[parent] = n
                sp -= 1
        if f[pos] == 0 and f[pos + 1] == 0 and f[pos + 2] == 0:
            if pos + 3 + payload > end:
                return normal[:n], offset[:n], left[:n], right[:n], value[:n], pos, -1
            for k in range(payload):
                value[n, k] = f[pos + 3 + k]
            pos += 3 + payload
            n += 1
            if sp == 0:
                return normal[:n], offset[:n], left[:n], right[:n], value[:n], pos, 0
        else:
            if pos + 4 > end:
                return normal[:n], offset[:n], left[:n], right[:n], value[:n], pos, -1
            normal[n, 0] = f[pos]
            normal[n, 1] = f[pos + 1]
            normal[n, 2] = f[pos + 2]
            offset[n] = f[pos + 3]
            pos += 4
            stack[sp] = n
            sp += 1
            n += 1
            if n >= cap:
                return normal[:n], offset[:n], left[:n], right[:n], value[:n], pos, -2


def decode_treed(data: bytes, kind: int = OCCUPANCY, name: str = "<bytes>",
                 bounds: np.ndarray | None = None) -> list[Tree]:
    """Parse and validate a treed file: one occupancy tree, or one or more normal-map trees.

    Normal-map files carry no box, so ``bounds`` ((2, 3) float) must be given for them.
    """
    if kind not in TREED_PAYLOAD:
        raise FormatError(f"{name}: unknown tree kind {kind}")
    size = len(data)
    if kind == OCCUPANCY:
        if size < 40 or (size - 8) % 32:
            raise FormatError(
                f"{name}: {size} bytes is not a treed occupancy file (size must be 32 * leaves + 8)"
            )
    elif size < 16 or size % 4:
        raise FormatError(f"{name}: {size} bytes is not a treed normal-map file (not whole float32s)")
    words = np.frombuffer(data, "<f4").astype(np.float32)
    if not np.all(np.isfinite(words)):
        raise FormatError(f"{name}: non-finite values in a treed file")
    if kind == OCCUPANCY:
        box = words[:6].astype(np.float64).reshape(2, 3)
        start = 6
    else:
        if bounds is None:
            raise FormatError(f"{name}: a treed normal-map file has no bounds; they must be given")
        box = np.asarray(bounds, np.float64).reshape(2, 3)
        start = 0
    if not np.all(np.isfinite(box)) or np.any(box[0] > box[1]):
        raise FormatError(f"{name}: invalid bounds {box.tolist()}")
    payload = TREED_PAYLOAD[kind]
    trees = []
    while start < len(words):
        normal, offset, left, right, value, start, status = _parse_treed(words, start, payload)
        if status == -1:
            raise FormatError(f"{name}: truncated treed file (ends inside node {len(left)})")
        if status != 0:
            raise FormatError(f"{name}: malformed treed structure (code {status})")
        leaf = left < 0
        value = value[:, 0] != 0 if kind == OCCUPANCY else np.where(leaf[:, None], value, 0)
        trees.append(Tree(normal, offset, left, right, value, box.copy(), kind=kind))
        if kind == OCCUPANCY and start != len(words):
            raise FormatError(f"{name}: {4 * (len(words) - start)} unexpected bytes after the tree")
    return trees


def encode_treed(trees: list[Tree]) -> bytes:
    """Serialise trees in the treed format (bounds rounded outward to float32 for occupancy)."""
    kind = _writable_kind(trees, "a treed occupancy file")
    parts = []
    if kind == OCCUPANCY:
        lo, hi = trees[0].bounds
        lo32, hi32 = lo.astype(np.float32), hi.astype(np.float32)
        lo32 = np.where(lo32 > lo, np.nextafter(lo32, np.float32(-np.inf)), lo32)
        hi32 = np.where(hi32 < hi, np.nextafter(hi32, np.float32(np.inf)), hi32)
        parts.append(np.concatenate([lo32, hi32]).astype("<f4").tobytes())
    width = 3 + TREED_PAYLOAD[kind]
    for t in trees:
        leaf = t.left < 0
        if np.any(np.all(t.normal[~leaf] == 0, axis=1)):
            raise FormatError("a branch with a zero normal cannot be written as treed (it reads as a leaf)")
        rows = np.zeros((t.n_nodes, width), "<f4")
        rows[~leaf, :3] = t.normal[~leaf]
        rows[~leaf, 3] = t.offset[~leaf]
        if kind == OCCUPANCY:
            rows[leaf, 3] = t.value[leaf]
        else:
            rows[leaf, 3:] = t.value[leaf]
        widths = np.where(leaf, width, 4)
        flat = rows.reshape(-1)
        keep = (np.arange(width)[None, :] < widths[:, None]).reshape(-1)
        parts.append(flat[keep].tobytes())  # nodes are stored in pre-order already
    return b"".join(parts)


def read_treed_trees(path: str | Path, kind: int = OCCUPANCY,
                     bounds: np.ndarray | None = None) -> list[Tree]:
    """Read every tree of a treed file (normal-map files need ``bounds``)."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise FormatError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise FormatError(f"{p}: is a directory, not a treed file") from None
    except OSError as e:
        raise FormatError(f"{p}: cannot read ({e.strerror})") from None
    return decode_treed(data, kind, str(p), bounds)


def read_treed(path: str | Path, kind: int = OCCUPANCY, bounds: np.ndarray | None = None) -> Tree:
    """Read a treed file holding one tree (an occupancy file always does)."""
    trees = read_treed_trees(path, kind, bounds)
    if len(trees) != 1:
        raise FormatError(f"{path}: holds {len(trees)} trees, expected one")
    return trees[0]


def write_treed(path: str | Path, trees: Tree | list[Tree]) -> None:
    """Write one tree, or several normal-map trees, as a treed file (atomically)."""
    write_atomic(path, encode_treed([trees] if isinstance(trees, Tree) else list(trees)))
