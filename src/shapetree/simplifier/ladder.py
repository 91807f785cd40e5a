"""Levels of detail from a simplification order, for progressive files: the trees ``order.at(N)`` on
a ladder of leaf counts, with the ids (nodes of the order's full tree) that tie them together."""

from __future__ import annotations

from .. import validate
from ..formats.progressive import Levels, ladder
from .greedy import SimplificationOrder


def detail_levels(order: SimplificationOrder, max_leaves: int | None = None,
                  counts: list[int] | None = None) -> Levels:
    """The levels ``order.at(N)`` for ``N`` in ``counts`` (default: the ladder of ``formats.progressive.ladder``
    from the order's smallest tree, or 16, up to ``max_leaves``, default the full tree's leaves), each
    with the full-tree node ids of its nodes: what ``save(order.at(max_leaves), path, progressive=...)``
    writes."""
    full = order.tree.n_leaves
    top = full if max_leaves is None else min(validate.integer("max_leaves", max_leaves, 1, 1 << 40), full)
    top = max(top, order.min_leaves)
    if counts is None:
        counts = ladder(order.min_leaves, top)
    counts = sorted({max(min(int(c), top), order.min_leaves) for c in counts})
    trees, ids = [], []
    for n in counts:
        level, level_ids = order.after(order.steps_for(n))
        trees.append(level)
        ids.append(level_ids)
    return Levels(tuple(trees), tuple(ids))


__all__ = ["detail_levels"]
