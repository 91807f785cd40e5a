"""Well-spread candidate directions (Fibonacci spirals on the hemisphere)."""

from __future__ import annotations

import numpy as np


def _spiral(k: int, from_pole: bool) -> np.ndarray:
    """``k`` points of a Fibonacci spiral on the upper hemisphere, (k, 3) float64 unit rows; the
    spiral starts at the pole (``from_pole``) or at the equator."""
    i = np.arange(k) + 0.5
    z = 1 - i / k if from_pole else i / k
    phi = np.pi * (1 + 5**0.5) * i
    r = np.sqrt(1 - z * z)
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], 1)


def fixed_directions(k: int) -> np.ndarray:
    """The builder's candidates: the three axes, then ``k`` spiral normals, (k + 3, 3) float32."""
    d = np.concatenate([np.eye(3), _spiral(k, from_pole=False)])
    return (d / np.linalg.norm(d, axis=1, keepdims=True)).astype(np.float32)


def fibonacci_directions(k: int) -> np.ndarray:
    """``k`` roughly uniform unit directions on a hemisphere (a plane and its flip split alike),
    (k, 3) float64: the normal-map fitter's candidates."""
    return _spiral(k, from_pole=True)
