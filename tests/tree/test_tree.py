"""The Tree: evaluation rules, against a slow reference walk."""

from __future__ import annotations

import numpy as np
import pytest
from factories import random_tree

from shapetree import Tree, UsageError
from shapetree.tree import collapse, tree_in_preorder, trees_equal


def slow_contains(tree: Tree, points: np.ndarray) -> np.ndarray:
    out = np.zeros(len(points), bool)
    lo, hi = tree.bounds
    for k, p in enumerate(points):
        if np.any(p < lo) or np.any(p > hi) or np.any(np.isnan(p)):
            continue
        i = 0
        while tree.left[i] >= 0:
            d = sum(float(tree.normal[i, a]) * float(p[a]) for a in range(3))
            i = tree.left[i] if d < float(tree.offset[i]) else tree.right[i]
        out[k] = tree.value[i]
    return out


def slow_leaf(tree: Tree, points: np.ndarray) -> np.ndarray:
    out = np.zeros(len(points), np.int64)
    for k, p in enumerate(points):
        i = 0
        while tree.left[i] >= 0:
            d = sum(float(tree.normal[i, a]) * float(p[a]) for a in range(3))
            i = tree.left[i] if d < float(tree.offset[i]) else tree.right[i]
        out[k] = i
    return out


def half_space_tree(normal, offset) -> Tree:
    return Tree(np.array([normal, (0, 0, 0), (0, 0, 0)]), np.array([offset, 0, 0]),
                np.array([1, -1, -1]), np.array([2, -1, -1]), np.array([False, True, False]),
                np.array([[-1.0, -1, -1], [1, 1, 1]]))


def test_points_on_a_plane_go_right():
    tree = half_space_tree((1.0, 0.0, 0.0), 0.25)
    x = np.float64(np.float32(0.25))
    pts = np.array([[x, 0, 0], [np.nextafter(x, -1), 0, 0], [np.nextafter(x, 1), 0, 0]])
    assert tree.contains(pts).tolist() == [False, True, False]


def test_contains_matches_a_slow_reference_walk():
    rng = np.random.default_rng(3)
    for n_leaves in (1, 2, 17, 300):
        tree = random_tree(rng, n_leaves)
        pts = rng.uniform(-1.3, 1.3, size=(4000, 3))
        assert np.array_equal(tree.contains(pts), slow_contains(tree, pts))


def test_outside_the_bounds_and_nan_are_outside():
    tree = half_space_tree((1.0, 0.0, 0.0), 0.5)  # inside for x < 0.5 within the box
    pts = np.array([[0, 0, 0], [-1, -1, -1], [-1.0000001, 0, 0], [0, 1.5, 0], [np.nan, 0, 0]])
    assert tree.contains(pts).tolist() == [True, True, False, False, False]


def test_structure_properties():
    rng = np.random.default_rng(0)
    tree = random_tree(rng, 50)
    assert tree.n_leaves == 50
    assert tree.n_nodes == 99
    parent = tree.parent
    depth = tree.node_depth
    assert parent[0] == -1 and np.all(parent[1:] >= 0)
    assert tree.depth == depth.max()
    assert np.all(depth[1:] == depth[parent[1:]] + 1)


def test_points_must_have_three_columns():
    tree = half_space_tree((1.0, 0.0, 0.0), 0.5)
    with pytest.raises(UsageError):
        tree.contains(np.zeros((4, 2)))


def shuffled_arrays(tree: Tree, rng: np.random.Generator):
    """The tree's arrays with the nodes stored in a random order (the root stays first)."""
    perm = np.concatenate([[0], 1 + rng.permutation(tree.n_nodes - 1)])  # new position of old node
    inv = np.empty_like(perm)
    inv[perm] = np.arange(len(perm))
    remap = np.where(tree.left >= 0, perm[np.maximum(tree.left, 0)], -1)
    remap_r = np.where(tree.right >= 0, perm[np.maximum(tree.right, 0)], -1)
    return tree.normal[inv], tree.offset[inv], remap[inv], remap_r[inv], tree.value[inv], tree.bounds


