"""The Tree: a handful of flat arrays, like scikit-learn's ``tree_``.

Node ``i`` is a branch when ``left[i] >= 0``: a point ``x`` goes to ``left[i]`` iff
``normal[i] . x < offset[i]`` (computed in float64 from the float32 plane), else to
``right[i]`` -- so points exactly on a plane go right. A leaf holds ``value[i]``.
Nodes are stored in pre-order (root first, then the left subtree, then the right one).
An occupancy tree is ``False`` everywhere outside ``bounds`` (inclusive box).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numba as nb
import numpy as np

from .errors import UsageError

OCCUPANCY = 0
NORMALS = 1
KIND_NAMES = {OCCUPANCY: "occupancy", NORMALS: "normals"}


@nb.njit(cache=True, inline="always")
def _descend(normal, offset, left, right, x0, x1, x2):
    i = 0
    while left[i] >= 0:
        d = np.float64(normal[i, 0]) * x0 + np.float64(normal[i, 1]) * x1 + np.float64(normal[i, 2]) * x2
        if d < np.float64(offset[i]):
            i = left[i]
        else:
            i = right[i]
    return i


@nb.njit(cache=True, parallel=True)
def leaf_index(normal, offset, left, right, points):
    """Index of the leaf holding each point, ``(n,) int64``; bounds are not checked."""
    n = points.shape[0]
    out = np.empty(n, np.int64)
    for k in nb.prange(n):
        out[k] = _descend(normal, offset, left, right, points[k, 0], points[k, 1], points[k, 2])
    return out


@nb.njit(cache=True)
def _pack(normal, offset, left, right, value):
    """Query layout: nodes in pre-order so a branch's left child is the next node; ``planes``
    (n, 4) float64 = normal, offset (the float32 values widened exactly, so no conversion sits
    on the descent's critical path); ``nxt`` (n,) int32 = right child, or -1 / -2 for an
    outside / inside leaf."""
    n = left.shape[0]
    planes = np.zeros((n, 4), np.float64)
    nxt = np.empty(n, np.int32)
    stack = np.empty(n + 1, np.int64)  # old ids to visit
    pending = np.full(n, -1, np.int64)  # new id of the parent waiting for this right child
    sp = 0
    stack[sp] = 0
    sp += 1
    k = 0
    while sp > 0:
        sp -= 1
        i = stack[sp]
        if pending[i] >= 0:
            nxt[pending[i]] = k
        if left[i] < 0:
            nxt[k] = -2 if value[i] else -1
        else:
            planes[k, 0] = normal[i, 0]
            planes[k, 1] = normal[i, 1]
            planes[k, 2] = normal[i, 2]
            planes[k, 3] = offset[i]
            pending[right[i]] = k
            stack[sp] = right[i]
            stack[sp + 1] = left[i]
            sp += 2
        k += 1
    return planes, nxt


GRID = 48  # start-node grid resolution per axis (see _start_grid)
GRID_MIN_POINTS = 20_000  # smaller queries start at the root instead of building the grid


@nb.njit(cache=True, parallel=True)
def _start_grid(planes, nxt, lo, hi, res):
    """For each cell of a res^3 grid over the bounds, the deepest node whose cell contains the
    whole grid cell (slightly grown), so a query can start there instead of at the root.

    At a node, if all 8 corners of the (convex) grid box lie on one side of the plane with a
    margin far above rounding error, every point of the box goes that way; the descent stops at
    the first plane that cuts the box or comes too close to a corner.
    """
    out = np.empty(res * res * res, np.int32)
    step = (hi - lo) / res
    pad = 1e-9 * (hi - lo) + 1e-300
    scale = np.abs(lo).max() + np.abs(hi).max()
    for c in nb.prange(res * res * res):
        gi = c // (res * res)
        gj = (c // res) % res
        gk = c % res
        node = 0
        while nxt[node] >= 0:
            b = planes[node, 3]
            tol = 1e-12 * (scale * (abs(planes[node, 0]) + abs(planes[node, 1]) + abs(planes[node, 2])) + abs(b))
            n_left = 0
            n_right = 0
            for corner in range(8):
                x0 = lo[0] + (gi + (corner & 1)) * step[0] + (pad[0] if corner & 1 else -pad[0])
                x1 = lo[1] + (gj + ((corner >> 1) & 1)) * step[1] + (pad[1] if (corner >> 1) & 1 else -pad[1])
                x2 = lo[2] + (gk + ((corner >> 2) & 1)) * step[2] + (pad[2] if (corner >> 2) & 1 else -pad[2])
                d = planes[node, 0] * x0 + planes[node, 1] * x1 + planes[node, 2] * x2
                if d < b - tol:
                    n_left += 1
                elif d >= b + tol:
                    n_right += 1
            if n_left == 8:
                node = node + 1
            elif n_right == 8:
                node = nxt[node]
            else:
                break
        out[c] = node
    return out


@nb.njit(cache=True, parallel=True)
def _contains_packed(planes, nxt, lo, hi, points, grid, res):
    n = points.shape[0]
    out = np.zeros(n, np.bool_)
    inv = res / (hi - lo)
    for k in nb.prange(n):
        x0 = points[k, 0]
        x1 = points[k, 1]
        x2 = points[k, 2]
        # written so that NaN coordinates fail the test too
        if not (x0 >= lo[0] and x0 <= hi[0] and x1 >= lo[1] and x1 <= hi[1] and x2 >= lo[2] and x2 <= hi[2]):
            continue
        i = np.int64(0)
        if res > 0:
            g0 = min(max(int((x0 - lo[0]) * inv[0]), 0), res - 1)
            g1 = min(max(int((x1 - lo[1]) * inv[1]), 0), res - 1)
            g2 = min(max(int((x2 - lo[2]) * inv[2]), 0), res - 1)
            i = np.int64(grid[(g0 * res + g1) * res + g2])
        r = np.int64(nxt[i])
        while r >= 0:
            d = planes[i, 0] * x0 + planes[i, 1] * x1 + planes[i, 2] * x2
            # branch-free step (the side is a coin flip for the predictor): left is i + 1, right r
            go_right = np.int64(d >= planes[i, 3])
            i = i + 1 + go_right * (r - i - 1)
            r = np.int64(nxt[i])
        out[k] = r == -2
    return out


@nb.njit(cache=True)
def _depth_and_parents(left, right):
    n = left.shape[0]
    depth = np.zeros(n, np.int64)
    parent = np.full(n, -1, np.int64)
    for i in range(n):  # pre-order: a parent always precedes its children
        if left[i] >= 0:
            depth[left[i]] = depth[i] + 1
            depth[right[i]] = depth[i] + 1
            parent[left[i]] = i
            parent[right[i]] = i
    return depth, parent


@dataclass(eq=False)
class Tree:
    """An oblique decision tree over 3D points.

    normal: (n, 3) float32 plane normals (rows of leaves are zero)
    offset: (n,) float32 plane offsets
    left, right: (n,) int32 child indices, -1 at leaves
    value: (n,) bool occupancy, or (n, 3) float32 vectors for a normal-map tree
    bounds: (2, 3) float64 box [min, max] the tree is defined on
    """

    normal: np.ndarray
    offset: np.ndarray
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray
    bounds: np.ndarray
    kind: int = OCCUPANCY
    meta: dict = field(default_factory=dict)
    _packed: list | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.normal = np.ascontiguousarray(self.normal, np.float32).reshape(-1, 3)
        self.offset = np.ascontiguousarray(self.offset, np.float32).reshape(-1)
        self.left = np.ascontiguousarray(self.left, np.int32).reshape(-1)
        self.right = np.ascontiguousarray(self.right, np.int32).reshape(-1)
        if self.kind == OCCUPANCY:
            self.value = np.ascontiguousarray(self.value, np.bool_).reshape(-1)
        else:
            self.value = np.ascontiguousarray(self.value, np.float32).reshape(-1, 3)
        self.bounds = np.ascontiguousarray(self.bounds, np.float64).reshape(2, 3)

    # -- structure -------------------------------------------------------------
    @property
    def n_nodes(self) -> int:
        return int(self.left.shape[0])

    @property
    def is_leaf(self) -> np.ndarray:
        """(n,) bool mask of leaves."""
        return self.left < 0

    @property
    def n_leaves(self) -> int:
        return int(np.count_nonzero(self.left < 0))

    @property
    def depth(self) -> int:
        """Number of branches on the longest root-to-leaf path (a single leaf has depth 0)."""
        return int(self.node_depth().max()) if self.n_nodes else 0

    def node_depth(self) -> np.ndarray:
        """(n,) int64 depth of every node."""
        return _depth_and_parents(self.left, self.right)[0]

    def parent(self) -> np.ndarray:
        """(n,) int64 parent of every node, -1 at the root."""
        return _depth_and_parents(self.left, self.right)[1]

    # -- evaluation ------------------------------------------------------------
    def apply(self, points: np.ndarray) -> np.ndarray:
        """Leaf index of each point, (n,) int64 (the bounds are not checked)."""
        pts = _as_points(points)
        return leaf_index(self.normal, self.offset, self.left, self.right, pts)

    def contains(self, points: np.ndarray) -> np.ndarray:
        """Occupancy of each point, (n,) bool; False outside ``bounds`` and for NaN points."""
        if self.kind != OCCUPANCY:
            raise UsageError("contains() needs an occupancy tree, this is a normal-map tree")
        pts = _as_points(points)
        key = (id(self.normal), id(self.offset), id(self.left), id(self.right), id(self.value), id(self.bounds))
        if self._packed is None or self._packed[0] != key:
            self._packed = [key, *_pack(self.normal, self.offset, self.left, self.right, self.value), None]
        _, planes, nxt, grid = self._packed
        lo, hi = self.bounds
        if grid is None and len(pts) >= GRID_MIN_POINTS and np.all(hi > lo):
            grid = self._packed[3] = _start_grid(planes, nxt, lo, hi, GRID)
        if grid is None:
            return _contains_packed(planes, nxt, lo, hi, pts, np.zeros(1, np.int32), 0)
        return _contains_packed(planes, nxt, lo, hi, pts, grid, GRID)

    def predict(self, points: np.ndarray) -> np.ndarray:
        """Leaf value of each point: (n,) bool or (n, 3) float32 (bounds not checked)."""
        return self.value[self.apply(points)]

    # -- files -------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write the tree as a ``.stree`` file (atomically: temp file, then rename)."""
        from .format import write_trees

        write_trees(path, [self])

    def to_bytes(self) -> bytes:
        from .format import encode_trees

        return encode_trees([self])

    def __repr__(self) -> str:
        lo, hi = self.bounds
        return (
            f"Tree(kind={KIND_NAMES[self.kind]}, leaves={self.n_leaves}, depth={self.depth}, "
            f"bounds=[{lo[0]:.4g} {lo[1]:.4g} {lo[2]:.4g}]..[{hi[0]:.4g} {hi[1]:.4g} {hi[2]:.4g}])"
        )

    # -- rendering ---------------------------------------------------------------
    def raycast(self, origins: np.ndarray, directions: np.ndarray):
        """First hits of rays ``origin + t * direction`` (t >= 0): a ``render.RayHits``."""
        from .render import raycast

        return raycast(self, origins, directions)


def tree_in_preorder(normal, offset, left, right, value, bounds, kind: int = OCCUPANCY) -> Tree:
    """A ``Tree`` from nodes stored in any order (node 0 is the root): renumbers them in pre-order
    and clears planes at leaves and values at branches, the canonical form files store."""
    left = np.asarray(left, np.int64)
    right = np.asarray(right, np.int64)
    order = []
    stack = [0]
    while stack:
        i = stack.pop()
        order.append(i)
        if left[i] >= 0:
            stack.append(int(right[i]))
            stack.append(int(left[i]))
    order = np.asarray(order, np.int64)
    index = np.full(len(left), -1, np.int64)
    index[order] = np.arange(len(order))
    branch = left[order] >= 0
    new_left = np.where(branch, index[np.maximum(left[order], 0)], -1)
    new_right = np.where(branch, index[np.maximum(right[order], 0)], -1)
    normal = np.asarray(normal, np.float32)[order] * branch[:, None]
    offset = np.asarray(offset, np.float32)[order] * branch
    value = np.asarray(value)[order].copy()
    value[branch] = 0
    return Tree(normal, offset, new_left, new_right, value, bounds, kind=kind)


def _as_points(points: np.ndarray) -> np.ndarray:
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 3:
        raise UsageError(f"points must have shape (n, 3), got {pts.shape}")
    return np.ascontiguousarray(pts)


def trees_equal(a: Tree, b: Tree) -> bool:
    """True when two trees have identical arrays (structure, planes, values, bounds, kind)."""
    return (
        a.kind == b.kind
        and np.array_equal(a.left, b.left)
        and np.array_equal(a.right, b.right)
        and np.array_equal(a.normal, b.normal)
        and np.array_equal(a.offset, b.offset)
        and np.array_equal(a.value, b.value)
        and np.array_equal(a.bounds, b.bounds)
    )
