"""shapetree: triangle meshes as oblique decision trees.

The front door::

    tree = shapetree.build("mesh.off", max_leaves=4096, seed=0)   # a Tree of flat numpy arrays
    inside = tree.contains(points)                                # (n, 3) float64 -> (n,) bool
    shapetree.save(tree, "mesh.stree"); tree = shapetree.load("mesh.stree")
    image = shapetree.render(tree, size=(512, 512))               # (h, w, 4) uint8 RGBA
    hits = shapetree.raycast(tree, origins, directions)           # exact first hits
    normal_map = shapetree.fit_normals("mesh.off", tree.bounds)   # list of normal-map trees
    small = shapetree.simplify(tree, 512, mesh="mesh.off")        # greedy, to a leaf budget
    order = shapetree.simplification_order(tree, mesh="mesh.off")  # every budget at once
    shapetree.save(tree, "lod.stree", progressive=shapetree.detail_levels(order))
    coarse = shapetree.load("lod.stree", max_leaves=512)          # reads only a prefix
    small = shapetree.refine(small, "mesh.off", passes=3, regrow=4)  # TAO + prune-and-regrow rounds
    shapetree.save(small, "small.stree", budget=shapetree.quantization_budget(small, "mesh.off"))

Stages live in subpackages: ``mesh`` (loading, labels, sampling), ``builder``, ``simplifier``,
``refiner``, ``renderer``, ``extract``, ``formats``, ``tree`` (the Tree and its kernels), ``metrics``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .errors import FormatError, MeshError, MeshWarning, ShapetreeError, UsageError, UsageTypeError

# The subpackage each public name comes from. They are imported on first use, so that
# ``import shapetree`` is quick and the CLI can take over Ctrl-C before numba and friends load.
_HOMES = {
    "BuildSettings": "builder", "build": "builder", "fit_normals": "builder",
    "encoding_of": "formats", "level_sizes": "formats", "load": "formats", "read_trees": "formats", "save": "formats",
    "Mesh": "mesh", "load_mesh": "mesh", "quantization_budget": "metrics",
    "Camera": "renderer", "Material": "renderer", "RayHits": "renderer", "orbit_camera": "renderer",
    "raycast": "renderer", "render": "renderer",
    "refine": "refiner", "refine_report": "refiner",
    "detail_levels": "simplifier", "samples_for": "simplifier", "simplification_order": "simplifier",
    "simplify": "simplifier",
    "truncated": "simplifier",
    "Kind": "tree", "Tree": "tree",
}

if TYPE_CHECKING:
    from .builder import BuildSettings, build, fit_normals
    from .formats import encoding_of, level_sizes, load, read_trees, save
    from .mesh import Mesh, load_mesh
    from .metrics import quantization_budget
    from .refiner import refine, refine_report
    from .renderer import Camera, Material, RayHits, orbit_camera, raycast, render
    from .simplifier import detail_levels, samples_for, simplification_order, simplify, truncated
    from .tree import Kind, Tree


def __getattr__(name: str):
    """A public name, imported from its subpackage on first use; or a subpackage itself."""
    if name in _HOMES:
        value = getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
        globals()[name] = value
        return value
    if not name.startswith("_"):
        try:
            return importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.{name}":
                raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


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
    "UsageTypeError",
    "build",
    "detail_levels",
    "encoding_of",
    "fit_normals",
    "level_sizes",
    "load",
    "load_mesh",
    "orbit_camera",
    "quantization_budget",
    "raycast",
    "read_trees",
    "refine",
    "refine_report",
    "render",
    "samples_for",
    "save",
    "simplification_order",
    "simplify",
    "truncated",
]
__version__ = "0.1.0"
