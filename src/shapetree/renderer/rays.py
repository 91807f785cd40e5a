"""Exact ray casting of occupancy trees.

The ray caster is a front-to-back BSP traversal: at a branch the ray segment ``[t0, t1]`` is split
at the plane into the near child's part and the far child's part, the far part waits on a small
explicit stack, so only the cells a ray actually crosses are visited. The side of a segment is
decided exactly as ``Tree.contains`` decides it for a point (left iff ``normal . x < offset`` in
float64, on-plane goes right), rays parallel to a plane stay on the side of their origin, and the
ray is clipped to the tree's (inclusive) bounds, outside of which the tree is empty.

A hit is the first point where the ray enters an inside cell along a segment of positive length;
``origin + t * direction`` is that point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np

from ..errors import UsageError
from ..tree import Kind, Tree, as_points
from ..tree.layout import INSIDE_LEAF
from ..tree.side import goes_left, plane_dot

# Where a segment starts, when it is not a plane of the tree (plane ids are node indices >= 0).
_FROM_ORIGIN = -4  # the ray starts inside the box: no surface crossed
# Box faces are -1 - axis (x: -1, y: -2, z: -3).

_CHUNK = 256  # rays per parallel work item (one traversal stack each)


@dataclass
class RayHits:
    """Where rays first enter the inside of a tree.

    t: (n,) float64 ray parameter of the hit, ``inf`` where the ray misses
    normal: (n, 3) float64 unit normal of the surface crossed at the hit, facing the ray
        (zero where the ray misses); the plane of the tree, or the face of the bounds box when
        the hit is where the ray enters the box, or ``-direction`` when the origin is inside
    cells: (n,) int64 number of cells (leaves) the ray crossed before the hit (all of them on a miss)
    """

    t: np.ndarray
    normal: np.ndarray
    cells: np.ndarray

    @property
    def hit(self) -> np.ndarray:
        """(n,) bool mask of the rays that hit."""
        return np.isfinite(self.t)


@nb.njit(cache=True, inline="always")
def _clip_to_box(lo, hi, o0, o1, o2, d0, d1, d2):
    """Segment ``[t0, t1]`` (t >= 0) of the ray inside the box, and what bounds ``t0``."""
    t0 = 0.0
    t1 = np.inf
    entry = _FROM_ORIGIN
    for a in range(3):
        if a == 0:
            o, d = o0, d0
        elif a == 1:
            o, d = o1, d1
        else:
            o, d = o2, d2
        if d == 0.0:
            if o < lo[a] or o > hi[a]:
                return 1.0, 0.0, entry
        else:
            ta = (lo[a] - o) / d
            tb = (hi[a] - o) / d
            if ta > tb:
                ta, tb = tb, ta
            if ta > t0:
                t0 = ta
                entry = -1 - a
            t1 = min(t1, tb)
    return t0, t1, entry


@nb.njit(cache=True, inline="always")
def cast_one(planes, nxt, lo, hi, o0, o1, o2, d0, d1, d2, st_node, st_t):
    """One ray: (t of the hit or inf, id of the surface crossed there, cells crossed before).

    ``planes``, ``nxt``: the tree's query layout (``Tree.layout``). ``st_node`` ((2 * depth + 2,) int64) and ``st_t`` ((depth + 1, 2) float64) are the stack of
    far segments waiting: (node, id of the surface at its start) and (t0, t1). One exit point and
    no early returns: LLVM keeps the loop tight this way (about twice as fast).
    """
    t_hit = np.inf
    cells = 0
    # x - x == 0 is False for NaN and +-inf: such rays miss
    finite = (o0 - o0 == 0.0 and o1 - o1 == 0.0 and o2 - o2 == 0.0
              and d0 - d0 == 0.0 and d1 - d1 == 0.0 and d2 - d2 == 0.0)
    t0, t1, src = _clip_to_box(lo, hi, o0, o1, o2, d0, d1, d2)
    if finite and t0 < t1:
        node = 0
        sp = 0
        while True:
            c1 = nxt[node]
            while c1 >= 0:
                c0 = node + 1  # pre-order: the left child is the next node, nxt the right one
                plane = planes[node]
                num = plane[3] - plane_dot(plane, o0, o1, o2)
                dot_d = plane_dot(plane, d0, d1, d2)
                if dot_d == 0.0:  # parallel: the whole segment is on the origin's side
                    node = c0 if goes_left(plane, plane[3], o0, o1, o2) else c1
                else:
                    # dot_d > 0: left before the plane, right from it on; dot_d < 0: the reverse
                    near = c1 if dot_d < 0.0 else c0
                    far = c0 if dot_d < 0.0 else c1
                    ts = num / dot_d
                    if ts <= t0:
                        if ts == t0:
                            src = node
                        node = far
                    elif ts >= t1:
                        node = near
                    else:
                        st_node[sp] = far
                        st_node[sp + 1] = node
                        st_t[sp >> 1, 0] = ts
                        st_t[sp >> 1, 1] = t1
                        sp += 2
                        node = near
                        t1 = ts
                c1 = nxt[node]
            if c1 == INSIDE_LEAF:
                t_hit = t0
                break
            cells += 1
            if sp == 0:
                break
            # the next segment front to back (pushed segments are never empty: t0 < ts < t1)
            sp -= 2
            node = st_node[sp]
            src = st_node[sp + 1]
            t0 = st_t[sp >> 1, 0]
            t1 = st_t[sp >> 1, 1]
    if t_hit == np.inf:
        src = _FROM_ORIGIN
    return t_hit, src, cells


@nb.njit(cache=True, parallel=True)
def raycast_kernel(planes, nxt, lo, hi, origin, scale, max_depth, origins, directions):
    """Cast every ray; returns ``t`` (n,), surface id (n,) and cells crossed (n,). Rays and the
    box [lo, hi] are taken into the tree's frame (``u = (x - origin) / scale``), which keeps t."""
    n = origins.shape[0]
    t_out = np.empty(n, np.float64)
    src_out = np.empty(n, np.int64)
    cells_out = np.empty(n, np.int64)
    n_chunks = (n + _CHUNK - 1) // _CHUNK
    lo_u = (lo - origin) / scale
    hi_u = (hi - origin) / scale
    for c in nb.prange(n_chunks):
        st_node = np.empty(2 * max_depth + 2, np.int64)
        st_t = np.empty((max_depth + 1, 2), np.float64)
        for k in range(c * _CHUNK, min(n, (c + 1) * _CHUNK)):
            t, src, cells = cast_one(
                planes, nxt, lo_u, hi_u,
                (origins[k, 0] - origin[0]) / scale, (origins[k, 1] - origin[1]) / scale,
                (origins[k, 2] - origin[2]) / scale,
                directions[k, 0] / scale, directions[k, 1] / scale, directions[k, 2] / scale,
                st_node, st_t,
            )
            t_out[k] = t
            src_out[k] = src
            cells_out[k] = cells
    return t_out, src_out, cells_out


