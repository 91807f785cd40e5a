"""``shapetree refine``, ``simplify --refine`` and ``build --refine``: real refinement through the CLI,
and bad input as one line and an exit code."""

from __future__ import annotations

import subprocess
import sys

import pytest
from factories import DATA
from factories import run_cli as run

import shapetree
from shapetree.metrics import occupancy_metrics

BUNNY = DATA / "bunny_lowres.obj"



@pytest.fixture(scope="module")
def small_tree(tmp_path_factory):
    path = tmp_path_factory.mktemp("refine") / "small.stree"
    mesh = shapetree.load_mesh(BUNNY)
    big = shapetree.build(mesh, max_leaves=300, seed=0)
    shapetree.save(shapetree.simplify(big, 40, mesh=mesh, n_samples=50_000), path, lossless=True)
    shapetree.save(big, path.with_name("big.stree"), lossless=True)
    return path


def test_refine_writes_a_better_tree_and_reports_every_pass(small_tree, tmp_path):
    out = tmp_path / "refined.stree"
    proc = run("refine", small_tree, BUNNY, "-o", out, "--passes", 2, "--seed", 1, "--lossless",
               "--samples", 60_000)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    # two passes, then the 4 rounds of regrowing a 40-leaf tree gets by default
    assert [line.split(":")[0] for line in lines[:-2]] == ["pass 1", "pass 2"] + [f"regrow round {k}" for k in (1, 2, 3, 4)]
    assert lines[-2].startswith("held-out points: ") and lines[-2].endswith("kept the refined tree")
    assert lines[-1].startswith(f"wrote {out}")
    mesh = shapetree.load_mesh(BUNNY)
    before = occupancy_metrics(shapetree.load(small_tree), mesh, n=30_000)
    after = occupancy_metrics(shapetree.load(out), mesh, n=30_000)
    assert after["iou"] > before["iou"] and after["near_accuracy"] > before["near_accuracy"]
    assert shapetree.load(out).n_leaves <= 40


@pytest.fixture
def quick_refine(monkeypatch):
    """``simplify --refine`` and ``build --refine`` run in this process with the refinement cut to
    one pass on 40,000 points and one round of regrowing: the refinement itself is tested above
    and in tests/refiner; here, that the commands call it with their tree and report it."""
    from click.testing import CliRunner

    from shapetree.cli import main

    calls = []
    full = shapetree.refine_report

    def refine_report(tree, mesh, **kw):
        calls.append((tree.n_leaves, kw))
        return full(tree, mesh, **dict(kw, passes=1, n_samples=40_000, regrow=min(kw.get("regrow", 0), 1)))

    monkeypatch.setattr(shapetree, "refine_report", refine_report)
    return lambda *args: CliRunner().invoke(main, [str(a) for a in args]), calls


def test_simplify_refine_refits_after_pruning(tmp_path, small_tree, quick_refine):
    run_here, calls = quick_refine
    out = tmp_path / "s.stree"
    result = run_here("simplify", small_tree, "--leaves", 30, "--mesh", BUNNY, "-o", out, "--refine")
    assert result.exit_code == 0, result.output
    assert "pass 1: training error" in result.output and "leaves (from 40)" in result.output
    assert "regrow round 1:" in result.output
    assert [(n, kw["regrow"]) for n, kw in calls] == [(30, 4)]  # the simplified tree, the default rounds
    assert shapetree.load(out).n_leaves <= 30


@pytest.mark.parametrize("args, code, needle", [
    (["refine", "{tree}", "missing.off", "-o", "{out}"], 1, "missing.off"),
    (["refine", "{tree}", BUNNY, "-o", "{out}", "--passes", "-1"], 2, "--passes"),
    (["refine", "{tree}", BUNNY, "-o", "{out}", "--passes", "two"], 2, "--passes"),
    (["refine", "{tree}", BUNNY, "-o", "{out}", "--regrow", "-1"], 2, "--regrow"),
    (["refine", "{tree}", BUNNY, "-o", "{out}", "--regrow", "1000"], 2, "--regrow"),
    (["refine", "{tree}", BUNNY, "-o", "{dir}/o.png"], 2, ".stree"),
    (["refine", "{tree}", BUNNY, "-o", "{out}", "--samples", "1"], 2, "--samples"),
    (["refine", "{dir}/nothing.stree", BUNNY, "-o", "{out}"], 1, "no such file"),
    (["refine", "{normals}", BUNNY, "-o", "{out}"], 1, "normals tree"),
    (["simplify", "{tree}", "--leaves", "10", "-o", "{out}", "--refine"], 2, "--refine needs --mesh"),
])
def test_bad_input_is_one_line_and_writes_nothing(small_tree, tmp_path, args, code, needle):
    normals = tmp_path / "n.stree"
    if "{normals}" in args:
        shapetree.save(shapetree.fit_normals(BUNNY, max_leaves=8, samples=2000), normals)
    out = tmp_path / "o.stree"
    proc = run(*[str(a).format(tree=small_tree, out=out, dir=tmp_path, normals=normals) for a in args])
    assert proc.returncode == code, proc
    assert len(proc.stderr.strip().splitlines()) == 1 and needle in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()


def test_build_refine(tmp_path, quick_refine):
    run_here, calls = quick_refine
    out = tmp_path / "b.stree"
    result = run_here("build", BUNNY, "-o", out, "--max-leaves", 48, "--refine", "--quiet")
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert "pass 1: training error" in result.output and lines[-1].startswith("wrote")
    (built, kw), = calls  # the built tree, refined once, with the default rounds and the build's seed
    assert shapetree.load(out).n_leaves <= built <= 48 and kw["regrow"] == 4 and kw["seed"] == 0


def test_ctrl_c_while_refining_writes_nothing(small_tree, tmp_path):
    import os
    import signal
    import time

    out = tmp_path / "o.stree"
    proc = subprocess.Popen([sys.executable, "-m", "shapetree", "refine", str(small_tree.with_name("big.stree")), str(BUNNY),
                             "-o", str(out),
                             "--passes", "1000", "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONWARNINGS="ignore"))
    time.sleep(5)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 130, stderr
    assert stderr.strip().splitlines() == ["shapetree: interrupted"] and stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == []
