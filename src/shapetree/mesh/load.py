"""Loading meshes and validating them: finite, non-empty, indices in range, not degenerate."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import MeshError
from .core import Mesh

MESH_SUFFIXES = {".off", ".obj", ".ply", ".stl", ".glb", ".gltf"}


def as_mesh(mesh_or_path) -> Mesh:
    """Accept a ``Mesh``, a path, a trimesh object or a ``(vertices, faces)`` pair."""
    if isinstance(mesh_or_path, Mesh):
        return mesh_or_path
    if isinstance(mesh_or_path, (str, Path)):
        return load_mesh(mesh_or_path)
    if isinstance(mesh_or_path, tuple) and len(mesh_or_path) == 2:
        return _validated(np.asarray(mesh_or_path[0]), np.asarray(mesh_or_path[1]), "<arrays>")
    if hasattr(mesh_or_path, "vertices") and hasattr(mesh_or_path, "faces"):
        return _validated(np.asarray(mesh_or_path.vertices), np.asarray(mesh_or_path.faces), "<trimesh>")
    raise MeshError(f"cannot use {type(mesh_or_path).__name__} as a mesh")


def load_mesh(path: str | Path) -> Mesh:
    """Load a triangle mesh with trimesh and validate it (finite, non-empty, indices in range)."""
    import trimesh

    p = Path(path)
    if not p.exists():
        raise MeshError(f"{p}: no such file")
    if p.is_dir():
        raise MeshError(f"{p}: is a directory, not a mesh file")
    suffix = p.suffix.lower()
    if suffix not in MESH_SUFFIXES:
        raise MeshError(f"{p}: unsupported mesh format '{suffix or '(none)'}' (use {', '.join(sorted(MESH_SUFFIXES))})")
    if p.stat().st_size == 0:
        raise MeshError(f"{p}: empty file")
    try:
        loaded = trimesh.load(str(p), force="mesh", process=False, skip_materials=True)
    except Exception as e:  # noqa: BLE001 -- trimesh raises many kinds of errors on bad files
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise MeshError(f"{p}: cannot parse mesh ({msg[:160]})") from None
    vertices = getattr(loaded, "vertices", None)
    faces = getattr(loaded, "faces", None)
    if vertices is None or faces is None:
        raise MeshError(f"{p}: file holds no triangle mesh")
    return _validated(np.asarray(vertices), np.asarray(faces), str(p))


def _validated(vertices: np.ndarray, faces: np.ndarray, name: str) -> Mesh:
    if vertices.ndim != 2 or vertices.shape[1] != 3 or len(vertices) == 0:
        raise MeshError(f"{name}: mesh has no vertices")
    if faces.ndim != 2 or faces.shape[1] != 3 or len(faces) == 0:
        raise MeshError(f"{name}: mesh has no triangles")
    if not np.issubdtype(faces.dtype, np.integer):
        raise MeshError(f"{name}: face indices are not integers")
    if faces.min() < 0 or faces.max() >= len(vertices):
        raise MeshError(f"{name}: face index out of range (0..{len(vertices) - 1})")
    v = np.ascontiguousarray(vertices, np.float64)
    if not np.all(np.isfinite(v)):
        bad = int(np.count_nonzero(~np.isfinite(v).all(1)))
        raise MeshError(f"{name}: {bad} vertices are NaN or infinite")
    f = np.ascontiguousarray(faces, np.int64)
    t = v[f]
    area2 = np.linalg.norm(np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]), axis=1)
    f = f[area2 > 0]
    if len(f) == 0:
        raise MeshError(f"{name}: every triangle is degenerate (zero area)")
    mesh = Mesh(v, f, name)
    lo, hi = mesh.bounds
    if np.any(hi - lo <= 0) and np.count_nonzero(hi - lo > 0) < 2:
        raise MeshError(f"{name}: mesh is degenerate (zero extent)")
    return mesh