@nb.njit(cache=True, inline="always")
def surface_normal(planes, src, d0, d1, d2):
    """Unit normal of surface ``src`` (a plane, a box face or the origin), facing ray direction d;
    zero when it has no direction."""
    if src >= 0:
        n0 = planes[src, 0]
        n1 = planes[src, 1]
        n2 = planes[src, 2]
    elif src == _FROM_ORIGIN:
        n0 = -d0
        n1 = -d1
        n2 = -d2
    else:
        n0 = 1.0 if src == -1 else 0.0
        n1 = 1.0 if src == -2 else 0.0
        n2 = 1.0 if src == -3 else 0.0
    length = np.sqrt(n0 * n0 + n1 * n1 + n2 * n2)
    if length == 0.0:
        return 0.0, 0.0, 0.0
    if n0 * d0 + n1 * d1 + n2 * d2 > 0.0:
        length = -length
    return n0 / length, n1 / length, n2 / length


@nb.njit(cache=True, parallel=True)
def _hit_normals(planes, t, src, directions):
    """Unit normal of the surface each ray crossed at its hit, turned to face the ray."""
    n = t.shape[0]
    out = np.zeros((n, 3), np.float64)
    for k in nb.prange(n):
        if t[k] < np.inf:
            out[k, 0], out[k, 1], out[k, 2] = surface_normal(
                planes, src[k], directions[k, 0], directions[k, 1], directions[k, 2])
    return out


def as_rays(origins: np.ndarray, directions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validated contiguous float64 rays: ``origins`` (n, 3) or (3,) (shared), ``directions`` (n, 3)."""
    o = as_points(origins, "origins", allow_one=True)
    d = as_points(directions, "directions")
    if o.ndim == 1:
        o = np.broadcast_to(o, d.shape)
    if d.shape != o.shape:
        raise UsageError(f"origins and directions must both have shape (n, 3), got {o.shape} and {d.shape}")
    return np.ascontiguousarray(o), np.ascontiguousarray(d)


def raycast(tree: Tree, origins: np.ndarray, directions: np.ndarray) -> RayHits:
    """First hits of rays ``origin + t * direction`` (t >= 0) on an occupancy tree.

    origins: (n, 3) (or (3,), shared) float64, directions: (n, 3) float64, need not be unit.
    """
    if tree.kind != Kind.OCCUPANCY:
        raise UsageError("raycast() needs an occupancy tree, this is a normal-map tree")
    o, d = as_rays(origins, directions)
    planes, nxt = tree.layout
    t, src, cells = raycast_kernel(planes, nxt, tree.bounds[0], tree.bounds[1], tree.origin, tree.scale,
                                   max(tree.depth, 1), o, d)
    return RayHits(t, _hit_normals(planes, t, src, d), cells)
