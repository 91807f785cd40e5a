"""The query layout of a tree, built once and shared by ``contains``, ``apply`` and the ray caster.

``planes`` (n, 4) float64 rows ``[normal, offset]`` are the float32 planes widened exactly (no
conversion on the descent's critical path); ``nxt`` (n,) int32 is a branch's right child, or -1 /
-2 for an outside / inside leaf (a normal-map tree's leaves are all -1). Nodes are in pre-order,
so a branch's left child is the next node. Large queries start from a per-grid-cell node
(``start_grid``) instead of the root. Points are tested against the (absolute) bounds, then taken
into the tree's frame, ``u = (x - origin) / scale``, where the planes act.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .side import goes_left, plane_dot

GRID = 48  # start-node grid resolution per axis (see start_grid)
GRID_MIN_POINTS = 20_000  # smaller queries start at the root instead of building the grid
OUTSIDE_LEAF = -1
INSIDE_LEAF = -2


def query_layout(normal: np.ndarray, offset: np.ndarray, left: np.ndarray, right: np.ndarray,
                 value: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """``(planes, nxt)`` of a pre-order tree; ``value`` (n,) bool for occupancy, None otherwise."""
    n = left.shape[0]
    planes = np.empty((n, 4), np.float64)
    planes[:, :3] = normal
    planes[:, 3] = offset
    branch = left >= 0
    planes[~branch] = 0.0
    nxt = np.full(n, OUTSIDE_LEAF, np.int32)
    nxt[branch] = right[branch]
    if value is not None:
        nxt[~branch & value] = INSIDE_LEAF
    return planes, nxt


@nb.njit(cache=True, nogil=True, inline="always")
def descend(planes, nxt, i, x0, x1, x2):
    """The leaf reached from node ``i`` by point ``x``."""
    r = np.int64(nxt[i])
    while r >= 0:
        # branch-free step (the side is a coin flip for the predictor): left is i + 1, right r
        go_right = np.int64(not goes_left(planes[i], planes[i, 3], x0, x1, x2))
        i = i + 1 + go_right * (r - i - 1)
        r = np.int64(nxt[i])
    return i


@nb.njit(cache=True, inline="always")
def _start_node(grid, res, lo, inv, x0, x1, x2):
    if res == 0:
        return np.int64(0)
    g0 = min(max(int((x0 - lo[0]) * inv[0]), 0), res - 1)
    g1 = min(max(int((x1 - lo[1]) * inv[1]), 0), res - 1)
    g2 = min(max(int((x2 - lo[2]) * inv[2]), 0), res - 1)
    return np.int64(grid[(g0 * res + g1) * res + g2])


@nb.njit(cache=True, inline="always")
def _in_box(lo, hi, x0, x1, x2):
    # written so that NaN coordinates fail the test too
    return x0 >= lo[0] and x0 <= hi[0] and x1 >= lo[1] and x1 <= hi[1] and x2 >= lo[2] and x2 <= hi[2]


@nb.njit(cache=True, parallel=True)
def start_grid(planes, nxt, lo, hi, origin, scale, res):
    """For each cell of a res^3 grid over the bounds, the deepest node whose cell contains the
    whole grid cell (slightly grown), so a query can start there instead of at the root.

    At a node, if all 8 corners of the (convex) grid box lie on one side of the plane with a
    margin far above rounding error, every point of the box goes that way; the descent stops at
    the first plane that cuts the box or comes too close to a corner.
    """
    out = np.empty(res * res * res, np.int32)
    step = (hi - lo) / res
    pad = 1e-9 * (hi - lo) + 1e-300
    size = (np.abs(lo - origin).max() + np.abs(hi - origin).max()) / scale
    for c in nb.prange(res * res * res):
        gi = c // (res * res)
        gj = (c // res) % res
        gk = c % res
        node = 0
        while nxt[node] >= 0:
            b = planes[node, 3]
            tol = 1e-12 * (size * (abs(planes[node, 0]) + abs(planes[node, 1]) + abs(planes[node, 2])) + abs(b))
            n_left = 0
            n_right = 0
            for corner in range(8):
                x0 = lo[0] + (gi + (corner & 1)) * step[0] + (pad[0] if corner & 1 else -pad[0])
                x1 = lo[1] + (gj + ((corner >> 1) & 1)) * step[1] + (pad[1] if (corner >> 1) & 1 else -pad[1])
                x2 = lo[2] + (gk + ((corner >> 2) & 1)) * step[2] + (pad[2] if (corner >> 2) & 1 else -pad[2])
                d = plane_dot(planes[node], (x0 - origin[0]) / scale, (x1 - origin[1]) / scale,
                              (x2 - origin[2]) / scale)
                if d < b - tol:
                    n_left += 1
                elif d >= b + tol:
                    n_right += 1
            if n_left == 8:
                node = node + 1
            elif n_right == 8:
                node = nxt[node]
            else:
                break
        out[c] = node
    return out


@nb.njit(cache=True, parallel=True)
def contains_kernel(planes, nxt, lo, hi, origin, scale, points, grid, res):
    """(n,) bool occupancy of ``points`` (n, 3); False outside the (inclusive) box and for NaN.
    ``res`` 0 starts every point at the root (``grid`` unused)."""
    n = points.shape[0]
    out = np.zeros(n, np.bool_)
    inv = res / (hi - lo)
    for k in nb.prange(n):
        x0 = points[k, 0]
        x1 = points[k, 1]
        x2 = points[k, 2]
        if not _in_box(lo, hi, x0, x1, x2):
            continue
        start = _start_node(grid, res, lo, inv, x0, x1, x2)
        i = descend(planes, nxt, start, (x0 - origin[0]) / scale, (x1 - origin[1]) / scale, (x2 - origin[2]) / scale)
        out[k] = nxt[i] == INSIDE_LEAF
    return out


@nb.njit(cache=True, parallel=True)
def leaf_kernel(planes, nxt, lo, hi, origin, scale, points, grid, res):
    """(n,) int64 leaf reached by each point; points outside the box start at the root."""
    n = points.shape[0]
    out = np.empty(n, np.int64)
    inv = res / (hi - lo)
    for k in nb.prange(n):
        x0 = points[k, 0]
        x1 = points[k, 1]
        x2 = points[k, 2]
        start = _start_node(grid, res, lo, inv, x0, x1, x2) if _in_box(lo, hi, x0, x1, x2) else np.int64(0)
        out[k] = descend(planes, nxt, start, (x0 - origin[0]) / scale, (x1 - origin[1]) / scale,
                         (x2 - origin[2]) / scale)
    return out
