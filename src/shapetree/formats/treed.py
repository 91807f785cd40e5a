"""The reference implementation's binary format ("treed"): read and write.

Little-endian float32 throughout, no magic. An occupancy file is the bounding box (min xyz,
max xyz) then one tree; a normal-map file is one or more trees back to back, no box. Nodes in
pre-order: a branch is (axis x, y, z, threshold) -- "less than" (our left) iff axis . x <
threshold; a leaf is the marker (0, 0, 0) then its payload (1 float for occupancy, non-zero =
inside; 3 floats for a normal). So an occupancy file of L leaves is 32 L + 8 bytes.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ..errors import FormatError
from ..tree import Kind, Tree
from .kinds import writable_kind

TREED_PAYLOAD = {Kind.OCCUPANCY: 1, Kind.NORMALS: 3}
TREED_SUFFIXES = (".bin", ".treed")


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


def decode_treed(data: bytes, kind: Kind = Kind.OCCUPANCY, name: str = "<bytes>",
                 bounds: np.ndarray | None = None) -> list[Tree]:
    """Parse and validate a treed file: one occupancy tree, or one or more normal-map trees.

    Normal-map files carry no box, so ``bounds`` ((2, 3) float) must be given for them.
    """
    if kind not in TREED_PAYLOAD:
        raise FormatError(f"{name}: unknown tree kind {kind}")
    size = len(data)
    if kind == Kind.OCCUPANCY:
        if size < 40 or (size - 8) % 32:
            raise FormatError(
                f"{name}: {size} bytes is not a treed occupancy file (size must be 32 * leaves + 8)"
            )
    elif size < 16 or size % 4:
        raise FormatError(f"{name}: {size} bytes is not a treed normal-map file (not whole float32s)")
    words = np.frombuffer(data, "<f4").astype(np.float32)
    if not np.all(np.isfinite(words)):
        raise FormatError(f"{name}: non-finite values in a treed file")
    if kind == Kind.OCCUPANCY:
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
        value = value[:, 0] != 0 if kind == Kind.OCCUPANCY else np.where(leaf[:, None], value, 0)
        trees.append(Tree(normal, offset, left, right, value, box, kind=Kind(kind)))
        if kind == Kind.OCCUPANCY and start != len(words):
            raise FormatError(f"{name}: {4 * (len(words) - start)} unexpected bytes after the tree")
    return trees


def encode_treed(trees: list[Tree]) -> bytes:
    """Serialise trees in the treed format (bounds rounded outward to float32 for occupancy)."""
    kind = writable_kind(trees, "a treed occupancy file")
    if not all(t.has_identity_frame for t in trees):
        raise FormatError("treed stores planes in absolute coordinates; this tree's planes are relative to its "
                          "bounds")
    parts = []
    if kind == Kind.OCCUPANCY:
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
        if kind == Kind.OCCUPANCY:
            rows[leaf, 3] = t.value[leaf]
        else:
            rows[leaf, 3:] = t.value[leaf]
        widths = np.where(leaf, width, 4)
        flat = rows.reshape(-1)
        keep = (np.arange(width)[None, :] < widths[:, None]).reshape(-1)
        parts.append(flat[keep].tobytes())  # nodes are stored in pre-order already
    return b"".join(parts)
