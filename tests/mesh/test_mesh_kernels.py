"""Mesh kernels (crossing labels, hole fans, distances) against slow, obvious references."""

from __future__ import annotations

import numpy as np
from factories import DATA, shared_mesh

from shapetree.mesh import (
    far_from_surface,
    hole_fans,
    inside,
    load_mesh,
    point_triangle_distance2,
    triangle_boxes,
    winding_by_crossings,
)


def test_crossing_labels_match_the_winding_number():
    mesh = load_mesh(DATA / "bunny_lowres.obj")
    lo, hi = mesh.bounds
    rng = np.random.default_rng(4)
    pts = rng.uniform(lo, hi, (3000, 3))
    ref = (lo + hi) / 2
    w_ref = int(np.rint(np.asarray(inside(mesh, ref[None]), float)[0]))
    args = (mesh.vertices, mesh.faces, triangle_boxes(mesh), np.arange(len(mesh.faces)))
    w, bad = winding_by_crossings(*args, ref[None], np.array([w_ref]), pts, 1e-9)
    assert bad.sum() == 0
    assert np.array_equal(w > 0.5, inside(mesh, pts))
    # many references: each point starts from its nearest one
    refs = rng.uniform(lo, hi, (50, 3))
    w_refs = inside(mesh, refs).astype(np.int64)
    w2, bad2 = winding_by_crossings(*args, refs, w_refs, pts, 1e-9)
    assert bad2.sum() == 0
    assert np.array_equal(w2, w)


def test_hole_fans_close_an_open_mesh():
    """Mesh plus fans: every directed edge is matched by as many reversed ones, so the combined
    surface bounds a volume (its winding number is an integer everywhere off the surface)."""
    mesh = load_mesh(shared_mesh("cgal_elephant-with-holes.off"))
    fans = hole_fans(mesh)
    assert len(fans) > 0
    pts = np.concatenate([mesh.triangles.reshape(-1, 3), fans.reshape(-1, 3)])
    _, vid = np.unique(pts, axis=0, return_inverse=True)
    f = vid.reshape(-1, 3)
    edges = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    fwd, fc = np.unique(edges, axis=0, return_counts=True)
    rev, rc = np.unique(edges[:, ::-1], axis=0, return_counts=True)
    assert np.array_equal(fwd, rev) and np.array_equal(fc, rc)
    assert len(hole_fans(load_mesh(DATA / "bunny_lowres.obj"))) == 0


def test_point_triangle_distance_matches_a_dense_sampling_of_the_triangle():
    rng = np.random.default_rng(3)
    u = rng.random((40_000, 2))
    flip = u.sum(1) > 1
    u[flip] = 1 - u[flip]
    for k in range(300):
        tri = rng.normal(size=(3, 3))
        if k % 10 == 0:  # degenerate: two corners equal
            tri[2] = tri[1]
        p = 2 * rng.normal(size=3)
        d2 = point_triangle_distance2(p, tri[0], tri[1], tri[2])
        dense = tri[0] + u[:, :1] * (tri[1] - tri[0]) + u[:, 1:] * (tri[2] - tri[0])
        edges = np.concatenate([tri[a] + np.linspace(0, 1, 2001)[:, None] * (tri[b] - tri[a])
                                for a, b in ((0, 1), (1, 2), (2, 0))])
        ref = np.min(((np.concatenate([dense, edges]) - p) ** 2).sum(1))
        assert d2 <= ref + 1e-9  # never farther than a point of the triangle
        assert np.sqrt(ref) - np.sqrt(d2) < 2e-2  # and as near as the dense sampling resolves


def test_far_from_surface_reports_only_points_beyond_the_tolerance():
    tri = np.array([[[0, 0, 0], [1, 0, 0], [0, 1, 0]], [[5, 0, 0], [6, 0, 0], [5, 1, 0]]], np.float64)
    pts = np.array([[0.2, 0.2, 3.0], [0.2, 0.2, 0.5], [5.2, 0.2, -2.0], [3.0, 0.0, 0.0]])
    dist, near = far_from_surface(pts, tri, 1.0)
    assert near.tolist() == [0, -1, 1, 0]
    assert np.allclose(dist, [3.0, 0.0, 2.0, 2.0])
    dist, near = far_from_surface(pts, tri, 2.5)
    assert near.tolist() == [0, -1, -1, -1] and dist[0] == 3.0
