"""The Tree: a handful of flat, read-only arrays, like scikit-learn's ``tree_``.

Node ``i`` is a branch when ``left[i] >= 0``: a point ``x`` goes to ``left[i]`` iff
``normal[i] . u < offset[i]`` (see ``side.goes_left``) with ``u = (x - origin) / scale`` the point in
the tree's frame, else to ``right[i]`` -- so points exactly on a plane go right. Trees built here
use the frame of their bounds (origin at the centre, a power-of-two scale at least half the
longest side), so float32 planes keep their precision at any position and size; trees read from
v1 or treed files use the identity frame (planes in absolute coordinates). A leaf holds ``value[i]``. Nodes are stored in pre-order (root first, then
the left subtree, then the right one): a branch's left child is the next node. An occupancy tree
is ``False`` everywhere outside ``bounds`` (inclusive box).

A tree never changes: its arrays are read-only, and edits (``replace``, ``tree.edits``) return
new trees. So the query layout, built on first use, can never go stale.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from functools import cached_property

import numba as nb
import numpy as np

from ..errors import UsageError, UsageTypeError
from .layout import GRID, GRID_MIN_POINTS, contains_kernel, leaf_kernel, query_layout, start_grid


class Kind(enum.IntEnum):
    """What a tree's leaves hold."""

    OCCUPANCY = 0  # (n,) bool: inside / outside
    NORMALS = 1  # (n, 3) float32: a vector (a normal-map tree, alone or in a boosted ensemble)

    @property
    def label(self) -> str:
        return self.name.lower()


@nb.njit(cache=True)
def _preorder_status(left, right):
    """0 when ``left``/``right`` describe one binary tree in pre-order, else a negative code."""
    n = left.shape[0]
    if n == 0:
        return -1
    stack = np.empty(n + 1, np.int64)  # branches still waiting for their right child
    sp = 0
    for i in range(n):
        if i > 0 and left[i - 1] < 0:  # after a leaf comes the right child of the latest open branch
            if sp == 0:
                return -2  # the tree closed before node i
            if right[stack[sp - 1]] != i:
                return -3
            sp -= 1
        if left[i] >= 0:
            if left[i] != i + 1 or right[i] <= i + 1 or right[i] >= n:
                return -3
            stack[sp] = i
            sp += 1
        elif left[i] != -1 or right[i] != -1:
            return -4
    return 0 if sp == 0 else -2


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


def _frozen(a: np.ndarray, dtype, shape: tuple[int, ...]) -> np.ndarray:
    """A read-only view of a private copy (a view of a read-only base cannot be made writable)."""
    base = np.empty(shape, dtype)
    base[...] = np.asarray(a, dtype).reshape(shape)
    base.setflags(write=False)
    view = base.view()
    view.setflags(write=False)
    return view


