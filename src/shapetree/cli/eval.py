"""``shapetree eval TREE MESH``."""

from __future__ import annotations

import click

import shapetree
from shapetree.metrics import occupancy_metrics, surface_metrics

from . import main
from .common import SEED


@main.command(name="eval")
@click.argument("tree", type=click.Path(dir_okay=False))
@click.argument("mesh", type=click.Path(dir_okay=False))
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--surface", is_flag=True,
              help="Also Chamfer-L1, F-score at 1 % and 2 % and normal consistency (slower: meshes the tree).")
def eval_(tree: str, mesh: str, seed: int, surface: bool) -> None:
    """Measure TREE against MESH: volumetric IoU and near-surface accuracy (Occupancy Networks
    protocol, distances in units of the mesh box's longest side)."""
    t = shapetree.load(tree)
    m = shapetree.load_mesh(mesh)
    r = occupancy_metrics(t, m, seed=seed)
    click.echo(f"iou            {r['iou']:.4f}")
    click.echo(f"near_accuracy  {r['near_accuracy']:.4f}")
    if surface:
        s = surface_metrics(t, m, seed=seed)
        click.echo(f"chamfer_l1     {s['chamfer_l1']:.5f}")
        click.echo(f"fscore_1pct    {s['fscore_1']:.4f}")
        click.echo(f"fscore_2pct    {s['fscore_2']:.4f}")
        click.echo(f"normal_consist {s['normal_consistency']:.4f}")
