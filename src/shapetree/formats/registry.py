"""Tree file formats by magic and suffix, and the one way files are read and written."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import validate
from ..errors import FormatError, UsageError
from ..tree import Kind, Tree
from . import progressive as prog
from . import stree_v1, stree_v2, treed
from .atomic import write_atomic
from .progressive import Levels
from .quantized import DISAGREEMENT_BUDGET


@dataclass(frozen=True)
class Format:
    """A file format: its name, the suffixes it is written with, its magic (None: it has none)."""

    name: str
    suffixes: tuple[str, ...]
    magic: bytes | None
    decode: Callable[..., list[Tree]]
    encode: Callable[..., bytes]


def decode_stree(data: bytes, name: str = "<bytes>", max_leaves: int | None = None) -> list[Tree]:
    """A ``.stree`` file of either version; of a progressive file the level ``max_leaves`` picks (see
    ``load``)."""
    if prog.is_progressive(data):
        return prog.read_levels(io.BytesIO(data), len(data), name, max_leaves)
    if stree_v2.is_v2(data):
        return stree_v2.decode_trees(data, name)
    return stree_v1.decode_trees(data, name)


STREE = Format("stree", (".stree",), stree_v1.MAGIC, decode_stree, stree_v2.encode_trees)
STREE_V1 = Format("stree-v1", (".stree",), stree_v1.MAGIC, stree_v1.decode_trees, stree_v1.encode_trees)
TREED = Format("treed", treed.TREED_SUFFIXES, None, treed.decode_treed, treed.encode_treed)
FORMATS = (STREE, STREE_V1, TREED)


def read_bytes(path: str | Path) -> bytes:
    """A file's bytes, or one ``FormatError`` line naming the file and the problem."""
    with _opened(path) as f:
        return f.read()


@contextlib.contextmanager
def _opened(path: str | Path):
    """The file open for reading, its OS errors turned into one ``FormatError`` line naming it."""
    p = Path(path)
    try:
        f = p.open("rb")
    except FileNotFoundError:
        raise FormatError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise FormatError(f"{p}: is a directory, not a tree file") from None
    except OSError as e:
        raise FormatError(f"{p}: cannot read ({e.strerror})") from None
    try:
        with f:
            yield f
    except OSError as e:
        raise FormatError(f"{p}: cannot read ({e.strerror})") from None


def _size(f) -> int:
    return os.fstat(f.fileno()).st_size


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


def decode_file(path: str | Path, data: bytes, format: str | None = None, kind: Kind | None = None,
                bounds: np.ndarray | None = None) -> list[Tree]:
    """The trees of the file ``path`` whose bytes are ``data`` (every level of a progressive one read:
    its finest tree), validated in full; the arguments as ``read_trees``'s."""
    fmt = format_of(path, data) if format is None else _named(format)
    if fmt is TREED:
        return treed.decode_treed(data, Kind.OCCUPANCY if kind is None else kind, str(path), bounds)
    return (stree_v1.decode_trees if fmt is STREE_V1 else decode_stree)(data, str(path))


def read_trees(path: str | Path, kind: Kind | None = None, *, format: str | None = None,
               bounds: np.ndarray | None = None, max_leaves: int | None = None) -> list[Tree]:
    """Every tree of a file, optionally requiring a kind. ``format`` ("stree" or "treed") defaults
    to the file's magic, then its suffix; ``bounds`` ((2, 3)) are needed for treed normal-map
    files, which carry none. ``max_leaves``: of a progressive file, the level ``load`` picks, reading
    only the bytes it needs."""
    if max_leaves is not None:
        validate.integer("max_leaves", max_leaves, 1, 1 << 40)
    with _opened(path) as f:
        head = f.read(stree_v2.PREFIX)
        if format in (None, "stree") and prog.is_progressive(head):
            trees = prog.read_levels(f, _size(f), str(path), max_leaves, start=head)
        else:
            trees = decode_file(path, head + f.read(), format, kind, bounds)
    if kind is not None and trees[0].kind != kind:
        has, needed = trees[0].kind.label, Kind(kind).label
        raise FormatError(f"{path}: holds {_a(has)} {has} tree, but {_a(needed)} {needed} tree is needed")
    return trees


