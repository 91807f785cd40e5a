"""The sweep's kernels against slow, obvious references on random trees."""

from __future__ import annotations

import numpy as np
import pytest
from factories import random_tree

from shapetree.refiner import fresh, sweep
from shapetree.tree import tree_in_preorder, trees_equal


def arrays(t):
    return (t.left.astype(np.int64), t.right.astype(np.int64), np.ascontiguousarray(t.normal),
            np.ascontiguousarray(t.offset))


def slow_leaf(t, i, p):
    while t.left[i] >= 0:
        i = t.left[i] if float(np.float64(t.normal[i]) @ p) < float(t.offset[i]) else t.right[i]
    return i


@pytest.mark.parametrize("seed", range(4))
def test_leaves_care_sides_and_groups_match_a_slow_walk(seed):
    rng = np.random.default_rng(seed)
    t = random_tree(rng, int(rng.integers(2, 40)), quantized=seed % 2 == 1)
    x = rng.uniform(-1, 1, (400, 3))
    if seed % 2:
        x = np.round(x * 4) / 4  # points on planes: the side rule decides
    y = rng.random(len(x)) < 0.5
    left, right, normal, offset = arrays(t)
    home = sweep.leaves_of(x, left, right, normal, offset)
    assert np.array_equal(home, [slow_leaf(t, 0, p) for p in x])
    assert np.array_equal(home, t.apply(x))
    parent, depth = t.parent.astype(np.int64), t.node_depth.astype(np.int64)
    anc = home.copy()
    for d in range(t.depth, -1, -1):
        nodes, starts, order = sweep.group_at_depth(anc, parent, depth, d, t.n_nodes)
        side = sweep.care_sides(nodes, starts, order, x, y, home, left, right, normal, offset, t.value)
        for g, v in enumerate(nodes):
            pts = order[starts[g]:starts[g + 1]]
            # exactly the points whose path passes node v at depth d, in index order
            on_path = [p for p in range(len(x)) if v in path(t, home[p])]
            assert list(pts) == on_path and depth[v] == d
            for j, p in zip(range(starts[g], starts[g + 1]), pts):
                if t.left[v] < 0:
                    assert side[j] == 0
                    continue
                ok_l = t.value[slow_leaf(t, t.left[v], x[p])] == y[p]
                ok_r = t.value[slow_leaf(t, t.right[v], x[p])] == y[p]
                assert side[j] == (0 if ok_l == ok_r else 1 if ok_l else 2)


def path(t, leaf):
    out = [leaf]
    while t.parent[out[-1]] >= 0:
        out.append(int(t.parent[out[-1]]))
    return out


def test_path_weights_are_the_balance_heuristic():
    rng = np.random.default_rng(7)
    t = random_tree(rng, 20)
    x = rng.uniform(-1, 1, (300, 3))
    home = t.apply(x)
    rate = np.where(t.left >= 0, rng.uniform(0, 5, t.n_nodes), 0.0)
    w = sweep.path_weights(home, t.parent.astype(np.int64), rate, 3.0)
    expected = [3.0 / (3.0 + sum(rate[u] for u in path(t, h)[1:])) for h in home]
    np.testing.assert_allclose(w, expected, rtol=1e-13)


@pytest.mark.parametrize("seed", range(6))
def test_splicing_empty_sides_keeps_every_points_leaf(seed):
    rng = np.random.default_rng(seed)
    t = random_tree(rng, 30)
    x = rng.uniform(-1, 1, (int(rng.integers(1, 60)), 3))  # few points: many empty sides
    left, right, normal, offset = arrays(t)
    home = sweep.leaves_of(x, left, right, normal, offset)
    count = sweep.subtree_counts(home, left, right, t.n_nodes)
    assert np.array_equal(count[home], np.bincount(home, minlength=t.n_nodes)[home]) and count[0] == len(x)
    cl, cr, root = sweep.splice_empty(left, right, count)
    nl, nr, nn, no, nv = cl.copy(), cr.copy(), t.normal.copy(), t.offset.copy(), t.value.copy()
    if root:
        nl[0], nr[0], nn[0], no[0], nv[0] = nl[root], nr[root], nn[root], no[root], nv[root]
    s = tree_in_preorder(nn, no, nl, nr, nv, t.bounds)
    assert s.n_leaves <= t.n_leaves
    assert np.array_equal(s.contains(x), t.contains(x))
    # every remaining branch has points on both sides
    sh = s.apply(x)
    c = sweep.subtree_counts(sh, s.left.astype(np.int64), s.right.astype(np.int64), s.n_nodes)
    assert np.all(c[s.left[s.left >= 0]] > 0) and np.all(c[s.right[s.right >= 0]] > 0)
    if count.min() > 0:
        assert trees_equal(s, t)


def test_fresh_samples_lie_in_their_cells_with_the_cells_mass():
    rng = np.random.default_rng(3)
    t = random_tree(rng, 12)
    import trimesh

    sphere = trimesh.creation.icosphere(subdivisions=3, radius=0.6)
    tri = np.ascontiguousarray(sphere.triangles)
    tri_box = np.ascontiguousarray(np.concatenate([tri.min(1), tri.max(1)], axis=1))
    area = sphere.area_faces.copy()
    left, right, normal, offset = arrays(t)
    lo, hi = t.bounds
    wanted = t.left >= 0
    sigma = 0.02
    _, volume, centre, cs, ci = fresh.cell_shapes(left, right, normal, offset, lo, hi, wanted, tri_box, 4 * sigma)
    nodes = np.flatnonzero(wanted)
    seeds = fresh.node_seeds(np.uint64(5), np.uint64(0), nodes)
    want = np.full(len(nodes), 300)
    pts, starts, mass = fresh.draw_in_cells(nodes, want, seeds, t.parent.astype(np.int64), left, normal, offset, lo,
                                            hi, volume, centre, cs, ci, tri, area, sigma, 20_000)
    # the distribution itself, by plain Monte Carlo: half uniform in the box, half near the surface
    n = 400_000
    from shapetree.mesh import Mesh, sample_surface

    surface, _ = sample_surface(Mesh(np.asarray(sphere.vertices), np.asarray(sphere.faces), "<sphere>"), n // 2,
                                np.random.default_rng(1))
    near = surface + np.random.default_rng(2).normal(0, sigma, (n // 2, 3))
    uni = np.random.default_rng(3).uniform(lo, hi, (n - n // 2, 3))
    everything = np.concatenate([uni, near])
    everything = everything[np.all((everything >= lo) & (everything <= hi), axis=1)]
    passes = np.zeros(t.n_nodes)
    for h in t.apply(everything):
        for u in path(t, h):
            passes[u] += 1
    for j, v in enumerate(nodes):
        mine = pts[starts[j]:starts[j + 1]]
        assert all(v in path(t, h) for h in t.apply(mine))  # every sample reaches its node
        if passes[v] > 4000:
            assert mass[j] == pytest.approx(passes[v] / n, rel=0.1)
            assert starts[j + 1] - starts[j] >= 250
