"""The per-branch plane fit against slow, obvious references."""

from __future__ import annotations

import numpy as np
import pytest

from shapetree.refiner.fit import best_threshold, fit_plane, irls_plane, plane_error, solve4


def care_points(rng, k, quantized=False):
    x = rng.integers(-4, 5, (k, 3)) / 4.0 if quantized else rng.uniform(-1, 1, (k, 3))
    w = rng.integers(1, 4, k).astype(np.float64)
    return np.ascontiguousarray(x), w


def slow_error(normal, offset, x, go_left, w):
    left = x @ normal.astype(np.float64) < np.float64(offset)
    return float(w[left != go_left].sum())


@pytest.mark.parametrize("quantized", [False, True])
def test_plane_error_and_best_threshold_match_brute_force(quantized):
    rng = np.random.default_rng(1)
    for _ in range(30):
        x, w = care_points(rng, int(rng.integers(1, 60)), quantized)
        go_left = rng.random(len(x)) < 0.5
        normal = rng.normal(size=3).astype(np.float32)
        if quantized:
            normal = rng.integers(-2, 3, 3).astype(np.float32)
            normal[0] = normal[0] or 1
        offset = np.float32(rng.uniform(-1, 1))
        assert plane_error(normal, offset, x, go_left, w) == slow_error(normal, offset, x, go_left, w)
        s = np.sort(np.unique(x @ normal.astype(np.float64)))
        cands = np.concatenate([[s[0] - 1], (s[1:] + s[:-1]) / 2, [s[-1] + 1]]).astype(np.float32)
        best = min(slow_error(normal, c, x, go_left, w) for c in cands)
        b, e = best_threshold(normal, x, go_left, w)
        assert e == best == slow_error(normal, b, x, go_left, w)


def test_solve4_matches_numpy():
    rng = np.random.default_rng(2)
    for _ in range(20):
        a = rng.normal(size=(4, 4)) + 4 * np.eye(4)
        b = rng.normal(size=4)
        y, ok = solve4(a.copy(), b.copy())
        assert ok
        np.testing.assert_allclose(y, np.linalg.solve(a, b), rtol=1e-10, atol=1e-12)
    assert not solve4(np.zeros((4, 4)), np.ones(4))[1]


def test_irls_recovers_a_noisy_oblique_plane_from_a_poor_start():
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, (4000, 3))
    true_n = np.array([0.6, -0.64, 0.48])
    margin = x @ true_n - 0.1
    go_left = (margin + rng.normal(0, 0.02, len(x))) < 0
    w = np.ones(len(x))
    start_n, start_b = np.array([1, 0, 0], np.float32), np.float32(0.5)
    n, b = irls_plane(start_n, start_b, x, go_left, w, 8)
    assert abs(np.linalg.norm(n) - 1) < 1e-12
    assert n @ true_n > 0.995 and abs(b - 0.1) < 0.02
    # the fit's float32 plane, with its exact threshold, beats the start by far
    new_n, new_b, err, old = fit_plane(start_n, start_b, x, go_left, w, 8)
    assert err < 0.02 * len(x) < old
    assert err == slow_error(new_n, new_b, x, go_left, w)


def test_a_plane_that_separates_its_care_points_is_kept():
    rng = np.random.default_rng(4)
    x = rng.uniform(-1, 1, (500, 3))
    normal, offset = np.array([0.3, 0.9, -0.2], np.float32), np.float32(0.05)
    go_left = x @ normal.astype(np.float64) < np.float64(offset)
    new_n, new_b, err, old = fit_plane(normal, offset, x, go_left, np.ones(len(x)), 8)
    assert err == old == 0.0
    assert np.array_equal(new_n, normal) and new_b == offset


def test_the_fit_never_returns_a_worse_plane():
    rng = np.random.default_rng(5)
    for _ in range(40):
        x, w = care_points(rng, int(rng.integers(1, 200)), bool(rng.random() < 0.5))
        go_left = rng.random(len(x)) < 0.5
        normal = rng.normal(size=3).astype(np.float32)
        offset = np.float32(rng.uniform(-1, 1))
        new_n, new_b, err, old = fit_plane(normal, offset, x, go_left, w, 8)
        assert new_n.dtype == np.float32 and np.float32(new_b) == new_b
        assert err <= old == slow_error(normal, offset, x, go_left, w)
        assert err == slow_error(new_n, new_b, x, go_left, w)
