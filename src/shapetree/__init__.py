"""shapetree: triangle meshes as oblique decision trees.

The front door::

    tree = shapetree.build("mesh.off", max_leaves=4096, seed=0)   # a Tree of flat numpy arrays
    inside = tree.contains(points)                                # (n, 3) float64 -> (n,) bool
    shapetree.save(tree, "mesh.stree"); tree = shapetree.load("mesh.stree")
    image = shapetree.render(tree, size=(512, 512))               # (h, w, 4) uint8 RGBA
    hits = shapetree.raycast(tree, origins, directions)           # exact first hits
    normal_map = shapetree.fit_normals("mesh.off", tree.bounds)   # list of normal-map trees

Stages live in subpackages: ``mesh`` (loading, labels, sampling), ``builder``, ``simplifier``,
``renderer``, ``extract``, ``formats``, ``tree`` (the Tree and its kernels), ``metrics``.
"""

from .builder import BuildSettings, build, fit_normals
from .errors import FormatError, MeshError, MeshWarning, ShapetreeError, UsageError
from .formats import load, read_trees, save
from .mesh import Mesh, load_mesh
from .renderer import Camera, Material, RayHits, orbit_camera, raycast, render
from .simplifier import truncated
from .tree import Kind, Tree

__all__ = [
    "BuildSettings",
    "Camera",
    "FormatError",
    "Kind",
    "Material",
    "Mesh",
    "MeshError",
    "MeshWarning",
    "RayHits",
    "ShapetreeError",
    "Tree",
    "UsageError",
    "build",
    "fit_normals",
    "load",
    "load_mesh",
    "orbit_camera",
    "raycast",
    "read_trees",
    "render",
    "save",
    "truncated",
]
__version__ = "0.1.0"
