"""The .stree v2 file format: planes in the tree's frame, deflated blocks, validated before inflating."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from factories import random_tree
from hypothesis import given, settings
from hypothesis import strategies as st

from shapetree import FormatError, Kind, load, save
from shapetree.formats import decode_stree, encode_trees, quantize, read_trees, write_trees
from shapetree.formats.stree_v2 import HEADER
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


def valid() -> bytes:
    return encode_trees([framed_tree(np.random.default_rng(7), 60)], lossless=True)


def with_crc(body: bytes) -> bytes:
    return body + struct.pack("<I", zlib.crc32(body))


def patched(data: bytes, offset: int, fmt: str, value) -> bytes:
    body = bytearray(data[:-4])
    struct.pack_into(fmt, body, offset, value)
    return with_crc(bytes(body))


RAW_SIZE_AT = HEADER.size - 8
PACKED_SIZE_AT = HEADER.size - 4


@pytest.mark.parametrize("offset, fmt, value, message", [
    (5, "<B", 7, "unknown tree kind"),
    (6, "<B", 5, "plane coding"),
    (7, "<B", 2, "flags"),  # 1: a progressive file (test_progressive.py)
    (8, "<H", 2, "tree count"),
    (RAW_SIZE_AT, "<I", 10**9, "implausible"),
    (RAW_SIZE_AT, "<I", 5, "does not match"),
    (PACKED_SIZE_AT, "<I", 3, "packed bytes"),
    (HEADER.size - 16, "<d", -1.0, "frame"),
    (HEADER.size - 16, "<d", float("nan"), "frame"),
    (12, "<d", float("inf"), "bounds"),
])
def test_lying_headers_are_rejected_before_inflating(offset, fmt, value, message):
    with pytest.raises(FormatError, match=message):
        decode_stree(patched(valid(), offset, fmt, value))


def test_corrupted_payload_and_truncation_are_rejected():
    data = valid()
    body = bytearray(data[:-4])
    body[HEADER.size + 3] ^= 0xFF
    with pytest.raises(FormatError):
        decode_stree(with_crc(bytes(body)))
    for keep in (0, 10, HEADER.size, len(data) - 1):
        with pytest.raises(FormatError):
            decode_stree(data[:keep])


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_fuzzed_files_raise_only_format_errors(data):
    raw = bytearray(valid())
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
