"""The .stree v2 file format: planes in the tree's frame, deflated blocks, validated before inflating."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from factories import random_tree
from hypothesis import given, settings
from hypothesis import strategies as st
from stree_files import header_size, long_framed, with_crc

from shapetree import FormatError, Kind, load, save
from shapetree.formats import decode_stree, encode_trees, quantize, read_trees, write_trees
from shapetree.formats.stree_v2 import COMPACT, COMPACT_HEADER, HEADER
from shapetree.tree import bounds_frame, trees_equal


def framed_tree(rng, n_leaves, kind=Kind.OCCUPANCY, bounds=((-3e7, 1e7, 5.0), (-3e7 + 12, 1e7 + 7, 9.0))):
    """A random tree whose planes act in the frame of far-away, small bounds."""
    origin, scale = bounds_frame(np.array(bounds))
    unit = random_tree(rng, n_leaves, kind, bounds=(np.array(bounds) - origin) / scale)
    return unit.replace(bounds=np.array(bounds), origin=origin, scale=scale)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_leaves=st.integers(1, 300), kind=st.sampled_from(list(Kind)))
def test_save_load_is_identity(seed, n_leaves, kind):
    rng = np.random.default_rng(seed)
    trees = [framed_tree(rng, n_leaves, kind)]
    if kind == Kind.NORMALS:
        trees.append(framed_tree(rng, max(1, n_leaves // 3), kind))
    back = decode_stree(encode_trees(trees, lossless=True))
    assert len(back) == len(trees) and all(trees_equal(a, b) for a, b in zip(trees, back, strict=True))


def test_a_framed_tree_evaluates_alike_after_a_file_round_trip(tmp_path):
    tree = framed_tree(np.random.default_rng(3), 500)
    save(tree, tmp_path / "t.stree", lossless=True)
    back = load(tmp_path / "t.stree")
    lo, hi = tree.bounds
    pts = np.random.default_rng(0).uniform(lo, hi, (50_000, 3))
    assert np.array_equal(back.contains(pts), tree.contains(pts))
    assert 0.05 < tree.contains(pts).mean() < 0.95  # planes in the frame really cut the box


def test_v1_cannot_hold_a_framed_tree_and_v1_files_still_load(tmp_path):
    tree = framed_tree(np.random.default_rng(1), 20)
    with pytest.raises(FormatError, match="v2"):
        write_trees(tmp_path / "t.stree", [tree], format="stree-v1")
    plain = random_tree(np.random.default_rng(1), 20)
    write_trees(tmp_path / "v1.stree", [plain], format="stree-v1")
    assert trees_equal(load(tmp_path / "v1.stree"), plain)
    assert (tmp_path / "v1.stree").read_bytes()[4] == 1


def valid(compact: bool = True) -> bytes:
    tree = framed_tree(np.random.default_rng(7), 60)
    data = encode_trees([tree if compact else long_framed(tree)], lossless=True)
    assert data[7] == (COMPACT if compact else 0)
    return data


def patched(data: bytes, offset: int, fmt: str, value) -> bytes:
    body = bytearray(data[:-4])
    struct.pack_into(fmt, body, offset, value)
    return with_crc(bytes(body))


LONG_RAW_SIZE_AT = HEADER.size - 8
LONG_PACKED_SIZE_AT = HEADER.size - 4
COMPACT_RAW_SIZE_AT = COMPACT_HEADER.size - 8
COMPACT_PACKED_SIZE_AT = COMPACT_HEADER.size - 4


@pytest.mark.parametrize("offset, fmt, value, message", [
    (5, "<B", 7, "unknown tree kind"),
    (6, "<B", 5, "plane coding"),
    (7, "<B", 4, "flags"),  # 1: a progressive file (test_progressive.py), 2: the compact header
    (7, "<B", 0x80, "flags"),
    (8, "<H", 2, "tree count"),
    (10, "<H", 1, "reserved"),
    (LONG_RAW_SIZE_AT, "<I", 10**9, "implausible"),
    (LONG_RAW_SIZE_AT, "<I", 5, "does not match"),
    (LONG_PACKED_SIZE_AT, "<I", 3, "packed bytes"),
    (HEADER.size - 16, "<d", -1.0, "frame"),
    (HEADER.size - 16, "<d", float("nan"), "frame"),
    (12, "<d", float("inf"), "bounds"),
])
def test_lying_headers_are_rejected_before_inflating(offset, fmt, value, message):
    with pytest.raises(FormatError, match=message):
        decode_stree(patched(valid(compact=False), offset, fmt, value))


@pytest.mark.parametrize("offset, fmt, value, message", [
    (5, "<B", 7, "unknown tree kind"),
    (6, "<B", 5, "plane coding"),
    (7, "<B", 6, "flags"),
    (7, "<B", 0x82, "flags"),
    (8, "<H", 2, "tree count"),
    (8, "<H", 0, "tree count"),
    (COMPACT_RAW_SIZE_AT, "<I", 10**9, "implausible"),
    (COMPACT_RAW_SIZE_AT, "<I", 5, "does not match"),
    (COMPACT_PACKED_SIZE_AT, "<I", 3, "packed bytes"),
    (COMPACT_PACKED_SIZE_AT, "<I", 2**32 - 1, "packed bytes"),
    (10, "<d", float("inf"), "bounds"),
    (10, "<d", 1e300, "bounds"),  # min above max
    (10, "<6d", (1.0, 2.0, 3.0, 1.0, 2.0, 3.0), r"invalid frame \(bounds without extent\)"),
    (10, "<6d", (-1.7e308, 0, 0, 1.7e308, 1, 1), r"invalid frame \(origin \[0.0, 0.5, 0.5\], scale inf\)"),
])
def test_lying_compact_headers_are_rejected_before_inflating(offset, fmt, value, message):
    data = valid()
    body = bytearray(data[:-4])
    if isinstance(value, tuple):
        struct.pack_into(fmt, body, offset, *value)
    else:
        struct.pack_into(fmt, body, offset, value)
    with pytest.raises(FormatError, match=f"^f.stree: .*{message}"):
        decode_stree(with_crc(bytes(body)), "f.stree")


@pytest.mark.parametrize("compact", [True, False])
def test_a_flipped_compact_flag_is_rejected(compact):
    data = valid(compact)
    with pytest.raises(FormatError, match="x.stree"):
        decode_stree(patched(data, 7, "<B", data[7] ^ COMPACT), "x.stree")


@pytest.mark.parametrize("compact", [True, False])
def test_corrupted_payload_and_truncation_are_rejected(compact):
    data = valid(compact)
    size = header_size(data)
    body = bytearray(data[:-4])
    body[size + 3] ^= 0xFF
    with pytest.raises(FormatError):
        decode_stree(with_crc(bytes(body)))
    for keep in (0, 10, COMPACT_HEADER.size, COMPACT_HEADER.size + 4, size, len(data) - 1):
        with pytest.raises(FormatError, match="t.stree"):
            decode_stree(data[:keep], "t.stree")
    long_head = valid(compact=False)[:HEADER.size]  # a long header, too short for its own layout
    with pytest.raises(FormatError, match="too short"):
        decode_stree(with_crc(long_head[:80]), "t.stree")


def test_a_built_tree_gets_the_compact_header_and_raw_deflate(tmp_path, bunny_lowres_path):
    import shapetree

    tree = shapetree.build(bunny_lowres_path, max_leaves=64, seed=0, progress=False)
    origin, scale = bounds_frame(tree.bounds)
    assert np.array_equal(tree.origin, origin) and tree.scale == scale
    for lossless in (False, True):
        data = encode_trees([tree], lossless=lossless)
        assert data[7] == COMPACT and header_size(data) == 66
        (raw_size, packed_size) = struct.unpack_from("<II", data, COMPACT_RAW_SIZE_AT)
        assert len(data) == 66 + packed_size + 4
        raw = zlib.decompressobj(-15).decompress(data[66:-4])  # raw deflate: no zlib header or Adler-32
        assert len(raw) == raw_size
        back = decode_stree(data)[0]
        assert trees_equal(back, tree if lossless else quantize(tree))
        assert back.origin.tobytes() == tree.origin.tobytes() and back.scale == tree.scale
        assert len(zlib.compress(raw, 9)) + HEADER.size + 4 == len(data) + 40  # what the long header takes
        long = encode_trees([long_framed(tree)], lossless=lossless)  # the same shape in another frame
        assert long[7] == 0 and trees_equal(decode_stree(long)[0], long_framed(tree) if lossless else
                                            quantize(long_framed(tree)))
        assert encode_trees([tree], lossless=lossless) == data  # deterministic
    shapetree.save(tree, tmp_path / "t.stree")
    assert (tmp_path / "t.stree").read_bytes()[7] == COMPACT


def test_a_frame_that_is_not_the_bounds_one_keeps_the_long_header():
    tree = framed_tree(np.random.default_rng(3), 200)
    origin, _ = bounds_frame(tree.bounds)
    others = [long_framed(tree), tree.replace(origin=origin + [0.0, 1e-9, 0.0])]
    plain = random_tree(np.random.default_rng(3), 50)  # the identity frame; its bounds' has scale 2
    zero = plain.replace(scale=2.0)  # the bounds' frame (the same planes in another frame: another shape)
    assert zero.origin.tobytes() == bounds_frame(zero.bounds)[0].tobytes()
    signed = zero.replace(origin=np.array([-0.0, 0.0, 0.0]))  # equal to it, but not bit for bit
    assert encode_trees([zero])[7] == COMPACT
    for t in others + [plain, signed]:
        for lossless in (True, False):
            data = encode_trees([t], lossless=lossless)
            assert data[7] == 0 and header_size(data) == 100
            assert len(zlib.decompress(data[100:-4])) == struct.unpack_from("<I", data, LONG_RAW_SIZE_AT)[0]
            back = decode_stree(data)[0]
            assert trees_equal(back, t if lossless else quantize(t))
            assert back.origin.tobytes() == t.origin.tobytes() and back.scale == t.scale


def test_normal_maps_get_the_compact_header_too():
    rng = np.random.default_rng(4)
    trees = [framed_tree(rng, 40, Kind.NORMALS), framed_tree(rng, 9, Kind.NORMALS)]
    for lossless in (True, False):
        data = encode_trees(trees, lossless=lossless)
        assert data[7] == COMPACT
        back = decode_stree(data)
        assert all(trees_equal(a, b if lossless else quantize(b)) for a, b in zip(back, trees, strict=True))


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_fuzzed_files_raise_only_format_errors(data):
    raw = bytearray(valid(data.draw(st.booleans())))
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    fix_crc = data.draw(st.booleans())
    blob = with_crc(bytes(raw[:-4])) if fix_crc else bytes(raw)
    try:
        decode_stree(blob)
    except FormatError:
        pass


def test_the_default_format_is_quantised_v2_and_read_trees_knows_both(tmp_path):
    tree = framed_tree(np.random.default_rng(5), 30)
    save(tree, tmp_path / "a.stree")
    assert (tmp_path / "a.stree").read_bytes()[4:7] == b"\x02\x00\x04"  # v2, occupancy, plane coding 4
    assert trees_equal(read_trees(tmp_path / "a.stree")[0], quantize(tree))
    save(tree, tmp_path / "b.stree", lossless=True)
    assert (tmp_path / "b.stree").read_bytes()[6] == 0
    assert trees_equal(read_trees(tmp_path / "b.stree")[0], tree)
