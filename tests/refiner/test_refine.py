"""``shapetree.refine``: the training error never rises, leaves take the majority, the result is
deterministic for a seed whatever the thread count, and bad input is one clear error."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from factories import DATA, ROOT, UNIT_BOX, random_tree, shared_mesh, sphere_mesh, sphere_tree

import shapetree
from shapetree import Kind, UsageError
from shapetree.metrics import occupancy_metrics
from shapetree.refiner import refine, refine_report
from shapetree.refiner import tao as tao_module
from shapetree.tree import trees_equal

FAST = {"n_samples": 20_000, "min_points": 64}


@pytest.fixture(scope="module")
def sphere():
    return sphere_mesh(0.6, 2)


@pytest.mark.parametrize("seed", range(5))
def test_training_error_never_rises_on_random_trees(sphere, seed):
    rng = np.random.default_rng(seed)
    tree = random_tree(rng, int(rng.integers(2, 24)))
    result = refine_report(tree, sphere, passes=3, seed=seed, **FAST)
    assert result.history
    for s in result.history:
        assert s.error_after <= s.error_before
        assert s.planes + s.leaves + s.pruned >= 0 and s.points >= 0.9 * FAST["n_samples"] - 1
    assert result.tree.n_leaves <= tree.n_leaves
    # random planes against a sphere: the refit must do real work on the first pass
    first = result.history[0]
    assert first.error_after < first.error_before


def test_every_node_keeps_or_lowers_its_care_error(sphere, monkeypatch):
    """Per node: the error on the care points never rises, and the stored float32 plane has exactly
    the error the kernel measured."""
    from shapetree.refiner import sweep
    from shapetree.refiner.fit import plane_error

    seen = []
    real = sweep.refit_branches

    def checked(nodes, starts, order, side, x, w, left, normal, offset, steps, z, old_err, new_err, n_care):
        real(nodes, starts, order, side, x, w, left, normal, offset, steps, z, old_err, new_err, n_care)
        for g, v in enumerate(nodes):
            if left[v] < 0:
                continue
            sel = order[starts[g]:starts[g + 1]][side[starts[g]:starts[g + 1]] != 0]
            want = side[starts[g]:starts[g + 1]][side[starts[g]:starts[g + 1]] != 0] == 1
            err = plane_error(normal[v], offset[v], x[sel], want, w[sel])
            assert err == new_err[g] if new_err[g] < old_err[g] else err == old_err[g]
            assert new_err[g] <= old_err[g]
            seen.append(old_err[g] - min(new_err[g], old_err[g]))
    monkeypatch.setattr(sweep, "refit_branches", checked)
    rng = np.random.default_rng(11)
    refine_report(random_tree(rng, 16), sphere, passes=2, seed=1, **FAST)
    assert len(seen) > 10 and max(seen) > 0


def test_a_real_mesh_gets_better_and_its_error_never_rises():
    mesh = shapetree.load_mesh(shared_mesh("bunny_npm_lowres.obj"))
    big = shapetree.build(mesh, max_leaves=400, seed=0)
    small = shapetree.simplify(big, 40, mesh=mesh, n_samples=60_000)
    result = refine_report(small, mesh, passes=3, seed=0, n_samples=60_000, min_points=64)
    for s in result.history:
        assert s.error_after <= s.error_before
    assert result.history[0].error_after < 0.95 * result.history[0].error_before
    before = occupancy_metrics(small, mesh, n=40_000)
    after = occupancy_metrics(result.tree, mesh, n=40_000)
    assert after["iou"] > before["iou"] + 0.003
    assert after["near_accuracy"] > before["near_accuracy"]
    assert not result.kept_input and result.held_out[1] < result.held_out[0]


def test_leaves_take_the_majority(sphere):
    # a polytope round the sphere with every leaf flipped: the leaves must take their majority back
    tree = sphere_tree(0.6, 24)
    flipped = tree.replace(value=np.where(tree.left < 0, ~tree.value, False))
    result = refine_report(flipped, sphere, passes=1, seed=0, **FAST)
    assert result.history[0].leaves > 0
    assert occupancy_metrics(flipped, sphere, n=20_000)["iou"] < 0.1
    assert occupancy_metrics(result.tree, sphere, n=20_000)["iou"] >= occupancy_metrics(tree, sphere, n=20_000)["iou"]
    # leaves of the result hold the weighted majority of the pass's points (here: the fixed ones)
    run = tao_module._Run(result.tree, sphere, 0, FAST["n_samples"], 0)
    home = result.tree.apply(run.x * run.scale + run.origin)
    votes = np.bincount(home, weights=run.y, minlength=result.tree.n_nodes)
    total = np.bincount(home, minlength=result.tree.n_nodes)
    leaf = (result.tree.left < 0) & (total > 0) & (2 * votes != total)
    agree = result.tree.value[leaf] == (2 * votes[leaf] > total[leaf])
    assert agree.mean() > 0.9


def test_a_perfect_tree_is_returned_unchanged():
    # a box tree against the box itself: every plane already separates its care points perfectly
    import trimesh

    box = trimesh.creation.box(extents=(1.0, 1.0, 1.0))
    mesh = shapetree.Mesh(np.asarray(box.vertices), np.asarray(box.faces), "<box>")
    from factories import box_tree

    tree = box_tree(np.full(3, -0.5), np.full(3, 0.5))
    result = refine_report(tree, mesh, passes=2, seed=0, **FAST)
    assert result.history[0].error_before == 0.0
    assert result.history[0].planes == 0 and len(result.history) == 1
    assert np.array_equal(result.tree.normal, tree.normal) and np.array_equal(result.tree.offset, tree.offset)
    assert np.array_equal(result.tree.value, tree.value)


def test_significance_keeps_noise_fits_out(sphere):
    tree = random_tree(np.random.default_rng(11), 16)
    loose = refine_report(tree, sphere, passes=1, seed=1, **FAST)
    strict = refine_report(tree, sphere, passes=1, seed=1, significance=3.0, **FAST)
    assert strict.history[0].planes < loose.history[0].planes
    assert strict.history[0].error_after <= strict.history[0].error_before


def test_same_seed_same_tree_and_seeds_differ(sphere):
    rng = np.random.default_rng(2)
    tree = random_tree(rng, 12)
    a = refine(tree, sphere, passes=2, seed=3, **FAST)
    b = refine(tree, sphere, passes=2, seed=3, **FAST)
    c = refine(tree, sphere, passes=2, seed=4, **FAST)
    assert trees_equal(a, b)
    assert not trees_equal(a, c)


SCRIPT = """
import sys, numpy as np, shapetree
sys.path.insert(0, {tests!r})
from factories import random_tree
mesh = shapetree.load_mesh({mesh!r})
tree = random_tree(np.random.default_rng(5), 30, bounds=mesh.bounds)
out = shapetree.refine(tree, mesh, passes=2, seed=9, n_samples=30_000, min_points=128)
shapetree.save(out, sys.argv[1], lossless=True)
"""


def test_thread_count_does_not_change_the_tree(tmp_path):
    mesh = shared_mesh("bunny_npm_lowres.obj")
    script = SCRIPT.format(tests=str(ROOT / "tests"), mesh=str(mesh))
    outs = []
    for threads in (1, 2):
        out = tmp_path / f"t{threads}.stree"
        env = dict(os.environ, NUMBA_NUM_THREADS=str(threads), PYTHONPATH=str(ROOT / "src"))
        proc = subprocess.run([sys.executable, "-c", script, str(out)], env=env, capture_output=True, text=True, check=False,
                              timeout=600)
        assert proc.returncode == 0, proc.stderr
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]


def test_bad_input_is_one_clear_usage_error(sphere):
    tree = random_tree(np.random.default_rng(0), 4)
    normals = random_tree(np.random.default_rng(0), 4, kind=Kind.NORMALS)
    with pytest.raises(UsageError, match="normal-map tree"):
        refine(normals, sphere)
    with pytest.raises(UsageError, match="needs the mesh"):
        refine(tree, None)
    with pytest.raises(UsageError, match="needs a Tree"):
        refine("tree.stree", sphere)
    for bad in ({"passes": -1}, {"passes": 1.5}, {"seed": -1}, {"n_samples": 1}, {"min_points": True},
                {"significance": -1.0}):
        with pytest.raises(UsageError):
            refine(tree, sphere, **bad)
    assert refine(tree, sphere, passes=0).n_leaves == tree.n_leaves
    assert shapetree.refine is refine and UNIT_BOX.shape == (2, 3) and DATA.exists()


def test_the_held_out_check_keeps_the_input_when_refining_does_not_pay(sphere, monkeypatch):
    tree = sphere_tree(0.6, 24)
    bad = tree.replace(value=np.zeros_like(tree.value))  # a "refined" tree that lost the shape
    monkeypatch.setattr(tao_module._Run, "tree", lambda self, meta, history: bad)
    result = refine_report(tree, sphere, passes=1, seed=0, **FAST)
    assert result.kept_input and result.tree is tree
    before, after = result.held_out
    assert after > before > 0
    unchecked = refine_report(tree, sphere, passes=1, seed=0, held_out=False, **FAST)
    assert unchecked.tree is bad and unchecked.held_out is None and not unchecked.kept_input
