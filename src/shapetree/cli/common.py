"""What the commands share: output paths checked before any work, and seed options."""

from __future__ import annotations

from pathlib import Path

import click

# The seeds build() tells apart (shapetree.validate.MAX_SEED; tests/test_arguments.py holds them equal).
SEED = click.IntRange(0, 2**63 - 1)


def check_output(path: str, suffixes: tuple[str, ...]) -> Path:
    """The output path, if it ends with one of ``suffixes`` and its folder exists (else a usage error)."""
    out = Path(path)
    if out.suffix.lower() not in suffixes:
        raise click.BadParameter(f"{out}: output must end with {' or '.join(suffixes)}", param_hint="-o")
    if out.exists() and out.is_dir():
        raise click.BadParameter(f"{out}: is a directory", param_hint="-o")
    if not out.parent.exists() and str(out.parent):
        raise click.BadParameter(f"{out.parent}: output folder does not exist", param_hint="-o")
    return out


def given(**options) -> dict:
    """The options the user gave (not None): the API's own defaults apply to the rest."""
    return {k: v for k, v in options.items() if v is not None}
