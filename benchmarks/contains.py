"""Point queries: M points/s of ``Tree.contains`` versus libigl's fast winding number and trimesh's
``contains`` (Embree ray parity) on the same points, with the ratio.

    .venv/bin/python benchmarks/contains.py [--points N] [--repeats R] [--leaves L]

Trees: the reference implementation's 1958-leaf bunny (against the shared bunny mapped into its
frame) and a tree of about ``--leaves`` leaves built by ``shapetree.build`` on ``cgal_bunny00.off``.
Points are uniform in the tree's bounds, so every one walks the tree to a leaf.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import interleaved_wall_and_cpu, load_normalised, machine, reference_bunny, timed, uniform_points

from shapetree.mesh import Mesh, inside
from shapetree.tree import Tree


def measure(tree: Tree, mesh: Mesh, n_points: int, repeats: int = 5, seed: int = 0) -> dict:
    """Median M points/s of the tree and both mesh baselines on the same points, and agreement."""
    import igl
    import trimesh

    points = uniform_points(tree.bounds, n_points, seed, grow=0.0)
    bvh = igl.FastWindingNumberBVH()
    bvh.init(mesh.vertices, mesh.faces)
    tm = trimesh.Trimesh(mesh.vertices, mesh.faces, process=False)
    out = {}
    wall, cpu = interleaved_wall_and_cpu({
        "tree": lambda: tree.contains(points),
        "fwn": lambda: bvh.winding_number(points),
        "embree": lambda: tm.contains(points),
    }, repeats)
    for name in wall:
        out[name] = n_points / wall[name] / 1e6
        out[f"{name}_cpu"] = n_points / cpu[name] / 1e6
    truth = inside(mesh, points)
    out["agree_tree"] = float(np.mean(tree.contains(points) == truth))
    out["agree_embree"] = float(np.mean(tm.contains(points) == truth))
    out["points"] = n_points
    out["repeats"] = repeats
    return out


def format_row(label: str, leaves: int, faces: int, r: dict) -> str:
    return (
        f"| {label} | {leaves:,} | {faces:,} | {r['tree']:.1f} | {r['fwn']:.2f} | {r['embree']:.2f} "
        f"| {r['tree'] / r['fwn']:.1f}x | {r['tree'] / r['embree']:.1f}x "
        f"| {r['tree_cpu']:.1f} / {r['fwn_cpu']:.2f} / {r['embree_cpu']:.2f} "
        f"| {r['tree_cpu'] / r['fwn_cpu']:.1f}x | {100 * r['agree_tree']:.2f} % | {100 * r['agree_embree']:.2f} % |"
    )


HEADER = (
    "| tree | leaves | mesh faces | tree M pts/s | igl fwn M pts/s | Embree M pts/s "
    "| tree / fwn | tree / Embree | per CPU s: tree / fwn / Embree | tree / fwn per CPU s "
    "| tree = fwn labels | Embree = fwn labels |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--leaves", type=int, default=40_000)
    args = ap.parse_args(argv)

    import shapetree

    print(f"machine: {machine()}")
    print(f"{args.points:,} points uniform in each tree's bounds, median of {args.repeats} interleaved runs")
    print("igl fwn: igl.FastWindingNumberBVH built once, query only; Embree: trimesh.Trimesh.contains")
    print("M pts/s: wall clock, all threads; per CPU s: points per second of this process's CPU time")
    print(HEADER)
    _, t1958, bunny_ref, _ = reference_bunny()
    print(format_row("reference treed_bunny_1958", t1958.n_leaves, len(bunny_ref.faces),
                     measure(t1958, bunny_ref, args.points, args.repeats)), flush=True)
    mesh = load_normalised("cgal_bunny00.off")
    seconds, tree = timed(shapetree.build, mesh, max_leaves=args.leaves, seed=0)
    print(format_row(f"shapetree.build cgal_bunny00 ({seconds:.0f} s build)", tree.n_leaves, len(mesh.faces),
                     measure(tree, mesh, args.points, args.repeats)), flush=True)


if __name__ == "__main__":
    main()
