"""What the commands share: output paths checked before any work, and seed options."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click

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
