"""Greedy simplification: budgets, validity, the order's prefix property, the incremental kernel
against a full rescan, argument checks, and quality against truncation."""

from __future__ import annotations

import numpy as np
import pytest
from factories import DATA, random_tree
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import reference_steps

import shapetree
from shapetree.errors import MeshError, UsageError
from shapetree.mesh import load_mesh
from shapetree.metrics import occupancy_metrics
from shapetree.simplifier import (
    best_tree,
    disagreements,
    labelled_points,
    samples_for,
    simplification_order,
    simplify,
    truncated,
)
from shapetree.simplifier.kernels import greedy_steps
from shapetree.tree import Kind, Tree, trees_equal


def reachable_and_preorder(tree) -> bool:
    """Every node is reached exactly once from the root, in pre-order, and branches have two children."""
    order = []
    stack = [0]
    while stack:
        i = stack.pop()
        order.append(i)
        if tree.left[i] >= 0:
            stack += [int(tree.right[i]), int(tree.left[i])]
    return order == list(range(tree.n_nodes)) and tree.n_nodes == 2 * tree.n_leaves - 1


@pytest.fixture(scope="module")
def tree_300():
    return random_tree(np.random.default_rng(3), 300)


@pytest.mark.parametrize("budget", [1, 2, 7, 64, 299])
def test_simplify_meets_the_budget_exactly_with_a_valid_tree(tree_300, budget):
    small = simplify(tree_300, budget, n_samples=20_000)
    assert small.n_leaves == budget
    assert reachable_and_preorder(small)
    assert np.all(small.normal[small.left < 0] == 0) and not small.value[small.left >= 0].any()
    assert np.array_equal(small.bounds, tree_300.bounds)


def test_simplify_never_adds_leaves(tree_300):
    assert simplify(tree_300, 300) is tree_300
    assert simplify(tree_300, 10_000) is tree_300


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 60), st.integers(1, 80))
def test_simplify_never_adds_leaves_and_leaves_no_node_unreachable(seed, n_leaves, budget):
    tree = random_tree(np.random.default_rng(seed), n_leaves)
    small = simplify(tree, budget, n_samples=2_000, seed=seed % 5)
    assert small.n_leaves == min(budget, n_leaves)
    assert reachable_and_preorder(small)


def test_a_tree_without_a_surface_simplifies_to_its_value():
    tree = random_tree(np.random.default_rng(1), 30)
    tree = Tree(tree.normal, tree.offset, tree.left, tree.right, np.ones(tree.n_nodes, bool) & (tree.left < 0),
                tree.bounds)
    small = simplify(tree, 1, n_samples=20_000)
    assert small.n_leaves == 1 and small.value[0]


def test_every_kept_plane_is_a_plane_of_the_full_tree(tree_300):
    small = simplify(tree_300, 40, n_samples=20_000)
    full = {tuple(p) for p in np.column_stack([tree_300.normal, tree_300.offset])[tree_300.left >= 0]}
    kept = {tuple(p) for p in np.column_stack([small.normal, small.offset])[small.left >= 0]}
    assert kept <= full


def test_the_tree_at_every_budget_is_a_prefix_of_the_order_and_equals_simplify(tree_300):
    order = simplification_order(tree_300, n_samples=20_000)
    assert len(order.node) == 299 and order.min_leaves == 1
    previous = order.at(300)
    assert previous is tree_300
    for budget in range(299, 0, -1):
        t = order.at(budget)
        assert t.n_leaves == budget and reachable_and_preorder(t)
        # one step removes one branch (and one leaf)
        assert t.n_nodes == previous.n_nodes - 2
        previous = t
    for budget in (1, 5, 77, 250):
        assert trees_equal(order.at(budget), simplify(tree_300, budget, n_samples=20_000))


def test_the_default_sample_count_grows_with_the_budget(tree_300):
    assert samples_for(1) == samples_for(1000) == 400_000
    assert samples_for(2048) == 614_400 and samples_for(4096) == 1_228_800
    # simplify's default is samples_for(budget): the order drawn with as many points gives the same tree
    assert trees_equal(simplify(tree_300, 120), simplification_order(tree_300, n_samples=samples_for(120)).at(120))


def test_collapse_leaves_says_which_branches_each_budget_keeps(tree_300):
    order = simplification_order(tree_300, n_samples=20_000)
    at = order.collapse_leaves()
    assert np.all(at[tree_300.left < 0] == -1)
    branches = np.flatnonzero(tree_300.left >= 0)
    assert sorted(at[branches]) == list(range(1, 300))
    planes = np.column_stack([tree_300.normal, tree_300.offset])
    for budget in (3, 50, 200):
        small = order.at(budget)
        kept = {tuple(p) for p in np.column_stack([small.normal, small.offset])[small.left >= 0]}
        # random planes are distinct, so the kept plane set identifies the kept branches
        assert len(kept) == budget - 1
        assert kept == {tuple(p) for p in planes[branches[at[branches] < budget]]}


