"""The side-of-plane rule, written once for everyone.

A point ``x`` goes to the left child of a branch iff ``normal . x < offset``, the dot product
taken in float64 from the stored (float32) plane, so points exactly on a plane go right. The
tree's descent, the builder's sample partitions and cell membership, the ray caster and the
normal-map fitter all decide sides through these kernels, so a change of how planes are stored
changes one file.
"""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True, nogil=True, inline="always")
def plane_dot(normal, x0, x1, x2):
    """``normal . x`` in float64 for a (3,) float32 or float64 normal."""
    return np.float64(normal[0]) * x0 + np.float64(normal[1]) * x1 + np.float64(normal[2]) * x2


@nb.njit(cache=True, nogil=True, inline="always")
def goes_left(normal, offset, x0, x1, x2):
    """True when point ``x`` goes to the left child of the plane ``(normal, offset)``."""
    return plane_dot(normal, x0, x1, x2) < np.float64(offset)


@nb.njit(cache=True, nogil=True, inline="always")
def signed_distance(normal, offset, x):
    """``normal . x - offset`` (float64) for a (3,) point: negative on the left, >= 0 on the right."""
    return plane_dot(normal, x[0], x[1], x[2]) - np.float64(offset)


@nb.njit(cache=True, nogil=True)
def sides(points, normal, offset):
    """(n,) bool: which of ``points`` (n, 3) float64 go left of the plane ``(normal, offset)``."""
    out = np.empty(points.shape[0], np.bool_)
    for i in range(points.shape[0]):
        out[i] = goes_left(normal, offset, points[i, 0], points[i, 1], points[i, 2])
    return out
