"""shapetree: triangle meshes as oblique decision trees.

Public API: ``build``, ``load``, ``Tree``, ``load_mesh``, ``metrics``.
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
]
__version__ = "0.1.0"


# Import the submodule first: importing ``shapetree.build`` binds the module to the package
# attribute ``build``, which the function below then takes over for good.
from . import build as _build_module


def build(mesh_or_path, **kwargs) -> Tree:
    """Build an occupancy tree from a mesh (see ``shapetree.build.build_tree`` for settings)."""
    return _build_module.build_tree(mesh_or_path, **kwargs)
