"""Cell clipping and in-cell sampling against slow, obvious references."""

from __future__ import annotations

import numpy as np

from shapetree.builder import cells, sampling, stream


def test_cutting_a_cube_corner_gives_the_analytic_volumes():
    starts, verts = cells.box_cell(np.zeros(3), np.ones(3))
    n = np.ones(3, np.float32)
    for b in (0.3, 0.5, 0.9):
        ls, lv, rs, rv = cells.split_cell(starts, verts, n, np.float32(b), 1e-12)
        corner = np.float64(np.float32(b)) ** 3 / 6
        assert abs(cells.cell_volume(ls, lv) - corner) < 1e-9
        assert abs(cells.cell_volume(rs, rv) - (1 - corner)) < 1e-9


def test_repeated_cuts_partition_the_volume():
    rng = np.random.default_rng(0)
    starts, verts = cells.box_cell(-np.ones(3), np.ones(3))
    pieces = [(starts, verts)]
    for _ in range(40):
        k = int(rng.integers(len(pieces)))
        s, v = pieces.pop(k)
        n = rng.normal(size=3).astype(np.float32)
        b = np.float32(n.astype(float) @ v.mean(0))
        ls, lv, rs, rv = cells.split_cell(s, v, n, b, 1e-12)
        pieces += [p for p in ((ls, lv), (rs, rv)) if len(p[1])]
    total = sum(cells.cell_volume(s, v) for s, v in pieces)
    assert abs(total - 8.0) < 1e-9


def test_split_pieces_keeps_area_and_sides_and_drops_coplanar_pieces():
    tri = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 0], [1, 0, 1], [0, 1, 1]], float)
    starts = np.array([0, 3, 6])
    ids = np.array([7, 8])
    n = np.array([1, 0, 0], np.float32)
    _, lv, lid, la, _, rv, rid, ra = cells.split_pieces(starts, tri, ids, n, np.float32(0.25), 1e-12, 0.0)
    assert abs(la.sum() + ra.sum() - (0.5 + np.sqrt(3) / 2)) < 1e-12
    assert np.all(lv[:, 0] <= 0.25 + 1e-12) and np.all(rv[:, 0] >= 0.25 - 1e-12)
    assert sorted(lid.tolist()) == [7, 8] and sorted(rid.tolist()) == [7, 8]
    # the plane z = 0 holds triangle 7: it goes to neither side
    _, _, lid, _, _, _, rid, _ = cells.split_pieces(starts, tri, ids, np.array([0, 0, 1], np.float32),
                                                    np.float32(0.0), 1e-9, 0.0)
    assert 7 not in lid.tolist() and 7 not in rid.tolist()


def test_hit_and_run_stays_in_the_cell_and_is_uniform():
    # the prism x + y < 1 in the unit cube: centroid (1/3, 1/3, 1/2)
    normal = np.array([[1, 1, 0]], np.float32)
    offset = np.array([1], np.float32)
    side = np.array([0], np.int8)
    pts = sampling.hit_and_run(normal, offset, side, np.zeros(3), np.ones(3), np.array([0.2, 0.2, 0.5]), 40000,
                               stream.make_state(3), 6, 2)
    assert len(pts) == 40000
    assert np.all(pts[:, 0] + pts[:, 1] < 1) and np.all((pts >= 0) & (pts <= 1))
    assert np.allclose(pts.mean(0), [1 / 3, 1 / 3, 0.5], atol=0.01)
