"""Bytes per leaf of the .stree codings and what quantising the planes costs in IoU.

For each mesh and leaf budget: the size of the tree as v2 plane coding 4 (quantised in exact cells, with escapes,
upward normals and quarter-step precisions: the default; `--coding 3` without the last two, `--coding 2` in boxes,
`--coding 1` in boxes without escapes),
coding 0 (float32, ``lossless``) and v1 (float32, no deflate; computed from its layout since v1
cannot hold framed trees), and the IoU against the mesh (Occupancy Networks protocol,
``shapetree.metrics.occupancy_metrics``) of the float32 and the quantised tree. Built trees are
cached (lossless) under ``benchmarks/results/cache/``.

    python benchmarks/format_size.py --meshes cgal_bunny00.off cgal_fandisk.off --leaves 512 2048
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from common import MESHES, RESULTS

import shapetree
from shapetree.formats import encode_trees, quantize
from shapetree.formats.quantized import (
    DEFAULT_CODING,
    DEFAULT_NORMAL_EXTRA,
    auto_precision,
    encode_planes,
    oriented_for,
)
from shapetree.formats.stree_v1 import HEADER as V1_HEADER
from shapetree.formats.stree_v1 import tree_bytes
from shapetree.formats.stree_v2 import CODINGS, VERSION
from shapetree.metrics import occupancy_metrics, quantization_budget

SHARED = ["cgal_bunny00.off", "cgal_fandisk.off", "netgen_hinge.stl", "netgen_part1.stl", "cgal_armadillo.off",
          "cgal_rotor.off", "cgal_pinion.off"]
CACHE = RESULTS / "cache"


def built(name: str, leaves: int) -> shapetree.Tree:
    """The tree of ``name`` at ``leaves`` (seed 0), from the cache when it is there."""
    path = CACHE / f"{name}-{leaves}.stree"
    if path.exists():
        return shapetree.load(path)
    tree = shapetree.build(MESHES / name, max_leaves=leaves, seed=0, progress=False)
    CACHE.mkdir(parents=True, exist_ok=True)
    shapetree.save(tree, path, lossless=True)
    return tree


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--meshes", nargs="+", default=SHARED)
    ap.add_argument("--leaves", nargs="+", type=int, default=[512, 2048, 16384])
    ap.add_argument("--precision", type=float, default=None, help="default: per file (auto_precision)")
    ap.add_argument("--extra", type=int, default=DEFAULT_NORMAL_EXTRA)
    ap.add_argument("--coding", type=int, choices=list(CODINGS), default=DEFAULT_CODING)
    ap.add_argument("--samples", type=int, default=100_000, help="IoU points (and near-surface points)")
    args = ap.parse_args()
    rows = []
    print(f"plane coding {args.coding} of .stree v{VERSION}: precision {args.precision or 'auto'}, "
          f"normal extra {args.extra}; 'with mesh': the precision shapetree build writes "
          "(save(..., budget=quantization_budget(tree, mesh)))")
    print(f"| mesh | leaves | precision | coding {args.coding} B/leaf | coding 0 B/leaf | v1 B/leaf | plane bits/branch "
          "| IoU float32 | IoU quantised | delta | with mesh: precision | B/leaf | IoU | delta |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in args.meshes:
        mesh = shapetree.load_mesh(MESHES / name)
        for leaves in args.leaves:
            tree = built(name, leaves)
            t0 = time.perf_counter()
            q1 = encode_trees([tree], precision=args.precision, normal_extra=args.extra, coding=args.coding)
            seconds = time.perf_counter() - t0
            p = args.precision if args.precision is not None else auto_precision(tree, args.extra, args.coding)
            planes, _, _ = encode_planes(oriented_for(tree, args.coding), p, args.extra, args.coding)
            q = quantize(tree, p, args.extra, args.coding)
            budget = quantization_budget(tree, mesh)
            pm = auto_precision(tree, args.extra, args.coding, budget=budget)
            qm_bytes = len(encode_trees([tree], precision=pm, normal_extra=args.extra, coding=args.coding))
            qm = quantize(tree, pm, args.extra, args.coding)
            n = tree.n_leaves
            c0 = len(encode_trees([tree], lossless=True))
            v1 = V1_HEADER.size + tree_bytes(n, tree.kind) + 4
            iou_f = occupancy_metrics(tree, mesh, n=args.samples)["iou"]
            iou_q = occupancy_metrics(q, mesh, n=args.samples)["iou"]
            iou_m = occupancy_metrics(qm, mesh, n=args.samples)["iou"]
            row = {"mesh": name, "leaves": n, "precision": p, "quantised": len(q1) / n, "coding0": c0 / n, "v1": v1 / n,
                   "plane_bits": 8 * len(planes) / max(n - 1, 1), "iou_float32": iou_f, "iou_quantised": iou_q,
                   "encode_s": seconds, "mesh_precision": pm, "mesh_quantised": qm_bytes / n, "iou_mesh": iou_m}
            rows.append(row)
            print(f"| {name} | {n} | {p} | {row['quantised']:.2f} | {row['coding0']:.2f} | {row['v1']:.2f} | "
                  f"{row['plane_bits']:.1f} | {iou_f:.4f} | {iou_q:.4f} | {iou_q - iou_f:+.4f} | {pm} | "
                  f"{row['mesh_quantised']:.2f} | {iou_m:.4f} | {iou_m - iou_f:+.4f} |", flush=True)
    for key, iou, label in (("quantised", "iou_quantised", "without the mesh"), ("mesh_quantised", "iou_mesh", "with the mesh")):
        mean = float(np.mean([r[key] for r in rows]))
        worst = min(r[iou] - r["iou_float32"] for r in rows)
        print(f"\nmean coding {args.coding} {label}: {mean:.2f} bytes/leaf (target <= 3); worst IoU delta {worst:+.4f} "
              "(target >= -0.001)")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "format_size.json").write_text(json.dumps({"args": vars(args), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
