"""``shapetree build MESH -o OUT``."""

from __future__ import annotations

import warnings

import click

import shapetree
from shapetree.builder import MAX_DEPTH, MAX_LEAVES
from shapetree.refiner import default_regrow

from . import main
from .common import SEED, check_output, given, save_tree
from .refine import report_passes


@main.command()
@click.argument("mesh", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, help="Output .stree file.")
@click.option("--max-leaves", type=click.IntRange(1, MAX_LEAVES), default=None,
              help="Leaf budget (default: the builder's quality default, 16,384).")
@click.option("--max-depth", type=click.IntRange(0, MAX_DEPTH), default=None, help="Depth limit (default 96).")
@click.option("--seed", type=SEED, default=0, show_default=True,
              help="Random seed; same input and seed give byte-identical output.")
@click.option("--spike-tol", type=click.FloatRange(0, 0.5), default=None,
              help="Cut cells reaching farther than this (fraction of the box) out of the surface; "
                   "0: off (default 0.002).")
@click.option("--lossless", is_flag=True,
              help="Store float32 planes (about 3x larger) instead of planes quantised to their cells.")
@click.option("--flat", is_flag=True,
              help="One level of detail only (default: progressive, every level of the simplification order "
                   "in one file, coarse first; about 4% larger at 16,384 leaves).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--refine", is_flag=True,
              help="Then re-fit its planes by TAO and, up to 4,096 leaves, regrow its structure (docs/refine.md: "
                   "pays on small trees).")
def build(mesh: str, output: str, max_leaves: int | None, max_depth: int | None, seed: int,
          spike_tol: float | None, lossless: bool, flat: bool, quiet: bool, refine: bool) -> None:
    """Build an occupancy tree from MESH and write it to OUTPUT."""
    out = check_output(output, (".stree",))
    m = shapetree.load_mesh(mesh)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", shapetree.MeshWarning)
        tree = shapetree.build(m, seed=seed, progress=not quiet,
                               **given(max_leaves=max_leaves, max_depth=max_depth, spike_tol=spike_tol))
    for w in caught:
        click.echo(f"shapetree: warning: {w.message}", err=True)
    if refine:
        result = shapetree.refine_report(tree, m, seed=seed, regrow=default_regrow(tree.n_leaves), progress=not quiet)
        report_passes(result)
        tree = result.tree
    save_tree(tree, out, m, seed, lossless=lossless, flat=flat)
    secs = tree.meta["stats"]["seconds"]
    click.echo(f"wrote {out}: {tree.n_leaves} leaves, depth {tree.depth}, {out.stat().st_size} bytes, {secs:.1f} s")