@dataclass(frozen=True, eq=False)
class Tree:
    """An oblique decision tree over 3D points, in pre-order.

    normal: (n, 3) float32 plane normals (rows of leaves are zero)
    offset: (n,) float32 plane offsets
    left, right: (n,) int32 child indices, -1 at leaves
    value: (n,) bool occupancy, or (n, 3) float32 vectors for a normal-map tree
    bounds: (2, 3) float64 box [min, max] the tree is defined on (absolute coordinates)
    kind: ``Kind.OCCUPANCY`` or ``Kind.NORMALS``; meta: free-form facts (e.g. build statistics)
    origin: (3,) float64 and scale: float64 > 0, the frame the planes act in (identity by default)
    """

    normal: np.ndarray
    offset: np.ndarray
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray
    bounds: np.ndarray
    kind: Kind = Kind.OCCUPANCY
    meta: dict = field(default_factory=dict)
    origin: np.ndarray | None = None
    scale: float = 1.0

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        kind = Kind(self.kind)
        set_(self, "kind", kind)
        left = np.asarray(self.left).reshape(-1)
        n = left.shape[0]
        set_(self, "left", _frozen(left, np.int32, (n,)))
        set_(self, "right", _frozen(self.right, np.int32, (n,)))
        set_(self, "normal", _frozen(self.normal, np.float32, (n, 3)))
        set_(self, "offset", _frozen(self.offset, np.float32, (n,)))
        if kind == Kind.OCCUPANCY:
            set_(self, "value", _frozen(self.value, np.bool_, (n,)))
        else:
            set_(self, "value", _frozen(self.value, np.float32, (n, 3)))
        set_(self, "bounds", _frozen(self.bounds, np.float64, (2, 3)))
        set_(self, "meta", dict(self.meta))
        set_(self, "origin", _frozen(np.zeros(3) if self.origin is None else self.origin, np.float64, (3,)))
        set_(self, "scale", float(self.scale))
        if not (np.isfinite(self.scale) and self.scale > 0 and np.all(np.isfinite(self.origin))):
            raise UsageError(f"a tree's frame needs a finite origin and a finite scale > 0, got "
                             f"{self.origin.tolist()} and {self.scale}")
        status = _preorder_status(self.left, self.right)
        if status != 0:
            raise UsageError(f"tree nodes are not one binary tree in pre-order (code {status}); "
                             "use shapetree.tree.tree_in_preorder")

    @property
    def has_identity_frame(self) -> bool:
        """True when the planes act on absolute coordinates (origin 0, scale 1)."""
        return self.scale == 1.0 and not self.origin.any()

    def to_frame(self, points: np.ndarray) -> np.ndarray:
        """Points in the tree's frame, ``(x - origin) / scale``: (n, 3) float64."""
        return (np.asarray(points, np.float64) - self.origin) / self.scale

    def replace(self, **changes) -> Tree:
        """A new tree with some fields replaced (``tree.replace(value=v)``)."""
        return dataclasses.replace(self, **changes)

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
        return int(self.node_depth.max())

    @cached_property
    def node_depth(self) -> np.ndarray:
        """(n,) int64 depth of every node (read-only)."""
        return self._structure[0]

    @cached_property
    def parent(self) -> np.ndarray:
        """(n,) int64 parent of every node, -1 at the root (read-only)."""
        return self._structure[1]

    @cached_property
    def _structure(self) -> tuple[np.ndarray, np.ndarray]:
        depth, parent = _depth_and_parents(self.left, self.right)
        depth.setflags(write=False)
        parent.setflags(write=False)
        return depth, parent

    # -- the query layout, shared by every evaluation and the ray caster ----------------
    @cached_property
    def layout(self) -> tuple[np.ndarray, np.ndarray]:
        """``(planes (n, 4) float64, nxt (n,) int32)``: see ``tree.layout``."""
        occupancy = self.value if self.kind == Kind.OCCUPANCY else None
        planes, nxt = query_layout(self.normal, self.offset, self.left, self.right, occupancy)
        planes.setflags(write=False)
        nxt.setflags(write=False)
        return planes, nxt

    @cached_property
    def _grid(self) -> np.ndarray | None:
        lo, hi = self.bounds
        if not np.all(hi > lo):
            return None
        grid = start_grid(*self.layout, lo, hi, self.origin, self.scale, GRID)
        grid.setflags(write=False)
        return grid

    def _start(self, n_points: int) -> tuple[np.ndarray, int]:
        grid = self._grid if n_points >= GRID_MIN_POINTS else None
        return (np.zeros(1, np.int32), 0) if grid is None else (grid, GRID)

    # -- evaluation ------------------------------------------------------------
    def apply(self, points: np.ndarray) -> np.ndarray:
        """Leaf index of each point: (n, 3) float64 -> (n,) int64 (the bounds are not checked)."""
        pts = as_points(points)
        return leaf_kernel(*self.layout, self.bounds[0], self.bounds[1], self.origin, self.scale, pts,
                           *self._start(len(pts)))

    def contains(self, points: np.ndarray) -> np.ndarray:
        """Occupancy of each point: (n, 3) float64 -> (n,) bool; False outside ``bounds`` and for
        NaN points."""
        if self.kind != Kind.OCCUPANCY:
            raise UsageError("contains() needs an occupancy tree, this is a normal-map tree")
        pts = as_points(points)
        return contains_kernel(*self.layout, self.bounds[0], self.bounds[1], self.origin, self.scale, pts,
                               *self._start(len(pts)))

    def predict(self, points: np.ndarray) -> np.ndarray:
        """Leaf value of each point: (n,) bool or (n, 3) float32 (bounds not checked)."""
        return self.value[self.apply(points)]

    def __repr__(self) -> str:
        lo, hi = self.bounds
        return (
            f"Tree(kind={self.kind.label}, leaves={self.n_leaves}, depth={self.depth}, "
            f"bounds=[{lo[0]:.4g} {lo[1]:.4g} {lo[2]:.4g}]..[{hi[0]:.4g} {hi[1]:.4g} {hi[2]:.4g}])"
        )


def as_points(points: np.ndarray, name: str = "points", *, allow_one: bool = False) -> np.ndarray:
    """``points`` as an (n, 3) float64 array (``allow_one``: or one (3,) point), else a
    ``UsageError`` naming the argument. Contiguous, except that a broadcast view (a zero stride,
    as from ``np.broadcast_to``) stays a view: only its distinct values are converted, so
    10**8 copies of one point are never materialised."""
    if isinstance(points, (str, bytes)):
        raise UsageTypeError(f"{name} must be an (n, 3) array of numbers, got a {type(points).__name__}")
    try:
        arr = np.asarray(points)
    except ValueError:  # numpy's "inhomogeneous shape" for ragged nested lists
        raise UsageError(f"{name} must be an (n, 3) array of numbers, got rows of different lengths") from None
    if arr.dtype.kind == "O":  # e.g. None among the numbers
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise UsageTypeError(f"{name} must be an (n, 3) array of real numbers, got {arr.dtype} "
                                 "elements that are not numbers") from None
    if arr.dtype.kind not in "biuf":
        raise UsageTypeError(f"{name} must be an (n, 3) array of real numbers, got dtype {arr.dtype}")
    if not (arr.ndim == 2 and arr.shape[1] == 3) and not (allow_one and arr.shape == (3,)):
        raise UsageError(f"{name} must have shape (n, 3), got {arr.shape}")
    if arr.size and 0 in arr.strides:
        distinct = arr[tuple(slice(0, 1) if s == 0 else slice(None) for s in arr.strides)]
        return np.broadcast_to(np.asarray(distinct, np.float64), arr.shape)
    return np.ascontiguousarray(arr, np.float64)


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
        and np.array_equal(a.origin, b.origin)
        and a.scale == b.scale
    )
