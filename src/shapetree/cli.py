"""The command line, thin: parse, call the API, report. Errors become one line and exit 1/2."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .errors import ShapetreeError, UsageError


class _Group(click.Group):
    """Every failure becomes one line on stderr: usage mistakes exit 2, bad files and other
    shapetree errors exit 1, an interrupt exits 130. Never a traceback."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as e:
            click.echo(e.ctx.get_help())
            sys.exit(0)
        except click.UsageError as e:
            hint = f" (see '{e.ctx.command_path} --help')" if e.ctx is not None else ""
            click.echo(f"shapetree: error: {e.format_message()}{hint}", err=True)
            sys.exit(2)
        except click.ClickException as e:
            click.echo(f"shapetree: error: {e.format_message()}", err=True)
            sys.exit(e.exit_code or 1)
        except ShapetreeError as e:
            click.echo(f"shapetree: error: {e}", err=True)
            sys.exit(2 if isinstance(e, UsageError) else 1)
        except (KeyboardInterrupt, click.exceptions.Abort):
            click.echo("shapetree: interrupted", err=True)
            sys.exit(130)
        except MemoryError:
            click.echo("shapetree: error: out of memory", err=True)
            sys.exit(1)
        except OSError as e:
            click.echo(f"shapetree: error: {e.filename or ''}: {e.strerror or e}", err=True)
            sys.exit(1)
        if isinstance(rv, int) and not isinstance(rv, bool):
            sys.exit(rv)
        sys.exit(0)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="shapetree")
def main() -> None:
    """Turn triangle meshes into oblique decision trees, query and render them."""


def _check_output(path: str, suffixes: tuple[str, ...]) -> Path:
    out = Path(path)
    if out.suffix.lower() not in suffixes:
        raise click.BadParameter(f"{out}: output must end with {' or '.join(suffixes)}", param_hint="-o")
    if out.exists() and out.is_dir():
        raise click.BadParameter(f"{out}: is a directory", param_hint="-o")
    if not out.parent.exists() and str(out.parent):
        raise click.BadParameter(f"{out.parent}: output folder does not exist", param_hint="-o")
    return out


@main.command()
@click.argument("mesh", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, help="Output .stree file.")
@click.option("--max-leaves", type=click.IntRange(2, 5_000_000), default=None,
              help="Leaf budget (default: the builder's quality default).")
@click.option("--max-depth", type=click.IntRange(1, 200), default=None, help="Depth limit.")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True,
              help="Random seed; same input and seed give byte-identical output.")
@click.option("--spike-tol", type=click.FloatRange(0, 0.5), default=None,
              help="Cut cells reaching farther than this (fraction of the box) out of the surface; "
                   "0: off (default: the builder's).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def build(mesh: str, output: str, max_leaves: int | None, max_depth: int | None, seed: int,
          spike_tol: float, quiet: bool) -> None:
    """Build an occupancy tree from MESH and write it to OUTPUT."""
    from .build import DEFAULT_MAX_DEPTH, DEFAULT_MAX_LEAVES, DEFAULT_SPIKE_TOL, build_tree
    from .mesh import load_mesh

    out = _check_output(output, (".stree",))
    m = load_mesh(mesh)
    tree = build_tree(
        m,
        max_leaves=max_leaves or DEFAULT_MAX_LEAVES,
        max_depth=max_depth or DEFAULT_MAX_DEPTH,
        seed=seed,
        spike_tol=DEFAULT_SPIKE_TOL if spike_tol is None else spike_tol,
        progress=not quiet,
    )
    tree.save(out)
    stats = tree.meta.get("stats", {})
    secs = stats.get("seconds")
    click.echo(
        f"wrote {out}: {tree.n_leaves} leaves, depth {tree.depth}, {out.stat().st_size} bytes"
        + (f", {secs:.1f} s" if secs is not None else "")
    )


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
def info(file: str) -> None:
    """Print what a .stree file holds."""
    from .format import read_trees
    from .tree import KIND_NAMES

    trees = read_trees(file)
    size = Path(file).stat().st_size
    leaves = sum(t.n_leaves for t in trees)
    lo, hi = trees[0].bounds
    click.echo(f"file       {file}")
    click.echo(f"kind       {KIND_NAMES[trees[0].kind]}")
    click.echo(f"trees      {len(trees)}")
    click.echo(f"leaves     {leaves}")
    click.echo(f"depth      {max(t.depth for t in trees)}")
    click.echo(f"bounds     [{lo[0]:.6g}, {lo[1]:.6g}, {lo[2]:.6g}] .. [{hi[0]:.6g}, {hi[1]:.6g}, {hi[2]:.6g}]")
    click.echo(f"bytes      {size}")
    click.echo(f"bytes/leaf {size / leaves:.2f}")


