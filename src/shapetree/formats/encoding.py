"""How a tree file is encoded: its format and version, plane coding, precision and header
(what ``shapetree info`` prints)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from . import progressive, stree_v1, stree_v2
from .quantized import precision_of
from .registry import TREED, decode_file, format_of, read_bytes


@dataclass(frozen=True)
class Encoding:
    """A tree file's encoding. ``format``: "stree" or "treed"; ``version``: the ``.stree`` version;
    ``coding``: the v2 plane coding (0: float32 planes; v1 files are float32 too); ``precision`` and
    ``normal_extra``: a quantised file's (planes within ``2^-precision`` of the root box's longest
    side); ``progressive``: levels of detail in one file; ``compact``: the compact v2 header."""

    format: str
    version: int | None = None
    coding: int | None = None
    precision: float | None = None
    normal_extra: int | None = None
    progressive: bool = False
    compact: bool = False

    def describe(self) -> str:
        """One line, e.g. ``.stree v2, plane coding 4 at precision 12.5 (2^-12.5 of the box), progressive,
        compact header``."""
        if self.format == TREED.name:
            return "treed (the reference implementation's format), float32 planes"
        parts = [f".stree v{self.version}"]
        if not self.coding:
            parts.append("float32 planes (lossless)")
        else:
            parts.append(f"plane coding {self.coding} at precision {self.precision:g} (2^-{self.precision:g} of the box)")
            if self.normal_extra:
                parts.append(f"{self.normal_extra} extra normal bits")
        if self.progressive:
            parts.append("progressive")
        if self.version == stree_v2.VERSION:
            parts.append("compact header" if self.compact else "long header")
        return ", ".join(parts)


def encoding_of(path: str | Path) -> Encoding:
    """The encoding of the tree file at ``path``, which is read once and validated in full first (a bad
    file raises the ``FormatError`` that ``read_trees`` gives)."""
    data = read_bytes(path)
    decode_file(path, data)
    name = str(path)
    if format_of(path, data) is TREED:
        return Encoding(TREED.name)
    if not stree_v2.is_v2(data):
        return Encoding("stree", stree_v1.VERSION, stree_v2.FLOAT32_PLANES)
    if progressive.is_progressive(data):
        h, levels, head = progressive.read_table(io.BytesIO(data).read, len(data), name)
        blocks = data[len(head):len(head) + levels[0].packed_end]
    else:
        h = stree_v2.parse_header(data, name)
        blocks = data[h.size:h.size + h.packed_size]
    base = Encoding("stree", stree_v2.VERSION, h.coding, progressive=bool(h.flags & stree_v2.PROGRESSIVE),
                    compact=h.compact)
    if h.coding == stree_v2.FLOAT32_PLANES:
        return base
    start = h.inflater().decompress(blocks, 2)  # the precision and normal_extra bytes (validated by decode_file)
    return Encoding(base.format, base.version, base.coding, precision_of(start[0], h.coding), start[1],
                    base.progressive, base.compact)
