"""What one tree file may hold: one occupancy tree, or one or more normal-map trees."""

from __future__ import annotations

from ..errors import FormatError
from ..tree import Kind, Tree


def writable_kind(trees: list[Tree], occupancy_file: str) -> Kind:
    """The kind shared by the trees of one file, or a ``FormatError``."""
    if not trees:
        raise FormatError("nothing to write: no trees")
    kind = trees[0].kind
    if any(t.kind != kind for t in trees):
        raise FormatError("all trees of one file must be of the same kind")
    if kind == Kind.OCCUPANCY and len(trees) != 1:
        raise FormatError(f"{occupancy_file} holds exactly one tree")
    return kind
