"""Normal maps: the unit normal predicted by one normal-map tree or a boosted ensemble of them."""

from __future__ import annotations

import numpy as np

from .core import Tree


def predict_normals(trees: list[Tree], points: np.ndarray) -> np.ndarray:
    """The ensemble's unit normal at each point: the normalised sum of the trees' predictions,
    (n, 3) float64 (zero where the sum is zero). Bounds are not checked."""
    acc = np.zeros((len(points), 3))
    for t in trees:
        acc += t.predict(points)
    length = np.linalg.norm(acc, axis=1, keepdims=True)
    return np.divide(acc, length, out=np.zeros_like(acc), where=length > 0)


def filter_radius(trees: list[Tree], scale: float = 0.4) -> float:
    """A lookup radius matched to the leaves' size: ``scale`` times the bounds diagonal over the
    square root of the leaf count (the leaves tile a surface, so their width goes as 1/sqrt)."""
    diagonal = float(np.linalg.norm(trees[0].bounds[1] - trees[0].bounds[0]))
    return scale * diagonal / np.sqrt(sum(t.n_leaves for t in trees))


def predict_normals_filtered(trees: list[Tree], points: np.ndarray, radius: float | None = None,
                             taps: int = 12) -> np.ndarray:
    """Normals averaged over a disk around each point, like a filtered texture lookup: (n, 3).

    A tree's leaves are constant, so its normals jump at leaf borders. Averaging ``taps``
    predictions on a disk of ``radius`` (default ``filter_radius``) in the plane perpendicular to
    the point's own prediction blends neighbouring leaves, which is closer to the smooth normals
    it was fitted to. Taps follow a Vogel spiral: deterministic and evenly spread.
    """
    pts = np.ascontiguousarray(points, np.float64).reshape(-1, 3)
    center = predict_normals(trees, pts)
    r = filter_radius(trees) if radius is None else float(radius)
    if r <= 0 or taps < 1 or len(pts) == 0:
        return center
    helper = np.where(np.abs(center[:, :1]) < 0.9, [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]])
    u = np.cross(center, helper)
    u /= np.maximum(np.linalg.norm(u, axis=1, keepdims=True), 1e-300)
    v = np.cross(center, u)
    acc = np.zeros_like(center)
    golden = np.pi * (3 - 5**0.5)
    for k in range(taps):
        rho = r * np.sqrt((k + 0.5) / taps)
        offset = rho * (np.cos(k * golden) * u + np.sin(k * golden) * v)
        acc += predict_normals(trees, pts + offset)
    length = np.linalg.norm(acc, axis=1, keepdims=True)
    return np.where(length > 0, acc / np.maximum(length, 1e-300), center)
