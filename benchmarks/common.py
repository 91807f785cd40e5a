"""Shared helpers of the benchmarks: meshes, the machine, timing, baselines."""

from __future__ import annotations

import datetime
import itertools
import os
import platform
import time
from pathlib import Path

import numpy as np

from shapetree import load
from shapetree.mesh import Mesh, load_mesh
from shapetree.tree import Tree, tree_in_preorder

ROOT = Path(__file__).resolve().parents[1]
MESHES = Path(os.environ.get("SHAPETREE_MESHES", ROOT.parent / "shared" / "meshes"))
REFERENCE = Path(os.environ.get("SHAPETREE_REFERENCE_TREES", ROOT.parent / "shared" / "reference-trees"))
RESULTS = ROOT / "benchmarks" / "results"

ALL_MESHES = [
    "bunny_npm_lowres.obj", "cgal_bunny00.off", "cgal_armadillo.off", "cgal_fandisk.off",
    "cgal_rotor.off", "cgal_pinion.off", "cgal_knot1.off", "cgal_elephant.off", "netgen_hinge.stl",
    "netgen_part1.stl", "pyvista_ant.ply", "teapot_utah_npm.obj", "cgal_elephant-with-holes.off",
]


def machine() -> str:
    """One line: CPU model, cores usable by this process, numba threads, date (UTC), load average."""
    import numba

    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = f", load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    return f"{model}, {cores} cores, numba {numba.get_num_threads()} threads, {now}{load}"


def normalised(mesh: Mesh) -> Mesh:
    """The mesh scaled and moved into the unit cube: longest side 1, box centred at 0.5."""
    lo, hi = mesh.bounds
    scale = 1.0 / float(np.max(hi - lo))
    v = (mesh.vertices - (lo + hi) / 2) * scale + 0.5
    return Mesh(v, mesh.faces, mesh.name)


def load_normalised(name: str) -> Mesh:
    return normalised(load_mesh(MESHES / name))


def interleaved_medians(fns: dict, repeats: int) -> dict[str, float]:
    """Median seconds of each callable over ``repeats`` rounds, run round-robin after a warm-up.

    Round-robin spreads the noise of a shared machine over every method alike.
    """
    for fn in fns.values():
        fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: float(np.median(t)) for name, t in times.items()}


def interleaved_wall_and_cpu(fns: dict, repeats: int) -> tuple[dict[str, float], dict[str, float]]:
    """Median wall-clock and process-CPU seconds of each callable, round-robin after a warm-up.

    CPU seconds (all threads of this process summed) do not grow when other processes take the
    cores, so rates per CPU second are the steadier numbers on a shared machine.
    """
    for fn in fns.values():
        fn()
    wall = {name: [] for name in fns}
    cpu = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            w0, c0 = time.perf_counter(), time.process_time()
            fn()
            wall[name].append(time.perf_counter() - w0)
            cpu[name].append(time.process_time() - c0)
    return ({k: float(np.median(v)) for k, v in wall.items()}, {k: float(np.median(v)) for k, v in cpu.items()})


def timed(fn, *args, **kwargs):
    """(seconds, result) of one call."""
    t0 = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - t0, result


def uniform_points(bounds: np.ndarray, n: int, seed: int = 0, grow: float = 0.05) -> np.ndarray:
    """(n, 3) float64 uniform in ``bounds`` grown by ``grow`` times its longest side."""
    lo, hi = np.asarray(bounds, float)
    pad = grow * float(np.max(hi - lo))
    return np.random.default_rng(seed).uniform(lo - pad, hi + pad, (n, 3))


