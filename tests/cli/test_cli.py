"""The command line: the happy path, and one clear line plus a non-zero exit for bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from factories import DATA, random_tree

from shapetree import Kind, save
from shapetree.formats import write_trees

BUNNY = DATA / "bunny_lowres.obj"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    return subprocess.run([sys.executable, "-m", "shapetree", *map(str, args)], check=False,
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=600)


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str, code: int | None = None) -> None:
    assert proc.returncode in ((code,) if code else (1, 2)), proc
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for n in needles:
        assert n in lines[0], lines[0]


def test_build_info_eval_round_trip(tmp_path):
    out = tmp_path / "bunny.stree"
    proc = run("build", BUNNY, "-o", out, "--max-leaves", "300", "--seed", "3", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "300 leaves" in proc.stdout
    info = run("info", out)
    assert info.returncode == 0
    fields = dict(line.split(None, 1) for line in info.stdout.strip().splitlines())
    assert fields["kind"] == "occupancy" and fields["leaves"] == "300"
    assert int(fields["bytes"]) == out.stat().st_size
    assert fields["format"].startswith(".stree v2, plane coding 4 at precision ")
    assert fields["format"].endswith(", progressive, compact header")
    levels = [int(x.split()[0]) for x in fields["levels"].split(", ")]  # progressive by default: coarse first
    assert levels[0] == 16 and levels[-1] == 300 and levels == sorted(levels)
    ev = run("eval", out, BUNNY)
    assert ev.returncode == 0, ev.stderr
    iou = float(dict(line.split() for line in ev.stdout.strip().splitlines())["iou"])
    assert 0.85 < iou <= 1.0
    again = tmp_path / "again.stree"
    run("build", BUNNY, "-o", again, "--max-leaves", "300", "--seed", "3", "--quiet")
    assert again.read_bytes() == out.read_bytes()


def write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


@pytest.mark.parametrize(
    "name, content, needle",
    [
        ("missing.off", None, "no such file"),
        ("mesh.txt", "hello", "unsupported mesh format"),
        ("empty.off", "", "empty file"),
        ("garbage.off", b"\x00\xff\x10garbage\x00" * 20, "mesh"),
        ("nofaces.off", "OFF\n3 0 0\n0 0 0\n1 0 0\n0 1 0\n", "no triangles"),
        ("nan.off", "OFF\n4 2 0\n0 0 0\n1 0 0\n0 1 0\nnan 0 1\n3 0 1 2\n3 0 2 3\n", "NaN or infinite"),
        ("inf.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 inf\nf 1 2 3\nf 1 3 4\n", "NaN or infinite"),
        ("badindex.off", "OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 7\n", "mesh"),
    ],
)
def test_bad_meshes_fail_with_one_line_and_no_output(tmp_path, name, content, needle):
    mesh = tmp_path / name if content is None else write(tmp_path / name, content)
    out = tmp_path / "out.stree"
    proc = run("build", mesh, "-o", out, "--max-leaves", "50", "--quiet")
    assert_one_line_error(proc, name, needle, code=1)
    assert not out.exists()
    assert list(tmp_path.glob("*.tmp")) == [] and list(tmp_path.glob(".*.tmp")) == []


@pytest.mark.parametrize(
    "flags",
    [
        ["--max-leaves", "0"],
        ["--max-leaves", "-5"],
        ["--max-leaves", "999999999999"],
        ["--max-depth", "-1"],
        ["--max-depth", "201"],
        ["--seed", "-1"],
        ["--spike-tol", "-0.1"],
        ["--spike-tol", "nan"],
        ["--max-leaves", "many"],
        ["--frobnicate"],
    ],
)
def test_absurd_flags_are_usage_errors(tmp_path, flags):
    out = tmp_path / "out.stree"
    proc = run("build", BUNNY, "-o", out, *flags)
    assert_one_line_error(proc, code=2)
    assert not out.exists()


def test_output_must_be_a_stree_in_an_existing_folder(tmp_path):
    assert_one_line_error(run("build", BUNNY, "-o", tmp_path / "x.png"), ".stree", code=2)
    assert_one_line_error(run("build", BUNNY, "-o", tmp_path / "no" / "x.stree"), "does not exist", code=2)


@pytest.fixture()
def tree_file(tmp_path) -> Path:
    path = tmp_path / "t.stree"
    save(random_tree(np.random.default_rng(0), 40), path)
    return path


def test_truncated_and_corrupted_trees_are_rejected(tmp_path, tree_file):
    data = tree_file.read_bytes()
    cut = write(tmp_path / "cut.stree", data[: len(data) // 2])
    flipped = bytearray(data)
    flipped[100] ^= 1
    bad = write(tmp_path / "bad.stree", bytes(flipped))
    for path in (cut, bad):
        assert_one_line_error(run("info", path), path.name, code=1)
        assert_one_line_error(run("eval", path, BUNNY), path.name, code=1)


def test_wrong_kind_is_rejected(tmp_path):
    normals = tmp_path / "n.stree"
    write_trees(normals, [random_tree(np.random.default_rng(0), 8, Kind.NORMALS)])
    assert_one_line_error(run("eval", normals, BUNNY), "normals", code=1)


def test_missing_tree_file(tmp_path):
    assert_one_line_error(run("info", tmp_path / "none.stree"), "none.stree", "no such file", code=1)
