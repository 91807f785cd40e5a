"""The public API checks its arguments before any work: a wrong one is a UsageError naming it,
also a TypeError (wrong type) or ValueError (out of range) as Python users expect."""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from factories import DATA, box_tree, sphere_mesh

import shapetree
from shapetree import UsageError, build, raycast
from shapetree.cli.common import SEED
from shapetree.errors import UsageTypeError
from shapetree.validate import MAX_SEED

NO_SUCH_MESH = "no-such-mesh.off"  # arguments are checked before the mesh is even loaded


@pytest.mark.parametrize("argument, value", [
    ("max_leaves", 2.5),
    ("max_leaves", 3.0),
    ("max_leaves", True),
    ("max_leaves", "100"),
    ("max_depth", 2.5),
    ("seed", 1.5),
    ("seed", None),
    ("seed", False),
    ("spike_tol", "0.1"),
    ("spike_tol", True),
    ("threads", 1.5),
    ("progress", "yes"),
    ("settings", {"sigma": 0.1}),
])
def test_build_rejects_wrong_types_up_front(argument, value):
    with pytest.raises(UsageTypeError, match=f"^{argument} must be") as e:
        build(NO_SUCH_MESH, **{argument: value})
    assert isinstance(e.value, TypeError) and isinstance(e.value, UsageError)


@pytest.mark.parametrize("argument, value", [
    ("max_leaves", 0),
    ("max_leaves", 10**12),
    ("max_depth", -1),
    ("seed", -1),
    ("seed", 2**63),
    ("seed", 2**70),
    ("spike_tol", float("nan")),
    ("spike_tol", 0.6),
    ("threads", 0),
])
def test_build_rejects_out_of_range_values_up_front(argument, value):
    with pytest.raises(UsageError, match=f"^{argument} must be in") as e:
        build(NO_SUCH_MESH, **{argument: value})
    assert isinstance(e.value, ValueError) and not isinstance(e.value, TypeError)


def test_numpy_integers_and_the_largest_seed_are_accepted():
    mesh = sphere_mesh(subdivisions=2)
    a = build(mesh, max_leaves=np.int64(12), max_depth=np.uint8(20), seed=np.int32(5), threads=1)
    b = build(mesh, max_leaves=12, max_depth=20, seed=5, threads=1)
    assert shapetree.tree.trees_equal(a, b)
    assert build(mesh, max_leaves=12, seed=MAX_SEED, threads=1).n_leaves >= 1


