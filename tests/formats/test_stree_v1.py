"""The .stree format: round trips, compactness, and rejection of every kind of bad file."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from factories import random_tree
from hypothesis import given, settings
from hypothesis import strategies as st

from shapetree import FormatError, Kind, load
from shapetree.formats import read_trees, write_trees
from shapetree.formats.stree_v1 import HEADER, decode_trees, encode_trees
from shapetree.tree import trees_equal


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_leaves=st.integers(1, 400), kind=st.sampled_from([Kind.OCCUPANCY, Kind.NORMALS]))
def test_save_load_is_identity(seed, n_leaves, kind):
    rng = np.random.default_rng(seed)
    trees = [random_tree(rng, n_leaves, kind)]
    if kind == Kind.NORMALS:
        trees.append(random_tree(rng, max(1, n_leaves // 3), kind))
    back = decode_trees(encode_trees(trees))
    assert len(back) == len(trees)
    for a, b in zip(trees, back):
        assert trees_equal(a, b)
        pts = rng.uniform(-1.2, 1.2, (500, 3))
        assert np.array_equal(a.predict(pts), b.predict(pts))


def test_file_round_trip_and_size(tmp_path):
    tree = random_tree(np.random.default_rng(1), 1000)
    path = tmp_path / "t.stree"
    write_trees(path, [tree], format="stree-v1")
    back = load(path)
    assert trees_equal(tree, back)
    n_nodes = 2 * 1000 - 1
    expected = HEADER.size + 4 + (n_nodes + 1000 + 7) // 8 + 16 * 999 + 4
    assert path.stat().st_size == expected
    assert path.stat().st_size / 1000 < 16.5  # planes as float32 dominate; structure ~3 bits/node
    assert not list(tmp_path.glob(".*tmp"))  # no temp file left behind


def _valid_bytes() -> bytes:
    return encode_trees([random_tree(np.random.default_rng(7), 40)])


def _with_crc(body: bytes) -> bytes:
    return body + struct.pack("<I", zlib.crc32(body))


def test_truncated_file_is_rejected():
    data = _valid_bytes()
    for cut in (0, 3, 10, HEADER.size, len(data) // 2, len(data) - 1):
        with pytest.raises(FormatError):
            decode_trees(data[:cut])


def test_bad_magic_version_and_kind_are_rejected():
    data = bytearray(_valid_bytes()[:-4])
    for offset, value in ((0, b"XXXX"), (4, b"\x09"), (5, b"\x07")):
        bad = bytearray(data)
        bad[offset:offset + len(value)] = value
        with pytest.raises(FormatError):
            decode_trees(_with_crc(bytes(bad)))


def test_lying_leaf_count_is_rejected_before_allocation():
    data = bytearray(_valid_bytes()[:-4])
    struct.pack_into("<I", data, HEADER.size, 2**31 - 1)
    with pytest.raises(FormatError, match="leaf count|too short"):
        decode_trees(_with_crc(bytes(data)))
    struct.pack_into("<I", data, HEADER.size, 200_000_000)
    with pytest.raises(FormatError, match="too short"):
        decode_trees(_with_crc(bytes(data)))


def test_corrupted_byte_is_rejected_by_the_checksum():
    data = bytearray(_valid_bytes())
    data[HEADER.size + 20] ^= 0x40
    with pytest.raises(FormatError, match="checksum"):
        decode_trees(bytes(data))


def test_non_finite_planes_and_bounds_are_rejected():
    tree = random_tree(np.random.default_rng(2), 5)
    tree = tree.replace(offset=np.where(np.arange(tree.n_nodes) == 0, np.nan, tree.offset))
    with pytest.raises(FormatError, match="non-finite"):
        decode_trees(encode_trees([tree]))
    tree = random_tree(np.random.default_rng(2), 5)
    tree = tree.replace(bounds=[[5.0, -1, -1], [1, 1, 1]])  # min > max
    with pytest.raises(FormatError, match="bounds"):
        decode_trees(encode_trees([tree]))


def test_wrong_kind_is_rejected(tmp_path):
    path = tmp_path / "normals.stree"
    write_trees(path, [random_tree(np.random.default_rng(0), 8, Kind.NORMALS)])
    with pytest.raises(FormatError, match="normals tree"):
        load(path)
    assert read_trees(path, Kind.NORMALS)[0].kind == Kind.NORMALS


def test_missing_file_and_directory_are_rejected(tmp_path):
    with pytest.raises(FormatError, match="no such file"):
        load(tmp_path / "nope.stree")
    with pytest.raises(FormatError, match="directory"):
        load(tmp_path)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_fuzzed_files_raise_only_format_errors(data):
    """Mutate valid files (bytes flipped, cut, spliced, with or without a fixed checksum):
    the reader either returns valid trees or raises FormatError, nothing else."""
    base = _valid_bytes()
    buf = bytearray(base)
    for _ in range(data.draw(st.integers(1, 6))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert", "set"]))
        if op == "flip" and buf:
            i = data.draw(st.integers(0, len(buf) - 1))
            buf[i] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "cut" and buf:
            i = data.draw(st.integers(0, len(buf)))
            buf = buf[:i]
        elif op == "insert":
            i = data.draw(st.integers(0, len(buf)))
            buf[i:i] = data.draw(st.binary(min_size=1, max_size=8))
        elif op == "set" and len(buf) > HEADER.size + 4:
            i = data.draw(st.integers(HEADER.size, len(buf) - 4))
            buf[i:i + 4] = struct.pack("<I", data.draw(st.integers(0, 2**32 - 1)))
    if data.draw(st.booleans()) and len(buf) >= 4:
        buf = bytearray(_with_crc(bytes(buf[:-4])))
    try:
        trees = decode_trees(bytes(buf))
    except FormatError:
        return
    for t in trees:  # whatever was accepted must be a usable tree
        t.predict(np.zeros((3, 3)))
        assert t.n_leaves >= 1
