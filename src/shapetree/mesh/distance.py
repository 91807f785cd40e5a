"""Distances from points to triangles."""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True, nogil=True)
def point_triangle_distance2(p, a, b, c):
    """Squared distance from point ``p`` to the triangle ``abc`` (closest-point regions:
    vertex, edge or face, after Ericson, Real-Time Collision Detection 5.1.5)."""
    ab = b - a
    ac = c - a
    ap = p - a
    d1 = ab @ ap
    d2 = ac @ ap
    if d1 <= 0.0 and d2 <= 0.0:
        q = a
    else:
        bp = p - b
        d3 = ab @ bp
        d4 = ac @ bp
        cp = p - c
        d5 = ab @ cp
        d6 = ac @ cp
        vc = d1 * d4 - d3 * d2
        vb = d5 * d2 - d1 * d6
        va = d3 * d6 - d5 * d4
        if d3 >= 0.0 and d4 <= d3:
            q = b
        elif d6 >= 0.0 and d5 <= d6:
            q = c
        elif vc <= 0.0 and d1 >= 0.0 and d3 <= 0.0:
            q = a + (d1 / (d1 - d3)) * ab
        elif vb <= 0.0 and d2 >= 0.0 and d6 <= 0.0:
            q = a + (d2 / (d2 - d6)) * ac
        elif va <= 0.0 and (d4 - d3) >= 0.0 and (d5 - d6) >= 0.0:
            q = b + ((d4 - d3) / ((d4 - d3) + (d5 - d6))) * (c - b)
        else:
            s = va + vb + vc
            if s <= 0.0:  # degenerate triangle: the nearest of its vertices
                da = ap @ ap
                db = bp @ bp
                dc = cp @ cp
                return min(da, min(db, dc))
            q = a + (vb / s) * ab + (vc / s) * ac
    d = p - q
    return d @ d


@nb.njit(cache=True, nogil=True)
def far_from_surface(points, tri, tol):
    """Distances of ``points`` (n, 3) to the triangles ``tri`` (k, 3, 3), where they exceed ``tol``.

    Returns ((n,) float64, (n,) int64): the distance and the nearest triangle of each point
    farther than ``tol`` from every triangle; a point within ``tol`` of one stops there and
    gets distance 0 and triangle -1.
    """
    n = points.shape[0]
    dist = np.zeros(n)
    near = np.full(n, -1, np.int64)
    tol2 = tol * tol
    for i in range(n):
        p = points[i]
        dmin = np.inf
        tmin = -1
        for t in range(tri.shape[0]):
            d = point_triangle_distance2(p, tri[t, 0], tri[t, 1], tri[t, 2])
            if d < dmin:
                dmin = d
                tmin = t
                if d <= tol2:
                    break
        if dmin > tol2:
            dist[i] = np.sqrt(dmin)
            near[i] = tmin
    return dist, near
