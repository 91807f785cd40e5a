"""``shapetree import-treed INPUT -o OUT``."""

from __future__ import annotations

import click

import shapetree
from shapetree.errors import UsageError

from . import main
from .common import check_output


@main.command(name="import-treed")
@click.argument("input", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, help="Output .stree file.")
@click.option("--kind", type=click.Choice(["occupancy", "normals"]), default="occupancy",
              show_default=True, help="What the treed file holds (the format has no header to tell).")
@click.option("--bounds-from", type=click.Path(dir_okay=False), default=None,
              help="A .stree file whose bounds a normal-map file uses (normal-map treed files have none).")
@click.option("--lossless", is_flag=True,
              help="Keep the float32 planes exactly instead of quantising them to their cells.")
def import_treed(input: str, output: str, kind: str, bounds_from: str | None, lossless: bool) -> None:
    """Convert a tree in the reference implementation's binary format ("treed") to .stree."""
    out = check_output(output, (".stree",))
    bounds = None
    if kind == "normals":
        if bounds_from is None:
            raise UsageError("--kind normals needs --bounds-from FILE.stree (treed normal maps have no bounds)")
        bounds = shapetree.read_trees(bounds_from)[0].bounds
    trees = shapetree.read_trees(input, shapetree.Kind[kind.upper()], format="treed", bounds=bounds)
    shapetree.save(trees, out, lossless=lossless)
    leaves = sum(t.n_leaves for t in trees)
    click.echo(
        f"wrote {out}: {len(trees)} {kind} tree{'s' if len(trees) > 1 else ''}, {leaves} leaves, "
        f"depth {max(t.depth for t in trees)}, {out.stat().st_size} bytes"
    )