def reference_bunny() -> tuple[Tree, Tree, Mesh, float]:
    """The reference's 750- and 1958-leaf bunny trees and ``cgal_bunny00.off`` in their frame.

    The reference trees were built from another copy of the Stanford bunny (101k triangles, its
    own axes and scale). The shared 75k-triangle copy is mapped onto them by the rotation by a
    signed axis permutation, uniform scale and shift that best match the 1958-leaf tree (IoU on
    20k points; only permutations whose box fits with a near-uniform scale are tried), and that
    IoU is returned as the last element so the report can show how well the two copies agree.
    """
    import igl

    t750 = load(REFERENCE / "treed_bunny_750.bin")
    t1958 = load(REFERENCE / "treed_bunny_1958.bin")
    mesh = load_mesh(MESHES / "cgal_bunny00.off")
    tlo, thi = t1958.bounds
    lo, hi = mesh.bounds

    def stretch(perm):  # how far from uniform the per-axis scales of a permutation are
        ratio = (thi - tlo) / (hi - lo)[list(perm)]
        return float(ratio.max() / ratio.min())

    perms = list(itertools.permutations(range(3)))
    least = min(stretch(p) for p in perms)
    bvh = igl.FastWindingNumberBVH()
    bvh.init(mesh.vertices, mesh.faces)
    points = uniform_points(t1958.bounds, 20_000, seed=0)
    in_tree = t1958.contains(points)
    best = (-1.0, None)
    for perm in (list(p) for p in perms if stretch(p) <= least * 1.05):
        for signs in itertools.product((1.0, -1.0), repeat=3):
            if np.linalg.det(np.eye(3)[perm] * np.array(signs)[:, None]) < 0:
                continue  # a mirror image is not the same bunny (and would flip its winding number)
            v = mesh.vertices[:, perm] * np.array(signs)
            vlo, vhi = v.min(0), v.max(0)
            scale = float(np.mean((thi - tlo) / (vhi - vlo)))
            u = (points - (tlo + thi) / 2) / scale + (vlo + vhi) / 2  # the points in v's frame
            back = np.empty_like(u)
            back[:, perm] = u * np.array(signs)  # and in the mesh's own frame
            in_mesh = bvh.winding_number(back) > 0.5
            iou = np.count_nonzero(in_tree & in_mesh) / max(1, np.count_nonzero(in_tree | in_mesh))
            if iou > best[0]:
                best = (iou, Mesh((v - (vlo + vhi) / 2) * scale + (tlo + thi) / 2, mesh.faces,
                                  "cgal_bunny00 (aligned)"))
    return t750, t1958, best[1], best[0]


def axis_aligned_tree(mesh: Mesh, max_leaves: int, n_samples: int = 1_000_000, seed: int = 0) -> Tree:
    """The yardstick: scikit-learn's best-first axis-aligned tree on fixed samples, as a ``Tree``.

    Samples: half uniform in the box grown by 5 %, half on the surface plus Gaussian noise
    (sigma 1 % of the longest side), labelled by winding number.
    """
    from sklearn.tree import DecisionTreeClassifier

    from shapetree.mesh import inside, sample_surface

    rng = np.random.default_rng(seed)
    lo, hi = mesh.bounds
    size = float(np.max(hi - lo))
    surface, _ = sample_surface(mesh, n_samples // 2, rng)
    X = np.concatenate([
        rng.uniform(lo - 0.05 * size, hi + 0.05 * size, (n_samples - n_samples // 2, 3)),
        surface + rng.normal(0, 0.01 * size, surface.shape),
    ])
    y = inside(mesh, X)
    clf = DecisionTreeClassifier(max_leaf_nodes=max_leaves, random_state=seed).fit(X.astype(np.float32), y)
    return from_sklearn(clf.tree_, np.array([lo, hi]))


def from_sklearn(sk, bounds: np.ndarray) -> Tree:
    """Convert a fitted scikit-learn tree (``clf.tree_``) to a pre-order ``Tree``.

    scikit-learn goes left iff ``float32(x) <= threshold``; the float32 just above the threshold
    turns that into our strict ``x < offset`` for every float32 ``x``.
    """
    branch = sk.children_left >= 0
    normal = np.zeros((sk.node_count, 3), np.float32)
    normal[branch, sk.feature[branch]] = 1
    thr = sk.threshold.astype(np.float32)
    thr = np.where(thr.astype(np.float64) <= sk.threshold, np.nextafter(thr, np.float32(np.inf)), thr)
    offset = np.where(branch, thr, 0).astype(np.float32)
    counts = sk.value[:, 0, :]
    value = counts[:, 1] > counts[:, 0]  # classes are [False, True]: a mesh has both
    return tree_in_preorder(normal, offset, sk.children_left, sk.children_right, value, bounds)