@main.command(name="eval")
@click.argument("tree", type=click.Path(dir_okay=False))
@click.argument("mesh", type=click.Path(dir_okay=False))
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True)
@click.option("--surface", is_flag=True,
              help="Also Chamfer-L1, F-score at 1 % and 2 % and normal consistency (slower: meshes the tree).")
def eval_(tree: str, mesh: str, seed: int, surface: bool) -> None:
    """Measure TREE against MESH: volumetric IoU and near-surface accuracy (Occupancy Networks
    protocol, distances in units of the mesh box's longest side)."""
    from .format import load
    from .mesh import load_mesh
    from .metrics import occupancy_metrics, surface_metrics

    t = load(tree)
    m = load_mesh(mesh)
    r = occupancy_metrics(t, m, seed=seed)
    click.echo(f"iou            {r['iou']:.4f}")
    click.echo(f"near_accuracy  {r['near_accuracy']:.4f}")
    if surface:
        s = surface_metrics(t, m, seed=seed)
        click.echo(f"chamfer_l1     {s['chamfer_l1']:.5f}")
        click.echo(f"fscore_1pct    {s['fscore_1']:.4f}")
        click.echo(f"fscore_2pct    {s['fscore_2']:.4f}")
        click.echo(f"normal_consist {s['normal_consistency']:.4f}")


@main.command(name="import-treed")
@click.argument("input", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, help="Output .stree file.")
@click.option("--kind", type=click.Choice(["occupancy", "normals"]), default="occupancy",
              show_default=True, help="What the treed file holds (the format has no header to tell).")
@click.option("--bounds-from", type=click.Path(dir_okay=False), default=None,
              help="A .stree file whose bounds a normal-map file uses (normal-map treed files have none).")
def import_treed(input: str, output: str, kind: str, bounds_from: str | None) -> None:
    """Convert a tree in the reference implementation's binary format ("treed") to .stree."""
    from .format import read_treed_trees, read_trees, write_trees
    from .tree import NORMALS, OCCUPANCY

    out = _check_output(output, (".stree",))
    bounds = None
    if kind == "normals":
        if bounds_from is None:
            raise UsageError("--kind normals needs --bounds-from FILE.stree (treed normal maps have no bounds)")
        bounds = read_trees(bounds_from)[0].bounds
    trees = read_treed_trees(input, NORMALS if kind == "normals" else OCCUPANCY, bounds)
    write_trees(out, trees)
    leaves = sum(t.n_leaves for t in trees)
    click.echo(
        f"wrote {out}: {len(trees)} {kind} tree{'s' if len(trees) > 1 else ''}, {leaves} leaves, "
        f"depth {max(t.depth for t in trees)}, {out.stat().st_size} bytes"
    )


@main.command()
@click.argument("tree", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, help="Output image: .png (one view), .gif or .mp4 (a turntable).")
@click.option("--normals", "normals", type=click.Path(dir_okay=False), default=None,
              help="A normal-map .stree (from `shapetree normals`) used for shading.")
