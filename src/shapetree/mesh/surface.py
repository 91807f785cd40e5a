"""Points on a mesh surface (area-uniform) and normals at its vertices."""

from __future__ import annotations

import numpy as np

from .core import Mesh, weld


def pick_by_area(areas: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Indices drawn with probability proportional to ``areas`` ((m,) float64), one for each
    uniform variate in ``u`` ((k,) float64 in [0, 1)): (k,) int64."""
    cdf = np.cumsum(areas)
    return np.minimum(np.searchsorted(cdf, u * cdf[-1], side="right"), len(areas) - 1)


def surface_barycentric(mesh: Mesh, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` area-uniform surface samples as faces and barycentric coordinates: ((n,) int64,
    (n, 3) float64)."""
    face = pick_by_area(mesh.face_areas(), rng.random(n))
    u = rng.random((n, 2))
    flip = u.sum(1) > 1
    u[flip] = 1 - u[flip]
    return face, np.stack([1 - u[:, 0] - u[:, 1], u[:, 0], u[:, 1]], 1)


def sample_surface(mesh: Mesh, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points uniform by area on the surface and their face indices: ((n, 3), (n,))."""
    face, bary = surface_barycentric(mesh, n, rng)
    t = mesh.triangles[face]
    pts = t[:, 0] + bary[:, 1:2] * (t[:, 1] - t[:, 0]) + bary[:, 2:3] * (t[:, 2] - t[:, 0])
    return pts, face


def vertex_normals(mesh: Mesh) -> np.ndarray:
    """(v, 3) float64 unit normals at the vertices: area-weighted face normals, summed over every
    vertex at the same position (so seams of a split mesh stay smooth)."""
    t = mesh.triangles
    weighted = np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0])  # length = 2 * area
    _, same = weld(mesh.vertices)
    acc = np.zeros((same.max() + 1, 3))
    for c in range(3):
        np.add.at(acc, same[mesh.faces[:, c]], weighted)
    acc = acc[same]
    length = np.linalg.norm(acc, axis=1, keepdims=True)
    return np.divide(acc, length, out=np.zeros_like(acc), where=length > 0)
