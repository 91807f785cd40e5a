"""``build``: a mesh in, an occupancy tree out."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numba as nb

from .. import validate
from ..mesh import Mesh, as_mesh
from ..progress import progress_bar
from ..tree import Tree
from .growth import Builder
from .settings import (
    DEFAULT_MAX_DEPTH,
    DEFAULT_MAX_LEAVES,
    DEFAULT_SPIKE_TOL,
    MAX_DEPTH,
    MAX_LEAVES,
    BuildSettings,
)


def build(mesh: Mesh | str | Path, *, max_leaves: int = DEFAULT_MAX_LEAVES, max_depth: int = DEFAULT_MAX_DEPTH,
          seed: int = 0, spike_tol: float = DEFAULT_SPIKE_TOL, threads: int | None = None,
          progress: bool = False, settings: BuildSettings | None = None) -> Tree:
    """Grow an occupancy tree for a mesh, best-first, until ``max_leaves`` leaves, ``max_depth``
    or no split gains anything. Same mesh, settings and ``seed`` give byte-identical trees,
    whatever ``threads`` is.

    mesh: a path, ``Mesh``, trimesh object or ``(vertices (v, 3), faces (f, 3))`` pair.
    max_leaves: 1..5,000,000; max_depth: 0..200; seed: 0..2**63-1 (each gives its own tree).
    spike_tol: a quarter of the splits go to cells with a corner farther than this (a fraction
        of the box's longest side; at least 0.2 sqrt(surface area / max_leaves)) from the
        surface on the wrong side of the cell's label, longest first, cut along the plane of the
        corner's nearest triangle; 0 turns this off.
    threads: worker threads (default: all cores); progress: show a progress bar on stderr.
    settings: sampling and search settings (default ``BuildSettings()``).
    The tree's ``meta["stats"]`` holds the build's seconds and whether the mesh was closed.
    """
    max_leaves = validate.integer("max_leaves", max_leaves, 1, MAX_LEAVES)
    max_depth = validate.integer("max_depth", max_depth, 0, MAX_DEPTH)
    seed = validate.integer("seed", seed, 0, validate.MAX_SEED)
    spike_tol = validate.real("spike_tol", spike_tol, 0.0, 0.5)
    if threads is not None:
        threads = validate.integer("threads", threads, 1, 4096)
    progress = validate.flag("progress", progress)
    validate.instance("settings", settings, BuildSettings)
    m = as_mesh(mesh)
    threads = threads or min(os.cpu_count() or 1, nb.config.NUMBA_NUM_THREADS)
    t0 = time.perf_counter()
    builder = Builder(m, settings or BuildSettings(), max_leaves=max_leaves, max_depth=max_depth, seed=seed, spike_tol=spike_tol,
                      threads=threads)
    try:
        with progress_bar("building", max_leaves, "leaves", progress) as update:
            tree = builder.run(update)
    finally:
        if builder.pool is not None:
            builder.pool.shutdown(wait=True, cancel_futures=True)
    return tree.replace(meta={"stats": {"seconds": time.perf_counter() - t0, "closed": builder.closed}})
