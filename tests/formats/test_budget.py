"""The quantisation budget of a tree whose mesh is known (``save(tree, path, budget=quantization_budget(tree, mesh))``)."""

from __future__ import annotations

import numpy as np
from factories import polytope_tree, sphere_mesh, sphere_tree
from stree_files import inflated

import shapetree
from shapetree.formats import quantize, quantized
from shapetree.formats.quantized import DISAGREEMENT_BUDGET, budget_samples
from shapetree.mesh import Mesh
from shapetree.metrics import ERROR_RISE, ERROR_SHARE, MeshBudget, quantization_budget, tree_error

BOUNDS = np.array([[-1.0, -1.0, -1.0], [1.0, 1.0, 1.0]])


def rotated_cube(shift: float = 0.0) -> tuple[shapetree.Tree, Mesh]:
    """A cube turned by an oblique rotation: its tree (the six face planes, each moved out or in by
    ``shift``) and its mesh."""
    import trimesh

    c, s = np.cos(0.5), np.sin(0.5)
    rot = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]) @ np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    box = trimesh.creation.box(extents=(1.0, 1.0, 1.0))
    mesh = Mesh(np.asarray(box.vertices) @ rot.T, np.asarray(box.faces, np.int64), "<rotated cube>")
    normals = np.concatenate([rot.T, -rot.T])  # rows: the rotated axes, both ways
    return polytope_tree(normals.astype(np.float32), 0.5 + shift * np.array([1, -1, 1, -1, 1, -1]), BOUNDS), mesh


def precision_of(path) -> float:
    data = path.read_bytes()
    return quantized.precision_of(inflated(data)[0], data[6])


def next_lower(p: float) -> float:
    """The precision below ``p`` that the automatic choice tried and rejected (coding 4: a quarter step)."""
    return p - 1 / quantized.PRECISION_STEPS


def test_an_accurate_tree_keeps_more_bits_with_its_mesh_and_stays_as_accurate(tmp_path):
    tree, mesh = rotated_cube()
    assert tree_error(tree, mesh) < 1e-4  # the tree is the cube (up to float32 planes)
    plain, with_mesh = tmp_path / "plain.stree", tmp_path / "mesh.stree"
    shapetree.save(tree, plain)
    budget = quantization_budget(tree, mesh)
    shapetree.save(tree, with_mesh, budget=budget)
    assert precision_of(with_mesh) >= precision_of(plain)
    a, b = shapetree.load(plain), shapetree.load(with_mesh)
    assert tree_error(b, mesh) <= tree_error(a, mesh)
    assert budget.rise_bound(*budget.rise_and_moved(b)) <= ERROR_RISE
    assert not budget(quantize(tree, next_lower(precision_of(with_mesh))))


def test_the_precision_is_the_lowest_whose_error_against_the_mesh_stays_within_the_rise(tmp_path):
    tree, mesh = rotated_cube(shift=2e-3)  # faces off by 2e-3: an error of about 1.2e-2 of the volume
    budget = quantization_budget(tree, mesh)
    assert isinstance(budget, MeshBudget) and 5e-3 < budget.error < 2e-2
    shapetree.save(tree, tmp_path / "t.stree", budget=budget)
    p = precision_of(tmp_path / "t.stree")
    assert budget(shapetree.load(tmp_path / "t.stree"))
    if next_lower(p) >= quantized.auto_precisions(quantized.DEFAULT_CODING)[0]:
        assert not budget(quantize(tree, next_lower(p)))
    # what the file adds is measured against the mesh, on the same points for both trees
    rise, moved = budget.rise_and_moved(shapetree.load(tmp_path / "t.stree"))
    assert budget.rise_bound(rise, moved) <= ERROR_RISE and moved <= max(DISAGREEMENT_BUDGET, ERROR_SHARE * budget.error)
    assert budget.rise_bound(rise, moved) >= rise + 2 * np.sqrt(moved / budget.volume) - 1e-15


def test_a_coarse_tree_may_drop_bits_its_error_hides(tmp_path):
    tree = sphere_tree(0.6, 40, BOUNDS)
    mesh = sphere_mesh(0.6, 3)
    budget = quantization_budget(tree, mesh)
    assert budget.error * ERROR_SHARE > DISAGREEMENT_BUDGET  # 40 tangent planes are far from the sphere
    shapetree.save(tree, tmp_path / "a.stree")
    shapetree.save(tree, tmp_path / "b.stree", budget=budget)
    assert precision_of(tmp_path / "b.stree") <= precision_of(tmp_path / "a.stree")
    assert (tmp_path / "b.stree").stat().st_size <= (tmp_path / "a.stree").stat().st_size
    assert budget.rise_and_moved(shapetree.load(tmp_path / "b.stree"))[0] <= ERROR_RISE


def test_normal_maps_get_the_default_budget():
    from shapetree import Kind
    tree = sphere_tree(0.6, 10, BOUNDS)
    normals = tree.replace(kind=Kind.NORMALS, value=np.zeros((tree.n_nodes, 3), np.float32))
    assert quantization_budget(normals, sphere_mesh(0.6, 2)) == DISAGREEMENT_BUDGET


def test_smaller_budgets_are_checked_on_more_points():
    assert budget_samples(DISAGREEMENT_BUDGET) == budget_samples(1.0) == 200_000
    assert budget_samples(DISAGREEMENT_BUDGET / 4) == 800_000
    assert budget_samples(0.0) == budget_samples(1e-7) == 2_000_000
