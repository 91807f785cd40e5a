"""Tree file formats: ``.stree`` v1 (ours) and treed (the reference implementation's)."""

from .atomic import atomic_output, write_atomic
from .registry import FORMATS, format_of, load, read_trees, save, write_trees
from .stree_v1 import decode_trees, encode_trees
from .treed import decode_treed, encode_treed

__all__ = [
    "FORMATS",
    "atomic_output",
    "decode_treed",
    "decode_trees",
    "encode_treed",
    "encode_trees",
    "format_of",
    "load",
    "read_trees",
    "save",
    "write_atomic",
    "write_trees",
]
