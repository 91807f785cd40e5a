"""Picking the best of several trees for one budget (e.g. ``simplify``, a direct build and
``truncated``) on a held-out labelled point set.

``simplify(tree, N)`` is a prefix of one simplification order, so it never switches to another
method at a budget where that does better; a caller who wants the single best tree at one budget
runs the candidates and keeps the one this picks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import UsageError
from ..mesh import Mesh
from ..tree import Kind, Tree
from .greedy import DEFAULT_SAMPLES, labelled_points

HELD_OUT_SEED = 1  # not simplify's default seed 0, whose points the greedy run has fitted


def disagreements(trees: Sequence[Tree], points: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(len(trees),) int64: how many of the labelled points each occupancy tree gets wrong."""
    return np.array([np.count_nonzero(t.contains(points) != labels) for t in trees], np.int64)


def best_tree(candidates: Sequence[Tree], reference: Tree, *, mesh: Mesh | str | None = None,
              n_samples: int = DEFAULT_SAMPLES, seed: int = HELD_OUT_SEED) -> int:
    """Index of the candidate with the fewest disagreements (ties: the first) on
    ``labelled_points(reference, mesh, n=n_samples, seed=seed)``: the builder's target distribution
    in the reference's box, labelled by the mesh (else by the reference tree itself)."""
    trees = list(candidates)
    if not trees or not all(isinstance(t, Tree) and t.kind == Kind.OCCUPANCY for t in trees + [reference]):
        raise UsageError("best_tree needs occupancy trees: at least one candidate and a reference")
    points, labels = labelled_points(reference, mesh, n=n_samples, seed=seed)
    return int(np.argmin(disagreements(trees, points, labels)))


__all__ = ["HELD_OUT_SEED", "best_tree", "disagreements"]
