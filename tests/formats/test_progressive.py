"""Progressive .stree v2 files: every level is the simplification order's tree of that size with the
file's planes, ``load(max_leaves)`` reads only a prefix, and a damaged or lying file is a
``FormatError`` and nothing else."""

from __future__ import annotations

import dataclasses
import io
import itertools
import pathlib
import struct
import zlib

import numpy as np
import pytest
from factories import UNIT_BOX, random_tree
from hypothesis import given, settings
from hypothesis import strategies as st
from stree_files import compact, crcs_fixed, header_size, table, with_table

from shapetree import FormatError, UsageError, detail_levels, level_sizes, load, save, simplification_order
from shapetree.formats import decode_stree, encode_trees, quantized, read_trees
from shapetree.formats import progressive as prog
from shapetree.formats.stree_v2 import COMPACT, HEADER, PROGRESSIVE
from shapetree.tree import trees_equal

TABLE = HEADER.size + 4  # the level table's first row (long header)
LAYOUTS = ("long", "compact")


def tree_in(layout: str):
    """A random 400-leaf tree in the identity frame (the long header) or in its bounds' frame (compact)."""
    rng = np.random.default_rng(5)
    if layout == "long":
        return random_tree(rng, 400)
    return random_tree(rng, 400, bounds=UNIT_BOX / 2).replace(bounds=UNIT_BOX, scale=2.0)


@pytest.fixture(scope="module")
def orders():
    return {layout: simplification_order(tree_in(layout), n_samples=20_000, min_leaves=16) for layout in LAYOUTS}


@pytest.fixture(scope="module", params=LAYOUTS)
def order(request, orders):
    return orders[request.param]


@pytest.fixture(scope="module")
def levels(order):
    return detail_levels(order)


@pytest.fixture(scope="module")
def data(levels):
    return prog.encode_file(levels)


@pytest.fixture(scope="module")
def long_data(orders):
    data = prog.encode_file(detail_levels(orders["long"]))
    assert data[7] == PROGRESSIVE
    return data


@pytest.fixture(scope="module")
def compact_data(orders):
    data = prog.encode_file(detail_levels(orders["compact"]))
    assert data[7] == PROGRESSIVE | COMPACT
    return data


def test_the_ladder_doubles_then_grows_four_fold():
    assert prog.ladder(1, 16_384) == [16, 32, 64, 128, 256, 512, 1024, 4096, 16_384]
    assert prog.ladder(1, 13_844) == [16, 32, 64, 128, 256, 512, 1024, 13_844]  # the last step at least 4x
    assert prog.ladder(1, 400) == [16, 32, 64, 400]
    assert prog.ladder(40, 1000) == [40, 64, 128, 1000]
    assert prog.ladder(1, 12) == [12]


@pytest.mark.parametrize("coding", [quantized.CELL_PLANES, quantized.HEMISPHERE_PLANES])
def test_every_level_is_the_order_at_its_size_with_the_files_planes(order, levels, coding):
    assert levels.leaf_counts == [16, 32, 64, 400]
    data = prog.encode_file(levels, coding=coding)
    full = decode_stree(data)[0]
    stored = prog.quantize_levels(levels, coding=coding)
    assert trees_equal(full, stored[-1])
    # coding 4 stores every level oriented: downward planes flipped, their nodes renumbered
    assert quantized.downward(order.tree).sum() > 50  # a random tree: about half its planes point down
    for n, q in zip(levels.leaf_counts, stored, strict=True):
        got = decode_stree(data, "<bytes>", n)[0]
        assert got.n_leaves == n and trees_equal(got, q)
        if coding == quantized.CELL_PLANES:  # the same steps on the tree the file stores
            assert trees_equal(got, dataclasses.replace(order, tree=full).at(n))
        # structure and leaves are the order's (oriented), planes its quantised ones
        plain = quantized.oriented_for(order.at(n), coding)
        assert np.array_equal(got.left, plain.left) and np.array_equal(got.value, plain.value)
        assert coding == quantized.CELL_PLANES or np.all(got.normal[got.left >= 0, 2] >= 0)  # no axis planes here
    # quantised within the tolerance: the full level agrees with the float32 tree almost everywhere
    pts = np.random.default_rng(0).uniform(-1, 1, (50_000, 3))
    assert np.mean(full.contains(pts) != order.tree.contains(pts)) < 0.01


