"""Plane codings 1 to 4 of .stree v2: quantised planes that follow their cell, decoded exactly as
``quantize`` predicts, and validated like every other part of the file."""

from __future__ import annotations

import functools
import struct

import numpy as np
import pytest
from factories import cad_like, random_tree
from hypothesis import given, settings
from hypothesis import strategies as st
from stree_files import inflated, long_framed, rewrapped
from test_stree_v2 import framed_tree, patched

from shapetree import FormatError, Kind
from shapetree.formats import decode_stree, encode_trees, quantize
from shapetree.formats.quantized import (
    CELL_PLANES,
    CODINGS,
    DEFAULT_CODING,
    DEFAULT_PRECISION,
    DISAGREEMENT_BUDGET,
    ESCAPED_PLANES,
    MAX_PRECISION,
    PRECISION_STEPS,
    QUANTIZED_PLANES,
    auto_precision,
    disagreement,
    encode_planes,
    oriented_for,
    precision_of,
    root_box,
)
from shapetree.formats.stree_v2 import encode_quantized_blocks
from shapetree.tree import trees_equal


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_leaves=st.integers(1, 300), kind=st.sampled_from(list(Kind)),
       cad=st.booleans(), coding=st.sampled_from(CODINGS))
def test_decode_of_encode_is_quantize_and_quantize_is_idempotent(seed, n_leaves, kind, cad, coding):
    rng = np.random.default_rng(seed)
    trees = [framed_tree(rng, n_leaves, kind)]
    if kind == Kind.NORMALS:
        trees.append(framed_tree(rng, max(1, n_leaves // 3), kind))
    if cad:
        trees = [cad_like(t, rng) for t in trees]
    data = encode_trees(trees, coding=coding)
    assert data[6] == coding
    back = decode_stree(data)
    expected = [quantize(t, coding=coding) for t in trees]
    assert all(trees_equal(a, b) for a, b in zip(back, expected, strict=True))
    assert all(trees_equal(quantize(q, coding=coding), q) for q in expected)
    precision = precision_of(inflated(data)[0], coding)  # idempotent at the file's too
    assert all(trees_equal(quantize(q, precision, coding=coding), q) for q in expected)
    if kind == Kind.NORMALS:  # leaf vectors stay float32
        assert all(np.array_equal(a.value, oriented_for(t, coding).value) for a, t in zip(back, trees, strict=True))


def test_axis_planes_are_stored_exactly_and_repeated_planes_reuse_the_first():
    tree = cad_like(framed_tree(np.random.default_rng(3), 500), np.random.default_rng(4))
    q = quantize(tree, coding=CELL_PLANES)  # coding 4 renumbers the nodes it flips (see below)
    branch = tree.left >= 0
    axis = branch & (np.count_nonzero(tree.normal, axis=1) == 1)
    assert axis.sum() > 50
    # the same sides: a power-of-two scale of the float32 plane (3 is not a power of two: a full float32 normal)
    nz = tree.normal[axis] != 0
    ratio = q.normal[axis][nz].astype(np.float64) / tree.normal[axis][nz]
    assert np.array_equal(np.log2(ratio) % 1, np.zeros(axis.sum()))
    assert np.array_equal(q.offset[axis], (tree.offset[axis] * ratio).astype(np.float32))
    assert np.all(np.isin(np.abs(q.normal[axis][nz]), [0.75, 1.0]))
    assert np.all((np.abs(q.normal[axis][nz]) == 0.75) == (np.abs(tree.normal[axis][nz]) == 3.0))
    lo, hi = tree.bounds
    pts = np.random.default_rng(1).uniform(lo, hi, (100_000, 3))
    u = tree.to_frame(pts)
    for i in np.flatnonzero(axis)[:40]:
        assert np.array_equal(u @ tree.normal[i].astype(np.float64) < tree.offset[i],
                              u @ q.normal[i].astype(np.float64) < q.offset[i])
    # every repeat of a plane decodes to the same float32 plane as its first use when that one is exact,
    # and reusing them (exact planes aside) makes the plane stream smaller than coding 1's
    planes = np.concatenate([tree.normal, tree.offset[:, None]], axis=1)
    seen = {}
    for i in np.flatnonzero(axis):
        key = planes[i].tobytes()
        if key in seen:
            j = seen[key]
            assert np.array_equal(q.normal[i], q.normal[j]) and q.offset[i] == q.offset[j]
        seen.setdefault(key, i)
    reused = len(encode_planes(tree, coding=ESCAPED_PLANES, exact="none")[0])
    assert reused < len(encode_planes(tree, coding=QUANTIZED_PLANES)[0])


def test_quantised_planes_stay_within_the_tolerance_of_the_originals():
    tree = framed_tree(np.random.default_rng(11), 400)
    q = quantize(tree, DEFAULT_PRECISION)
    lo, hi = tree.bounds
    pts = np.random.default_rng(1).uniform(lo, hi, (200_000, 3))
    changed = tree.contains(pts) != q.contains(pts)
    assert 0 < changed.mean() < 1e-3  # lossy, but only within a thin shell around the planes
    # a point that changed sides lies within a few tolerances of some original plane
    u = tree.to_frame(pts[changed])
    branch = tree.left >= 0
    n = tree.normal[branch].astype(np.float64)
    dist = np.abs(u @ n.T - tree.offset[branch]) / np.linalg.norm(n, axis=1)
    blo, bhi = root_box(tree)
    tol = np.max(bhi - blo) * 2.0**-DEFAULT_PRECISION
    assert np.all(dist.min(axis=1) < 4 * tol)


def test_the_automatic_precision_is_the_lowest_within_the_disagreement_budget():
    tree = framed_tree(np.random.default_rng(8), 800)
    p = auto_precision(tree)
    assert p == precision_of(inflated(encode_trees([tree]))[0], DEFAULT_CODING)
    assert p % 1 != 0  # coding 4 (the default) takes a quarter step below the lowest whole one here
    lower = p - 1 / PRECISION_STEPS  # the quarter step below, tried and rejected
    assert disagreement(tree, quantize(tree, p)) <= DISAGREEMENT_BUDGET < disagreement(tree, quantize(tree, lower))
    whole = auto_precision(tree, coding=CELL_PLANES)
    assert whole == np.ceil(p) and disagreement(tree, quantize(tree, whole - 1, coding=CELL_PLANES)) > DISAGREEMENT_BUDGET
    assert auto_precision(tree, budget=DISAGREEMENT_BUDGET / 4) > p
    # a quantised tree saved again keeps its precision (and so its planes), though a lower one might pass
    q = quantize(tree, 15)
    assert auto_precision(q) == 15 and trees_equal(quantize(q), q)


def test_quantised_files_are_several_times_smaller_than_float32_ones():
    tree = framed_tree(np.random.default_rng(2), 2000)
    assert len(encode_trees([tree])) * 2.5 < len(encode_trees([tree], lossless=True))


def test_a_plane_that_no_longer_cuts_its_cell_still_makes_a_valid_tree():
    # a leaf-heavy random tree has many planes far outside their (tiny) cells
    tree = random_tree(np.random.default_rng(4), 300)
    q = decode_stree(encode_trees([tree]))[0]
    assert trees_equal(q, quantize(tree)) and q.n_leaves == tree.n_leaves
    assert np.all(np.isfinite(q.offset)) and np.all(np.abs(q.normal[q.left >= 0]).sum(axis=1) > 0.99)


def test_a_single_leaf_tree_has_an_empty_plane_stream():
    tree = framed_tree(np.random.default_rng(0), 1)
    raw = encode_quantized_blocks([tree], Kind.OCCUPANCY)
    assert raw[7:11] == b"\0\0\0\0" and len(raw) == 11 and trees_equal(decode_stree(encode_trees([tree]))[0], tree)


def quantised_file(raw: bytes, template: bytes) -> bytes:
    """A coding-1 file around an inflated stream ``raw``, with the header of ``template``."""
    return rewrapped(template, raw)


@functools.cache  # bytes, never mutated: the fuzz test draws hundreds of examples from one file
def valid_quantised() -> tuple[bytes, bytes]:
    # axis and repeated planes: the stream holds exact and reuse escapes as well as regular codes
    tree = cad_like(framed_tree(np.random.default_rng(7), 60), np.random.default_rng(8))
    precision = auto_precision(tree)
    return encode_trees([tree]), encode_quantized_blocks([tree], Kind.OCCUPANCY, precision)


def test_lying_quantised_streams_are_rejected():
    data, raw = valid_quantised()
    (n_leaves,) = struct.unpack_from("<I", raw, 2)
    plane_at = 6 + (3 * n_leaves - 1 + 7) // 8
    (plane_bytes,) = struct.unpack_from("<I", raw, plane_at)
    cases = [
        (raw[:1], "quantisation parameters"),
        (bytes([MAX_PRECISION * PRECISION_STEPS + 1]) + raw[1:], "quantisation parameters"),
        (raw[:1] + b"\x09" + raw[2:], "quantisation parameters"),
        (raw[:2] + struct.pack("<I", 1 << 27) + raw[6:], "too short"),
        (raw[:2] + struct.pack("<I", 0) + raw[6:], "leaf count"),
        (raw[:plane_at] + struct.pack("<I", plane_bytes + 1) + raw[plane_at + 4:], "plane stream size"),
        (raw[:plane_at] + struct.pack("<I", 2) + raw[plane_at + 4:], "plane stream size"),
        (raw + b"\0", "trailing"),
        (raw[:-1], "plane stream"),
    ]
    for broken, message in cases:
        with pytest.raises(FormatError, match=message):
            decode_stree(quantised_file(broken, data))
    assert trees_equal(decode_stree(quantised_file(raw, data))[0], decode_stree(data)[0])


def test_a_quantised_file_with_bounds_beyond_the_frame_is_rejected():
    # a stored frame (the long header) can lie about where the bounds are; a compact header's cannot
    data = encode_trees([long_framed(framed_tree(np.random.default_rng(7), 60))])
    assert data[7] == 0
    with pytest.raises(FormatError, match="too far from the frame"):
        decode_stree(patched(data, 12, "<d", -1e300))


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_fuzzed_quantised_files_raise_only_format_errors(data):
    file, raw = valid_quantised()
    raw = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    blob = quantised_file(bytes(raw), file)
    if data.draw(st.booleans()):
        blob = bytearray(blob)
        blob[data.draw(st.integers(0, len(blob) - 1))] ^= 1 << data.draw(st.integers(0, 7))
    try:
        decode_stree(bytes(blob))
    except FormatError:
        pass
