"""Building trees from meshes: the occupancy builder and the normal-map fitter."""

from .normal_map import fit_normal_tree, fit_normal_trees, fit_normals, surface_normal_samples
from .occupancy import build
from .settings import (
    DEFAULT_MAX_DEPTH,
    DEFAULT_MAX_LEAVES,
    DEFAULT_SPIKE_TOL,
    MAX_DEPTH,
    MAX_LEAVES,
    BuildSettings,
)

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_LEAVES",
    "DEFAULT_SPIKE_TOL",
    "MAX_DEPTH",
    "MAX_LEAVES",
    "BuildSettings",
    "build",
    "fit_normal_tree",
    "fit_normal_trees",
    "fit_normals",
    "surface_normal_samples",
]
