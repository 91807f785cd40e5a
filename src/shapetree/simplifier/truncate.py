"""Best-first truncation: the top of a tree, cut to a leaf budget (level-of-detail previews)."""

from __future__ import annotations

import heapq

import numpy as np

from .. import validate
from ..errors import UsageError
from ..tree import Kind, Tree, collapse


def truncated(tree: Tree, max_leaves: int, n_samples: int = 200_000, seed: int = 0) -> Tree:
    """A coarser version of an occupancy tree for level-of-detail previews: the top of the tree,
    grown best-first from the root, always expanding the node whose collapse disagrees most with the
    full tree on uniform samples (a one-split gain is myopic: chains of planes only pay off when
    complete); each cut node becomes a leaf of its majority value."""
    if tree.kind != Kind.OCCUPANCY:
        raise UsageError("truncated() needs an occupancy tree")
    max_leaves = validate.integer("max_leaves", max_leaves, 1, 1 << 40)
    n_samples = validate.integer("n_samples", n_samples, 1, 1 << 31)
    seed = validate.integer("seed", seed, 0, validate.MAX_SEED)
    lo, hi = tree.bounds
    points = np.random.default_rng(seed).uniform(lo, hi, (n_samples, 3))
    leaf = tree.apply(points)
    inside = np.bincount(leaf, weights=tree.value[leaf], minlength=tree.n_nodes)
    total = np.bincount(leaf, minlength=tree.n_nodes).astype(np.float64)
    for i in np.flatnonzero(tree.left >= 0)[::-1]:  # pre-order: children come after parents
        inside[i] = inside[tree.left[i]] + inside[tree.right[i]]
        total[i] = total[tree.left[i]] + total[tree.right[i]]
    error = np.minimum(inside, total - inside)  # disagreements if the node became a leaf
    keep = np.zeros(tree.n_nodes, bool)
    keep[0] = True
    heap = [] if tree.left[0] < 0 else [(-error[0], 0)]
    leaves = 1
    while heap and leaves < max_leaves:
        _, i = heapq.heappop(heap)
        for c in (tree.left[i], tree.right[i]):
            keep[c] = True
            if tree.left[c] >= 0:
                heapq.heappush(heap, (-error[c], int(c)))
        leaves += 1
    cut = np.flatnonzero(keep & (tree.left >= 0) & ~keep[np.maximum(tree.left, 0)])
    return collapse(tree, cut, 2 * inside[cut] > total[cut])
