"""The occupancy split criterion (``builder.entropy``) against a slow, obvious reference."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from shapetree.builder import stream
from shapetree.builder.entropy import choose_split


def weighted_entropy_sum(inside: np.ndarray, w: np.ndarray, left: np.ndarray) -> float:
    """Sum over both sides of (side weight) x (binary entropy of the side's inside share), bits."""
    total = 0.0
    for side in (left, ~left):
        ws = w[side].sum()
        if ws > 0:
            p = w[side & inside].sum() / ws
            total += ws * sum(-q * np.log2(q) for q in (p, 1 - p) if q > 0)
    return total


def slow_best_gain(X, cls, ws, dirs, offsets):
    """Best information gain per unit weight over every cut between consecutive sorted
    projections (scanned directions) or at the given offset (fixed planes)."""
    inside = (cls & 1).astype(bool)
    w = np.where(cls & 2, ws, 1.0)
    parent = weighted_entropy_sum(inside, w, np.zeros(len(X), bool))
    best = np.inf
    for d, off in zip(dirs.astype(np.float64), offsets, strict=True):
        proj = X @ d
        if np.isnan(off):
            values = np.unique(proj)
            cuts = [np.float32(0.5 * (a + b)) for a, b in itertools.pairwise(values)]
        else:
            cuts = [off]
        for t in cuts:
            left = proj < np.float64(t)
            if 0 < left.sum() < len(X):
                best = min(best, weighted_entropy_sum(inside, w, left))
    return (parent - best) / w.sum()


def data(rng, n, *, straddle_share=0.3):
    X = rng.uniform(-1, 1, (n, 3))
    inside = (X @ np.array([0.6, -0.3, 0.74]) + 0.2 * rng.normal(size=n)) < 0.1
    cls = inside.astype(np.uint8) | ((rng.random(n) < straddle_share).astype(np.uint8) << 1)
    return X, cls


@pytest.mark.parametrize("seed", range(6))
def test_the_scan_finds_the_best_cut_of_a_brute_force_search(seed):
    rng = np.random.default_rng(seed)
    X, cls = data(rng, 150)
    dirs = rng.normal(size=(7, 3))
    dirs = (dirs / np.linalg.norm(dirs, axis=1, keepdims=True)).astype(np.float32)
    offsets = np.full(7, np.nan, np.float32)
    ws = float(rng.uniform(0.2, 1.0))
    normal, offset, gain = choose_split(X, cls, ws, dirs, offsets, 0, 0.15, stream.make_state(1))
    expected = slow_best_gain(X, cls, ws, dirs, offsets)
    assert gain == pytest.approx(expected, rel=1e-9, abs=1e-12)
    # the plane returned really has that gain under the tree's side rule
    inside = (cls & 1).astype(bool)
    w = np.where(cls & 2, ws, 1.0)
    left = X @ normal.astype(np.float64) < np.float64(offset)
    actual = (weighted_entropy_sum(inside, w, np.zeros(len(X), bool)) - weighted_entropy_sum(inside, w, left))
    assert actual / w.sum() == pytest.approx(gain, rel=1e-9, abs=1e-12)


def test_fixed_planes_are_scored_at_their_offset_and_win_ties():
    rng = np.random.default_rng(7)
    X, cls = data(rng, 120, straddle_share=0.0)
    d = np.array([[1.0, 0.0, 0.0]], np.float32)
    _, offset, gain = choose_split(X, cls, 1.0, np.concatenate([d, d]), np.array([np.nan, 0.05], np.float32),
                                        0, 0.15, stream.make_state(1))
    scanned = slow_best_gain(X, cls, 1.0, d, np.array([np.nan], np.float32))
    fixed = slow_best_gain(X, cls, 1.0, d, np.array([0.05], np.float32))
    assert gain == pytest.approx(max(scanned, fixed), rel=1e-9)
    if fixed >= scanned - 1e-12:
        assert offset == np.float32(0.05)


def test_perturbations_never_lower_the_gain():
    rng = np.random.default_rng(3)
    X, cls = data(rng, 300)
    dirs = np.eye(3, dtype=np.float32)
    offsets = np.full(3, np.nan, np.float32)
    _, _, plain = choose_split(X, cls, 0.5, dirs, offsets, 0, 0.15, stream.make_state(4))
    _, _, searched = choose_split(X, cls, 0.5, dirs, offsets, 16, 0.15, stream.make_state(4))
    assert searched >= plain
    assert searched > plain  # the true normal is oblique: the local search finds a better one


def test_a_pure_node_has_no_split():
    X = np.random.default_rng(0).uniform(-1, 1, (50, 3))
    _, _, gain = choose_split(X, np.ones(50, np.uint8), 1.0, np.eye(3, dtype=np.float32),
                              np.full(3, np.nan, np.float32), 4, 0.15, stream.make_state(0))
    assert gain == 0.0
