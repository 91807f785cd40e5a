"""The quantisation budget of a tree whose mesh is known (``save(tree, path, budget=quantization_budget(tree, mesh))``)."""

from __future__ import annotations

import zlib

import numpy as np
from factories import polytope_tree, sphere_mesh, sphere_tree

import shapetree
from shapetree.formats import quantize
from shapetree.formats.quantized import AUTO_PRECISIONS, DISAGREEMENT_BUDGET, budget_samples, disagreement
from shapetree.formats.stree_v2 import HEADER
from shapetree.mesh import Mesh
from shapetree.metrics import ERROR_SHARE, quantization_budget, tree_error

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


def precision_of(path) -> int:
    return zlib.decompress(path.read_bytes()[HEADER.size:-4])[0]


def test_an_accurate_tree_keeps_more_bits_with_its_mesh_and_stays_as_accurate(tmp_path):
    tree, mesh = rotated_cube()
    assert tree_error(tree, mesh) < 1e-4  # the tree is the cube (up to float32 planes)
    plain, with_mesh = tmp_path / "plain.stree", tmp_path / "mesh.stree"
    shapetree.save(tree, plain)
    shapetree.save(tree, with_mesh, budget=quantization_budget(tree, mesh))
    assert precision_of(with_mesh) > precision_of(plain)
    a, b = shapetree.load(plain), shapetree.load(with_mesh)
    # the coarse file moves the faces by up to the default budget; the mesh's keeps the cube
    assert tree_error(b, mesh) <= 0.25 * tree_error(a, mesh)
    # no error to share: the finest automatic precision (no coarser one matches the cube exactly)
    assert quantization_budget(tree, mesh) == 0.0 and precision_of(with_mesh) == AUTO_PRECISIONS[-1]


def test_the_precision_keeps_the_quantisation_within_a_share_of_the_trees_error(tmp_path):
    tree, mesh = rotated_cube(shift=1e-4)  # faces off by 1e-4: an error of about 6e-4 of the volume
    budget = quantization_budget(tree, mesh)
    assert 1e-4 < budget < 6e-4
    shapetree.save(tree, tmp_path / "t.stree", budget=budget)
    p = precision_of(tmp_path / "t.stree")
    samples = budget_samples(budget)
    assert disagreement(tree, shapetree.load(tmp_path / "t.stree"), samples) <= budget
    assert disagreement(tree, quantize(tree, p - 1), samples) > budget


def test_a_coarse_tree_gets_the_default_budget_and_the_same_file():
    tree = sphere_tree(0.6, 40, BOUNDS)
    mesh = sphere_mesh(0.6, 3)
    err = tree_error(tree, mesh)
    assert err * ERROR_SHARE > DISAGREEMENT_BUDGET  # 40 tangent planes are far from the sphere
    assert quantization_budget(tree, mesh) == DISAGREEMENT_BUDGET


def test_the_same_file_as_without_a_mesh_when_the_tree_is_coarse(tmp_path):
    tree = sphere_tree(0.6, 40, BOUNDS)
    shapetree.save(tree, tmp_path / "a.stree")
    shapetree.save(tree, tmp_path / "b.stree", budget=quantization_budget(tree, sphere_mesh(0.6, 3)))
    assert (tmp_path / "a.stree").read_bytes() == (tmp_path / "b.stree").read_bytes()


def test_smaller_budgets_are_checked_on_more_points():
    assert budget_samples(DISAGREEMENT_BUDGET) == budget_samples(1.0) == 200_000
    assert budget_samples(DISAGREEMENT_BUDGET / 4) == 800_000
    assert budget_samples(0.0) == budget_samples(1e-7) == 2_000_000
