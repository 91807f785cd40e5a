"""``shapetree normals TREE MESH -o OUT``."""

from __future__ import annotations

import click

import shapetree
from shapetree.builder.normal_map import DEFAULT_MAX_LEAVES, DEFAULT_SAMPLES
from shapetree.metrics import normal_map_error

from . import main
from .common import SEED, check_output


@main.command()
@click.argument("tree", type=click.Path(dir_okay=False))
@click.argument("mesh", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, help="Output normal-map .stree file.")
@click.option("--trees", "n_trees", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Trees in the boosted ensemble (each fits what the previous ones left).")
@click.option("--max-leaves", type=click.IntRange(1, 1_000_000), default=DEFAULT_MAX_LEAVES, show_default=True,
              help="Leaf budget of each tree.")
@click.option("--samples", type=click.IntRange(16, 20_000_000), default=DEFAULT_SAMPLES, show_default=True,
              help="Training points near the surface.")
@click.option("--flat", is_flag=True, help="Fit face normals instead of interpolated vertex normals.")
@click.option("--seed", type=SEED, default=0, show_default=True)
def normals(tree: str, mesh: str, output: str, n_trees: int, max_leaves: int, samples: int, flat: bool,
            seed: int) -> None:
    """Fit normal-map trees to MESH's surface normals, on the bounds of the occupancy TREE."""
    out = check_output(output, (".stree",))
    occupancy = shapetree.load(tree)
    m = shapetree.load_mesh(mesh)
    trees = shapetree.fit_normals(m, occupancy.bounds, n_trees=n_trees, max_leaves=max_leaves, samples=samples,
                                  smooth=not flat, seed=seed)
    shapetree.save(trees, out)
    err = normal_map_error(trees, m, seed=seed, smooth=not flat)
    click.echo(f"wrote {out}: {n_trees} tree{'s' if n_trees > 1 else ''}, "
               f"{sum(t.n_leaves for t in trees)} leaves, {out.stat().st_size} bytes; "
               f"held-out angular error mean {err['mean']:.2f} deg, median {err['median']:.2f} deg")
