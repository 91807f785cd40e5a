"""Sampling inside a node's cell: uniform (hit-and-run) and near the surface.

A cell is given by its path: planes ``normal`` (k, 3) float32, ``offset`` (k,) float32 and
``side`` (k,) int8 (0: ``n.x < b``, 1: ``n.x >= b``), intersected with the box ``[lo, hi]``.
Membership is tested with the tree's own rule (``tree.side``), so every sample drawn for a node
really reaches that node. Random numbers come from the node's stream (``stream``).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ..tree.side import goes_left, plane_dot
from .stream import rand01, randn


@nb.njit(cache=True, inline="always")
def in_cell(normal, offset, side, lo, hi, x0, x1, x2):
    if x0 < lo[0] or x0 > hi[0] or x1 < lo[1] or x1 > hi[1] or x2 < lo[2] or x2 > hi[2]:
        return False
    for k in range(normal.shape[0]):
        if goes_left(normal[k], offset[k], x0, x1, x2) != (side[k] == 0):
            return False
    return True


@nb.njit(cache=True)
def _chord(normal, offset, lo, hi, x, u):
    """Range of t with x + t u inside the cell (closure)."""
    tlo = -np.inf
    thi = np.inf
    for a in range(3):
        if u[a] > 0:
            tlo = max(tlo, (lo[a] - x[a]) / u[a])
            thi = min(thi, (hi[a] - x[a]) / u[a])
        elif u[a] < 0:
            tlo = max(tlo, (hi[a] - x[a]) / u[a])
            thi = min(thi, (lo[a] - x[a]) / u[a])
    for k in range(normal.shape[0]):
        nu = plane_dot(normal[k], u[0], u[1], u[2])
        nx = plane_dot(normal[k], x[0], x[1], x[2])
        gap = np.float64(offset[k]) - nx
        if nu == 0.0:
            continue
        t = gap / nu
        # points with (n.x - b) of either sign are bounded by the plane the same way
        if nu > 0:
            thi = min(thi, t)
        else:
            tlo = max(tlo, t)
    return tlo, thi


@nb.njit(cache=True, nogil=True)
def hit_and_run(normal, offset, side, lo, hi, start, n, state, burn=6, thin=2):
    """``n`` points spread uniformly in the cell by hit-and-run chains from ``start`` (interior)."""
    k = normal.shape[0]
    sn = np.empty((k, 3))
    so = np.empty(k)
    for i in range(k):  # orient every plane as sn.x <= so
        sg = 1.0 if side[i] == 0 else -1.0
        for a in range(3):
            sn[i, a] = sg * np.float64(normal[i, a])
        so[i] = sg * np.float64(offset[i])
    out = np.empty((n, 3))
    x = start.copy()
    u = np.empty(3)
    got = 0
    step = 0
    fails = 0
    while got < n:
        for a in range(3):
            u[a] = randn(state)
        nu = np.sqrt(u @ u)
        if nu == 0.0:
            continue
        u /= nu
        tlo, thi = _chord(sn, so, lo, hi, x, u)
        if not (thi > tlo):
            fails += 1
            if fails > 1000:
                break
            continue
        t = tlo + (thi - tlo) * rand01(state)
        y = x + t * u
        if not in_cell(normal, offset, side, lo, hi, y[0], y[1], y[2]):
            fails += 1
            if fails > 1000:
                break
            continue
        x = y
        step += 1
        if step > burn and (step - burn) % thin == 0:
            out[got] = x
            got += 1
    return out[:got]


@nb.njit(cache=True, nogil=True, inline="always")
def _fan_area2(verts, s, k):
    a = verts[k] - verts[s]
    b = verts[k + 1] - verts[s]
    c0 = a[1] * b[2] - a[2] * b[1]
    c1 = a[2] * b[0] - a[0] * b[2]
    c2 = a[0] * b[1] - a[1] * b[0]
    return np.sqrt(c0 * c0 + c1 * c1 + c2 * c2)


@nb.njit(cache=True, nogil=True)
def _area_cdf(area):
    cdf = np.empty(area.shape[0])
    acc = 0.0
    for p in range(area.shape[0]):
        acc += area[p]
        cdf[p] = acc
    return cdf


@nb.njit(cache=True, nogil=True)
def _point_on_pieces(starts, verts, cdf, state):
    """A point uniform by area on the convex pieces (CSR ``starts``/``verts``, area ``cdf``):
    a piece by area, a triangle of its fan by area, then barycentric. Returns (point, piece start)."""
    m = cdf.shape[0]
    p = np.searchsorted(cdf, rand01(state) * cdf[m - 1])
    if p >= m:
        p = m - 1
    s = starts[p]
    e = starts[p + 1]
    tot = 0.0
    for k in range(s + 1, e - 1):
        tot += _fan_area2(verts, s, k)
    r2 = rand01(state) * tot
    k = s + 1
    run = 0.0
    while k < e - 2:
        run += _fan_area2(verts, s, k)
        if run >= r2:
            break
        k += 1
    u = rand01(state)
    v = rand01(state)
    if u + v > 1.0:
        u = 1.0 - u
        v = 1.0 - v
    return verts[s] + u * (verts[k] - verts[s]) + v * (verts[k + 1] - verts[s]), s


@nb.njit(cache=True, nogil=True)
def near_surface(normal, offset, side, lo, hi, starts, verts, area, n, sigma, state, max_tries):
    """Up to ``n`` points: area-uniform on the surface pieces plus N(0, sigma^2) noise, kept
    only when they fall inside the cell (at most ``max_tries`` draws): (k, 3) float64."""
    cdf = _area_cdf(area)
    out = np.empty((n, 3))
    got = 0
    tries = 0
    while got < n and tries < max_tries:
        tries += 1
        x, _ = _point_on_pieces(starts, verts, cdf, state)
        x0 = x[0] + sigma * randn(state)
        x1 = x[1] + sigma * randn(state)
        x2 = x[2] + sigma * randn(state)
        if in_cell(normal, offset, side, lo, hi, x0, x1, x2):
            out[got, 0] = x0
            out[got, 1] = x1
            out[got, 2] = x2
            got += 1
    return out[:got]


@nb.njit(cache=True, nogil=True)
def straddle(normal, offset, side, lo, hi, starts, verts, area, n, delta, state, max_tries):
    """Up to ``n`` points on the surface pieces moved along the piece normal by U(-delta, delta),
    kept when inside the cell: samples that straddle the surface, so a cell the surface crosses
    always sees both labels. Their density is 1 / (2 delta A) within the slab (A: piece area)."""
    cdf = _area_cdf(area)
    out = np.empty((n, 3))
    got = 0
    tries = 0
    while got < n and tries < max_tries:
        tries += 1
        x, s = _point_on_pieces(starts, verts, cdf, state)
        a = verts[s + 1] - verts[s]
        b = verts[s + 2] - verts[s]
        nx = a[1] * b[2] - a[2] * b[1]
        ny = a[2] * b[0] - a[0] * b[2]
        nz = a[0] * b[1] - a[1] * b[0]
        ln = np.sqrt(nx * nx + ny * ny + nz * nz)
        if ln == 0.0:
            continue
        t = delta * (2.0 * rand01(state) - 1.0) / ln
        x0 = x[0] + t * nx
        x1 = x[1] + t * ny
        x2 = x[2] + t * nz
        if in_cell(normal, offset, side, lo, hi, x0, x1, x2):
            out[got, 0] = x0
            out[got, 1] = x1
            out[got, 2] = x2
            got += 1
    return out[:got]
