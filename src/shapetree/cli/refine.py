"""``shapetree refine TREE MESH -o OUT``."""

from __future__ import annotations

import click

import shapetree
from shapetree.refiner import DEFAULT_PASSES, DEFAULT_SAMPLES, MAX_REGROW, MAX_SAMPLES, default_regrow

from . import main
from .common import SEED, check_output


def report_passes(result) -> None:
    """One line per pass (the training error before and after it, what changed, its time), one per
    round of regrowing (held-out mistakes before and after it, kept or not), then the held-out
    check."""
    for k, s in enumerate(result.history, 1):
        click.echo(f"pass {k}: training error {100 * s.error_before:.3f} % -> {100 * s.error_after:.3f} %, "
                   f"{s.planes} planes and {s.leaves} leaves changed, {s.pruned} branches pruned, {s.seconds:.1f} s")
    for k, r in enumerate(result.rounds, 1):
        click.echo(f"regrow round {k}: held-out mistakes {r.held_out_before} -> {r.held_out_after}, "
                   f"{'kept' if r.accepted else 'dropped'}, {r.seconds:.1f} s")
    if result.held_out is not None:
        before, after = result.held_out
        verdict = "kept the input tree" if result.kept_input else "kept the refined tree"
        click.echo(f"held-out points: {before} mistakes before, {after} after refining: {verdict}")


REGROW_HELP = ("Rounds of pruning and regrowing a sixteenth of the leaves between TAO passes, each kept only if "
               "held-out points say it helps (default: 4 up to 4,096 leaves, 0 above).")


@main.command()
@click.argument("tree", type=click.Path(dir_okay=False))
@click.argument("mesh", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, help="Output .stree file.")
@click.option("--passes", type=click.IntRange(0, 1000), default=DEFAULT_PASSES, show_default=True,
              help="Bottom-up sweeps (fewer when one changes nothing).")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of the training points.")
@click.option("--samples", type=click.IntRange(2, MAX_SAMPLES), default=DEFAULT_SAMPLES, show_default=True,
              help="Training points of the target distribution (plus fresh ones in sparse cells).")
@click.option("--regrow", type=click.IntRange(0, MAX_REGROW), default=None, help=REGROW_HELP)
@click.option("--lossless", is_flag=True, help="Store float32 planes instead of quantised ones.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def refine(tree: str, mesh: str, output: str, passes: int, seed: int, samples: int, regrow: int | None,
           lossless: bool, quiet: bool) -> None:
    """Refine an occupancy TREE against MESH by Tree Alternating Optimization (re-fit every plane to
    the points only it decides, bottom-up; the training error never rises), then regrow its
    structure (swap the cheapest leaves for better splits, kept only where held-out points say it
    helps), and write it to OUTPUT. TAO is patented (US 12,505,355 B2): see docs/refine.md."""
    out = check_output(output, (".stree",))
    t = shapetree.load(tree)
    m = shapetree.load_mesh(mesh)
    rounds = default_regrow(t.n_leaves) if regrow is None else regrow
    result = shapetree.refine_report(t, m, passes=passes, seed=seed, n_samples=samples, regrow=rounds,
                                     progress=not quiet)
    budget = None if lossless else shapetree.quantization_budget(result.tree, m)
    shapetree.save(result.tree, out, lossless=lossless, budget=budget)
    report_passes(result)
    click.echo(f"wrote {out}: {result.tree.n_leaves} leaves (from {t.n_leaves}), depth {result.tree.depth}, "
               f"{out.stat().st_size} bytes")
