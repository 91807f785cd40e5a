"""How far a file's quantised planes may move a tree whose mesh is known: a share of the tree's own
error, so an accurate tree (a CAD part at a few thousand leaves) is not spoilt by its file."""

from __future__ import annotations

import numpy as np

from ..tree import Kind, Tree
from .quantized import DISAGREEMENT_BUDGET

ERROR_SHARE = 0.25  # quantising may add at most this share of the tree's own error ...
ERROR_SAMPLES = 1_000_000  # ... measured on this many seeded uniform points in its bounds


def tree_error(tree: Tree, mesh) -> float:
    """The volume where occupancy ``tree`` and ``mesh`` (winding number > 1/2) disagree, as a
    fraction of the tree's inside volume, by ``ERROR_SAMPLES`` seeded uniform points in its bounds."""
    from ..mesh import as_mesh, inside

    pts = np.random.default_rng(0).uniform(tree.bounds[0], tree.bounds[1], (ERROR_SAMPLES, 3))
    occupied = tree.contains(pts)
    wrong = np.count_nonzero(occupied != inside(as_mesh(mesh), pts))
    return float(wrong) / max(int(np.count_nonzero(occupied)), 1)


def mesh_budget(tree: Tree, mesh) -> float:
    """The disagreement budget (``quantized.auto_precision``'s) for saving ``tree``, an approximation
    of ``mesh``: ``ERROR_SHARE`` of ``tree_error(tree, mesh)``, at most ``DISAGREEMENT_BUDGET`` (the
    budget without a mesh); ``DISAGREEMENT_BUDGET`` for normal-map trees."""
    if tree.kind != Kind.OCCUPANCY:
        return DISAGREEMENT_BUDGET
    return min(DISAGREEMENT_BUDGET, ERROR_SHARE * tree_error(tree, mesh))


__all__ = ["ERROR_SHARE", "mesh_budget", "tree_error"]
