"""What the commands share: output paths checked before any work, and seed options."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click

import shapetree

# The seeds build() tells apart (shapetree.validate.MAX_SEED; tests/test_arguments.py holds them equal).
SEED = click.IntRange(0, 2**63 - 1)


def check_output(path: str, suffixes: tuple[str, ...]) -> Path:
    """The output path, if it ends with one of ``suffixes`` and a file can be written in its
    folder (else a usage error naming it), so a build never runs only to fail at the end."""
    out = Path(path)
    if out.suffix.lower() not in suffixes:
        raise click.BadParameter(f"{out}: output must end with {' or '.join(suffixes)}", param_hint="-o")
    if out.is_dir():
        raise click.BadParameter(f"{out}: is a directory", param_hint="-o")
    folder = out.parent
    if not folder.exists():
        raise click.BadParameter(f"{folder}: output folder does not exist", param_hint="-o")
    if not folder.is_dir():
        raise click.BadParameter(f"{out}: cannot be written, {folder} is a file, not a folder", param_hint="-o")
    # The output is written beside itself and renamed into place: try exactly that.
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".probe", dir=folder)
    except OSError as e:
        raise click.BadParameter(f"{out}: cannot be written ({e.strerror or e})", param_hint="-o") from None
    os.close(fd)
    os.unlink(probe)
    return out


def given(**options) -> dict:
    """The options the user gave (not None): the API's own defaults apply to the rest."""
    return {k: v for k, v in options.items() if v is not None}


LADDER_START = 16  # the coarsest level of a progressive file (shapetree.formats.progressive.LADDER_START)


def save_tree(tree, out: Path, mesh=None, seed: int = 0, *, order=None, lossless: bool = False,
              flat: bool = False) -> None:
    """Write an occupancy tree as ``build`` and ``simplify`` do: progressive (its levels of detail from
    ``order``, else from the simplification order of ``tree`` on points labelled by ``mesh``, else by
    the tree itself) unless ``flat`` or ``lossless``; with ``mesh``, the planes keep the bits the
    tree's accuracy against it asks for (``shapetree.quantization_budget``)."""
    budget = shapetree.quantization_budget(tree, mesh) if mesh is not None and not lossless else None
    if flat or lossless:
        shapetree.save(tree, out, lossless=lossless, budget=budget)
        return
    if order is None:
        order = shapetree.simplification_order(tree, mesh=mesh, seed=seed, min_leaves=min(tree.n_leaves, LADDER_START))
    shapetree.save(tree, out, progressive=shapetree.detail_levels(order, max_leaves=tree.n_leaves), budget=budget)
