"""``shapetree render TREE -o IMAGE``."""

from __future__ import annotations

import time

import click

import shapetree
from shapetree.renderer import IMAGE_SUFFIXES, MAX_IMAGE_SIDE, render_lod, turntable, write_frames

from . import main
from .common import check_output


@main.command()
@click.argument("tree", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, help="Output image: .png (one view), .gif or .mp4 (a turntable).")
@click.option("--normals", "normals", type=click.Path(dir_okay=False), default=None,
              help="A normal-map .stree (from `shapetree normals`) used for shading.")
@click.option("--size", nargs=2, type=click.IntRange(1, MAX_IMAGE_SIDE), default=(512, 512), show_default=True,
              metavar="W H", help="Image size in pixels.")
@click.option("--frames", type=click.IntRange(1, 3600), default=None,
              help="Turntable frames (.gif/.mp4; default 36).")
@click.option("--fps", type=click.FloatRange(0.1, 120), default=20.0, show_default=True,
              help="Frames per second of a turntable.")
@click.option("--azimuth", type=float, default=30.0, show_default=True,
              help="Degrees around the up axis (a turntable's first frame).")
@click.option("--elevation", type=click.FloatRange(-90, 90), default=20.0, show_default=True,
              help="Degrees above the horizon.")
@click.option("--up", type=click.Choice(["x", "y", "z"]), default="y", show_default=True,
              help="The model's up axis.")
@click.option("--fov", type=click.FloatRange(1, 150), default=30.0, show_default=True,
              help="Vertical field of view in degrees.")
@click.option("--orthographic", is_flag=True, help="Orthographic instead of perspective projection.")
@click.option("--heatmap", is_flag=True, help="Colour pixels by the cells each ray crossed (render cost).")
@click.option("--lod", default=None, metavar="N1,N2,...",
              help="Level of detail: one labelled frame per leaf budget (of a progressive file, its largest "
                   "level within the budget; else the tree cut down to it), side by side in a PNG, one after "
                   "another in a GIF/MP4.")
def render(tree: str, output: str, normals: str | None, size: tuple[int, int], frames: int | None,
           fps: float, azimuth: float, elevation: float, up: str, fov: float, orthographic: bool,
           heatmap: bool, lod: str | None) -> None:
    """Render an occupancy TREE by exact ray casting to a PNG, or a turntable GIF/MP4."""
    out = check_output(output, IMAGE_SUFFIXES)
    still = out.suffix.lower() == ".png"
    budgets = None
    if lod is not None:
        try:
            budgets = [int(b) for b in lod.split(",")]
        except ValueError:
            raise click.BadParameter(f"must be leaf counts separated by commas, got {lod!r}",
                                     param_hint="--lod") from None
        if not budgets or min(budgets) < 1:
            raise click.BadParameter(f"leaf counts must be >= 1, got {lod!r}", param_hint="--lod")
        if frames is not None or heatmap or normals:
            raise click.UsageError("--lod makes one frame per budget: drop --frames, --heatmap and --normals")
    if still and frames not in (None, 1):
        raise click.UsageError(f"{out}: a PNG holds one frame; write a .gif or .mp4 for --frames {frames}")
    if heatmap and normals:
        raise click.UsageError("--heatmap shows render cost and ignores shading: drop --normals")
    t = shapetree.load(tree)
    normal_trees = shapetree.read_trees(normals, shapetree.Kind.NORMALS) if normals else None
    view = {"azimuth": azimuth, "elevation": elevation, "up": up, "fov": fov, "orthographic": orthographic}
    t0 = time.perf_counter()
    if budgets is not None:
        sizes = shapetree.level_sizes(tree)  # a progressive file: draw its own levels of detail
        levels = [shapetree.load(tree, max_leaves=n) for n, _ in sizes] if len(sizes) > 1 else None
        images = render_lod(t, budgets, size, side_by_side=still, levels=levels, **view)
    elif still:
        images = [shapetree.render(t, size=size, normal_trees=normal_trees, heatmap=heatmap, **view)]
    else:
        images = turntable(t, frames or 36, size, normal_trees=normal_trees, heatmap=heatmap, **view)
    seconds = time.perf_counter() - t0
    write_frames(out, images, fps=fps)
    h, w = images[0].shape[:2]
    click.echo(f"wrote {out}: {len(images)} frame{'s' if len(images) > 1 else ''} of {w}x{h}, {seconds:.2f} s")
