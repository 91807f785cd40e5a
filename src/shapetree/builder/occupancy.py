"""``build``: a mesh in, an occupancy tree out."""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

import numba as nb

from .. import validate
from ..errors import MeshWarning
from ..mesh import Mesh, as_mesh, faces_point_inwards
from ..progress import progress_bar
from ..tree import Tree, bounds_frame
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
    A closed mesh whose faces all point inwards is built turned outside in (with a ``MeshWarning``).
    The tree's ``meta["stats"]`` holds the build's seconds, whether the mesh was closed and whether
    it was flipped. The tree's planes act in the frame of the mesh's box (``bounds_frame``).
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
    # label and build in the frame of the mesh's box, where coordinates are O(1) whatever the
    # mesh's size and position; the tree keeps the frame, so its float32 planes stay precise
    origin, scale = bounds_frame(m.bounds)
    framed = Mesh((m.vertices - origin) / scale, m.faces, m.name)
    flipped = faces_point_inwards(framed)
    if flipped:
        warnings.warn(f"{m.name}: every face points inwards (winding number -1 inside); building the "
                      "mesh turned outside in", MeshWarning, stacklevel=2)
        framed = Mesh(framed.vertices, framed.faces[:, ::-1].copy(), m.name)
    builder = Builder(framed, settings or BuildSettings(), max_leaves=max_leaves, max_depth=max_depth, seed=seed, spike_tol=spike_tol,
                      threads=threads)
    try:
        with progress_bar("building", max_leaves, "leaves", progress) as update:
            tree = builder.run(update)
    finally:
        if builder.pool is not None:
            builder.pool.shutdown(wait=True, cancel_futures=True)
    stats = {"seconds": time.perf_counter() - t0, "closed": builder.closed, "flipped": flipped}
    return tree.replace(bounds=m.bounds, origin=origin, scale=scale, meta={"stats": stats})
