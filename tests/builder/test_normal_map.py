"""Normal-map trees: training samples, the split kernel, growth, boosting, files and CLI."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import trimesh
from factories import sphere_mesh, sphere_tree

from shapetree import Kind, Tree, fit_normals, raycast, save
from shapetree.builder import fit_normal_tree, fit_normal_trees, surface_normal_samples
from shapetree.builder.variance import best_split
from shapetree.mesh import Mesh, vertex_normals
from shapetree.metrics import angular_error
from shapetree.tree import predict_normals, predict_normals_filtered, trees_equal

BOX = np.array([[-1.0, -1.0, -1.0], [1.0, 1.0, 1.0]])


def test_vertex_normals_of_a_sphere_point_outward():
    m = sphere_mesh()
    expect = m.vertices / np.linalg.norm(m.vertices, axis=1, keepdims=True)
    assert np.all(np.einsum("ij,ij->i", vertex_normals(m), expect) > 0.995)


def test_vertex_normals_are_smooth_across_split_vertices():
    m = sphere_mesh(subdivisions=2)
    split = Mesh(m.vertices[m.faces].reshape(-1, 3), np.arange(3 * len(m.faces)).reshape(-1, 3), "soup")
    n = vertex_normals(split)
    ref = vertex_normals(m)[m.faces].reshape(-1, 3)
    assert np.allclose(n, ref)


def test_samples_lie_near_the_surface_with_unit_targets():
    m = sphere_mesh(0.6, 4)
    X, Y = surface_normal_samples(m, 5000, np.random.default_rng(0), spread=0.01)
    r = np.linalg.norm(X, axis=1)
    assert np.all(np.abs(r - 0.6) < 0.012 * 6 + 0.01)
    assert np.abs(r - 0.6).std() > 0.005  # the offsets are there
    assert np.allclose(np.linalg.norm(Y, axis=1), 1)
    assert np.mean(angular_error(Y, X)) < 3  # interpolated normals are nearly radial
    _, Yf = surface_normal_samples(m, 500, np.random.default_rng(0), smooth=False)
    assert np.allclose(np.linalg.norm(Yf, axis=1), 1)


def _slowbest_split(X, Y, dirs, min_leaf):
    best = (-1.0, 0, 0.0)
    total = ((Y - Y.mean(0)) ** 2).sum()
    for j, d in enumerate(dirs):
        p = X @ d
        values = np.unique(p)
        for a, b in itertools.pairwise(values):
            thr = 0.5 * (a + b)
            left = p < thr
            if left.sum() < min_leaf or (~left).sum() < min_leaf:
                continue
            sse = ((Y[left] - Y[left].mean(0)) ** 2).sum() + ((Y[~left] - Y[~left].mean(0)) ** 2).sum()
            if total - sse > best[0] + 1e-12:
                best = (total - sse, j, thr)
    return best


def test_split_kernel_matches_a_brute_force_search():
    rng = np.random.default_rng(1)
    for _ in range(5):
        X = rng.normal(size=(60, 3))
        Y = np.where(X[:, :1] + 0.5 * X[:, 1:2] > 0.2, [1.0, 0, 0], [0, 0.6, 0.8]) + 0.1 * rng.normal(size=(60, 3))
        dirs = rng.normal(size=(7, 3))
        dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
        j, thr, gain = best_split(X, Y, dirs, 3)
        g_ref, j_ref, thr_ref = _slowbest_split(X, Y, dirs, 3)
        assert gain == pytest.approx(g_ref, rel=1e-9)
        assert j == j_ref and thr == pytest.approx(thr_ref)


def test_a_separable_field_is_fitted_exactly_by_two_leaves():
    rng = np.random.default_rng(2)
    X = np.concatenate([rng.uniform(-1, -0.2, (300, 3)), rng.uniform(0.2, 1, (300, 3))])
    Y = np.where(X[:, :1] < 0, [0.0, 0.0, 1.0], [1.0, 0.0, 0.0])
    tree = fit_normal_tree(X, Y, BOX, max_leaves=8)
    assert tree.n_leaves == 2  # nothing is left to gain after one split
    assert np.array_equal(tree.predict(X), Y.astype(np.float32))


def test_leaves_hold_the_mean_of_the_samples_tree_evaluation_sends_there():
    rng = np.random.default_rng(3)
    X = rng.uniform(-1, 1, (4000, 3))
    Y = np.stack([np.sin(3 * X[:, 0]), np.cos(2 * X[:, 1]), X[:, 2] ** 2], 1)
    tree = fit_normal_tree(X, Y, BOX, max_leaves=40, min_leaf=5)
    assert tree.n_leaves == 40 and tree.kind == Kind.NORMALS
    leaf = tree.apply(X)
    for i in np.unique(leaf):
        assert np.allclose(tree.value[i], Y[leaf == i].mean(0), atol=1e-6)
        assert (leaf == i).sum() >= 5


def test_more_leaves_and_more_trees_lower_the_training_error():
    m = sphere_mesh(0.6, 3)
    X, Y = surface_normal_samples(m, 6000, np.random.default_rng(4))
    errors = []
    for leaves in (4, 16, 64):
        errors.append(angular_error(predict_normals([fit_normal_tree(X, Y, BOX, max_leaves=leaves)], X), Y).mean())
    assert errors[0] > errors[1] > errors[2]
    trees = fit_normal_trees(X, Y, BOX, n_trees=3, max_leaves=16)
    residual = [np.linalg.norm(Y - sum(t.predict(X) for t in trees[:k]), axis=1).mean() for k in (1, 2, 3)]
    assert residual[0] > residual[1] > residual[2]


def test_fitting_is_deterministic():
    m = sphere_mesh(0.6, 2)
    a = fit_normals(m, BOX, n_trees=2, max_leaves=20, samples=3000, seed=7)
    b = fit_normals(m, BOX, n_trees=2, max_leaves=20, samples=3000, seed=7)
    assert all(trees_equal(x, y) for x, y in zip(a, b, strict=True))


def test_an_ensemble_survives_a_file_round_trip(tmp_path):
    from shapetree.formats import read_trees, write_trees

    trees = fit_normals(sphere_mesh(), BOX, n_trees=3, max_leaves=12, samples=2000)
    write_trees(tmp_path / "n.stree", trees)
    back = read_trees(tmp_path / "n.stree", Kind.NORMALS)
    pts = np.random.default_rng(5).uniform(-1, 1, (500, 3))
    assert len(back) == 3
    assert np.array_equal(predict_normals(back, pts), predict_normals(trees, pts))


def test_a_normal_map_smooths_the_shading_of_a_faceted_sphere():
    """Shading normals of a 40-plane polytope vs the true sphere normals, with and without a map."""
    from shapetree.renderer import orbit_camera

    tree = sphere_tree(0.6, 40)
    trees = fit_normals(sphere_mesh(0.6, 4), tree.bounds, max_leaves=256, samples=30000)
    o, d = orbit_camera(BOX, 20, 10).rays(64, 64)
    hits = raycast(tree, o, d)
    p = o[hits.hit] + hits.t[hits.hit, None] * d[hits.hit]
    truth = p / np.linalg.norm(p, axis=1, keepdims=True)
    flat = angular_error(hits.normal[hits.hit], truth).mean()
    mapped = angular_error(predict_normals(trees, p), truth).mean()
    filtered = angular_error(predict_normals_filtered(trees, p), truth).mean()
    assert mapped < flat / 2
    assert filtered < mapped
    assert np.array_equal(predict_normals_filtered(trees, p, radius=0.0), predict_normals(trees, p))


def test_bad_arguments_are_rejected():
    from shapetree.errors import UsageError

    X = np.zeros((10, 3))
    with pytest.raises(UsageError):
        fit_normal_tree(X, np.zeros((9, 3)), BOX)
    with pytest.raises(UsageError):
        fit_normal_trees(X, X, BOX, n_trees=0)


# -- the command line --------------------------------------------------------------------------------
def _run(*args):
    from click.testing import CliRunner

    from shapetree.cli import main

    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def sphere_files(tmp_path):
    save(sphere_tree(0.6, 60), tmp_path / "sphere.stree")
    trimesh.creation.icosphere(subdivisions=3, radius=0.6).export(tmp_path / "sphere.ply")
    return tmp_path / "sphere.stree", tmp_path / "sphere.ply"


def test_cli_fits_a_normal_map_that_render_uses(sphere_files, tmp_path):
    import imageio.v3 as iio

    from shapetree import load, read_trees

    tree, mesh = sphere_files
    r = _run("normals", tree, mesh, "-o", tmp_path / "n.stree", "--trees", 2, "--max-leaves", 32,
             "--samples", 5000)
    assert r.exit_code == 0, r.output
    assert "held-out angular error" in r.output
    trees = read_trees(tmp_path / "n.stree", Kind.NORMALS)
    assert len(trees) == 2 and all(isinstance(t, Tree) for t in trees)
    assert np.array_equal(trees[0].bounds, load(tree).bounds)
    r = _run("render", tree, "--normals", tmp_path / "n.stree", "-o", tmp_path / "a.png", "--size", 32, 32)
    assert r.exit_code == 0, r.output
    assert iio.imread(tmp_path / "a.png").shape == (32, 32, 4)


def test_cli_normals_errors_are_one_line_and_write_nothing(sphere_files, tmp_path):
    tree, mesh = sphere_files
    r = _run("normals", mesh, mesh, "-o", tmp_path / "n.stree")
    assert r.exit_code == 1 and "Traceback" not in r.output and r.output.count("\n") == 1
    r = _run("normals", tree, tmp_path / "missing.obj", "-o", tmp_path / "n.stree")
    assert r.exit_code == 1 and "no such file" in r.output
    assert not (tmp_path / "n.stree").exists()
