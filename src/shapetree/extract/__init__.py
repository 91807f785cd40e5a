"""Surfaces out of trees: occupancy grids and meshes."""

from .surface import occupancy_grid, tree_surface

__all__ = ["occupancy_grid", "tree_surface"]
