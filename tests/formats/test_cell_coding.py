"""Coding 3's exact cells: the polytope every node's ancestors cut from the root box, kept on a stack
by plane ids, checked against a brute-force vertex enumeration; and the coding built on them."""

from __future__ import annotations

import itertools

import numpy as np
from factories import cad_like, chain_tree
from test_stree_v2 import framed_tree

from shapetree.formats import decode_stree, encode_trees, quantize
from shapetree.formats.cells import CELL_DEPTH
from shapetree.formats.quantized import CELL_PLANES, ESCAPED_PLANES, encode_planes, region_boxes, root_box
from shapetree.tree import Tree, trees_equal


def brute_force_box(planes: list[tuple[np.ndarray, float, bool]], lo: np.ndarray, hi: np.ndarray):
    """The bounding box of {u in [lo, hi] : every (n, o, left) holds (n.u < o if left else n.u >= o)}, from
    every vertex where three of the constraint planes meet (None when the cell has no vertex)."""
    rows = [(np.eye(3)[a], lo[a], -1.0) for a in range(3)] + [(np.eye(3)[a], hi[a], 1.0) for a in range(3)]
    rows += [(n, o, 1.0 if left else -1.0) for n, o, left in planes]  # side: sign * (n.u - o) <= 0
    pts = []
    for (n1, o1, _), (n2, o2, _), (n3, o3, _) in itertools.combinations(rows, 3):
        m = np.array([n1, n2, n3])
        if abs(np.linalg.det(m)) < 1e-12:
            continue
        p = np.linalg.solve(m, [o1, o2, o3])
        if all(s * (n @ p - o) <= 1e-9 for n, o, s in rows):
            pts.append(p)
    if not pts:
        return None
    pts = np.array(pts)
    return pts.min(0), pts.max(0)


def paths(tree: Tree) -> list[list[tuple[int, bool]]]:
    """For every node, its ancestors and the side taken: [(branch, went left), ...]."""
    out = [[] for _ in range(tree.n_nodes)]
    for i in range(tree.n_nodes):
        if tree.left[i] >= 0:
            out[tree.left[i]] = out[i] + [(i, True)]
            out[tree.right[i]] = out[i] + [(i, False)]
    return out


def cutting_tree(rng: np.random.Generator, n_leaves: int, bounds: np.ndarray) -> Tree:
    """A random tree whose every plane cuts its cell: through the mean of the sample points that reach it."""
    pts = rng.uniform(bounds[0], bounds[1], (40_000, 3))
    normal, offset, left, right = [], [], [], []

    def grow(k: int, p: np.ndarray) -> int:
        i = len(left)
        normal.append(np.zeros(3))
        offset.append(0.0)
        left.append(-1)
        right.append(-1)
        if k > 1 and len(p) > 8:
            n = rng.normal(size=3)
            normal[i], offset[i] = n, float(n @ p.mean(0))
            go = p @ n < offset[i]
            a = int(rng.integers(1, k))
            left[i] = grow(a, p[go])
            right[i] = grow(k - a, p[~go])
        return i

    grow(n_leaves, pts)
    n = len(left)
    return Tree(np.array(normal), np.array(offset), np.array(left), np.array(right), rng.random(n) < 0.5,
                np.array(bounds, float))


def test_cell_boxes_are_the_bounding_boxes_of_the_exact_cells():
    bounds = np.array([[-1.0, -0.5, -0.25], [1.0, 0.5, 0.25]])
    tree = quantize(cutting_tree(np.random.default_rng(5), 60, bounds), coding=CELL_PLANES)
    lo, hi = root_box(tree)
    clo, chi = region_boxes(tree.normal, tree.offset, tree.left.astype(np.int64), tree.right.astype(np.int64), lo, hi,
                            True)
    blo, bhi = region_boxes(tree.normal, tree.offset, tree.left.astype(np.int64), tree.right.astype(np.int64), lo, hi,
                            False)
    checked = tighter = 0
    for i, path in enumerate(paths(tree)):
        planes = [(tree.normal[j].astype(np.float64), float(tree.offset[j]), left) for j, left in path]
        ref = brute_force_box(planes, lo, hi)
        if ref is None:  # an empty cell: a box of no extent
            assert np.all(chi[i] - clo[i] <= 1e-9)
            continue
        assert np.allclose(clo[i], ref[0], atol=1e-9) and np.allclose(chi[i], ref[1], atol=1e-9), i
        # the box rule of codings 1 and 2 is conservative: it holds the cell
        assert np.all(blo[i] <= ref[0] + 1e-9) and np.all(bhi[i] >= ref[1] - 1e-9)
        checked += 1
        tighter += bool(np.any(bhi[i] - blo[i] > chi[i] - clo[i] + 1e-6))
    assert checked > 80 and tighter > 20


