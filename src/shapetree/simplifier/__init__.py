"""Simplification to a leaf budget: the greedy simplification and its level-of-detail order
(greedy, kernels), the best-first truncation used for previews (truncate), and picking the best
of several trees for one budget on held-out points (pick)."""

from .greedy import (
    SimplificationOrder,
    labelled_points,
    order_on_points,
    samples_for,
    simplification_order,
    simplify,
)
from .ladder import detail_levels
from .pick import HELD_OUT_SEED, best_tree, disagreements
from .truncate import truncated

__all__ = ["HELD_OUT_SEED", "SimplificationOrder", "best_tree", "detail_levels", "disagreements", "labelled_points",
           "order_on_points", "samples_for", "simplification_order", "simplify", "truncated"]
