"""Rendering: ray casting speed against Embree, render time of a big tree, silhouettes against Embree.

    .venv/bin/python benchmarks/rays.py [--leaves 4000] [--big-leaves 40000] [--size 512]
        [--repeats 5] [--iou-meshes all|NAME,...] [--trees DIR] [--skip-iou]

1. M rays/s per core (numba limited to one thread; CPU time of the process, so a busy machine
   does not count against either caster, and wall clock) of ``Tree.raycast`` on a ~``--leaves``-leaf
   tree of cgal_bunny00, 512x512 rays from each of 4 orbit views, and of Embree (embreex,
   one ``rtcIntersect1`` per ray on this thread, scene built once) casting the same rays against
   the source mesh: interleaved medians in the same run, and their ratio. Also all threads.
2. Seconds to render (rays, cast, shade) a 512x512 image of a ~``--big-leaves``-leaf tree, after
   JIT warm-up, all threads.
3. Silhouette IoU of tree renders against Embree renders of the mesh, same cameras (4 views),
   on the shared closed meshes with trees built at the default build settings.

Trees are built with ``shapetree.build`` (seed 0) on the normalised meshes and cached in
``--trees`` (default out/bench-trees) as ``NAME-LEAVES-DIGEST.stree``, the digest being of the
builder's source files.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ALL_MESHES, ROOT, interleaved_medians, load_normalised, machine, timed

from shapetree import load, raycast, save
from shapetree.mesh import Mesh
from shapetree.renderer import orbit_camera, render
from shapetree.tree import Tree

VIEWS = [(30.0, 20.0), (120.0, 10.0), (210.0, 35.0), (300.0, -15.0)]


BUILDER_SOURCES = ("builder", "mesh", "tree")  # folders of the package the trees depend on


def cached_tree(mesh: Mesh, name: str, leaves: int | None, folder: Path) -> tuple[Tree, float | None]:
    """The tree of ``mesh`` at ``leaves`` (None: the builder's default), built once; (tree, build s)."""
    import shapetree
    from shapetree.builder import DEFAULT_MAX_LEAVES

    budget = leaves or DEFAULT_MAX_LEAVES
    # the key includes a digest of the builder's sources, so a changed builder never reuses old trees
    src = Path(shapetree.__file__).parent
    files = sorted(p for folder in BUILDER_SOURCES for p in (src / folder).rglob("*.py"))
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()[:12]
    path = folder / f"{Path(name).stem}-{budget}-{digest}.stree"
    if path.exists():
        return load(path), None
    folder.mkdir(parents=True, exist_ok=True)
    seconds, tree = timed(shapetree.build, mesh, max_leaves=budget, seed=0)
    save(tree, path)
    return tree, seconds


def view_rays(bounds: np.ndarray, size: int, up: str = "y") -> tuple[np.ndarray, np.ndarray]:
    """Rays of the 4 orbit views stacked: two (4 * size^2, 3) float64."""
    rays = [orbit_camera(bounds, az, el, up=up).rays(size, size) for az, el in VIEWS]
    return np.concatenate([r[0] for r in rays]), np.concatenate([r[1] for r in rays])


def embree_scene(mesh: Mesh):
    from embreex import mesh_construction, rtcore_scene

    scene = rtcore_scene.EmbreeScene()
    mesh_construction.TriangleMesh(scene, np.ascontiguousarray(mesh.vertices[mesh.faces], np.float32))
    return scene


def mesh_raycast(mesh: Mesh, origins: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """First-hit ``t`` (n,) float64 of rays on the mesh with Embree (float32), ``inf`` on a miss."""
    res = embree_scene(mesh).run(origins.astype(np.float32), directions.astype(np.float32), output=1)
    face = np.asarray(res["primID"], np.int64)
    return np.where((face >= 0) & (face < len(mesh.faces)), np.asarray(res["tfar"], np.float64), np.inf)


def cpu_medians(fns: dict, repeats: int) -> dict[str, float]:
    """Median CPU seconds of this process per call, round-robin after a warm-up: on a shared
    machine the time a single-threaded call actually ran, i.e. per core."""
    for fn in fns.values():
        fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.process_time()
            fn()
            times[name].append(time.process_time() - t0)
    return {name: float(np.median(t)) for name, t in times.items()}


def ray_speed(tree: Tree, mesh: Mesh, size: int, repeats: int) -> dict:
    """M rays/s of the tree (1 thread and all threads) and of Embree on the same rays."""
    import numba

    o, d = view_rays(tree.bounds, size)
    o32, d32 = o.astype(np.float32), d.astype(np.float32)
    scene = embree_scene(mesh)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    single = {
        "tree": lambda: raycast(tree, o, d),
        "embree": lambda: scene.run(o32, d32, output=1),
    }
    try:
        wall = interleaved_medians(single, repeats)
        cpu = cpu_medians(single, repeats)
    finally:
        numba.set_num_threads(threads)
    many = interleaved_medians({"tree": lambda: raycast(tree, o, d)}, repeats)
    hits = raycast(tree, o, d)
    n = len(o)
    return {
        "rays": n,
        "tree_1": n / cpu["tree"] / 1e6,
        "embree_1": n / cpu["embree"] / 1e6,
        "tree_1_wall": n / wall["tree"] / 1e6,
        "embree_1_wall": n / wall["embree"] / 1e6,
        "tree_all": n / many["tree"] / 1e6,
        "threads": threads,
        "hit": float(hits.hit.mean()),
        "cells": float(hits.cells.mean()),
    }


def silhouette_iou(tree: Tree, mesh: Mesh, size: int) -> float:
    """IoU of the hit masks of the tree and of the mesh (Embree) over the 4 views."""
    o, d = view_rays(tree.bounds, size)
    tree_mask = raycast(tree, o, d).hit
    mesh_mask = np.isfinite(mesh_raycast(mesh, o, d))
    return float((tree_mask & mesh_mask).sum() / max((tree_mask | mesh_mask).sum(), 1))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--leaves", type=int, default=4000)
    ap.add_argument("--big-leaves", type=int, default=40_000)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--iou-meshes", default="all", help="'all' closed shared meshes, or names, comma-separated")
    ap.add_argument("--skip-iou", action="store_true")
    ap.add_argument("--trees", type=Path, default=ROOT / "out" / "bench-trees")
    args = ap.parse_args(argv)

    import numba

    print(f"machine: {machine()}")
    bunny = load_normalised("cgal_bunny00.off")

    tree, built = cached_tree(bunny, "cgal_bunny00.off", args.leaves, args.trees)
    r = ray_speed(tree, bunny, args.size, args.repeats)
    print(f"\n## Rays: cgal_bunny00, {tree.n_leaves:,}-leaf tree (depth {tree.depth}) vs Embree on the "
          f"{len(bunny.faces):,}-triangle mesh" + (f" (tree built in {built:.0f} s)" if built else ""))
    print(f"{r['rays']:,} rays ({len(VIEWS)} views of {args.size}x{args.size}), {100 * r['hit']:.1f} % hit, "
          f"{r['cells']:.2f} cells crossed per ray on average; median of {args.repeats} interleaved runs")
    print("| caster | threads | M rays/s per CPU second | M rays/s wall clock |\n|---|---:|---:|---:|")
    print(f"| tree (Tree.raycast) | 1 | {r['tree_1']:.2f} | {r['tree_1_wall']:.2f} |")
    print(f"| Embree (embreex rtcIntersect1) | 1 | {r['embree_1']:.2f} | {r['embree_1_wall']:.2f} |")
    print(f"| tree (Tree.raycast) | {r['threads']} | | {r['tree_all']:.2f} |")
    print(f"tree / Embree per core: {r['tree_1'] / r['embree_1']:.2f}x")

    big, built = cached_tree(bunny, "cgal_bunny00.off", args.big_leaves, args.trees)
    cam = orbit_camera(big.bounds)
    size = (args.size, args.size)
    wall = interleaved_medians({"render": lambda: render(big, cam, size)}, args.repeats)["render"]
    numba.set_num_threads(1)
    try:
        cpu = cpu_medians({"render": lambda: render(big, cam, size)}, args.repeats)["render"]
    finally:
        numba.set_num_threads(r["threads"])
    print(f"\n## Render: {big.n_leaves:,}-leaf tree (depth {big.depth}) of cgal_bunny00, {args.size}x{args.size} "
          f"(rays, cast, shade), after JIT warm-up, median of {args.repeats}")
    print(f"all {r['threads']} threads: {wall:.3f} s wall clock; one thread: {cpu:.3f} CPU seconds")

    if args.skip_iou:
        return
    names = [m for m in ALL_MESHES if m not in ("teapot_utah_npm.obj", "cgal_elephant-with-holes.off")]
    if args.iou_meshes != "all":
        names = args.iou_meshes.split(",")
    print(f"\n## Silhouettes: tree render vs Embree render of the mesh, {len(VIEWS)} views of "
          f"{args.size}x{args.size}, trees at the default build settings")
    print("| mesh | faces | leaves | silhouette IoU |\n|---|---:|---:|---:|")
    ious = []
    for name in names:
        mesh = load_normalised(name)
        try:
            t, _ = cached_tree(mesh, name, None, args.trees)
        except Exception as e:  # noqa: BLE001 -- a builder failure is a row; the other meshes go on
            print(f"| {name} | {len(mesh.faces):,} | build failed: {type(e).__name__}: {e} | |", flush=True)
            continue
        iou = silhouette_iou(t, mesh, args.size)
        ious.append(iou)
        print(f"| {name} | {len(mesh.faces):,} | {t.n_leaves:,} | {iou:.4f} |", flush=True)
    print(f"| mean | | | {np.mean(ious):.4f} |")


if __name__ == "__main__":
    main()
