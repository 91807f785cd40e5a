"""The frozen Tree, its kernels and structural edits. Imports nothing else of shapetree but errors."""

from .core import Kind, Tree, as_points, trees_equal
from .edits import bounds_frame, collapse, flipped, preorder, tree_in_preorder
from .ensemble import filter_radius, predict_normals, predict_normals_filtered
from .side import goes_left, plane_dot, sides, signed_distance

__all__ = [
    "Kind",
    "Tree",
    "as_points",
    "bounds_frame",
    "collapse",
    "filter_radius",
    "flipped",
    "goes_left",
    "plane_dot",
    "predict_normals",
    "predict_normals_filtered",
    "preorder",
    "sides",
    "signed_distance",
    "tree_in_preorder",
    "trees_equal",
]
