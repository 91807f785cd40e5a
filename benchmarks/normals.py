"""Normal-map trees on the bunny: held-out error against file size, one deep tree versus ensembles,
and how much a normal map improves the shading normals of a rendered occupancy tree.

    .venv/bin/python benchmarks/normals.py [--samples N] [--plot docs/normals.png] [--quick]
        [--trees DIR] [--leaves L]

1. Fits single trees of growing leaf budgets and boosted ensembles of K shallower trees to the
   interpolated vertex normals of cgal_bunny00 (normalised), on near-surface samples (seed 0), and
   scores each on 20,000 held-out points sampled the same way (seed 1): mean cosine error
   ``1 - cos`` and mean angle. File size is the bytes of the ``.stree`` holding the trees.
2. Casts 4 orbit views of 512x512 rays at occupancy trees of the bunny (``--leaves``, and the
   builder's default budget), takes the hit points, and compares against the mesh's interpolated
   normal at the closest surface point: the flat plane normals versus a normal map's.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, load_normalised, machine, timed
from rays import cached_tree, view_rays

from shapetree import raycast
from shapetree.builder import fit_normal_trees, surface_normal_samples
from shapetree.formats import encode_trees
from shapetree.mesh import Mesh, vertex_normals
from shapetree.metrics import angular_error
from shapetree.tree import predict_normals, predict_normals_filtered

SINGLE = [32, 64, 128, 256, 512, 1024, 2048, 4096, 8192]
ENSEMBLES = {2: [32, 128, 512, 2048], 4: [16, 64, 256, 1024], 8: [8, 32, 128, 512]}


def closest_normals(mesh: Mesh, points: np.ndarray) -> np.ndarray:
    """The mesh's interpolated vertex normal at the surface point closest to each point, (n, 3)."""
    import igl

    _, face, closest = igl.point_mesh_squared_distance(points, mesh.vertices, mesh.faces)
    t = mesh.triangles[face]
    # barycentric coordinates of the closest point in its triangle
    e0, e1, p = t[:, 1] - t[:, 0], t[:, 2] - t[:, 0], closest - t[:, 0]
    d00, d01, d11 = (e0 * e0).sum(1), (e0 * e1).sum(1), (e1 * e1).sum(1)
    d20, d21 = (p * e0).sum(1), (p * e1).sum(1)
    den = np.maximum(d00 * d11 - d01 * d01, 1e-300)
    v = (d11 * d20 - d01 * d21) / den
    w = (d00 * d21 - d01 * d20) / den
    bary = np.clip(np.stack([1 - v - w, v, w], 1), 0, 1)
    n = np.einsum("ij,ijk->ik", bary, vertex_normals(mesh)[mesh.faces[face]])
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-300)


