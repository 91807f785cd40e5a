"""shapetree: triangle meshes as oblique decision trees.

Public API: ``build``, ``load``, ``render``, ``Tree``, ``load_mesh``, ``read_trees``; quality
measures in ``shapetree.metrics``, normal maps in ``shapetree.normals``.
"""

from .errors import FormatError, MeshError, ShapetreeError, UsageError
from .format import load, read_trees
from .mesh import Mesh, load_mesh
from .tree import NORMALS, OCCUPANCY, Tree

__all__ = [
    "NORMALS",
    "OCCUPANCY",
    "FormatError",
    "Mesh",
    "MeshError",
    "ShapetreeError",
    "Tree",
    "UsageError",
    "build",
    "load",
    "load_mesh",
    "read_trees",
    "render",
]
__version__ = "0.1.0"


# Import the submodules first: importing ``shapetree.build`` binds the module to the package
# attribute ``build``, which the functions below then take over for good (the modules stay
# importable by name: ``from shapetree.build import build_tree``).
from . import build as _build_module
from . import render as _render_module


def build(mesh_or_path, **kwargs) -> Tree:
    """Build an occupancy tree from a mesh (see ``shapetree.build.build_tree`` for settings)."""
    return _build_module.build_tree(mesh_or_path, **kwargs)


def render(tree: Tree, *args, **kwargs):
    """Render a tree to an RGBA image by exact ray casting (see ``shapetree.render.render``)."""
    return _render_module.render(tree, *args, **kwargs)