def test_nodes_out_of_pre_order_are_rejected_and_renumbering_restores_the_tree():
    rng = np.random.default_rng(11)
    tree = random_tree(rng, 200)
    arrays = shuffled_arrays(tree, rng)
    with pytest.raises(UsageError, match="pre-order"):
        Tree(*arrays)
    assert trees_equal(tree_in_preorder(*arrays), tree)


@pytest.mark.parametrize("left, right", [
    ([1, -1, -1, -1], [2, -1, -1, -1]),  # a node no branch reaches
    ([2, -1, -1], [1, -1, -1]),  # left child is not the next node
    ([1, -1], [-1, -1]),  # a branch without a right child
    ([-1, -1, -1], [-1, -1, -1]),  # the tree closes after the root
    ([1, -1, -1], [2, -1, 5]),  # a leaf with a child
])
def test_malformed_structures_are_rejected(left, right):
    n = len(left)
    with pytest.raises(UsageError):
        Tree(np.zeros((n, 3)), np.zeros(n), left, right, np.zeros(n, bool), [[0, 0, 0], [1, 1, 1]])


def test_arrays_are_read_only_and_cannot_be_made_writable():
    tree = random_tree(np.random.default_rng(0), 20)
    for name in ("normal", "offset", "left", "right", "value", "bounds"):
        a = getattr(tree, name)
        with pytest.raises(ValueError):
            a[0] = a[0]
        with pytest.raises(ValueError):
            a.setflags(write=True)
    with pytest.raises(AttributeError):
        tree.value = tree.value


def test_the_tree_owns_its_arrays():
    """Editing the arrays a tree was made from does not change the tree."""
    value = np.array([False, True, False])
    tree = Tree(np.array([(1.0, 0, 0), (0, 0, 0), (0, 0, 0)]), np.array([0.0, 0, 0]), np.array([1, -1, -1]),
                np.array([2, -1, -1]), value, np.array([[-1.0, -1, -1], [1, 1, 1]]))
    pts = np.array([[-0.5, 0, 0]] * 30_000)  # enough points to build the start grid too
    assert tree.contains(pts).all()
    value[1] = False
    assert tree.contains(pts).all()


def test_edits_give_new_trees_whose_queries_are_never_stale():
    rng = np.random.default_rng(2)
    tree = random_tree(rng, 300)
    pts = rng.uniform(-1, 1, (30_000, 3))  # large: the cached start grid is used
    before = tree.contains(pts)
    assert np.array_equal(before, tree.value[tree.apply(pts)])
    flipped = tree.replace(value=~tree.value & tree.is_leaf)
    assert np.array_equal(flipped.contains(pts), ~before)
    assert np.array_equal(flipped.contains(pts), flipped.predict(pts))
    assert np.array_equal(tree.contains(pts), before)  # the original is untouched
    collapsed = collapse(tree, [0], [True])
    assert collapsed.n_leaves == 1 and collapsed.contains(pts).all()
    assert tree.n_leaves == 300


def test_large_queries_start_from_the_grid_and_agree_with_the_plain_descent():
    """Queries of many points start at a per-grid-cell node; the answers must not change, also
    for points on grid lines, on the bounds and on the planes themselves."""
    from shapetree.tree.layout import GRID, GRID_MIN_POINTS

    rng = np.random.default_rng(5)
    tree = random_tree(rng, 3000)
    lo, hi = tree.bounds
    pts = rng.uniform(lo, hi, (GRID_MIN_POINTS, 3))
    grid_pts = lo + (hi - lo) * rng.integers(0, GRID + 1, (GRID_MIN_POINTS, 3)) / GRID
    branch = np.flatnonzero(tree.left >= 0)[:200]
    on_plane = []
    for i in branch:  # a point exactly on plane i (solve for the largest coordinate)
        n = tree.normal[i].astype(float)
        p = rng.uniform(lo, hi)
        a = int(np.argmax(np.abs(n)))
        p[a] = (float(tree.offset[i]) - n @ p + n[a] * p[a]) / n[a]
        on_plane.append(p)
    pts = np.concatenate([pts, grid_pts, np.array(on_plane)])
    expect = slow_contains(tree, pts)
    assert np.array_equal(tree.contains(pts), expect)
    assert np.array_equal(tree.apply(pts), slow_leaf(tree, pts))
    assert np.array_equal(tree.contains(pts[:100]), expect[:100])  # small query: root start
