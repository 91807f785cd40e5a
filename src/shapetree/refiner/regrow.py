"""Prune and regrow: a local search over a small tree's structure, beside TAO's plane re-fits.

TAO keeps the tree's structure; simplification keeps planes of the big tree it starts from. A
round of regrowing changes the structure itself, on fresh labelled points of the builder's target
distribution (``simplifier.labelled_points``):

1. **prune** the ``k`` leaves the greedy simplification removes most cheaply on those points
   (``simplifier.order_on_points``), then
2. **grow** ``k`` leaves back: split the leaves whose best single plane removes the most mistakes
   on a second draw of points (``best_leaf_splits``: for every leaf, the plane that minimises the
   misclassified points when each side takes its majority, scanned exactly along
   ``N_DIRECTIONS`` fixed directions at every gap between projections), best first.

``tao.refine_report`` then re-fits the planes with TAO passes and keeps the round only when the
tree makes fewer mistakes on held-out points, so a round never makes the result worse there.

Both steps take a fixed point set and return a tree, and every count is an integer, so a round is
deterministic for its points whatever the thread count.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ..builder.directions import fibonacci_directions
from ..simplifier import order_on_points
from ..tree import Tree, tree_in_preorder

N_DIRECTIONS = 96  # fixed candidate normals for a new split (a hemisphere: a plane and its flip split alike)
MIN_POINTS = 4  # leaves with fewer points are not split
DEFAULT_SHARE = 1 / 16  # leaves pruned and regrown per round, a share of the tree's


@nb.njit(cache=True, parallel=True)
def best_leaf_splits(x, y, order, starts, dirs):
    """For every leaf ``j`` (its points ``order[starts[j]:starts[j + 1]]`` of ``x`` (n, 3) float64 in
    the tree's frame, labels ``y``), the plane along one of ``dirs`` (d, 3) that misclassifies
    fewest of its points when each side takes its majority: ``(gain, direction, offset,
    left_value, right_value)``, gain = mistakes saved over one leaf of the majority (0: no split
    helps, direction -1). The offset is halfway between the two projections either side; points
    go left iff ``dir . x < offset``. Ties keep the first direction and the first gap."""
    m = starts.shape[0] - 1
    gain = np.zeros(m, np.int64)
    best_dir = np.full(m, -1, np.int64)
    best_off = np.zeros(m, np.float64)
    left_value = np.zeros(m, np.bool_)
    right_value = np.zeros(m, np.bool_)
    for j in nb.prange(m):
        s, e = starts[j], starts[j + 1]
        n = e - s
        if n < MIN_POINTS:
            continue
        n_in = 0
        for i in range(s, e):
            n_in += y[order[i]]
        base = min(n_in, n - n_in)
        best = base
        proj = np.empty(n, np.float64)
        lab = np.empty(n, np.int64)
        for d in range(dirs.shape[0]):
            for i in range(n):
                p = order[s + i]
                proj[i] = dirs[d, 0] * x[p, 0] + dirs[d, 1] * x[p, 1] + dirs[d, 2] * x[p, 2]
            rank = np.argsort(proj, kind="mergesort")
            for i in range(n):
                lab[i] = y[order[s + rank[i]]]
            in_left = 0
            for k in range(n - 1):
                in_left += lab[k]
                a = proj[rank[k]]
                b = proj[rank[k + 1]]
                if a == b:
                    continue
                n_left = k + 1
                in_right = n_in - in_left
                n_right = n - n_left
                wrong = min(in_left, n_left - in_left) + min(in_right, n_right - in_right)
                if wrong < best:
                    best = wrong
                    best_dir[j] = d
                    best_off[j] = 0.5 * (a + b)
                    left_value[j] = 2 * in_left > n_left
                    right_value[j] = 2 * in_right > n_right
        gain[j] = base - best
    return gain, best_dir, best_off, left_value, right_value


def directions() -> np.ndarray:
    """The candidate normals of a new split: (N_DIRECTIONS, 3) float64, exactly float32 values."""
    return fibonacci_directions(N_DIRECTIONS).astype(np.float32).astype(np.float64)


def grow(tree: Tree, points: np.ndarray, labels: np.ndarray, k: int) -> Tree:
    """``tree`` with up to ``k`` of its leaves split, those whose best single split
    (``best_leaf_splits``) saves the most mistakes on the labelled ``points`` (ties: the lower leaf
    index); a split leaf's children take the majorities of its sides. Leaves no split helps stay."""
    if k <= 0:
        return tree
    x = np.ascontiguousarray(tree.to_frame(points))
    home = tree.apply(points)
    leaves = np.flatnonzero(tree.left < 0)
    slot = np.full(tree.n_nodes, -1, np.int64)
    slot[leaves] = np.arange(len(leaves))
    order = np.argsort(slot[home], kind="stable").astype(np.int64)
    starts = np.searchsorted(slot[home][order], np.arange(len(leaves) + 1)).astype(np.int64)
    dirs = directions()
    gain, d, off, lv, rv = best_leaf_splits(x, np.ascontiguousarray(labels, np.bool_), order, starts, dirs)
    ok = np.flatnonzero(gain > 0)
    pick = ok[np.lexsort((ok, -gain[ok]))][:k]
    if len(pick) == 0:
        return tree
    n, g = tree.n_nodes, len(pick)
    normal = np.concatenate([tree.normal, np.zeros((2 * g, 3), np.float32)])
    offset = np.concatenate([tree.offset, np.zeros(2 * g, np.float32)])
    left = np.concatenate([tree.left, np.full(2 * g, -1, tree.left.dtype)])
    right = np.concatenate([tree.right, np.full(2 * g, -1, tree.right.dtype)])
    value = np.concatenate([tree.value, np.zeros(2 * g, np.bool_)])
    at = leaves[pick]
    normal[at] = dirs[d[pick]].astype(np.float32)
    offset[at] = off[pick].astype(np.float32)
    left[at] = n + 2 * np.arange(g)
    right[at] = n + 2 * np.arange(g) + 1
    value[n + 2 * np.arange(g)] = lv[pick]
    value[n + 2 * np.arange(g) + 1] = rv[pick]
    return tree_in_preorder(normal, offset, left, right, value, tree.bounds, tree.kind, origin=tree.origin,
                            scale=tree.scale)


def prune_and_grow(tree: Tree, prune_on: tuple[np.ndarray, np.ndarray], grow_on: tuple[np.ndarray, np.ndarray],
                   k: int, leaves: int | None = None) -> Tree:
    """One round's new structure: ``tree`` less the ``k`` leaves the greedy simplification removes
    most cheaply on the labelled points ``prune_on`` ((points, labels)), then grown back (``grow``)
    to ``leaves`` leaves (default: ``tree``'s count) on ``grow_on``, another draw: on the same points
    the growth would mostly put back what the pruning took."""
    leaves = tree.n_leaves if leaves is None else leaves
    k = int(min(k, tree.n_leaves - 1))
    pruned = order_on_points(tree, *prune_on, tree.n_leaves - k).at(tree.n_leaves - k) if k > 0 else tree
    return grow(pruned, *grow_on, leaves - pruned.n_leaves)


__all__ = ["DEFAULT_SHARE", "N_DIRECTIONS", "best_leaf_splits", "directions", "grow", "prune_and_grow"]
