"""Tree file formats by magic and suffix, and the one way files are read and written."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import FormatError
from ..tree import Kind, Tree
from . import stree_v1, stree_v2, treed
from .atomic import write_atomic


@dataclass(frozen=True)
class Format:
    """A file format: its name, the suffixes it is written with, its magic (None: it has none)."""

    name: str
    suffixes: tuple[str, ...]
    magic: bytes | None
    decode: Callable[..., list[Tree]]
    encode: Callable[..., bytes]


def decode_stree(data: bytes, name: str = "<bytes>") -> list[Tree]:
    """A ``.stree`` file of either version."""
    if len(data) > 4 and data[:4] == stree_v1.MAGIC and data[4] == stree_v2.VERSION:
        return stree_v2.decode_trees(data, name)
    return stree_v1.decode_trees(data, name)


STREE = Format("stree", (".stree",), stree_v1.MAGIC, decode_stree, stree_v2.encode_trees)
STREE_V1 = Format("stree-v1", (".stree",), stree_v1.MAGIC, stree_v1.decode_trees, stree_v1.encode_trees)
TREED = Format("treed", treed.TREED_SUFFIXES, None, treed.decode_treed, treed.encode_treed)
FORMATS = (STREE, STREE_V1, TREED)


def read_bytes(path: str | Path) -> bytes:
    """A file's bytes, or one ``FormatError`` line naming the file and the problem."""
    p = Path(path)
    try:
        return p.read_bytes()
    except FileNotFoundError:
        raise FormatError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise FormatError(f"{p}: is a directory, not a tree file") from None
    except OSError as e:
        raise FormatError(f"{p}: cannot read ({e.strerror})") from None


def format_of(path: str | Path, data: bytes) -> Format:
    """The format of a file: by magic first, then (formats without one) by suffix."""
    for f in FORMATS:
        if f.magic is not None and data[: len(f.magic)] == f.magic:
            return f
    suffix = Path(path).suffix.lower()
    for f in FORMATS:
        if f.magic is None and suffix in f.suffixes:
            return f
    return STREE  # its decoder names what is wrong with the file


def _named(name: str) -> Format:
    for f in FORMATS:
        if f.name == name:
            return f
    raise FormatError(f"unknown tree format {name!r} (use {', '.join(f.name for f in FORMATS)})")


def read_trees(path: str | Path, kind: Kind | None = None, *, format: str | None = None,
               bounds: np.ndarray | None = None) -> list[Tree]:
    """Every tree of a file, optionally requiring a kind. ``format`` ("stree" or "treed") defaults
    to the file's magic, then its suffix; ``bounds`` ((2, 3)) are needed for treed normal-map
    files, which carry none."""
    data = read_bytes(path)
    fmt = format_of(path, data) if format is None else _named(format)
    if fmt is TREED:
        trees = treed.decode_treed(data, Kind.OCCUPANCY if kind is None else kind, str(path), bounds)
    else:
        trees = decode_stree(data, str(path))
    if kind is not None and trees[0].kind != kind:
        has, needed = trees[0].kind.label, Kind(kind).label
        raise FormatError(f"{path}: holds {_a(has)} {has} tree, but {_a(needed)} {needed} tree is needed")
    return trees


def load(path: str | Path) -> Tree:
    """Read an occupancy tree from a file (``.stree`` or treed)."""
    return read_trees(path, Kind.OCCUPANCY)[0]


def write_trees(path: str | Path, trees: list[Tree], format: str | None = None, *, lossless: bool = False) -> None:
    """Write trees atomically, in ``format`` ("stree" (v2), "stree-v1" or "treed"; default: by the
    suffix, .stree v2 for anything else). v2 quantises the planes (``formats.quantize`` gives the
    tree as stored) unless ``lossless``; v1 and treed always store float32."""
    if format is None:
        suffix = Path(path).suffix.lower()
        fmt = next((f for f in FORMATS if suffix in f.suffixes), STREE)
    else:
        fmt = _named(format)
    write_atomic(path, fmt.encode(list(trees), lossless=True) if fmt is STREE and lossless else fmt.encode(list(trees)))


def save(trees: Tree | list[Tree], path: str | Path, lossless: bool = False) -> None:
    """Write one tree (or a normal-map ensemble) to ``path`` atomically: ``.stree`` v2 with quantised
    planes (``lossless``: float32 planes) unless the suffix names another format."""
    write_trees(path, [trees] if isinstance(trees, Tree) else list(trees), lossless=lossless)


def _a(word: str) -> str:
    """The indefinite article of a kind's label ("an occupancy", "a normal-map")."""
    return "an" if word[:1].lower() in "aeiou" else "a"
