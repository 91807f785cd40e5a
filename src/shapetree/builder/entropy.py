"""The occupancy split criterion: weighted information gain, scanned exactly along directions.

A node's samples have a class (``cls`` (n,) uint8): bit 0 says inside, bit 1 marks a straddling
sample, whose importance weight is ``ws`` (the others weigh 1). The best threshold along a
direction is found by one sort of the projections and a scan that only looks at label changes.
``tests/builder/test_entropy.py`` holds the slow reference these kernels must agree with.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .stream import randn


@nb.njit(cache=True, nogil=True, inline="always")
def _wlogw(w):
    return w * np.log2(w) if w > 0.0 else 0.0


@nb.njit(cache=True, nogil=True, inline="always")
def _entropy_sum(wl, pl, wr, pr):
    # W*H(P/W) = W log W - P log P - (W-P) log(W-P), summed over both children
    return (_wlogw(wl) - _wlogw(pl) - _wlogw(wl - pl)) + (_wlogw(wr) - _wlogw(pr) - _wlogw(wr - pr))


@nb.njit(cache=True, nogil=True, inline="always")
def _project(X, d0, d1, d2, out):
    for i in range(X.shape[0]):
        out[i] = d0 * X[i, 0] + d1 * X[i, 1] + d2 * X[i, 2]


@nb.njit(cache=True, nogil=True)
def _scan(proj, cls, ws, total, pos, keys):
    """Best weighted-entropy split along one direction: (child entropy sum, float32 threshold).

    A sample's class (bit 0: inside, bit 1: straddling, weight ``ws`` instead of 1) rides in
    the two lowest mantissa bits of its projection, so one in-place sort of plain floats orders
    values and classes together, with no argsort and no gather; the few ulps this costs are far
    below the float32 resolution of a threshold.
    """
    n = proj.shape[0]
    bits = keys.view(np.int64)
    for i in range(n):
        keys[i] = proj[i]
        bits[i] = (bits[i] & ~np.int64(3)) | np.int64(cls[i])
    keys[:n].sort()
    best = np.inf
    thr = np.float32(np.nan)
    wl = 0.0
    pl = 0.0
    for k in range(n - 1):
        ci = bits[k] & 3
        cj = bits[k + 1] & 3
        w = ws if ci & 2 else 1.0
        wl += w
        if ci & 1:
            pl += w
        # only a change of label can start an optimal cut (Fayyad & Irani)
        if (ci & 1) == (cj & 1):
            continue
        a = keys[k]
        b = keys[k + 1]
        if not (a < b):
            continue
        h = _entropy_sum(wl, pl, total - wl, pos - pl)
        if h < best:
            t = np.float32(0.5 * (a + b))
            if not (a < np.float64(t) and np.float64(t) <= b):
                t = np.float32(b)
                if not (a < np.float64(t)):
                    continue
            best = h
            thr = t
    return best, thr


@nb.njit(cache=True, nogil=True)
def _at_threshold(proj, cls, ws, total, pos, thr):
    n = proj.shape[0]
    wl = 0.0
    pl = 0.0
    cnt = 0
    t = np.float64(thr)
    for i in range(n):
        if proj[i] < t:
            cnt += 1
            w = ws if cls[i] & 2 else 1.0
            wl += w
            if cls[i] & 1:
                pl += w
    if cnt == 0 or cnt == n:
        return np.inf
    return _entropy_sum(wl, pl, total - wl, pos - pl)


@nb.njit(cache=True, nogil=True)
def choose_split(X, cls, ws, dirs, offsets, n_perturb, spread, state):
    """Best plane for samples ``X`` (n, 3) float64 of classes ``cls`` (n,) uint8 (bit 0: inside;
    bit 1: a straddling sample, whose weight is ``ws``; the others weigh 1).

    ``dirs`` (c, 3) float32 candidate normals; ``offsets`` (c,) float32 with NaN where the
    threshold is scanned, a value where the plane is fixed (a surface triangle's plane).
    After the candidates, ``n_perturb`` random perturbations of the best normal are scanned.
    Returns (normal (3,) float32, offset float32, information gain in bits per unit weight).
    """
    n = X.shape[0]
    total = 0.0
    pos = 0.0
    for i in range(n):
        w = ws if cls[i] & 2 else 1.0
        total += w
        if cls[i] & 1:
            pos += w
    best_n = np.zeros(3, np.float32)
    best_b = np.float32(0.0)
    if pos <= 0.0 or pos >= total:
        return best_n, best_b, 0.0
    parent = _wlogw(total) - _wlogw(pos) - _wlogw(total - pos)
    best = np.inf
    proj = np.empty(n)
    keys = np.empty(n)
    for c in range(dirs.shape[0]):
        _project(X, np.float64(dirs[c, 0]), np.float64(dirs[c, 1]), np.float64(dirs[c, 2]), proj)
        if np.isnan(offsets[c]):
            h, t = _scan(proj, cls, ws, total, pos, keys)
        else:
            t = offsets[c]
            h = _at_threshold(proj, cls, ws, total, pos, t)
        # a fixed surface plane wins ties: it removes its triangle from both children
        if h < best - 1e-12 or (h <= best + 1e-12 and not np.isnan(offsets[c]) and h < np.inf):
            best = h
            best_n[:] = dirs[c]
            best_b = t
    if best == np.inf:
        return best_n, best_b, 0.0
    cand = np.empty(3, np.float32)
    for r in range(n_perturb):
        scale = spread * (0.25 + 0.75 * (r % 4) / 3.0)
        v0 = np.float64(best_n[0]) + scale * randn(state)
        v1 = np.float64(best_n[1]) + scale * randn(state)
        v2 = np.float64(best_n[2]) + scale * randn(state)
        nv = np.sqrt(v0 * v0 + v1 * v1 + v2 * v2)
        cand[0] = np.float32(v0 / nv)
        cand[1] = np.float32(v1 / nv)
        cand[2] = np.float32(v2 / nv)
        _project(X, np.float64(cand[0]), np.float64(cand[1]), np.float64(cand[2]), proj)
        h, t = _scan(proj, cls, ws, total, pos, keys)
        if h < best - 1e-12:
            best = h
            best_n[:] = cand
            best_b = t
    return best_n, best_b, max(parent - best, 0.0) / total
