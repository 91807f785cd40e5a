"""Meshes: loading and validation, inside/outside labels, surface sampling, distances."""

from .core import Mesh, weld
from .distance import far_from_surface, point_triangle_distance2
from .holes import hole_fans
from .load import MESH_SUFFIXES, as_mesh, load_mesh
from .surface import pick_by_area, sample_surface, surface_barycentric, vertex_normals
from .winding import faces_point_inwards, inside, triangle_boxes, winding_by_crossings, winding_number

__all__ = [
    "MESH_SUFFIXES",
    "Mesh",
    "as_mesh",
    "faces_point_inwards",
    "far_from_surface",
    "hole_fans",
    "inside",
    "load_mesh",
    "pick_by_area",
    "point_triangle_distance2",
    "sample_surface",
    "surface_barycentric",
    "triangle_boxes",
    "vertex_normals",
    "weld",
    "winding_by_crossings",
    "winding_number",
]
