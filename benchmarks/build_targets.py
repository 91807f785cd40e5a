"""The core issue's build targets, measured in one run on this machine.

    .venv/bin/python benchmarks/build_targets.py [--quick]

Prints, for the Stanford bunny (75k triangles): wall time, leaves, depth, bytes, IoU and
near-surface accuracy at the default leaf budget and at 4,096 leaves; and IoU of the two open meshes
at default settings. The JIT is warmed first (a small build) so the times are steady-state ones.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from common import MESHES, machine

import shapetree
from shapetree.builder import DEFAULT_MAX_LEAVES
from shapetree.formats import encode_trees
from shapetree.mesh import load_mesh
from shapetree.metrics import occupancy_metrics


def measure(mesh, leaves: int, repeats: int) -> dict:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        tree = shapetree.build(mesh, max_leaves=leaves, seed=0)
        times.append(time.perf_counter() - t0)
    r = occupancy_metrics(tree, mesh, seed=0)
    return {"seconds": statistics.median(times), "leaves": tree.n_leaves, "depth": tree.depth,
            "bytes": len(encode_trees([tree])), **r}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one timing run each, skip the open meshes")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    repeats = 1 if args.quick else args.repeats
    print(f"machine: {machine()}")
    bunny = load_mesh(MESHES / "cgal_bunny00.off")
    shapetree.build(bunny, max_leaves=256, seed=0)  # warm the JIT cache
    rows = [
        ("cgal_bunny00.off", DEFAULT_MAX_LEAVES, "<= 60 s, IoU >= 0.995, near >= 0.98", bunny),
        ("cgal_bunny00.off", 4096, "<= 15 s, IoU >= 0.985, near >= 0.95", bunny),
    ]
    if not args.quick:
        for name in ("teapot_utah_npm.obj", "cgal_elephant-with-holes.off"):
            rows.append((name, DEFAULT_MAX_LEAVES, "IoU >= 0.98", load_mesh(MESHES / name)))
    print(f"{'mesh':30s} {'leaves':>7s} {'depth':>5s} {'bytes':>8s} {'seconds':>8s} {'IoU':>7s} {'near':>7s}  target")
    for name, leaves, target, mesh in rows:
        r = measure(mesh, leaves, repeats if name == "cgal_bunny00.off" else 1)
        print(f"{name:30s} {r['leaves']:7d} {r['depth']:5d} {r['bytes']:8d} {r['seconds']:8.1f} "
              f"{r['iou']:7.4f} {r['near_accuracy']:7.4f}  {target}")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
