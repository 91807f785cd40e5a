"""Meshes: loading and validation, inside/outside labels, surface samples."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import MeshError

MESH_SUFFIXES = {".off", ".obj", ".ply", ".stl", ".glb", ".gltf"}


@dataclass(eq=False)
class Mesh:
    """A triangle soup in its own coordinates.

    vertices: (v, 3) float64, faces: (f, 3) int64 (degenerate faces removed)
    """

    vertices: np.ndarray
    faces: np.ndarray
    name: str = "<mesh>"

    @property
    def bounds(self) -> np.ndarray:
        """(2, 3) float64 box [min, max] of the referenced vertices."""
        used = self.vertices[np.unique(self.faces)]
        return np.stack([used.min(0), used.max(0)])

    @property
    def triangles(self) -> np.ndarray:
        """(f, 3, 3) float64 corner positions."""
        return self.vertices[self.faces]

    def face_areas(self) -> np.ndarray:
        t = self.triangles
        return 0.5 * np.linalg.norm(np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]), axis=1)

    def face_normals(self) -> np.ndarray:
        """(f, 3) float64 unit normals (zero for degenerate faces)."""
        t = self.triangles
        n = np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0])
        length = np.linalg.norm(n, axis=1, keepdims=True)
        return np.divide(n, length, out=np.zeros_like(n), where=length > 0)

    def is_closed(self) -> bool:
        """True when every edge (after merging equal vertices) is shared by exactly two faces."""
        _, inverse = np.unique(self.vertices, axis=0, return_inverse=True)
        f = inverse.reshape(-1)[self.faces]
        edges = np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), axis=1)
        _, counts = np.unique(edges, axis=0, return_counts=True)
        return bool(np.all(counts == 2))


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
    except Exception as e:  # trimesh raises many kinds of errors on bad files
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


def winding_number(mesh: Mesh, points: np.ndarray) -> np.ndarray:
    """Generalized winding number of each point, (n,) float64 (libigl's fast approximation)."""
    import igl

    pts = np.ascontiguousarray(points, np.float64).reshape(-1, 3)
    if len(pts) == 0:
        return np.zeros(0)
    return np.asarray(igl.fast_winding_number(mesh.vertices, mesh.faces, pts))


def inside(mesh: Mesh, points: np.ndarray) -> np.ndarray:
    """Inside/outside labels, (n,) bool: winding number > 0.5 (sane on open meshes too)."""
    return winding_number(mesh, points) > 0.5


def sample_surface(mesh: Mesh, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points uniform by area on the surface and their face indices: ((n, 3), (n,))."""
    areas = mesh.face_areas()
    cdf = np.cumsum(areas)
    face = np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right")
    face = np.minimum(face, len(areas) - 1)
    u = rng.random((n, 2))
    flip = u.sum(1) > 1
    u[flip] = 1 - u[flip]
    t = mesh.triangles[face]
    pts = t[:, 0] + u[:, :1] * (t[:, 1] - t[:, 0]) + u[:, 1:] * (t[:, 2] - t[:, 0])
    return pts, face