@click.option("--size", nargs=2, type=click.IntRange(1, 8192), default=(512, 512), show_default=True,
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
              help="Level of detail: one labelled frame per leaf budget (the tree cut down to it), "
                   "side by side in a PNG, one after another in a GIF/MP4.")
def render(tree: str, output: str, normals: str | None, size: tuple[int, int], frames: int | None,
           fps: float, azimuth: float, elevation: float, up: str, fov: float, orthographic: bool,
           heatmap: bool, lod: str | None) -> None:
    """Render an occupancy TREE by exact ray casting to a PNG, or a turntable GIF/MP4."""
    import time

    import numpy as np

    from .format import load, read_trees
    from .render import IMAGE_SUFFIXES, lod_animation, truncated, turntable, write_frames
    from .render import render as render_image
    from .tree import NORMALS

    out = _check_output(output, IMAGE_SUFFIXES)
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
    t = load(tree)
    normal_trees = read_trees(normals, NORMALS) if normals else None
    orbit = {"up": up, "fov": fov, "orthographic": orthographic}
    t0 = time.perf_counter()
    if budgets is not None:
        images = lod_animation([truncated(t, b) for b in budgets], size, azimuth=azimuth, elevation=elevation,
                               **orbit)
        if still:
            images = [np.concatenate(images, axis=1)]
    elif still:
        images = [render_image(t, size=size, normal_trees=normal_trees, heatmap=heatmap,
                               azimuth=azimuth, elevation=elevation, **orbit)]
    else:
        images = turntable(t, frames or 36, size, azimuth=azimuth, elevation=elevation,
                           normal_trees=normal_trees, heatmap=heatmap, **orbit)
    seconds = time.perf_counter() - t0
    write_frames(out, images, fps=fps)
    h, w = images[0].shape[:2]
    click.echo(f"wrote {out}: {len(images)} frame{'s' if len(images) > 1 else ''} of {w}x{h}, {seconds:.2f} s")


@main.command()
@click.argument("tree", type=click.Path(dir_okay=False))
@click.argument("mesh", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, help="Output normal-map .stree file.")
@click.option("--trees", "n_trees", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Trees in the boosted ensemble (each fits what the previous ones left).")
@click.option("--max-leaves", type=click.IntRange(1, 1_000_000), default=4096, show_default=True,
              help="Leaf budget of each tree.")
@click.option("--samples", type=click.IntRange(16, 20_000_000), default=200_000, show_default=True,
              help="Training points near the surface.")
@click.option("--flat", is_flag=True, help="Fit face normals instead of interpolated vertex normals.")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True)
def normals(tree: str, mesh: str, output: str, n_trees: int, max_leaves: int, samples: int, flat: bool,
            seed: int) -> None:
    """Fit normal-map trees to MESH's surface normals, on the bounds of the occupancy TREE."""
    import numpy as np

    from .format import load, write_trees
    from .mesh import load_mesh
    from .normals import angular_error, fit_normal_map, predict_normals, surface_normal_samples

    out = _check_output(output, (".stree",))
    occupancy = load(tree)
    m = load_mesh(mesh)
    trees = fit_normal_map(m, occupancy.bounds, n_trees=n_trees, max_leaves=max_leaves, samples=samples,
                           smooth=not flat, seed=seed)
    write_trees(out, trees)
    points, truth = surface_normal_samples(m, 20_000, np.random.default_rng(seed + 0x5EED), smooth=not flat)
    err = angular_error(predict_normals(trees, points), truth)
    click.echo(f"wrote {out}: {n_trees} tree{'s' if n_trees > 1 else ''}, "
               f"{sum(t.n_leaves for t in trees)} leaves, {out.stat().st_size} bytes; "
               f"held-out angular error mean {err.mean():.2f} deg, median {np.median(err):.2f} deg")


from .viewer.commands import export_web, view

main.add_command(view)
main.add_command(export_web)