def test_load_picks_the_largest_level_within_the_budget(tmp_path, order, levels, data):
    path = tmp_path / "lod.stree"
    path.write_bytes(data)
    for budget, expected in [(1, 16), (16, 16), (31, 16), (32, 32), (200, 64), (399, 64), (400, 400), (10**9, 400)]:
        assert load(path, max_leaves=budget).n_leaves == expected
    assert load(path).n_leaves == 400
    sizes = level_sizes(path)
    assert [n for n, _ in sizes] == levels.leaf_counts
    assert sizes[-1][1] == len(data) and all(a[1] < b[1] for a, b in itertools.pairwise(sizes))
    flat = tmp_path / "flat.stree"
    save(order.tree, flat)
    assert load(flat, max_leaves=16).n_leaves == 400  # one level: the tree, whatever the budget
    assert level_sizes(flat) == [(400, flat.stat().st_size)]
    with pytest.raises(UsageError):
        load(path, max_leaves=0)


class Counting(io.BufferedReader):
    read_total = 0

    def read(self, n=-1):
        out = super().read(n)
        Counting.read_total += len(out)
        return out


def test_a_coarse_level_reads_only_its_prefix(tmp_path, monkeypatch, levels, data):
    path = tmp_path / "lod.stree"
    path.write_bytes(data)
    sizes = dict(level_sizes(path))
    real_open = pathlib.Path.open

    def counting_open(self, mode="r", *args, **kwargs):
        if mode != "rb":
            return real_open(self, mode, *args, **kwargs)
        return Counting(real_open(self, mode, buffering=0))

    monkeypatch.setattr(pathlib.Path, "open", counting_open)
    for n in (16, 32, 64):
        Counting.read_total = 0
        assert load(path, max_leaves=n).n_leaves == n
        assert Counting.read_total == sizes[n] < len(data)
    # a damaged tail does not matter to a coarse level, but the full level checks the file's CRC
    damaged = bytearray(data)
    damaged[-10] ^= 0x40
    path.write_bytes(bytes(damaged))
    assert load(path, max_leaves=32).n_leaves == 32
    with pytest.raises(FormatError, match="lod.stree"):
        load(path)


def test_same_input_and_seed_give_identical_bytes(tmp_path, order):
    again = simplification_order(order.tree, n_samples=20_000, min_leaves=16)
    a, b = tmp_path / "a.stree", tmp_path / "b.stree"
    save(order.tree, a, progressive=detail_levels(order))
    save(order.tree, b, progressive=detail_levels(again))
    assert a.read_bytes() == b.read_bytes()
    assert read_trees(a)[0].n_leaves == 400


def test_levels_that_are_not_nested_or_not_the_tree_are_refused(tmp_path, order, levels):
    other = random_tree(np.random.default_rng(9), 400)
    with pytest.raises(UsageError):
        save(other, tmp_path / "x.stree", progressive=levels)
    with pytest.raises(UsageError):
        save(order.tree, tmp_path / "x.stree", progressive=levels, lossless=True)
    shuffled = prog.Levels(levels.trees, (levels.ids[0][::-1].copy(),) + levels.ids[1:])
    with pytest.raises(FormatError, match="nested"):
        prog.encode_file(shuffled, precision=12)
    assert not (tmp_path / "x.stree").exists()


@pytest.mark.parametrize("row, field, value, needle", [
    (0, 0, 0, "level table"),
    (1, 0, 1 << 27, "claims"),  # a huge leaf count in few bytes: refused before allocating
    (3, 0, 1 << 28, "claims"),
    (2, 0, 16, "level table"),  # not increasing
    (1, 1, 1, "level table"),  # packed ends not increasing
    (3, 1, 1 << 30, "level table"),
    (3, 2, 1 << 30, "level table"),  # raw end beyond what the packed bytes can hold
    (1, 2, 3, "level table"),
])
def test_a_lying_level_table_is_rejected(long_data, row, field, value, needle):
    lying = bytearray(long_data)
    struct.pack_into("<I", lying, TABLE + 16 * row + 4 * field, value)
    for budget in (None, 16, 64):
        with pytest.raises(FormatError, match=needle):
            decode_stree(crcs_fixed(bytes(lying)), "lod.stree", budget)


