"""One branch's plane as a weighted linear classification of its care points.

Care points are ``x`` (k, 3) float64 in the tree's frame, ``go_left`` (k,) bool (the side that
gets them right) and ``w`` (k,) float64 weights. The error of a plane is the weight of the care
points it sends the wrong way, decided by the tree's own rule (``tree.side.goes_left``) on the
float32 plane, so the error measured here is exactly the tree's.

The fit: Newton's method (IRLS) on the weighted, lightly ridge-regularised logistic loss in the
four parameters of the plane, started from the current plane, on standardised coordinates; then,
for the fitted normal and for the current one, the threshold that minimises the weighted error
exactly (a sorted scan). The best of these float32 planes is the candidate.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ..tree.side import goes_left, plane_dot

NEWTON_STEPS = 8
RIDGE = 1e-4  # times the total weight, on the normal's coefficients only
MAX_FIT_POINTS = 16384  # the logistic fit sees an even stride of at most about this many care points


@nb.njit(cache=True, nogil=True)
def plane_error(normal, offset, x, go_left, w):
    """Weight of the care points the float32 plane ``(normal (3,) float32, offset float32)`` sends
    the wrong way."""
    err = 0.0
    for i in range(x.shape[0]):
        if goes_left(normal, offset, x[i, 0], x[i, 1], x[i, 2]) != go_left[i]:
            err += w[i]
    return err


@nb.njit(cache=True, nogil=True)
def solve4(a, b):
    """Solve the 4x4 system ``a y = b`` by Gaussian elimination with partial pivoting (``a``, ``b``
    are overwritten). Returns (y, ok)."""
    n = 4
    for c in range(n):
        p = c
        for r in range(c + 1, n):
            if abs(a[r, c]) > abs(a[p, c]):
                p = r
        if not abs(a[p, c]) > 1e-300:
            return np.zeros(n), False
        if p != c:
            for k in range(n):
                a[c, k], a[p, k] = a[p, k], a[c, k]
            b[c], b[p] = b[p], b[c]
        for r in range(c + 1, n):
            f = a[r, c] / a[c, c]
            for k in range(c, n):
                a[r, k] -= f * a[c, k]
            b[r] -= f * b[c]
    y = np.zeros(n)
    for c in range(n - 1, -1, -1):
        s = b[c]
        for k in range(c + 1, n):
            s -= a[c, k] * y[k]
        y[c] = s / a[c, c]
    return y, True


@nb.njit(cache=True, nogil=True, inline="always")
def _log1pexp(z):
    """log(1 + exp(z)) without overflow."""
    if z > 0:
        return z + np.log1p(np.exp(-z))
    return np.log1p(np.exp(z))


@nb.njit(cache=True, nogil=True)
def _objective(theta, z, y, w, ridge):
    """Weighted logistic loss of f = theta . z (y = 1: f > 0 wanted) plus the ridge on theta[:3]."""
    s = 0.0
    for i in range(z.shape[0]):
        f = theta[0] * z[i, 0] + theta[1] * z[i, 1] + theta[2] * z[i, 2] + theta[3]
        s += w[i] * _log1pexp(-f if y[i] else f)
    return s + 0.5 * ridge * (theta[0] ** 2 + theta[1] ** 2 + theta[2] ** 2)


@nb.njit(cache=True, nogil=True)
def irls_plane(normal, offset, x, go_left, w, steps):
    """The plane ``(n (3,) float64 unit, b float64)`` of the weighted logistic regression of the
    care points (left iff ``n . x < b``), by damped Newton steps from the plane ``(normal, offset)``.
    Returns the start plane (normalised) when the fit cannot move."""
    k = x.shape[0]
    wsum = 0.0
    mu = np.zeros(3)
    for i in range(k):
        wsum += w[i]
        for a in range(3):
            mu[a] += w[i] * x[i, a]
    n0 = np.array([np.float64(normal[0]), np.float64(normal[1]), np.float64(normal[2])])
    b0 = np.float64(offset)
    length = np.sqrt(n0 @ n0)
    if not (wsum > 0 and length > 0):
        return n0, b0
    n0 /= length
    b0 /= length
    mu /= wsum
    var = 0.0
    for i in range(k):
        for a in range(3):
            var += w[i] * (x[i, a] - mu[a]) ** 2
    sd = np.sqrt(var / wsum)
    if not sd > 0:
        return n0, b0
    # standardised coordinates z = (x - mu) / sd and f = theta[:3] . z + theta[3], f > 0: right
    z = np.empty((k, 3))
    y = np.empty(k, np.bool_)
    wn = np.empty(k)
    for i in range(k):
        for a in range(3):
            z[i, a] = (x[i, a] - mu[a]) / sd
        y[i] = not go_left[i]
        wn[i] = w[i] / wsum * k  # weights of mean 1
    theta = np.empty(4)
    for a in range(3):
        theta[a] = n0[a] * sd
    theta[3] = n0 @ mu - b0
    # start at the scale of the current plane that fits best (a few points of a 1D search)
    best_s = 1.0
    best_f = np.inf
    trial = np.empty(4)
    ridge = RIDGE * k
    for e in range(-1, 7):
        s = 2.0 ** e
        for a in range(4):
            trial[a] = theta[a] * s
        f = _objective(trial, z, y, wn, ridge)
        if f < best_f:
            best_f = f
            best_s = s
    theta *= best_s
    cur = best_f
    h = np.empty((4, 4))
    g = np.empty(4)
    for _ in range(steps):
        h[:] = 0.0
        g[:] = 0.0
        for i in range(k):
            f = theta[0] * z[i, 0] + theta[1] * z[i, 1] + theta[2] * z[i, 2] + theta[3]
            p = 1.0 / (1.0 + np.exp(-f))
            r = wn[i] * (p - (1.0 if y[i] else 0.0))
            c = wn[i] * p * (1.0 - p)
            zi = (z[i, 0], z[i, 1], z[i, 2], 1.0)
            for a in range(4):
                g[a] += r * zi[a]
                for bb in range(a, 4):
                    h[a, bb] += c * zi[a] * zi[bb]
        for a in range(3):
            g[a] += ridge * theta[a]
            h[a, a] += ridge
        for a in range(4):
            for bb in range(a):
                h[a, bb] = h[bb, a]
        step, ok = solve4(h, g)
        if not ok:
            break
        t = 1.0
        moved = False
        for _ in range(20):  # backtracking: the damped step must lower the objective
            for a in range(4):
                trial[a] = theta[a] - t * step[a]
            f = _objective(trial, z, y, wn, ridge)
            if f <= cur:
                theta[:] = trial
                moved = f < cur
                cur = f
                break
            t *= 0.5
        if not moved:
            break
    # back to the frame: f = (theta[:3] / sd) . x - (theta[:3] / sd) . mu + theta[3]
    n1 = theta[:3] / sd
    length = np.sqrt(n1 @ n1)
    if not length > 0:
        return n0, b0
    b1 = n1 @ mu - theta[3]
    return n1 / length, b1 / length


@nb.njit(cache=True, nogil=True)
def best_threshold(normal, x, go_left, w):
    """For the float32 ``normal``, the float32 offset with the least care error and that error
    (exact, by the side rule). Thresholds fall halfway between consecutive distinct projections."""
    k = x.shape[0]
    s = np.empty(k)
    for i in range(k):
        s[i] = plane_dot(normal, x[i, 0], x[i, 1], x[i, 2])
    order = np.argsort(s, kind="mergesort")
    err = 0.0
    for i in range(k):  # everything right first (threshold below all projections)
        if go_left[i]:
            err += w[i]
    best = err
    best_j = 0  # number of sorted points sent left
    j = 0
    while j < k:
        v = s[order[j]]
        while j < k and s[order[j]] == v:  # ties go together
            i = order[j]
            err += -w[i] if go_left[i] else w[i]
            j += 1
        if err < best:
            best = err
            best_j = j
    if best_j == 0:
        b = s[order[0]] - max(1.0, abs(s[order[0]])) if k > 0 else 0.0
    elif best_j == k:
        b = s[order[k - 1]] + max(1.0, abs(s[order[k - 1]]))
    else:
        b = 0.5 * (s[order[best_j - 1]] + s[order[best_j]])
    off = np.float32(b)
    return off, plane_error(normal, off, x, go_left, w)


@nb.njit(cache=True, nogil=True)
def fit_plane(normal, offset, x, go_left, w, steps, z=0.0):
    """The refitted float32 plane of a branch and its care error: ``(normal (3,) float32, offset
    float32, error, old error)``; the current plane when no candidate has a strictly lower error
    (so a plane that already separates its care points is kept), or when the drop is not
    ``significant`` at ``z`` standard errors."""
    old = plane_error(normal, offset, x, go_left, w)
    best_n = normal.copy()
    best_b = offset
    best = old
    if old == 0.0 or x.shape[0] == 0:
        return best_n, best_b, best, old
    # the current normal with its best threshold
    b, e = best_threshold(normal, x, go_left, w)
    if e < best:
        best, best_b = e, b
    # the logistic fit, with its own threshold and with the exact best one
    stride = (x.shape[0] + MAX_FIT_POINTS - 1) // MAX_FIT_POINTS
    n1, b1 = irls_plane(normal, offset, x[::stride], go_left[::stride], w[::stride], steps)
    n32 = n1.astype(np.float32)
    if np.any(n32 != 0):
        b32 = np.float32(b1)
        e = plane_error(n32, b32, x, go_left, w)
        if e < best:
            best, best_n, best_b = e, n32, b32
        b, e = best_threshold(n32, x, go_left, w)
        if e < best:
            best, best_n, best_b = e, n32, b
    if best < old and not significant(normal, offset, best_n, best_b, x, w, old - best, z):
        return normal.copy(), offset, old, old
    return best_n, best_b, best, old


@nb.njit(cache=True, nogil=True)
def significant(normal, offset, new_normal, new_offset, x, w, gain, z):
    """True when ``gain`` (the drop of the care error) exceeds ``z`` standard errors of the change:
    ``z sqrt(sum of w^2 over the care points the new plane moves to the other side)``. A refit that
    fixes a point or two and breaks about as many fits noise, not the shape."""
    var = 0.0
    for i in range(x.shape[0]):
        a = goes_left(normal, offset, x[i, 0], x[i, 1], x[i, 2])
        b = goes_left(new_normal, new_offset, x[i, 0], x[i, 1], x[i, 2])
        if a != b:
            var += w[i] * w[i]
    return gain > z * np.sqrt(var)