def test_coding_3_round_trips_and_is_smaller_than_coding_2():
    tree = framed_tree(np.random.default_rng(2), 2000)
    data = encode_trees([tree], coding=CELL_PLANES)
    assert data[6] == CELL_PLANES
    q = quantize(tree, coding=CELL_PLANES)
    assert trees_equal(decode_stree(data)[0], q) and trees_equal(quantize(q, coding=CELL_PLANES), q)
    p = 12
    assert len(encode_planes(tree, p, coding=CELL_PLANES)[0]) < 0.97 * len(encode_planes(tree, p, coding=ESCAPED_PLANES)[0])


def test_deep_chains_and_overfull_cells_fall_back_to_boxes_alike_in_encoder_and_decoder():
    rng = np.random.default_rng(9)
    # deeper than CELL_DEPTH, planes tangent to a ball the chain keeps: every cell down to CELL_DEPTH has
    # volume (its box extent), and the deepest branches use boxes
    k = CELL_DEPTH + 40
    n = rng.normal(size=(k, 3)).astype(np.float32)
    deep = chain_tree(n, (-0.5 * np.linalg.norm(n, axis=1)).astype(np.float32))
    q = quantize(deep, coding=CELL_PLANES)
    lo, hi = root_box(q)
    clo, chi = region_boxes(q.normal, q.offset, q.left.astype(np.int64), q.right.astype(np.int64), lo, hi, True)
    spine = np.arange(0, 2 * k, 2)  # the chain's branches, depth 0 .. k - 1
    assert np.all((chi[spine] - clo[spine]).min(axis=1) > 0.1)
    # the simplex x, y, z >= 0, x + y + z <= 1, then x, y, z >= 0 again and again (the origin's plane ids
    # overflow: the cell becomes its box), then planes across it
    chains = [deep]
    for r in (12, 17):
        tilt = rng.normal(size=(10, 3))
        normals = np.concatenate([np.eye(3), [[-1, -1, -1]], np.eye(3)[np.arange(r) % 3], tilt]).astype(np.float32)
        offsets = np.concatenate([[0, 0, 0, -1], np.zeros(r), tilt.sum(1) * 0.2]).astype(np.float32)
        chains.append(chain_tree(normals, offsets))
    for tree in (*chains, cad_like(framed_tree(rng, 300), rng)):
        q = quantize(tree, coding=CELL_PLANES)
        assert trees_equal(decode_stree(encode_trees([tree], coding=CELL_PLANES))[0], q)
        pts = rng.uniform(tree.bounds[0], tree.bounds[1], (20_000, 3))
        assert np.mean(q.contains(pts) != tree.contains(pts)) < 0.01


def test_a_progressive_coding_3_file_decodes_every_level_as_quantised():
    from shapetree import detail_levels, simplification_order
    from shapetree.formats import progressive as prog

    tree = cutting_tree(np.random.default_rng(6), 300, np.array([[-1.0, -1.0, -1.0], [1.0, 1.0, 1.0]]))
    levels = detail_levels(simplification_order(tree, n_samples=20_000, min_leaves=16))
    data = prog.encode_file(levels, coding=CELL_PLANES)
    assert data[6] == CELL_PLANES
    stored = prog.quantize_levels(levels, coding=CELL_PLANES)
    for n, q in zip(levels.leaf_counts, stored, strict=True):
        assert trees_equal(decode_stree(data, "<bytes>", n)[0], q)
    assert len(data) < len(prog.encode_file(levels, coding=ESCAPED_PLANES))