@pytest.mark.parametrize("row, field, value, needle", [  # a compact row: new leaves, packed size, raw size, CRC
    (0, 0, 0, "level 0: 0 leaves"),
    (1, 0, 0, "level table"),  # not increasing
    (1, 0, 1 << 27, "claims"),  # a huge leaf count in few bytes: refused before allocating
    (3, 0, (1 << 28) - 64, "claims"),
    (3, 0, (1 << 28) - 63, "level table"),  # more than 2^28 leaves
    (1, 1, 0, "level table"),  # an empty chunk
    (1, 2, 0, "level table"),
    (3, 2, 1 << 30, "level table"),  # more than the packed bytes can hold
    (3, 1, None, "level table ends at"),  # one packed byte more than the stream holds
    (3, 2, None, "level table ends at"),
    (2, 2, 1 << 32, "fewest bytes"),  # not a u32
    (1, 0, b"\x90\x00", "fewest bytes"),  # 16 in two bytes
    (0, 1, b"\x80\x80\x80\x80\x80\x00", "more than 5 bytes"),
])
def test_a_lying_compact_level_table_is_rejected(compact_data, row, field, value, needle):
    _, rows, _ = table(compact_data)
    rows = [list(r) for r in rows]
    rows[row][field] = rows[row][field] + 1 if value is None else value
    lying = with_table(compact_data, rows)
    for budget in (None, 16, 64):
        with pytest.raises(FormatError, match=f"^lod.stree: .*{needle}"):
            decode_stree(lying, "lod.stree", budget)


def test_the_compact_level_table_is_leb128_increments(compact_data):
    first, rows, end = table(compact_data)
    levels = prog.level_table(io.BytesIO(compact_data[8:]), len(compact_data), "x", compact_data[:8])
    assert [r[0] for r in rows] == [b.leaves - a for a, b in zip([0] + [lv.leaves for lv in levels], levels)]
    assert first == 67 and end - first == sum(len(prog.leb128(v)) for r in rows for v in r[:3]) + 4 * len(rows)
    assert end - first < 16 * len(rows) - 20  # 4 levels: 34 bytes instead of 64
    assert with_table(compact_data) == compact_data  # the test helpers read and write it as the writer does
    h, _, _ = prog.read_table(io.BytesIO(compact_data).read, len(compact_data), "x")
    assert h.compact and h.size == 66 and h.packed_size == len(compact_data) - 70
    stream = compact_data[end + 4:-4]  # raw deflate, sync-flushed: each prefix inflates to its levels
    inflater = zlib.decompressobj(-15)
    assert len(inflater.decompress(stream[:levels[1].packed_end])) == levels[1].raw_end and not inflater.eof
    assert len(inflater.decompress(stream[levels[1].packed_end:])) == h.raw_size - levels[1].raw_end
    assert inflater.eof and not inflater.unused_data


def test_a_lying_level_count_and_chunk_crc_are_rejected(data):
    count_at = header_size(data)
    fmt = "<B" if compact(data) else "<I"
    for n in (0, 65):
        lying = bytearray(data)
        struct.pack_into(fmt, lying, count_at, n)
        with pytest.raises(FormatError, match="level count"):
            decode_stree(bytes(lying))
    _, rows, _ = table(data)
    lying = [list(r) for r in rows]
    lying[1][3] = 12345  # level 1's CRC
    lying = with_table(data, lying)
    with pytest.raises(FormatError, match="level 1 checksum"):
        decode_stree(lying, "x", 32)
    assert decode_stree(lying, "x", 16)[0].n_leaves == 16
    if compact(data):  # a count that does not match the rows: the header checksum is not where it was
        with pytest.raises(FormatError, match="header checksum"):
            decode_stree(with_table(data, count=len(rows) - 1), "x", 16)


def test_a_truncated_table_is_rejected(data):
    first, _, end = table(data)
    for cut in (8, first - 1, first, end - 1, end + 3):
        with pytest.raises(FormatError, match="^t.stree: truncated"):
            decode_stree(data[:cut], "t.stree", 16)


@settings(max_examples=150, deadline=None)
@given(cut=st.integers(0, 10**6), flips=st.lists(st.integers(0, 10**6), min_size=1, max_size=3),
       budget=st.sampled_from([None, 16, 32, 64]), fix=st.booleans())
def test_fuzzed_progressive_files_raise_only_format_errors(data, cut, flips, budget, fix):
    damaged = bytearray(data)
    for f in flips:
        damaged[f % len(damaged)] ^= 1 << (f // len(damaged) % 8)
    if fix:  # CRCs consistent again: the table's and chunks' own checks must hold
        damaged = bytearray(crcs_fixed(bytes(damaged)))
    for blob in (bytes(damaged), bytes(data[: cut % len(data)])):
        try:
            trees = decode_stree(blob, "fuzz.stree", budget)
        except FormatError as e:
            assert "fuzz.stree" in str(e)
        else:
            assert trees[0].n_leaves in (16, 32, 64, 400)


def test_flat_files_are_unchanged(order):
    flat = encode_trees([order.tree])
    assert not flat[7] & PROGRESSIVE
    assert not prog.is_progressive(flat)
    assert decode_stree(flat)[0].n_leaves == 400
