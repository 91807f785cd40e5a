"""Simplification to a leaf budget: the greedy simplification and its level-of-detail order
(greedy, kernels), and the best-first truncation used for previews (truncate)."""

from .greedy import SimplificationOrder, labelled_points, simplification_order, simplify
from .ladder import detail_levels
from .truncate import truncated

__all__ = ["SimplificationOrder", "detail_levels", "labelled_points", "simplification_order", "simplify", "truncated"]
