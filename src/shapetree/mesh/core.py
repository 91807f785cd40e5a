"""The Mesh: a triangle soup in its own coordinates, and the vertex weld every topology test uses."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def weld(vertices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge vertices at equal positions: ``(unique (u, 3) float64, inverse (v,) int64)`` with
    ``unique[inverse] == vertices``."""
    uniq, inverse = np.unique(vertices, axis=0, return_inverse=True)
    return uniq, inverse.reshape(-1)


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
        """True when the surface is closed and consistently oriented: after merging equal
        vertices, every directed edge appears once and its reverse once (winding numbers are
        then integers, which lets labels be counted exactly by crossings)."""
        _, inverse = weld(self.vertices)
        f = inverse[self.faces]
        directed = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
        key = directed[:, 0] * (len(self.vertices) + 1) + directed[:, 1]
        rkey = directed[:, 1] * (len(self.vertices) + 1) + directed[:, 0]
        uk, counts = np.unique(key, return_counts=True)
        if np.any(counts != 1):
            return False
        return bool(np.all(np.isin(rkey, uk)))