def size_vs_error(mesh: Mesh, n_samples: int, quick: bool) -> list[dict]:
    X, Y = surface_normal_samples(mesh, n_samples, np.random.default_rng(0))
    Xt, Yt = surface_normal_samples(mesh, 20_000, np.random.default_rng(1))
    configs = [(1, L) for L in SINGLE] + [(k, L) for k, Ls in ENSEMBLES.items() for L in Ls]
    if quick:
        configs = [(k, L) for k, L in configs if k * L <= 1024]
    rows = []
    for k, leaves in configs:
        seconds, trees = timed(fit_normal_trees, X, Y, mesh.bounds, n_trees=k, max_leaves=leaves)
        pred = predict_normals(trees, Xt)
        rows.append({
            "trees": k, "leaves_each": leaves, "leaves": sum(t.n_leaves for t in trees),
            "bytes": len(encode_trees(trees)), "cos_err": float(np.mean(1 - np.einsum("ij,ij->i", pred, Yt))),
            "angle": float(angular_error(pred, Yt).mean()), "seconds": seconds,
        })
        r = rows[-1]
        print(f"| {k} | {leaves} | {r['leaves']} | {r['bytes']:,} | {r['cos_err']:.5f} | {r['angle']:.2f} "
              f"| {seconds:.1f} |", flush=True)
    return rows


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    for k in sorted({r["trees"] for r in rows}):
        sel = [r for r in rows if r["trees"] == k]
        label = "one tree" if k == 1 else f"ensemble of {k} trees"
        ax.plot([r["bytes"] for r in sel], [r["cos_err"] for r in sel], "o-", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("file size (bytes, .stree)")
    ax.set_ylabel("held-out cosine error (1 - cos)")
    ax.set_title("Normal-map trees on the bunny: error vs size")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def shading_error(mesh: Mesh, leaves: list[int | None], folder: Path, map_leaves: list[int],
                  n_samples: int) -> None:
    X, Y = surface_normal_samples(mesh, n_samples, np.random.default_rng(0))
    maps = {L: fit_normal_trees(X, Y, mesh.bounds, max_leaves=L) for L in map_leaves}
    print("\nmean angle (degrees) between the shading normal at each hit pixel and the mesh's interpolated "
          "normal at the closest surface point; 'raw': the map's leaf, 'filtered': "
          "`predict_normals_filtered` (12 taps, default radius)")
    head = " | ".join(f"map {L} leaves ({len(encode_trees(maps[L])) // 1024} KiB): raw / filtered"
                      for L in map_leaves)
    print(f"| occupancy tree | hit pixels | flat planes | {head} | best ratio |")
    print("|---:|---:|---:|" + "---:|" * len(map_leaves) + "---:|")
    for budget in leaves:
        tree, _ = cached_tree(mesh, "cgal_bunny00.off", budget, folder)
        o, d = view_rays(tree.bounds, 512)
        hits = raycast(tree, o, d)
        p = o[hits.hit] + hits.t[hits.hit, None] * d[hits.hit]
        truth = closest_normals(mesh, p)
        flat = angular_error(hits.normal[hits.hit], truth).mean()
        cells, best = [], np.inf
        for L in map_leaves:
            raw = angular_error(predict_normals(maps[L], p), truth).mean()
            filtered = angular_error(predict_normals_filtered(maps[L], p), truth).mean()
            best = min(best, raw, filtered)
            cells.append(f"{raw:.2f} / {filtered:.2f}")
        print(f"| {tree.n_leaves:,} leaves | {len(p):,} | {flat:.2f} | {' | '.join(cells)} | {flat / best:.2f}x |",
              flush=True)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=200_000)
    ap.add_argument("--plot", type=Path, default=ROOT / "docs" / "normals.png")
    ap.add_argument("--quick", action="store_true", help="Only the configurations of <= 1024 leaves.")
    ap.add_argument("--skip-sizes", action="store_true", help="Only the shading comparison.")
    ap.add_argument("--trees", type=Path, default=ROOT / "out" / "bench-trees")
    ap.add_argument("--leaves", type=int, default=4000, help="Occupancy tree for the shading comparison.")
    ap.add_argument("--map-leaves", default="1024,4096,8192", help="Normal maps for the shading comparison.")
    args = ap.parse_args(argv)

    print(f"machine: {machine()}")
    mesh = load_normalised("cgal_bunny00.off")
    print(f"\ncgal_bunny00 ({len(mesh.faces):,} triangles), {args.samples:,} training samples, "
          "20,000 held-out samples")
    if not args.skip_sizes:
        print("| trees | leaves each | leaves | bytes | cosine error | mean angle (deg) | fit s |")
        print("|---:|---:|---:|---:|---:|---:|---:|")
        rows = size_vs_error(mesh, args.samples, args.quick)
        plot(rows, args.plot)
        print(f"plot: {args.plot}")
    shading_error(mesh, [args.leaves, None], args.trees, [int(v) for v in args.map_leaves.split(",")],
                  args.samples)


if __name__ == "__main__":
    main()
