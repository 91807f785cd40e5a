"""``shapetree info FILE``."""

from __future__ import annotations

from pathlib import Path

import click

import shapetree

from . import main


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
def info(file: str) -> None:
    """Print what a tree file holds."""
    trees = shapetree.read_trees(file)
    size = Path(file).stat().st_size
    leaves = sum(t.n_leaves for t in trees)
    lo, hi = trees[0].bounds
    click.echo(f"file       {file}")
    click.echo(f"kind       {trees[0].kind.label}")
    click.echo(f"trees      {len(trees)}")
    click.echo(f"leaves     {leaves}")
    click.echo(f"depth      {max(t.depth for t in trees)}")
    click.echo(f"bounds     [{lo[0]:.6g}, {lo[1]:.6g}, {lo[2]:.6g}] .. [{hi[0]:.6g}, {hi[1]:.6g}, {hi[2]:.6g}]")
    click.echo(f"format     {shapetree.encoding_of(file).describe()}")
    click.echo(f"bytes      {size}")
    click.echo(f"bytes/leaf {size / leaves:.2f}")
    levels = shapetree.level_sizes(file)
    if len(levels) > 1:  # a progressive file: leaves and the bytes read to load each level
        click.echo("levels     " + ", ".join(f"{n} ({b} B)" for n, b in levels))
