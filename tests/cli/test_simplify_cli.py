"""``shapetree simplify``: a real simplification through the CLI, and its bad input."""

from __future__ import annotations

import pytest
from factories import DATA
from factories import run_cli as run

import shapetree
from shapetree.metrics import occupancy_metrics


@pytest.fixture(scope="module")
def tree_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("simplify") / "bunny.stree"
    shapetree.save(shapetree.build(DATA / "bunny_lowres.obj", max_leaves=800, seed=0), path)
    return path


def test_simplify_writes_a_tree_of_the_budget_that_keeps_the_shape(tree_file, tmp_path):
    out = tmp_path / "small.stree"
    proc = run("simplify", tree_file, "--leaves", 100, "--mesh", DATA / "bunny_lowres.obj", "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert "100 leaves (from 800)" in proc.stdout
    small = shapetree.load(out)
    assert small.n_leaves == 100
    mesh = shapetree.load_mesh(DATA / "bunny_lowres.obj")
    truncated_iou = occupancy_metrics(shapetree.truncated(shapetree.load(tree_file), 100), mesh, n=30_000)["iou"]
    assert occupancy_metrics(small, mesh, n=30_000)["iou"] > truncated_iou


@pytest.mark.parametrize("args, code, needle", [
    (["--leaves", "0"], 2, "--leaves"),
    (["--leaves", "-3"], 2, "--leaves"),
    (["--leaves", "many"], 2, "--leaves"),
    (["--leaves", "10", "--mesh", "missing.off"], 1, "missing.off"),
])
def test_bad_input_is_one_line_and_writes_nothing(tree_file, tmp_path, args, code, needle):
    out = tmp_path / "o.stree"
    proc = run("simplify", tree_file, *args, "-o", out)
    assert proc.returncode == code
    assert len(proc.stderr.strip().splitlines()) == 1 and needle in proc.stderr
    assert not out.exists()


def test_a_missing_tree_or_a_normal_map_is_refused(tmp_path):
    normals = tmp_path / "n.stree"
    shapetree.save(shapetree.fit_normals(DATA / "bunny_lowres.obj", max_leaves=16, samples=2000), normals)
    for path, needle in ((tmp_path / "nothing.stree", "no such file"), (normals, "normals tree")):
        proc = run("simplify", path, "--leaves", 10, "-o", tmp_path / "o.stree")
        assert proc.returncode == 1 and needle in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
