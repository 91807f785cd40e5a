"""What a progressive .stree file costs: its bytes against a flat v2 file of the same tree, the
bytes read to load a coarse level against a standalone file of that level, and the IoU of the
levels a reader gets.

For each shared closed mesh: the seed-0 tree at ``--leaves`` (cached, lossless, under
``benchmarks/results/cache/``, as format_size.py's), its simplification order on points labelled by
the mesh (what ``shapetree build`` writes), the progressive file (default ladder, automatic
precision) and the flat file (the default plane coding), both also saved with the mesh as ``shapetree
build`` saves them (``budget=quantization_budget(tree, mesh)``); then, for ``--level`` (512), the bytes ``load(path,
max_leaves=512)`` reads against ``save(order.at(512), flat)``. Orders are cached too.

    python benchmarks/progressive.py --meshes cgal_bunny00.off --leaves 16384
"""

from __future__ import annotations

import argparse
import json
import pickle
import tempfile
import time
from pathlib import Path

import numpy as np
from common import MESHES, RESULTS, machine
from format_size import SHARED, built

import shapetree
from shapetree.metrics import occupancy_metrics, quantization_budget

CACHE = RESULTS / "cache"


def order_of(name: str, tree: shapetree.Tree, mesh) -> shapetree.simplifier.SimplificationOrder:
    path = CACHE / f"{name}-{tree.n_leaves}-order.pickle"
    if path.exists():
        return pickle.loads(path.read_bytes())
    order = shapetree.simplification_order(tree, mesh=mesh, seed=0, min_leaves=16)
    CACHE.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(order))
    return order


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--meshes", nargs="+", default=SHARED)
    ap.add_argument("--leaves", type=int, default=16384)
    ap.add_argument("--level", type=int, default=512, help="the coarse level whose read is compared")
    ap.add_argument("--samples", type=int, default=50_000, help="IoU points")
    args = ap.parse_args()
    print(machine())
    print(f"| mesh | leaves | levels | flat B | progressive B | overhead | read {args.level} B | standalone {args.level} B "
          f"| ratio | IoU {args.level} | IoU full | encode s | with mesh: flat B | progressive B | overhead |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.meshes:
            mesh = shapetree.load_mesh(MESHES / name)
            tree = built(name, args.leaves)
            order = order_of(name, tree, mesh)
            levels = shapetree.detail_levels(order)
            prog, flat, small = Path(tmp, "p.stree"), Path(tmp, "f.stree"), Path(tmp, "s.stree")
            t0 = time.process_time()
            shapetree.save(tree, prog, progressive=levels)
            seconds = time.process_time() - t0
            shapetree.save(tree, flat)
            sizes = dict(shapetree.level_sizes(prog))
            coarse = shapetree.load(prog, max_leaves=args.level)
            shapetree.save(order.at(coarse.n_leaves), small)
            budget = quantization_budget(tree, mesh)
            shapetree.save(tree, flat_mesh := Path(tmp, "fm.stree"), budget=budget)
            shapetree.save(tree, prog_mesh := Path(tmp, "pm.stree"), progressive=levels, budget=budget)
            row = {"mesh": name, "leaves": tree.n_leaves, "levels": list(sizes), "flat": flat.stat().st_size,
                   "progressive": prog.stat().st_size, "read": sizes[coarse.n_leaves], "level": coarse.n_leaves,
                   "standalone": small.stat().st_size, "encode_cpu_s": seconds,
                   "flat_mesh": flat_mesh.stat().st_size, "progressive_mesh": prog_mesh.stat().st_size,
                   "iou_level": occupancy_metrics(coarse, mesh, n=args.samples)["iou"],
                   "iou_full": occupancy_metrics(shapetree.load(prog), mesh, n=args.samples)["iou"]}
            rows.append(row)
            print(f"| {name} | {row['leaves']} | {len(sizes)} | {row['flat']} | {row['progressive']} | "
                  f"{row['progressive'] / row['flat'] - 1:+.1%} | {row['read']} ({row['level']} leaves) | "
                  f"{row['standalone']} | {row['read'] / row['standalone']:.2f} | {row['iou_level']:.4f} | "
                  f"{row['iou_full']:.4f} | {seconds:.2f} | {row['flat_mesh']} | {row['progressive_mesh']} | "
                  f"{row['progressive_mesh'] / row['flat_mesh'] - 1:+.1%} |", flush=True)
    over = [r["progressive"] / r["flat"] - 1 for r in rows]
    over_mesh = [r["progressive_mesh"] / r["flat_mesh"] - 1 for r in rows]
    ratio = [r["read"] / r["standalone"] for r in rows]
    print(f"\noverhead: mean {np.mean(over):+.1%}, worst {max(over):+.1%}; with the mesh mean {np.mean(over_mesh):+.1%}, "
          f"worst {max(over_mesh):+.1%} (target <= +5%); "
          f"coarse read / standalone: worst {max(ratio):.2f} (target <= 2)")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "progressive.json").write_text(json.dumps({"args": vars(args), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
