"""Structural edits of trees; each returns a new tree in pre-order (the canonical form)."""

from __future__ import annotations

import numba as nb
import numpy as np

from .core import Kind, Tree


@nb.njit(cache=True)
def preorder(left, right, root=0):
    """(m,) int64 ids of the nodes reachable from ``root``, in pre-order (root, left subtree,
    right subtree); ``left``/``right`` (n,) int64 with -1 at leaves, nodes in any order."""
    n = left.shape[0]
    order = np.empty(n, np.int64)
    stack = np.empty(n + 1, np.int64)
    sp = 1
    stack[0] = root
    m = 0
    while sp > 0:
        sp -= 1
        i = stack[sp]
        order[m] = i
        m += 1
        if left[i] >= 0:
            stack[sp] = right[i]
            stack[sp + 1] = left[i]
            sp += 2
    return order[:m]


def tree_in_preorder(normal, offset, left, right, value, bounds, kind: Kind = Kind.OCCUPANCY,
                     meta: dict | None = None, origin: np.ndarray | None = None, scale: float = 1.0,
                     root: int = 0) -> Tree:
    """A ``Tree`` of the nodes reachable from ``root`` (stored in any order): renumbers them in
    pre-order and clears planes at leaves and values at branches, the canonical form files store."""
    left = np.asarray(left, np.int64)
    right = np.asarray(right, np.int64)
    return _renumbered(normal, offset, left, right, value, preorder(left, right, root), bounds, kind, meta, origin,
                       scale)


def _renumbered(normal, offset, left, right, value, order, bounds, kind, meta, origin, scale) -> Tree:
    """``tree_in_preorder`` with the pre-order ``order`` of ``left, right`` (int64) already computed."""
    index = np.full(len(left), -1, np.int64)
    index[order] = np.arange(len(order))
    branch = left[order] >= 0
    new_left = np.where(branch, index[np.maximum(left[order], 0)], -1)
    new_right = np.where(branch, index[np.maximum(right[order], 0)], -1)
    normal = np.where(branch[:, None], np.asarray(normal, np.float32)[order], np.float32(0))
    offset = np.where(branch, np.asarray(offset, np.float32)[order], np.float32(0))
    value = np.asarray(value)[order].copy()
    value[branch] = 0
    return Tree(normal, offset, new_left, new_right, value, bounds, kind=kind, meta=meta or {}, origin=origin,
                scale=scale)


def collapse(tree: Tree, nodes: np.ndarray, values: np.ndarray) -> Tree:
    """The tree with each branch of ``nodes`` ((k,) int64) turned into a leaf holding ``values``
    ((k,) bool, or (k, 3) for a normal-map tree); their subtrees are dropped."""
    nodes = np.asarray(nodes, np.int64)
    left = tree.left.astype(np.int64)
    right = tree.right.astype(np.int64)
    value = tree.value.copy()
    left[nodes] = -1
    right[nodes] = -1
    value[nodes] = values
    normal = tree.normal.copy()
    offset = tree.offset.copy()
    return tree_in_preorder(normal, offset, left, right, value, tree.bounds, tree.kind, origin=tree.origin,
                            scale=tree.scale)


def flipped(tree: Tree, mask: np.ndarray) -> tuple[Tree, np.ndarray]:
    """The tree with each branch of ``mask`` ((n,) bool) on the other side of its plane: normal and
    offset negated, children swapped (the same occupancy, but for points on such a plane), renumbered
    in pre-order; and ``order``, the old id of each new node."""
    mask = np.asarray(mask, bool) & (tree.left >= 0)
    left = np.where(mask, tree.right, tree.left).astype(np.int64)
    right = np.where(mask, tree.left, tree.right).astype(np.int64)
    normal = np.where(mask[:, None], -tree.normal, tree.normal)
    offset = np.where(mask, -tree.offset, tree.offset)
    order = preorder(left, right)
    return _renumbered(normal, offset, left, right, tree.value, order, tree.bounds, tree.kind, dict(tree.meta),
                       tree.origin, tree.scale), order


def bounds_frame(bounds: np.ndarray) -> tuple[np.ndarray, float]:
    """The frame trees are built in: ``(origin (3,) float64, scale float)`` with the origin at the
    centre of ``bounds`` and the scale a power of two in (h, 2h] for h half the longest side, so the
    box maps into [-1, 1]^3 and dividing by the scale is exact."""
    lo, hi = np.asarray(bounds, np.float64).reshape(2, 3)
    origin = lo / 2 + hi / 2  # halves first: no overflow near the float64 limit
    half = float(np.max(hi / 2 - lo / 2))
    if not (np.isfinite(half) and half > 0):
        raise ValueError(f"bounds {np.stack([lo, hi]).tolist()} have no extent")
    _, exponent = np.frexp(half)  # half = mantissa * 2**exponent, 0.5 <= mantissa < 1
    return origin, float(np.ldexp(1.0, int(exponent)))
