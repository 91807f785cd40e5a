"""``shapetree simplify TREE --leaves N [--mesh MESH] -o OUT``."""

from __future__ import annotations

import time

import click

import shapetree

from . import main
from .common import SEED, check_output
from .refine import report_passes


@main.command()
@click.argument("tree", type=click.Path(dir_okay=False))
@click.option("--leaves", type=click.IntRange(1, None), required=True, help="Leaf budget of the result.")
@click.option("--mesh", type=click.Path(dir_okay=False), default=None,
              help="Label the cost points by this mesh's winding number (default: by the full tree).")
@click.option("-o", "--output", required=True, help="Output .stree file.")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of the cost points.")
@click.option("--lossless", is_flag=True, help="Store float32 planes instead of quantised ones.")
@click.option("--refine", is_flag=True, help="Then re-fit its planes against --mesh by TAO (docs/refine.md).")
def simplify(tree: str, leaves: int, mesh: str | None, output: str, seed: int, lossless: bool, refine: bool) -> None:
    """Simplify an occupancy TREE to at most LEAVES leaves (greedy: the cheapest removals on points
    from the builder's target distribution) and write it to OUTPUT."""
    out = check_output(output, (".stree",))
    if refine and not mesh:
        raise click.UsageError("--refine needs --mesh: the mesh labels the points the planes are fitted to")
    t = shapetree.load(tree)
    m = shapetree.load_mesh(mesh) if mesh else None
    t0 = time.perf_counter()
    small = shapetree.simplify(t, leaves, mesh=m, seed=seed)
    if refine:
        result = shapetree.refine_report(small, m, seed=seed, progress=True)
        report_passes(result)
        small = result.tree
    seconds = time.perf_counter() - t0
    shapetree.save(small, out, lossless=lossless)
    click.echo(f"wrote {out}: {small.n_leaves} leaves (from {t.n_leaves}), depth {small.depth}, "
               f"{out.stat().st_size} bytes, {seconds:.1f} s")
