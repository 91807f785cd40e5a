"""``formats.encoding_of``: a file's format, version, plane coding, precision and header, read from
the bytes written with known settings."""

from __future__ import annotations

import numpy as np
import pytest
from factories import UNIT_BOX, random_tree

from shapetree import FormatError, detail_levels, simplification_order
from shapetree.formats import Encoding, encode_trees, encoding_of, write_trees
from shapetree.formats import progressive as prog
from shapetree.formats.treed import encode_treed


def long_tree():
    """A tree in the identity frame: its v2 files have the long header."""
    return random_tree(np.random.default_rng(2), 120)


def compact_tree():
    """A tree in its bounds' frame: its v2 files have the compact header."""
    return random_tree(np.random.default_rng(2), 120, bounds=UNIT_BOX / 2).replace(bounds=UNIT_BOX, scale=2.0)


@pytest.mark.parametrize("coding, precision", [(4, 12.75), (4, 10), (3, 13), (2, 11)])
@pytest.mark.parametrize("make, compact", [(long_tree, False), (compact_tree, True)])
def test_flat_files_report_their_coding_and_precision(tmp_path, make, compact, coding, precision):
    path = tmp_path / "t.stree"
    path.write_bytes(encode_trees([make()], precision=precision, coding=coding))
    e = encoding_of(path)
    assert e == Encoding("stree", 2, coding, precision, 0, False, compact)
    assert e.describe() == (f".stree v2, plane coding {coding} at precision {precision:g} (2^-{precision:g} of the box), "
                            + ("compact header" if compact else "long header"))


def test_normal_extra_is_reported(tmp_path):
    path = tmp_path / "t.stree"
    path.write_bytes(encode_trees([compact_tree()], precision=12, normal_extra=2))
    e = encoding_of(path)
    assert (e.precision, e.normal_extra) == (12, 2) and "2 extra normal bits" in e.describe()


def test_lossless_and_v1_files_are_float32(tmp_path):
    lossless, v1 = tmp_path / "l.stree", tmp_path / "v1.stree"
    lossless.write_bytes(encode_trees([compact_tree()], lossless=True))
    write_trees(v1, [long_tree()], format="stree-v1")
    assert encoding_of(lossless) == Encoding("stree", 2, 0, compact=True)
    assert encoding_of(lossless).describe() == ".stree v2, float32 planes (lossless), compact header"
    assert encoding_of(v1) == Encoding("stree", 1, 0)
    assert encoding_of(v1).describe() == ".stree v1, float32 planes (lossless)"


@pytest.mark.parametrize("make, compact", [(long_tree, False), (compact_tree, True)])
def test_progressive_files_report_their_levels_precision(tmp_path, make, compact):
    order = simplification_order(make(), n_samples=20_000, min_leaves=16)
    path = tmp_path / "p.stree"
    path.write_bytes(prog.encode_file(detail_levels(order), precision=11.5))
    e = encoding_of(path)
    assert e == Encoding("stree", 2, 4, 11.5, 0, True, compact)
    assert ", progressive, " in e.describe()


def test_treed_files(tmp_path):
    path = tmp_path / "t.bin"
    path.write_bytes(encode_treed([long_tree()]))
    assert encoding_of(path) == Encoding("treed")


def test_a_bad_file_is_the_format_error(tmp_path):
    path = tmp_path / "t.stree"
    data = bytearray(encode_trees([compact_tree()], precision=12))
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(FormatError, match="t.stree"):
        encoding_of(path)
    with pytest.raises(FormatError, match="missing.stree"):
        encoding_of(tmp_path / "missing.stree")
