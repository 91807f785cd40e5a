"""Ctrl-C at any moment of ``shapetree build``: one line, exit 130, no output written and an
existing output untouched. A real subprocess gets SIGINT at a controlled moment: a launcher (this
test's, not the package's) pauses inside a chosen module's import, as a slow disk would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from factories import DATA

BUNNY = DATA / "bunny_lowres.obj"

# Runs ``python -m shapetree ARGS``; the first import of $PAUSE_AT_IMPORT touches $PAUSE_MARKER,
# then sleeps $PAUSE_SECONDS (a SIGINT meanwhile raises inside that import).
LAUNCHER = """
import importlib.abc, os, runpy, sys, time

class Pause(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == os.environ["PAUSE_AT_IMPORT"]:
            sys.meta_path.remove(self)
            open(os.environ["PAUSE_MARKER"], "w").close()
            end = time.monotonic() + float(os.environ["PAUSE_SECONDS"])
            while time.monotonic() < end:
                time.sleep(0.01)
        return None

sys.meta_path.insert(0, Pause())
runpy.run_module("shapetree", run_name="__main__", alter_sys=True)
"""


def interrupted_build(tmp_path: Path, module: str, *args: str, pause: float = 60.0,
                      delay: float = 0.0) -> subprocess.CompletedProcess:
    """Build BUNNY to tmp_path/out.stree, SIGINT ``delay`` s after ``module`` starts importing."""
    marker = tmp_path / "marker"
    env = dict(os.environ, PAUSE_AT_IMPORT=module, PAUSE_MARKER=str(marker), PAUSE_SECONDS=str(pause),
               PYTHONWARNINGS="ignore")
    cmd = [sys.executable, "-c", LAUNCHER, "build", str(BUNNY), "-o", str(tmp_path / "out.stree"), *args]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(delay)
    assert proc.poll() is None, f"the command ended before the signal: {proc.communicate()}"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def assert_interrupted(proc: subprocess.CompletedProcess, tmp_path: Path, old: bytes | None) -> None:
    assert proc.returncode == 130, proc
    assert proc.stderr.strip().splitlines() == ["shapetree: interrupted"], proc.stderr
    assert proc.stdout == ""
    out = tmp_path / "out.stree"
    assert (out.read_bytes() if out.exists() else None) == old
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["marker"] + (["out.stree"] if old else []))


@pytest.mark.parametrize("module", [
    "click",  # the CLI's first import
    "numba",  # imported with the package's stages, before any command runs
    "networkx",  # imported by trimesh inside ``except BaseException``, which used to eat the interrupt
])
@pytest.mark.parametrize("existing", [False, True])
def test_ctrl_c_during_imports_ends_the_build(tmp_path, module, existing):
    old = b"an existing output\n" if existing else None
    if old:
        (tmp_path / "out.stree").write_bytes(old)
    proc = interrupted_build(tmp_path, module, "--max-leaves", "64", "--quiet")
    assert_interrupted(proc, tmp_path, old)


def test_ctrl_c_while_building_keeps_the_existing_output(tmp_path):
    old = b"an existing output\n"
    (tmp_path / "out.stree").write_bytes(old)
    # rich.progress is imported as the growth starts; the signal comes a second into it.
    proc = interrupted_build(tmp_path, "rich.progress", "--max-leaves", "200000", pause=0, delay=1.0)
    assert_interrupted(proc, tmp_path, old)


def test_a_ctrl_c_swallowed_by_a_finalizer_is_delivered_again_without_a_traceback():
    # Python "ignores" an exception raised in __del__ (printing a traceback); a Ctrl-C that lands
    # in one (llvmlite's finalizers while numba compiles) must still end the command, silently
    code = """
import time
import shapetree.cli

class Finalized:
    def __del__(self):
        raise KeyboardInterrupt

try:
    Finalized()
    for _ in range(200):
        time.sleep(0.01)
    print("not interrupted")
except KeyboardInterrupt:
    print("interrupted")
"""
    proc = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "interrupted" and proc.stderr == "", proc.stderr


@pytest.mark.parametrize("wrapper", [SystemError, RuntimeError, OSError])
def test_a_ctrl_c_wrapped_by_a_kernel_return_ends_with_one_line(wrapper, capsys):
    # A SIGINT that lands as a compiled kernel returns comes back as "SystemError: CPUDispatcher(...)
    # returned a result with an exception set", its cause the KeyboardInterrupt (seen in CI during
    # a build); a library may wrap one in another error the same way.
    from shapetree.cli import main

    @main.command("wrapped-interrupt")
    def wrapped_interrupt():
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as ctrl_c:
            raise wrapper("CPUDispatcher(<function choose_split>) returned a result with an exception set") from ctrl_c

    try:
        with pytest.raises(SystemExit) as ended:
            main.main(["wrapped-interrupt"], prog_name="shapetree")
    finally:
        main.commands.pop("wrapped-interrupt")
    assert ended.value.code == 130
    assert capsys.readouterr().err == "shapetree: interrupted\n"


def test_an_error_not_caused_by_a_ctrl_c_is_not_an_interrupt(capsys):
    from shapetree.cli import main

    @main.command("plain-error")
    def plain_error():
        raise RuntimeError("a bug")

    try:
        with pytest.raises(RuntimeError, match="a bug"):
            main.main(["plain-error"], prog_name="shapetree")
    finally:
        main.commands.pop("plain-error")