def test_the_order_is_deterministic_for_a_seed_and_depends_on_it(tree_300):
    a = simplification_order(tree_300, n_samples=5_000, seed=1)
    b = simplification_order(tree_300, n_samples=5_000, seed=1)
    c = simplification_order(tree_300, n_samples=5_000, seed=2)
    assert np.array_equal(a.node, b.node) and np.array_equal(a.keep, b.keep)
    assert not np.array_equal(a.node, c.node)


def test_errors_grow_from_the_full_trees_errors_and_end_at_the_minority(tree_300):
    order = simplification_order(tree_300, n_samples=20_000)
    assert order.start_error == 0  # labels come from the tree itself
    pts, labels = labelled_points(tree_300, n=20_000)
    assert order.n_points == len(pts)
    # the error after each step is the real disagreement of that tree with the labels
    for budget in (1, 10, 100):
        t = order.at(budget)
        assert np.count_nonzero(t.contains(pts) != labels) == order.error[300 - budget - 1]
    assert order.error[-1] == min(np.count_nonzero(labels), np.count_nonzero(~labels))


def _random_case(rng, max_leaves: int, max_points: int):
    tree = random_tree(rng, int(rng.integers(2, max_leaves + 1)))
    pts = rng.uniform(-1, 1, (int(rng.integers(1, max_points + 1)), 3))
    # labels: a few random half-spaces mixed with noise, so collapses and splices both win
    n = rng.normal(size=(2, 3))
    labels = ((pts @ n[0] < 0.2) ^ (pts @ n[1] > 0.5)) ^ (rng.random(len(pts)) < 0.1)
    return tree, pts, labels


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_incremental_kernel_matches_a_full_rescan_on_small_random_trees(seed):
    rng = np.random.default_rng(seed)
    tree, pts, labels = _random_case(rng, 24, 120)
    stop = int(rng.integers(1, 4))
    max_splice = int(rng.integers(1, 7))
    max_splice_points = int(rng.integers(0, 100))
    got = greedy_steps(tree.left, tree.right, tree.value, tree.normal, tree.offset, pts, labels,
                       tree.apply(pts), stop, max_splice, max_splice_points)
    want = reference_steps(tree, pts, labels, stop, max_splice, max_splice_points)
    for g, w in zip(got, want, strict=True):
        assert g.tolist() == np.asarray(w, dtype=g.dtype).tolist()


def test_incremental_kernel_takes_every_kind_of_move():
    rng = np.random.default_rng(9)
    tree, pts, labels = _random_case(rng, 60, 3000)
    _, keep, _, error = greedy_steps(tree.left, tree.right, tree.value, tree.normal, tree.offset, pts, labels,
                                     tree.apply(pts), 1, 6, 3000)
    assert set(keep.tolist()) == {0, 1, 2}
    assert error[-1] == min(np.count_nonzero(labels), np.count_nonzero(~labels))


def test_a_wrong_subtree_is_spliced_away_when_its_sibling_is_right_there():
    # z < 0: labels y < 0; root's left child splits x < 0 into a subtree cut at y = 0.5 (a quarter of
    # its points wrong) and one cut at y = 0 (right). z >= 0: labels x >= 0.8, one right cut at x = 0.8.
    # Removing the wrong subtree whole is the best first move; leaf by leaf it costs a quarter first.
    planes = [(0, 0, 1, 0), (1, 0, 0, 0), (0, 1, 0, 0.5), None, None, (0, 1, 0, 0), None, None, (1, 0, 0, 0.8),
              None, None]
    normal = np.array([p[:3] if p else (0, 0, 0) for p in planes], float)
    offset = np.array([p[3] if p else 0 for p in planes], float)
    value = [False, False, False, True, False, False, True, False, False, False, True]
    tree = Tree(normal, offset, [1, 2, 3, -1, -1, 6, -1, -1, 9, -1, -1], [8, 5, 4, -1, -1, 7, -1, -1, 10, -1, -1],
                value, np.array([[-1.0] * 3, [1.0] * 3]))
    pts = np.random.default_rng(0).uniform(-1, 1, (4000, 3))
    labels = np.where(pts[:, 2] < 0, pts[:, 1] < 0, pts[:, 0] >= 0.8)
    args = (tree.left, tree.right, tree.value, tree.normal, tree.offset, pts, labels, tree.apply(pts), 4)
    node, keep, _, error = greedy_steps(*args, 2, 4000)
    assert node.tolist() == [2, 1] and keep.tolist() == [0, 2] and error[-1] == 0
    node, keep, _, leaves_only = greedy_steps(*args, 1, 4000)
    # leaf by leaf the cheapest move is collapsing the whole tree (a tenth of one side, then a quarter
    # of the other): recorded as two-leaf collapses, the cheapest ready one first
    assert keep.tolist() == [0] * 5 and node[-1] == 0 and leaves_only[-1] > 400
    alone = {}
    for b in (2, 5, 8):  # the branches whose children are both leaves
        ids = tree.apply(pts)
        inside = np.isin(ids, [tree.left[b], tree.right[b]])
        majority = 2 * np.count_nonzero(labels[inside]) > np.count_nonzero(inside)
        alone[b] = int(np.count_nonzero(np.where(inside, majority, tree.value[ids]) != labels))
    assert node[0] == min(alone, key=alone.get) and leaves_only[0] == min(alone.values())
    assert leaves_only[1] < 1000  # the old children-first order (8, 5, 2) had 1,008 errors after two steps


