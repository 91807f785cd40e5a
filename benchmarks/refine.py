"""TAO refinement (``shapetree.refine``) after simplification, measured honestly.

``benchmarks/refine.py [--meshes NAME ...] [--passes N]``:

* **budgets**: on every shared closed mesh, the default tree (``shapetree.build(mesh, seed=0)``,
  cached as in ``benchmarks/simplify.py``) simplified to 512 and 2,048 leaves
  (``simplify(full, N, mesh=mesh)``; the full tree itself where it has fewer leaves), then
  refined (``refine(tree, mesh, seed=0)``, TAO passes only) and refined as ``simplify --refine``
  does it (``regrow=default_regrow(N)``: TAO, then rounds of pruning and regrowing): IoU and
  near-surface accuracy before and after by the Occupancy Networks protocol
  (``occupancy_metrics``, seed 0, 100k points each), and the training error of every pass;
* **timing**: one pass over the bunny simplified to 4,096 leaves (after a warm-up), wall-clock and
  process CPU seconds (all threads);
* **large trees**: one pass over the full default bunny tree, before/after.

Writes ``benchmarks/results/refine.json`` and ``benchmarks/results/refine.md`` (the tables).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import MESHES, RESULTS, machine
from simplify import CLOSED, FULL_LEAVES, cached_build, measure

from shapetree.mesh import load_mesh
from shapetree.refiner import DEFAULT_PASSES, default_regrow, refine_report
from shapetree.simplifier import simplification_order, simplify

BUDGETS = [512, 2048]
TIMING_MESH = "cgal_bunny00.off"
TIMING_LEAVES = 4096


def passes_of(result) -> list[dict]:
    return [{"error_before": s.error_before, "error_after": s.error_after, "fixed_error_before": s.fixed_error_before,
             "fixed_error_after": s.fixed_error_after, "points": s.points, "fresh": s.fresh, "planes": s.planes,
             "leaves": s.leaves, "pruned": s.pruned, "seconds": s.seconds, "cpu_seconds": s.cpu_seconds}
            for s in result.history]


def budgets_sweep(meshes: list[str], passes: int, significance: float = 0.0) -> list[dict]:
    rows = []
    for name in meshes:
        mesh = load_mesh(MESHES / name)
        full = cached_build(name, FULL_LEAVES)
        for n in BUDGETS:
            plain = simplify(full, n, mesh=mesh)
            t0, c0 = time.perf_counter(), time.process_time()
            result = refine_report(plain, mesh, passes=passes, seed=0, significance=significance)
            row = {"mesh": name, "budget": n, "full_leaves": full.n_leaves, "plain": measure(plain, mesh),
                   "refined": measure(result.tree, mesh), "passes": passes_of(result),
                   "held_out": result.held_out, "kept_input": result.kept_input,
                   "seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0}
            t0, c0 = time.perf_counter(), time.process_time()
            grown = refine_report(plain, mesh, passes=passes, seed=0, significance=significance,
                                  regrow=default_regrow(plain.n_leaves))
            row["regrown"] = measure(grown.tree, mesh)
            row["rounds"] = [{"held_out_before": r.held_out_before, "held_out_after": r.held_out_after,
                              "accepted": r.accepted, "seconds": r.seconds} for r in grown.rounds]
            row["regrow_held_out"] = grown.held_out
            row["regrow_kept_input"] = grown.kept_input
            row["regrow_seconds"] = time.perf_counter() - t0
            row["regrow_cpu_seconds"] = time.process_time() - c0
            rows.append(row)
            p, r = row["plain"], row["refined"]
            print(f"{name} {n}: {p['leaves']} leaves IoU {p['iou']:.4f} -> {r['iou']:.4f}, near "
                  f"{p['near_accuracy']:.4f} -> {r['near_accuracy']:.4f}, training error "
                  + " ".join(f"{100 * s['error_before']:.3f}->{100 * s['error_after']:.3f}" for s in row["passes"])
                  + f" %, {row['cpu_seconds']:.1f} CPU s" + (", held-out check kept the input" if result.kept_input else "")
                  + f"; + regrow IoU {row['regrown']['iou']:.4f}, near {row['regrown']['near_accuracy']:.4f}, "
                  f"{sum(r['accepted'] for r in row['rounds'])}/{len(row['rounds'])} rounds kept, "
                  f"{row['regrow_seconds']:.1f} s", flush=True)
    return rows


def timing(passes: int = 1) -> dict:
    mesh = load_mesh(MESHES / TIMING_MESH)
    full = cached_build(TIMING_MESH, FULL_LEAVES)
    tree = simplification_order(full, mesh=mesh, min_leaves=TIMING_LEAVES).at(TIMING_LEAVES)
    refine_report(tree, mesh, passes=1, seed=1, n_samples=20_000)  # warm-up: load the kernels
    t0, c0 = time.perf_counter(), time.process_time()
    result = refine_report(tree, mesh, passes=passes, seed=0)
    out = {"mesh": TIMING_MESH, "leaves": tree.n_leaves, "seconds": time.perf_counter() - t0,
           "cpu_seconds": time.process_time() - c0, "passes": passes_of(result)}
    print(f"timing: one pass over {tree.n_leaves} leaves in {out['seconds']:.1f} s wall, {out['cpu_seconds']:.1f} s CPU",
          flush=True)
    return out


def large(name: str = TIMING_MESH) -> dict:
    mesh = load_mesh(MESHES / name)
    full = cached_build(name, FULL_LEAVES)
    result = refine_report(full, mesh, passes=1, seed=0)
    out = {"mesh": name, "plain": measure(full, mesh), "refined": measure(result.tree, mesh),
           "passes": passes_of(result)}
    print(f"large: {name} {full.n_leaves} leaves IoU {out['plain']['iou']:.4f} -> {out['refined']['iou']:.4f}, near "
          f"{out['plain']['near_accuracy']:.4f} -> {out['refined']['near_accuracy']:.4f}", flush=True)
    return out


def report(rows: list[dict], times: dict | None, big: dict | None, command: str) -> str:
    lines = [
        f"Made by `{command}` on {machine()}.",
        "",
        ("*refine*: TAO passes (`refine(tree, mesh)`); *+ regrow*: then rounds of pruning and regrowing "
        "(`regrow=default_regrow(N)`, 4 rounds up to 4,096 leaves), what `simplify --refine` runs."),
        "",
        ("| mesh | leaves | IoU simplify | IoU + refine | IoU + regrow | near simplify | near + refine | near + regrow "
        "| rounds kept | regrow s | training error per pass (%) |"),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    wins = wins_regrow = 0
    for r in rows:
        p, q, g = r["plain"], r["refined"], r["regrown"]
        errs = ", ".join(f"{100 * s['error_before']:.2f} → {100 * s['error_after']:.2f}" for s in r["passes"])
        leaves = f"{p['leaves']}" + (f" → {g['leaves']}" if g["leaves"] != p["leaves"] else "")
        kept = f"{sum(x['accepted'] for x in r['rounds'])}/{len(r['rounds'])}"
        lines.append(f"| {r['mesh']} | {leaves} | {p['iou']:.4f} | {q['iou']:.4f} | {g['iou']:.4f} | "
                     f"{p['near_accuracy']:.4f} | {q['near_accuracy']:.4f} | {g['near_accuracy']:.4f} | {kept} | "
                     f"{r['regrow_seconds']:.0f} | {errs} |")
        wins += (q["iou"] > p["iou"]) + (q["near_accuracy"] > p["near_accuracy"])
        wins_regrow += (g["iou"] > p["iou"]) + (g["near_accuracy"] > p["near_accuracy"])
    lines += ["", (f"TAO alone is better than plain simplify in {wins} of {2 * len(rows)} (mesh, budget, measure) "
              f"cells, TAO + regrow in {wins_regrow}.")]
    if times:
        s = times["passes"][0]
        lines += ["", (f"One pass over the {times['mesh']} tree of {times['leaves']} leaves: {times['seconds']:.1f} s "
                       f"wall, {times['cpu_seconds']:.1f} s CPU ({s['points']:,} points, {s['fresh']:,} of them fresh).")]
    if big:
        p, q = big["plain"], big["refined"]
        lines += ["", (f"One pass over the full {big['mesh']} tree ({p['leaves']} leaves): IoU {p['iou']:.4f} → "
                       f"{q['iou']:.4f}, near-surface accuracy {p['near_accuracy']:.4f} → {q['near_accuracy']:.4f}, "
                       f"{big['passes'][0]['cpu_seconds']:.1f} s CPU.")]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meshes", nargs="*", help="closed meshes of the budget sweep (default: all)")
    parser.add_argument("--passes", type=int, default=DEFAULT_PASSES)
    parser.add_argument("--significance", type=float, default=0.0, help="refine's significance (z)")
    parser.add_argument("--no-timing", action="store_true")
    parser.add_argument("--no-large", action="store_true")
    parser.add_argument("--timing-only", action="store_true", help="only the 4,096-leaf pass, printed")
    args = parser.parse_args()
    if args.timing_only:
        print(machine())
        timing()
        return
    meshes = args.meshes or CLOSED
    rows = budgets_sweep(meshes, args.passes, args.significance)
    times = None if args.no_timing else timing()
    big = None if args.no_large else large()
    command = "benchmarks/refine.py" + (" --meshes " + " ".join(args.meshes) if args.meshes else "") + (
        f" --passes {args.passes}" if args.passes != DEFAULT_PASSES else "") + (
        f" --significance {args.significance:g}" if args.significance else "") + (
        " --no-timing" if args.no_timing else "") + (" --no-large" if args.no_large else "")
    stem = "refine" + (f"-z{args.significance:g}" if args.significance else "")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{stem}.json").write_text(json.dumps({"sweep": rows, "timing": times, "large": big}, indent=1))
    text = report(rows, times, big, command)
    (RESULTS / f"{stem}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
