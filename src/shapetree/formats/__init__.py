"""Tree file formats: ``.stree`` v2 (the default) and v1, and treed (the reference implementation's)."""

from .atomic import atomic_output, write_atomic
from .encoding import Encoding, encoding_of
from .progressive import Levels
from .quantized import quantize
from .registry import FORMATS, decode_stree, format_of, level_sizes, load, read_trees, save, write_trees
from .stree_v2 import encode_trees
from .treed import decode_treed, encode_treed

__all__ = [
    "FORMATS",
    "Encoding",
    "Levels",
    "atomic_output",
    "decode_stree",
    "decode_treed",
    "encode_treed",
    "encode_trees",
    "encoding_of",
    "format_of",
    "level_sizes",
    "load",
    "quantize",
    "read_trees",
    "save",
    "write_atomic",
    "write_trees",
]