def load(path: str | Path, max_leaves: int | None = None) -> Tree:
    """Read an occupancy tree from a file (``.stree`` or treed). ``max_leaves``: of a progressive file
    (several levels of detail, see ``save``), the largest level with at most that many leaves, or
    the smallest level when every level is larger; only the header, the level table and the
    chunks up to that level are read from disk. A file with one level returns its tree whatever
    ``max_leaves`` is."""
    return read_trees(path, Kind.OCCUPANCY, max_leaves=max_leaves)[0]


def level_sizes(path: str | Path) -> list[tuple[int, int]]:
    """The levels of detail a file holds, coarse to fine: ``(leaves, bytes read to load it)`` per
    level (one level, the whole file, for a file that is not progressive)."""
    with _opened(path) as f:
        head = f.read(stree_v2.PREFIX)
        size = _size(f)
        if prog.is_progressive(head):
            return [(lv.leaves, lv.file_bytes) for lv in prog.level_table(f, size, str(path), head)]
    trees = read_trees(path)
    return [(sum(t.n_leaves for t in trees), size)]


def write_trees(path: str | Path, trees: list[Tree], format: str | None = None, *, lossless: bool = False,
                progressive: Levels | None = None, budget=DISAGREEMENT_BUDGET) -> None:
    """Write trees atomically, in ``format`` ("stree" (v2), "stree-v1" or "treed"; default: by the
    suffix, .stree v2 for anything else). v2 quantises the planes (``formats.quantize`` gives the
    tree as stored; the precision the lowest within the disagreement ``budget``) unless
    ``lossless``; v1 and treed always store float32. ``progressive``: levels of detail whose finest
    level is the one tree (see ``save``)."""
    if format is None:
        suffix = Path(path).suffix.lower()
        fmt = next((f for f in FORMATS if suffix in f.suffixes), STREE)
    else:
        fmt = _named(format)
    trees = list(trees)
    if progressive is not None:
        if fmt is not STREE or lossless:
            raise UsageError("progressive files are .stree v2 with quantised planes (not lossless, not v1 or treed)")
        if len(trees) != 1 or not _same_tree(progressive.trees[-1], trees[0]):
            raise UsageError("the finest level of a progressive file must be the tree written")
        write_atomic(path, prog.encode_file(progressive, budget=budget))
        return
    write_atomic(path, fmt.encode(trees, lossless=lossless, budget=budget) if fmt is STREE else fmt.encode(trees))


def save(trees: Tree | list[Tree], path: str | Path, lossless: bool = False, *,
         progressive: Levels | None = None, budget=None) -> None:
    """Write one tree (or a normal-map ensemble) to ``path`` atomically: ``.stree`` v2 with quantised
    planes (``lossless``: float32 planes) unless the suffix names another format. ``progressive``
    (``shapetree.detail_levels(order)``, levels of detail ending at this tree): one file holding
    every level, coarse first, that ``load(path, max_leaves=N)`` reads only a prefix of.
    ``budget``: the volume, a fraction of the tree's inside volume, where the quantised tree may
    disagree with the float32 one (the precision is the lowest within it; None: 1e-3); with the mesh
    known, ``shapetree.quantization_budget(tree, mesh)`` checks the quantised tree against the mesh
    instead (its error may rise by at most 2.5e-4 of the volume, an upper bound), so accurate trees keep the bits
    they need and coarse ones drop those their error hides (``shapetree build``, ``simplify --mesh``
    and ``refine`` do that)."""
    write_trees(path, [trees] if isinstance(trees, Tree) else list(trees), lossless=lossless,
                progressive=progressive, budget=DISAGREEMENT_BUDGET if budget is None else budget)


def _same_tree(a: Tree, b: Tree) -> bool:
    return all(np.array_equal(getattr(a, f), getattr(b, f)) for f in ("left", "right", "value", "normal", "offset",
                                                                       "bounds", "origin")) and a.scale == b.scale


def _a(word: str) -> str:
    """The indefinite article of a kind's label ("an occupancy", "a normal-map")."""
    return "an" if word[:1].lower() in "aeiou" else "a"
