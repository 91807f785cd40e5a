"""Meshes: loading and validation, inside/outside labels, surface samples."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numba as nb
import numpy as np

from .errors import MeshError

MESH_SUFFIXES = {".off", ".obj", ".ply", ".stl", ".glb", ".gltf"}


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
        _, inverse = np.unique(self.vertices, axis=0, return_inverse=True)
        f = inverse.reshape(-1)[self.faces]
        directed = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
        key = directed[:, 0] * (len(self.vertices) + 1) + directed[:, 1]
        rkey = directed[:, 1] * (len(self.vertices) + 1) + directed[:, 0]
        uk, counts = np.unique(key, return_counts=True)
        if np.any(counts != 1):
            return False
        return bool(np.all(np.isin(rkey, uk)))


def as_mesh(mesh_or_path) -> Mesh:
    """Accept a ``Mesh``, a path, a trimesh object or a ``(vertices, faces)`` pair."""
    if isinstance(mesh_or_path, Mesh):
        return mesh_or_path
    if isinstance(mesh_or_path, (str, Path)):
        return load_mesh(mesh_or_path)
    if isinstance(mesh_or_path, tuple) and len(mesh_or_path) == 2:
        return _validated(np.asarray(mesh_or_path[0]), np.asarray(mesh_or_path[1]), "<arrays>")
    if hasattr(mesh_or_path, "vertices") and hasattr(mesh_or_path, "faces"):
        return _validated(np.asarray(mesh_or_path.vertices), np.asarray(mesh_or_path.faces), "<trimesh>")
    raise MeshError(f"cannot use {type(mesh_or_path).__name__} as a mesh")


def load_mesh(path: str | Path) -> Mesh:
    """Load a triangle mesh with trimesh and validate it (finite, non-empty, indices in range)."""
    import trimesh

    p = Path(path)
    if not p.exists():
        raise MeshError(f"{p}: no such file")
    if p.is_dir():
        raise MeshError(f"{p}: is a directory, not a mesh file")
    suffix = p.suffix.lower()
    if suffix not in MESH_SUFFIXES:
        raise MeshError(f"{p}: unsupported mesh format '{suffix or '(none)'}' (use {', '.join(sorted(MESH_SUFFIXES))})")
    if p.stat().st_size == 0:
        raise MeshError(f"{p}: empty file")
    try:
        loaded = trimesh.load(str(p), force="mesh", process=False, skip_materials=True)
    except Exception as e:  # noqa: BLE001 -- trimesh raises many kinds of errors on bad files
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise MeshError(f"{p}: cannot parse mesh ({msg[:160]})") from None
    vertices = getattr(loaded, "vertices", None)
    faces = getattr(loaded, "faces", None)
    if vertices is None or faces is None:
        raise MeshError(f"{p}: file holds no triangle mesh")
    return _validated(np.asarray(vertices), np.asarray(faces), str(p))


def _validated(vertices: np.ndarray, faces: np.ndarray, name: str) -> Mesh:
    if vertices.ndim != 2 or vertices.shape[1] != 3 or len(vertices) == 0:
        raise MeshError(f"{name}: mesh has no vertices")
    if faces.ndim != 2 or faces.shape[1] != 3 or len(faces) == 0:
        raise MeshError(f"{name}: mesh has no triangles")
    if not np.issubdtype(faces.dtype, np.integer):
        raise MeshError(f"{name}: face indices are not integers")
    if faces.min() < 0 or faces.max() >= len(vertices):
        raise MeshError(f"{name}: face index out of range (0..{len(vertices) - 1})")
    v = np.ascontiguousarray(vertices, np.float64)
    if not np.all(np.isfinite(v)):
        bad = int(np.count_nonzero(~np.isfinite(v).all(1)))
        raise MeshError(f"{name}: {bad} vertices are NaN or infinite")
    f = np.ascontiguousarray(faces, np.int64)
    t = v[f]
    area2 = np.linalg.norm(np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]), axis=1)
    f = f[area2 > 0]
    if len(f) == 0:
        raise MeshError(f"{name}: every triangle is degenerate (zero area)")
    mesh = Mesh(v, f, name)
    lo, hi = mesh.bounds
    if np.any(hi - lo <= 0) and np.count_nonzero(hi - lo > 0) < 2:
        raise MeshError(f"{name}: mesh is degenerate (zero extent)")
    return mesh


def winding_number(mesh: Mesh, points: np.ndarray) -> np.ndarray:
    """Generalized winding number of each point, (n,) float64 (libigl's fast approximation)."""
    import igl

    pts = np.ascontiguousarray(points, np.float64).reshape(-1, 3)
    if len(pts) == 0:
        return np.zeros(0)
    return np.asarray(igl.fast_winding_number(mesh.vertices, mesh.faces, pts))


def inside(mesh: Mesh, points: np.ndarray) -> np.ndarray:
    """Inside/outside labels, (n,) bool: winding number > 0.5 (sane on open meshes too)."""
    return winding_number(mesh, points) > 0.5


def hole_fans(mesh: Mesh) -> np.ndarray:
    """Triangles that span the holes of an open mesh, (k, 3, 3) float64.

    Boundary edges (used by one face after merging equal vertices) are chained into loops, and
    each loop is closed by a fan from its centroid. The fans approximate where the winding
    number crosses 1/2 over a hole, so a builder can treat them as (virtual) surface.
    """
    uniq, inverse = np.unique(mesh.vertices, axis=0, return_inverse=True)
    f = inverse.reshape(-1)[mesh.faces]
    directed = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    und = np.sort(directed, axis=1)
    _, idx, counts = np.unique(und, axis=0, return_index=True, return_counts=True)
    boundary = directed[idx[counts == 1]]
    if len(boundary) == 0:
        return np.zeros((0, 3, 3))
    nxt: dict[int, list[int]] = {}
    for a, b in boundary.tolist():
        nxt.setdefault(b, []).append(a)  # walk against the face orientation: fans face outward
    fans = []
    while nxt:
        start = next(iter(nxt))
        loop = [start]
        v = start
        while True:
            outs = nxt.get(v)
            if not outs:
                break
            w = outs.pop()
            if not outs:
                del nxt[v]
            if w == start:
                break
            loop.append(w)
            v = w
        if len(loop) < 3:
            continue
        pts = uniq[loop]
        c = pts.mean(0)
        for i in range(len(pts)):
            fans.append((c, pts[i], pts[(i + 1) % len(pts)]))
    return np.array(fans, np.float64).reshape(-1, 3, 3)


def triangle_boxes(mesh: Mesh) -> np.ndarray:
    """(f, 6) float64 axis-aligned box of every triangle: min xyz, then max xyz."""
    t = mesh.triangles
    return np.ascontiguousarray(np.concatenate([t.min(1), t.max(1)], axis=1))


def sample_surface(mesh: Mesh, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points uniform by area on the surface and their face indices: ((n, 3), (n,))."""
    areas = mesh.face_areas()
    cdf = np.cumsum(areas)
    face = np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right")
    face = np.minimum(face, len(areas) - 1)
    u = rng.random((n, 2))
    flip = u.sum(1) > 1
    u[flip] = 1 - u[flip]
    t = mesh.triangles[face]
    pts = t[:, 0] + u[:, :1] * (t[:, 1] - t[:, 0]) + u[:, 1:] * (t[:, 2] - t[:, 0])
    return pts, face


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
