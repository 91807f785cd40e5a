"""Inside/outside: generalized winding numbers (libigl) and exact labels by signed crossings."""

from __future__ import annotations

import numba as nb
import numpy as np

from .core import Mesh


def winding_number(mesh: Mesh, points: np.ndarray) -> np.ndarray:
    """Generalized winding number of each point, (n,) float64 (libigl's fast approximation).

    Mesh and points are first moved into the frame of the mesh's box (centre at 0, longest
    half-side about 1): libigl's solid angles break down far from unit coordinates (beyond about
    1e18 or below 1e-24), and winding numbers do not change under similarity transforms.
    """
    import igl

    pts = np.ascontiguousarray(points, np.float64).reshape(-1, 3)
    if len(pts) == 0:
        return np.zeros(0)
    lo, hi = mesh.bounds
    origin = lo / 2 + hi / 2
    _, exponent = np.frexp(float(np.max(hi / 2 - lo / 2)))
    scale = float(np.ldexp(1.0, int(exponent)))
    with np.errstate(over="ignore", invalid="ignore"):  # far-away points: +-inf, and they are outside
        u = np.ascontiguousarray((pts - origin) / scale)
    u[~np.isfinite(u)] = 1e300
    return np.asarray(igl.fast_winding_number((mesh.vertices - origin) / scale, mesh.faces, u))


def inside(mesh: Mesh, points: np.ndarray) -> np.ndarray:
    """Inside/outside labels, (n,) bool: winding number > 0.5 (sane on open meshes too)."""
    return winding_number(mesh, points) > 0.5


def triangle_boxes(mesh: Mesh) -> np.ndarray:
    """(f, 6) float64 axis-aligned box of every triangle: min xyz, then max xyz."""
    t = mesh.triangles
    return np.ascontiguousarray(np.concatenate([t.min(1), t.max(1)], axis=1))


@nb.njit(cache=True, nogil=True, inline="always")
def _crossings(vertices, faces, boxes, tri_ids, a, b, tol):
    """Signed crossings of segment a -> b with triangles (+1 entering against the outward
    normal); ``ok`` is False when the segment passes too close to an edge, vertex or end."""
    d0 = b[0] - a[0]
    d1 = b[1] - a[1]
    d2 = b[2] - a[2]
    w = 0
    lo0 = min(a[0], b[0])
    hi0 = max(a[0], b[0])
    lo1 = min(a[1], b[1])
    hi1 = max(a[1], b[1])
    lo2 = min(a[2], b[2])
    hi2 = max(a[2], b[2])
    for k in range(tri_ids.shape[0]):
        f = tri_ids[k]
        # cheap rejection: the triangle's box misses the segment's box
        if (boxes[f, 0] > hi0 or boxes[f, 3] < lo0 or boxes[f, 1] > hi1 or boxes[f, 4] < lo1
                or boxes[f, 2] > hi2 or boxes[f, 5] < lo2):
            continue
        o0 = vertices[faces[f, 0], 0]
        o1 = vertices[faces[f, 0], 1]
        o2 = vertices[faces[f, 0], 2]
        e10 = vertices[faces[f, 1], 0] - o0
        e11 = vertices[faces[f, 1], 1] - o1
        e12 = vertices[faces[f, 1], 2] - o2
        e20 = vertices[faces[f, 2], 0] - o0
        e21 = vertices[faces[f, 2], 1] - o1
        e22 = vertices[faces[f, 2], 2] - o2
        h0 = d1 * e22 - d2 * e21
        h1 = d2 * e20 - d0 * e22
        h2 = d0 * e21 - d1 * e20
        det = e10 * h0 + e11 * h1 + e12 * h2
        if det == 0.0:
            continue
        inv = 1.0 / det
        s0 = a[0] - o0
        s1 = a[1] - o1
        s2 = a[2] - o2
        u = inv * (s0 * h0 + s1 * h1 + s2 * h2)
        if u < -tol or u > 1.0 + tol:
            continue
        q0 = s1 * e12 - s2 * e11
        q1 = s2 * e10 - s0 * e12
        q2 = s0 * e11 - s1 * e10
        v = inv * (d0 * q0 + d1 * q1 + d2 * q2)
        if v < -tol or u + v > 1.0 + tol:
            continue
        t = inv * (e20 * q0 + e21 * q1 + e22 * q2)
        if t < -tol or t > 1.0 + tol:
            continue
        if u < tol or v < tol or u + v > 1.0 - tol or t < tol or t > 1.0 - tol:
            return 0, False
        w += 1 if det > 0 else -1
    return w, True


@nb.njit(cache=True, nogil=True)
def winding_by_crossings(vertices, faces, boxes, tri_ids, refs, w_refs, points, tol):
    """Winding numbers of ``points`` from reference points ``refs`` (m, 3) of known winding
    ``w_refs`` (m,) int64.

    Each point starts from its nearest reference and counts the signed crossings of that
    segment with the triangles ``tri_ids`` (``boxes`` (f, 6) float64: each triangle's min and max
    corner, see ``triangle_boxes``; short segments let the box test reject most triangles).
    Exact for a closed, consistently oriented mesh when references and points lie in one convex
    cell that holds no other triangle. A segment that grazes an edge or vertex is retried through
    an intermediate point of the cell (a convex combination of three points of the cell).
    Returns ((n,) int64 winding, (n,) bool flag for points still unresolved).
    """
    n = points.shape[0]
    m = refs.shape[0]
    w = np.zeros(n, np.int64)
    bad = np.zeros(n, np.bool_)
    q = np.empty(3)
    for j in range(n):
        best = 0
        bd = np.inf
        for r in range(m):
            d = ((refs[r, 0] - points[j, 0]) ** 2 + (refs[r, 1] - points[j, 1]) ** 2
                 + (refs[r, 2] - points[j, 2]) ** 2)
            if d < bd:
                bd = d
                best = r
        ref = refs[best]
        w[j] = w_refs[best]
        c, ok = _crossings(vertices, faces, boxes, tri_ids, ref, points[j], tol)
        if ok:
            w[j] += c
            continue
        for attempt in range(6):
            o = points[(j + 1 + 7 * attempt) % n]
            f = 0.15 + 0.1 * attempt
            for a in range(3):
                q[a] = (1.0 - 2.0 * f) * ref[a] + f * points[j, a] + f * o[a]
            c1, ok1 = _crossings(vertices, faces, boxes, tri_ids, ref, q, tol)
            if not ok1:
                continue
            c2, ok2 = _crossings(vertices, faces, boxes, tri_ids, q, points[j], tol)
            if ok2:
                w[j] += c1 + c2
                ok = True
                break
        bad[j] = not ok
    return w, bad


def faces_point_inwards(mesh: Mesh, n: int = 2048) -> bool:
    """True when the mesh is inside out: points just either side of its surface have winding
    numbers near -1 and none near +1 (a mesh with mixed orientations is not inside out)."""
    from .surface import sample_surface

    points, face = sample_surface(mesh, n, np.random.default_rng(0x1F11))
    lo, hi = mesh.bounds
    step = 1e-3 * float(np.max(hi - lo)) * mesh.face_normals()[face]
    w = winding_number(mesh, np.concatenate([points + step, points - step]))
    return bool(np.count_nonzero(w < -0.5) > 0 and np.count_nonzero(w > 0.5) == 0)