def test_bad_arguments_are_usage_errors(tree_300):
    for bad in (0, -3, 2.5, True, "8", None):
        with pytest.raises(UsageError, match="max_leaves"):
            simplify(tree_300, bad)
    with pytest.raises(UsageError, match="max_leaves"):
        simplification_order(tree_300, min_leaves=0)
    with pytest.raises(UsageError, match="occupancy"):
        simplify(random_tree(np.random.default_rng(0), 8, Kind.NORMALS), 4)
    with pytest.raises(UsageError, match="Tree"):
        simplify("tree.stree", 4)
    with pytest.raises(UsageError, match="n_samples"):
        simplify(tree_300, 4, n_samples=1)
    with pytest.raises(UsageError, match="seed"):
        simplify(tree_300, 4, seed=1.5)
    with pytest.raises(MeshError):
        simplify(tree_300, 4, mesh=DATA / "no-such-mesh.obj")


def test_trees_without_a_mesh_are_labelled_by_themselves_near_their_surface(tree_300):
    pts, labels = labelled_points(tree_300, n=40_000)
    assert np.array_equal(labels, tree_300.contains(pts))
    assert np.all((pts >= -1) & (pts <= 1))
    # the near-surface half sits where the labels change: within a few sigma of a point of the other label
    near = pts[len(pts) // 2:]
    probe = near[:, None, :] + np.random.default_rng(0).normal(0, 0.1, (len(near), 8, 3))
    flips = (tree_300.contains(probe.reshape(-1, 3)).reshape(-1, 8) != tree_300.contains(near)[:, None]).any(1)
    uniform = pts[: len(pts) // 2]
    probe_u = uniform[:, None, :] + np.random.default_rng(0).normal(0, 0.1, (len(uniform), 8, 3))
    flips_u = (tree_300.contains(probe_u.reshape(-1, 3)).reshape(-1, 8)
               != tree_300.contains(uniform)[:, None]).any(1)
    assert flips.mean() > 1.5 * flips_u.mean()


# -- quality ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bunny():
    mesh = load_mesh(DATA / "bunny_lowres.obj")
    return mesh, shapetree.build(mesh, max_leaves=1500, seed=0, threads=2)


def test_simplified_bunny_beats_truncation_and_keeps_most_of_the_tree(bunny):
    mesh, tree = bunny
    simplified = simplify(tree, 64, mesh=mesh, n_samples=200_000)
    cut = truncated(tree, 64)
    assert simplified.n_leaves == cut.n_leaves == 64
    s = occupancy_metrics(simplified, mesh, n=50_000)
    t = occupancy_metrics(cut, mesh, n=50_000)
    full = occupancy_metrics(tree, mesh, n=50_000)
    # measured: simplified 0.907 / 0.762, truncated 0.899 / 0.735, full tree (1,500 leaves) 0.989 / 0.951
    assert s["iou"] > t["iou"] + 0.004 and s["near_accuracy"] > t["near_accuracy"] + 0.015
    assert s["iou"] > 0.90 and s["near_accuracy"] > 0.75
    assert full["iou"] - s["iou"] < 0.09


def test_mesh_labels_beat_the_trees_own_labels_where_the_tree_is_wrong(bunny):
    mesh, tree = bunny
    by_mesh = simplification_order(tree, mesh=mesh, n_samples=100_000, min_leaves=200)
    by_tree = simplification_order(tree, n_samples=100_000, min_leaves=200)
    assert by_mesh.start_error > 0 and by_tree.start_error == 0
    assert occupancy_metrics(by_mesh.at(200), mesh, n=50_000)["iou"] > 0.95
    assert occupancy_metrics(by_tree.at(200), mesh, n=50_000)["iou"] > 0.95


def test_best_tree_picks_the_candidate_closest_to_the_mesh_on_held_out_points(bunny):
    mesh, tree = bunny
    simplified = simplify(tree, 64, mesh=mesh, n_samples=100_000)
    cut = truncated(tree, 64)
    flipped = Tree(simplified.normal, simplified.offset, simplified.left, simplified.right,
                   (simplified.left < 0) & ~simplified.value, simplified.bounds, origin=simplified.origin,
                   scale=simplified.scale)
    # measured (50k metric points): simplified IoU 0.907 against truncated 0.899; the flipped tree is the complement
    assert best_tree([cut, simplified, flipped], tree, mesh=mesh, n_samples=100_000) == 1
    assert best_tree([flipped, cut], tree, mesh=mesh, n_samples=100_000) == 1
    assert best_tree([cut, cut], tree, n_samples=20_000) == 0  # a tie goes to the first
    pts, labels = labelled_points(tree, mesh, n=50_000, seed=1)
    errors = disagreements([simplified, flipped], pts, labels)
    assert errors[0] + errors[1] == len(pts)  # complements: every point is wrong in exactly one
    with pytest.raises(UsageError, match="occupancy"):
        best_tree([], tree)
