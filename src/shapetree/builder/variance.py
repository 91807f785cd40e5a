"""The normal-map split criterion: reduction of the squared error of the samples' vectors,
scanned exactly along directions (``tests/builder/test_normal_map.py`` checks it against a
brute-force search)."""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True, inline="always")
def _scan_direction(X, Y, d0, d1, d2, s0, s1, s2, min_leaf):
    """(SSE reduction, threshold) of the best split of the samples along one direction; -1 if none.

    SSE = sum |y|^2 - |sum y|^2 / n on each side, so the reduction needs only prefix sums of y.
    """
    m = X.shape[0]
    proj = X[:, 0] * d0 + X[:, 1] * d1 + X[:, 2] * d2
    order = np.argsort(proj)
    parent = (s0 * s0 + s1 * s1 + s2 * s2) / m
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    best = -1.0
    thr = 0.0
    for r in range(m - 1):
        i = order[r]
        a0 += Y[i, 0]
        a1 += Y[i, 1]
        a2 += Y[i, 2]
        nl = r + 1
        if nl < min_leaf or m - nl < min_leaf:
            continue
        p = proj[i]
        q = proj[order[r + 1]]
        if not p < q:
            continue
        b0 = s0 - a0
        b1 = s1 - a1
        b2 = s2 - a2
        g = (a0 * a0 + a1 * a1 + a2 * a2) / nl + (b0 * b0 + b1 * b1 + b2 * b2) / (m - nl) - parent
        if g > best:
            best = g
            thr = 0.5 * (p + q)
    return best, thr


@nb.njit(cache=True)
def best_split(X, Y, dirs, min_leaf):
    """Best (direction index, threshold, SSE reduction) over ``dirs`` ((d, 3) float64, already
    float32-exact) for the rows of ``X`` (m, 3) with targets ``Y`` (m, 3)."""
    s = Y.sum(axis=0)
    gains = np.empty(dirs.shape[0])
    thresholds = np.empty(dirs.shape[0])
    for j in range(dirs.shape[0]):
        gains[j], thresholds[j] = _scan_direction(X, Y, dirs[j, 0], dirs[j, 1], dirs[j, 2], s[0], s[1], s[2],
                                                  min_leaf)
    j = np.argmax(gains)
    return j, thresholds[j], gains[j]


@nb.njit(cache=True, parallel=True)
def best_split_parallel(X, Y, dirs, min_leaf):
    """``best_split`` with the directions spread over threads: for big nodes only."""
    s = Y.sum(axis=0)
    gains = np.empty(dirs.shape[0])
    thresholds = np.empty(dirs.shape[0])
    for j in nb.prange(dirs.shape[0]):
        gains[j], thresholds[j] = _scan_direction(X, Y, dirs[j, 0], dirs[j, 1], dirs[j, 2], s[0], s[1], s[2],
                                                  min_leaf)
    j = np.argmax(gains)
    return j, thresholds[j], gains[j]