def test_the_cli_takes_exactly_the_seeds_the_api_takes():
    assert (SEED.min, SEED.max) == (0, MAX_SEED)
    proc = subprocess.run([sys.executable, "-m", "shapetree", "build", NO_SUCH_MESH, "-o", "x.stree",
                           "--seed", str(MAX_SEED + 1)], check=False, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "--seed" in proc.stderr and "Traceback" not in proc.stderr


TREE = box_tree([-0.5, -0.5, -0.5], [0.5, 0.5, 0.5])


@pytest.mark.parametrize("points, error", [
    ("0 0 0", UsageTypeError),
    (b"\x00" * 24, UsageTypeError),
    ([["0", "0", "0"]], UsageTypeError),
    ([[0, 0, 0], [1, 1]], UsageError),
    ([[0, 0, 0], [1, 1, 1, 1]], UsageError),
    ([[0j, 0, 0]], UsageTypeError),
    ([[0, "x", 0]], UsageTypeError),
    ([[0, 0]], UsageError),
    ([0, 0, 0], UsageError),
])
@pytest.mark.parametrize("method", ["contains", "apply", "predict"])
def test_bad_points_are_usage_errors(method, points, error):
    with pytest.raises(error, match="^points must"):
        getattr(TREE, method)(points)


def test_bad_rays_are_usage_errors():
    with pytest.raises(UsageTypeError, match="^origins must"):
        raycast(TREE, "origin", np.ones((4, 3)))
    with pytest.raises(UsageError, match="^directions must"):
        raycast(TREE, np.zeros(3), [[1, 0, 0], [1, 0]])
    hits = raycast(TREE, np.array([-2.0, 0, 0]), np.broadcast_to([1.0, 0, 0], (5, 3)))
    np.testing.assert_allclose(hits.t, 1.5)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_broadcast_view_of_many_points_is_not_copied(dtype):
    n = 2 * 10**6  # a copy would be 48 MB
    inside, outside = np.array([0.1, 0.2, 0.3], dtype), np.array([0.9, 0.0, 0.0], dtype)
    # first once untraced: a cold numba cache compiles, and the tree builds its start grid, on first use
    TREE.contains(np.broadcast_to(inside, (n, 3)))
    tracemalloc.start()
    try:
        got_in = TREE.contains(np.broadcast_to(inside, (n, 3)))
        got_out = TREE.contains(np.broadcast_to(outside, (n, 3)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got_in.shape == (n,) and got_in.all() and not got_out.any()
    assert peak < 4 * n, f"{peak / 1e6:.0f} MB traced"  # the (n,) bool results, not (n, 3) float64
    diagonal = np.linspace(-0.95, 0.95, 9, dtype=dtype)
    column = np.broadcast_to(diagonal[:, None], (9, 3))  # strides (8, 0): each point is (x, x, x)
    np.testing.assert_array_equal(TREE.contains(column), np.abs(diagonal) < 0.5)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "shapetree", *map(str, args)], check=False,
                          capture_output=True, text=True, timeout=300)


def unwritable_outputs(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    yield "parent is a file", tmp_path / "a-file" / "out.stree"
    if os.geteuid() != 0:  # root writes into read-only folders
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o555)
        yield "read-only folder", locked / "out.stree"
    if Path("/sys/kernel").is_dir():  # sysfs refuses new files, even to root
        yield "read-only file system", Path("/sys/kernel/out.stree")


@pytest.mark.parametrize("command", ["build", "normals", "render"])
def test_an_unwritable_output_fails_before_any_work(tmp_path, command):
    # The inputs do not exist: an error about the output shows it was checked first.
    args = {"build": ["missing.off"], "normals": ["missing.stree", "missing.off"],
            "render": ["missing.stree"]}[command]
    for why, out in unwritable_outputs(tmp_path):
        if command == "render":
            out = out.with_suffix(".png")
        proc = run_cli(command, *args, "-o", out)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1, (why, proc.stderr)
        assert f"{out}: cannot be written" in lines[0] and ".probe" not in lines[0], (why, lines[0])
    assert not list(tmp_path.rglob("*.probe"))


def test_a_wrong_kind_of_tree_is_named_with_the_right_article(tmp_path):
    path = tmp_path / "box.stree"
    shapetree.save(TREE, path)
    with pytest.raises(shapetree.FormatError, match="holds an occupancy tree, but a normals tree is needed"):
        shapetree.read_trees(path, shapetree.Kind.NORMALS)


@pytest.mark.parametrize("call", [
    lambda t: shapetree.simplify(t, 2.5),
    lambda t: shapetree.simplify(t, 0),
    lambda t: shapetree.simplify(t, 4, seed=1.5),
    lambda t: shapetree.simplify(t, 4, seed=None),
    lambda t: shapetree.truncated(t, True),
    lambda t: shapetree.truncated(t, 4, seed=-1),
    lambda t: shapetree.fit_normals(DATA / "bunny_lowres.obj", t.bounds, max_leaves=2.5),
    lambda t: shapetree.fit_normals(DATA / "bunny_lowres.obj", t.bounds, n_trees=0),
    lambda t: shapetree.fit_normals(DATA / "bunny_lowres.obj", t.bounds, seed=2**70),
    lambda t: shapetree.fit_normals(DATA / "bunny_lowres.obj", t.bounds, learning_rate=float("nan")),
])
def test_other_public_functions_check_their_arguments_up_front(call):
    from factories import random_tree

    with pytest.raises(UsageError):
        call(random_tree(np.random.default_rng(0), 30))
