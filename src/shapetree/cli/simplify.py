"""``shapetree simplify TREE --leaves N [--mesh MESH] -o OUT``."""

from __future__ import annotations

import time

import click

import shapetree
from shapetree.refiner import default_regrow

from . import main
from .common import LADDER_START, SEED, check_output, save_tree
from .refine import report_passes


@main.command()
@click.argument("tree", type=click.Path(dir_okay=False))
@click.option("--leaves", type=click.IntRange(1, None), required=True, help="Leaf budget of the result.")
@click.option("--mesh", type=click.Path(dir_okay=False), default=None,
              help="Label the cost points by this mesh's winding number (default: by the full tree).")
@click.option("-o", "--output", required=True, help="Output .stree file.")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of the cost points.")
@click.option("--lossless", is_flag=True, help="Store float32 planes instead of quantised ones.")
@click.option("--flat", is_flag=True,
              help="One level of detail only (default: progressive, the coarser trees of the same order in one file).")
@click.option("--refine", is_flag=True,
              help="Then re-fit its planes against --mesh by TAO and regrow its structure (docs/refine.md).")
def simplify(tree: str, leaves: int, mesh: str | None, output: str, seed: int, lossless: bool, flat: bool,
             refine: bool) -> None:
    """Simplify an occupancy TREE to at most LEAVES leaves (greedy: the cheapest removals on points
    from the builder's target distribution) and write it to OUTPUT."""
    out = check_output(output, (".stree",))
    if refine and not mesh:
        raise click.UsageError("--refine needs --mesh: the mesh labels the points the planes are fitted to")
    t = shapetree.load(tree)
    m = shapetree.load_mesh(mesh) if mesh else None
    t0 = time.perf_counter()
    order = None
    if flat or lossless:
        small = shapetree.simplify(t, leaves, mesh=m, seed=seed)
    else:  # the same order on to the coarsest level: every level of the progressive file
        order = shapetree.simplification_order(t, mesh=m, seed=seed, min_leaves=min(leaves, LADDER_START),
                                               n_samples=shapetree.samples_for(leaves))
        small = order.at(leaves)  # = shapetree.simplify(t, leaves, mesh=m, seed=seed)
    if refine:  # new planes: the file's levels come from the refined tree's own order
        result = shapetree.refine_report(small, m, seed=seed, regrow=default_regrow(small.n_leaves), progress=True)
        report_passes(result)
        small, order = result.tree, None
    seconds = time.perf_counter() - t0
    save_tree(small, out, m, seed, order=order, lossless=lossless, flat=flat)
    click.echo(f"wrote {out}: {small.n_leaves} leaves (from {t.n_leaves}), depth {small.depth}, "
               f"{out.stat().st_size} bytes, {seconds:.1f} s")
