"""Quality metrics against shapes whose answers are known analytically."""

import numpy as np
import pytest
import trimesh
from factories import shared_mesh

from shapetree.mesh import Mesh, load_mesh
from shapetree.metrics import mesh_surface_metrics, occupancy_metrics, surface_metrics, tree_surface
from shapetree.tree import Tree


def box_mesh(lo, hi) -> Mesh:
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    b = trimesh.creation.box(extents=hi - lo)
    return Mesh(np.asarray(b.vertices) + (lo + hi) / 2, np.asarray(b.faces, np.int64), "box")


def box_tree(lo, hi) -> Tree:
    """A single inside leaf: the tree is exactly its bounds box."""
    return Tree(np.zeros((1, 3)), np.zeros(1), [-1], [-1], [True], np.array([lo, hi], float))


def half_box_tree(lo, hi, axis, cut) -> Tree:
    """Inside where ``x[axis] < cut``, within the box."""
    normal = np.zeros((3, 3))
    normal[0, axis] = 1
    return Tree(normal, [cut, 0, 0], [1, -1, -1], [2, -1, -1], [False, True, False],
                np.array([lo, hi], float))


def test_a_box_tree_matches_a_box_mesh_exactly():
    r = occupancy_metrics(box_tree([0, 0, 0], [2, 1, 3]), box_mesh([0, 0, 0], [2, 1, 3]), n=20_000)
    assert r["iou"] == 1.0
    assert r["near_accuracy"] > 0.999


@pytest.mark.parametrize("shift", [0.04, 0.3])
def test_a_shifted_box_has_the_analytic_iou(shift):
    # IoU is measured in the mesh's box grown by 0.05, which clips the part shifted beyond it.
    mesh = box_mesh([0, 0, 0], [1, 1, 1])
    r = occupancy_metrics(box_tree([shift, 0, 0], [1 + shift, 1, 1]), mesh, n=50_000)
    assert r["iou"] == pytest.approx((1 - shift) / (1 + min(shift, 0.05)), abs=0.01)


def test_half_a_box_scores_half_iou_and_three_quarters_near_accuracy():
    # The missing half holds 3 of the box's 6 unit faces; near them half the noisy samples
    # fall inside and are misclassified.
    r = occupancy_metrics(half_box_tree([0, 0, 0], [1, 1, 1], 0, 0.5), box_mesh([0, 0, 0], [1, 1, 1]),
                          n=50_000)
    assert r["iou"] == pytest.approx(0.5, abs=0.01)
    assert r["near_accuracy"] == pytest.approx(0.75, abs=0.01)


def test_metrics_are_deterministic_for_a_seed_and_vary_with_it():
    mesh = box_mesh([0, 0, 0], [1, 1, 1])
    tree = half_box_tree([0, 0, 0], [1, 1, 1], 1, 0.37)
    a = occupancy_metrics(tree, mesh, seed=3, n=5_000)
    assert a == occupancy_metrics(tree, mesh, seed=3, n=5_000)
    assert a != occupancy_metrics(tree, mesh, seed=4, n=5_000)


def test_metrics_are_invariant_to_the_mesh_scale_and_position():
    small = occupancy_metrics(half_box_tree([0, 0, 0], [1, 1, 1], 2, 0.6), box_mesh([0, 0, 0], [1, 1, 1]),
                              n=5_000)
    lo, hi = np.array([-50, 10, 7.0]), np.array([-50, 10, 7.0]) + 300
    big = occupancy_metrics(half_box_tree(lo, hi, 2, 7 + 0.6 * 300), box_mesh(lo, hi), n=5_000)
    assert big["iou"] == pytest.approx(small["iou"], abs=1e-9)
    assert big["near_accuracy"] == pytest.approx(small["near_accuracy"], abs=1e-9)


def test_a_mesh_against_itself_has_perfect_surface_metrics():
    mesh = load_mesh(shared_mesh("bunny_npm_lowres.obj"))
    r = mesh_surface_metrics(mesh, mesh, n=20_000)
    assert r["chamfer_l1"] < 0.007  # the floor of 20k samples against 20k others
    assert r["fscore_2"] > 0.99
    assert r["normal_consistency"] > 0.98


def test_a_box_tree_surface_scores_like_the_box_itself():
    lo, hi = [0, 0, 0], [2, 1, 3]
    mesh = box_mesh(lo, hi)
    floor = mesh_surface_metrics(mesh, mesh)
    r = surface_metrics(box_tree(lo, hi), mesh, resolution=48)
    assert r["resolution"] == 48
    assert r["chamfer_l1"] == pytest.approx(floor["chamfer_l1"], abs=3e-4)
    assert r["fscore_1"] > 0.98
    assert r["normal_consistency"] > 0.98


def test_a_shifted_box_fails_the_one_percent_fscore_but_passes_two_percent():
    # Shifted by 1.5 %: the two faces across the shift (a third of the area) are 0.015 away.
    mesh = box_mesh([0, 0, 0], [1, 1, 1])
    floor = mesh_surface_metrics(mesh, mesh)
    r = surface_metrics(box_tree([0.015, 0, 0], [1.015, 1, 1]), mesh, resolution=48)
    assert 0.6 < r["fscore_1"] < 0.75
    assert r["fscore_2"] > 0.999
    assert 0.003 < r["chamfer_l1"] - floor["chamfer_l1"] < 0.015 / 3


def test_tree_surface_vertices_lie_on_the_tree_boundary():
    tree = half_box_tree([0, 0, 0], [1, 1, 1], 0, 0.4321)
    surf = tree_surface(tree, resolution=20)
    v = surf.vertices
    on_boundary = (np.abs(v[:, 0] - 0.4321) < 1e-6) | (np.abs(v) < 1e-6).any(1) | (np.abs(v - 1) < 1e-6).any(1)
    assert on_boundary.all()


def test_an_empty_tree_scores_zero():
    tree = Tree(np.zeros((1, 3)), np.zeros(1), [-1], [-1], [False], np.array([[0, 0, 0], [1, 1, 1.0]]))
    mesh = box_mesh([0, 0, 0], [1, 1, 1])
    assert occupancy_metrics(tree, mesh, n=2_000)["iou"] == 0.0
    r = surface_metrics(tree, mesh, n=2_000, resolution=8)
    assert r["fscore_1"] == 0.0 and r["chamfer_l1"] == float("inf")
