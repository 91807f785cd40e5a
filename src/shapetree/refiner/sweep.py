"""Kernels of one bottom-up TAO sweep over a tree held as mutable arrays.

A sweep keeps node ids fixed: ``left``/``right`` (n,) int64 (-1 at leaves), ``normal`` (n, 3)
float32, ``offset`` (n,) float32, ``value`` (n,) bool, ``parent`` and ``depth`` (n,) int64.
Points ``x`` (N, 3) float64 are in the tree's frame with labels ``y`` (N,) bool and weights ``w``
(N,) float64. Sides are decided by ``tree.side.goes_left``, as everywhere.

Within a sweep the cell of a node changes only when one of its ancestors gets a new plane, and
ancestors come later (bottom-up), so every node of depth ``d`` sees exactly the points its
ancestor at depth ``d`` had at the start of the sweep: ``anc`` (each point's ancestor at the
current depth) only ever moves up.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ..tree.edits import preorder
from ..tree.side import goes_left
from .fit import fit_plane


@nb.njit(cache=True, nogil=True, inline="always")
def descend(i, left, right, normal, offset, x0, x1, x2):
    """The leaf reached from node ``i`` by the point ``x``."""
    while left[i] >= 0:
        i = left[i] if goes_left(normal[i], offset[i], x0, x1, x2) else right[i]
    return i


@nb.njit(cache=True, parallel=True)
def leaves_of(x, left, right, normal, offset):
    """(N,) int64 the leaf each point reaches from the root."""
    out = np.empty(x.shape[0], np.int64)
    for p in nb.prange(x.shape[0]):
        out[p] = descend(0, left, right, normal, offset, x[p, 0], x[p, 1], x[p, 2])
    return out


@nb.njit(cache=True, parallel=True)
def path_weights(home, parent, rate, base):
    """(N,) float64 ``base / (base + sum of rate[u] over the ancestors u of each point's leaf)``:
    the balance-heuristic weights of points drawn at rate ``base`` from the whole distribution and
    at ``rate[u]`` from its restriction to branch ``u``'s cell (the same for every draw, so they
    are an unbiased sample of it)."""
    out = np.empty(home.shape[0])
    for p in nb.prange(home.shape[0]):
        s = base
        u = parent[home[p]]
        while u >= 0:
            s += rate[u]
            u = parent[u]
        out[p] = base / s
    return out


@nb.njit(cache=True)
def weighted_error(home, value, y, w):
    """Total weight of the points whose leaf disagrees with their label (in point order, so the
    sum is the same whatever the thread count)."""
    e = 0.0
    for p in range(home.shape[0]):
        if value[home[p]] != y[p]:
            e += w[p]
    return e


@nb.njit(cache=True)
def subtree_counts(home, left, right, n):
    """(n,) int64 the number of points reaching each node (its leaves' counts summed up)."""
    count = np.zeros(n, np.int64)
    for p in range(home.shape[0]):
        count[home[p]] += 1
    order = preorder(left, right)  # any node order: parents before children
    m = order.shape[0]
    for j in range(m - 1, -1, -1):
        i = order[j]
        if left[i] >= 0:
            count[i] = count[left[i]] + count[right[i]]
    return count


@nb.njit(cache=True)
def group_at_depth(anc, parent, depth, d, n):
    """Move every point's ``anc`` up to depth ``d`` where it is deeper (in place), then group the
    points whose ancestor is at depth ``d``: ``(nodes (g,), starts (g + 1,), order (m,))``, nodes
    ascending and points in index order within a group."""
    count = np.zeros(n, np.int64)
    for p in range(anc.shape[0]):
        a = anc[p]
        while depth[a] > d:
            a = parent[a]
        anc[p] = a
        if depth[a] == d:
            count[a] += 1
    g = 0
    for i in range(n):
        if count[i] > 0:
            g += 1
    nodes = np.empty(g, np.int64)
    starts = np.zeros(g + 1, np.int64)
    slot = np.full(n, -1, np.int64)
    k = 0
    for i in range(n):
        if count[i] > 0:
            nodes[k] = i
            slot[i] = k
            starts[k + 1] = starts[k] + count[i]
            k += 1
    fill = starts[:-1].copy()
    order = np.empty(starts[g], np.int64)
    for p in range(anc.shape[0]):
        a = anc[p]
        if depth[a] == d:
            s = slot[a]
            order[fill[s]] = p
            fill[s] += 1
    return nodes, starts, order


@nb.njit(cache=True)
def retake_majority(nodes, starts, order, left, value, y, w):
    """Every leaf among ``nodes`` takes the weighted majority label of its points (a tie keeps the
    value). Returns the number of leaves that changed."""
    changed = 0
    for g in range(nodes.shape[0]):
        v = nodes[g]
        if left[v] >= 0:
            continue
        inside = 0.0
        total = 0.0
        for j in range(starts[g], starts[g + 1]):
            p = order[j]
            total += w[p]
            if y[p]:
                inside += w[p]
        new = value[v]
        if 2.0 * inside > total:
            new = True
        elif 2.0 * inside < total:
            new = False
        if new != value[v]:
            value[v] = new
            changed += 1
    return changed


@nb.njit(cache=True, parallel=True)
def care_sides(nodes, starts, order, x, y, home, left, right, normal, offset, value):
    """For each grouped point (``order[j]`` of the group of ``nodes``), the side of its branch that
    gets it right when only one does: (m,) int8, 1 left, 2 right, 0 neither or both (not a care
    point, and 0 for the points of leaves). ``home`` is each point's current leaf (the end of its
    route on its own side); the other side's subtree is descended. Parallel over points."""
    m = order.shape[0]
    out = np.zeros(m, np.int8)
    group = np.empty(m, np.int64)
    for g in range(nodes.shape[0]):
        group[starts[g]:starts[g + 1]] = g
    for j in nb.prange(m):
        v = nodes[group[j]]
        if left[v] < 0:
            continue
        p = order[j]
        if goes_left(normal[v], offset[v], x[p, 0], x[p, 1], x[p, 2]):
            a = home[p]
            b = descend(right[v], left, right, normal, offset, x[p, 0], x[p, 1], x[p, 2])
        else:
            a = descend(left[v], left, right, normal, offset, x[p, 0], x[p, 1], x[p, 2])
            b = home[p]
        ok_left = value[a] == y[p]
        ok_right = value[b] == y[p]
        if ok_left != ok_right:
            out[j] = 1 if ok_left else 2
    return out


@nb.njit(cache=True, parallel=True)
def reroute(nodes, starts, order, changed, x, home, left, right, normal, offset):
    """The new leaves (``home``, in place) of the points of the groups whose branch changed."""
    m = order.shape[0]
    group = np.empty(m, np.int64)
    for g in range(nodes.shape[0]):
        group[starts[g]:starts[g + 1]] = g
    for j in nb.prange(m):
        g = group[j]
        if changed[g]:
            p = order[j]
            home[p] = descend(nodes[g], left, right, normal, offset, x[p, 0], x[p, 1], x[p, 2])


@nb.njit(cache=True, parallel=True)
def refit_branches(nodes, starts, order, side, x, w, left, normal, offset, steps, z, old_err, new_err, n_care):
    """TAO's step for the branches among ``nodes`` (of one depth: disjoint cells, so they run in
    parallel and each writes only its own plane): the plane is refitted to send each care point
    (``side`` from ``care_sides``) the right way (``fit.fit_plane``) and replaced only when the
    weight of the care points it sends the wrong way drops. Writes ``old_err``/``new_err``/
    ``n_care`` per group (-1 errors for leaves)."""
    for g in nb.prange(nodes.shape[0]):
        v = nodes[g]
        if left[v] < 0:
            old_err[g] = -1.0
            new_err[g] = -1.0
            n_care[g] = 0
            continue
        s = starts[g]
        e = starts[g + 1]
        m = 0
        for j in range(s, e):
            if side[j] != 0:
                m += 1
        xc = np.empty((m, 3))
        wc = np.empty(m)
        tl = np.empty(m, np.bool_)
        k = 0
        for j in range(s, e):
            if side[j] != 0:
                p = order[j]
                xc[k, 0] = x[p, 0]
                xc[k, 1] = x[p, 1]
                xc[k, 2] = x[p, 2]
                wc[k] = w[p]
                tl[k] = side[j] == 1
                k += 1
        n_new, b_new, err, old = fit_plane(normal[v].copy(), offset[v], xc, tl, wc, steps, z)
        old_err[g] = old
        new_err[g] = err
        n_care[g] = m
        if err < old:
            normal[v, 0] = n_new[0]
            normal[v, 1] = n_new[1]
            normal[v, 2] = n_new[2]
            offset[v] = b_new


@nb.njit(cache=True, inline="always")
def _resolve(v, cl, cr, count):
    """The node that takes ``v``'s place: down the non-empty child while the other is empty."""
    while cl[v] >= 0:
        if count[cl[v]] == 0:
            v = cr[v]
        elif count[cr[v]] == 0:
            v = cl[v]
        else:
            break
    return v


@nb.njit(cache=True)
def splice_empty(left, right, count):
    """Remove every branch one of whose children no point reaches, putting its other child in its
    place (the points' leaves do not change). Returns ``(left, right, root)`` with the new links
    (copies; nodes no longer reachable from ``root`` are simply not linked)."""
    cl = left.copy()
    cr = right.copy()
    n = left.shape[0]
    root = _resolve(0, cl, cr, count)
    stack = np.empty(n + 1, np.int64)
    sp = 1
    stack[0] = root
    while sp > 0:
        sp -= 1
        v = stack[sp]
        if cl[v] >= 0:
            a = _resolve(cl[v], cl, cr, count)
            b = _resolve(cr[v], cl, cr, count)
            cl[v] = a
            cr[v] = b
            stack[sp] = a
            stack[sp + 1] = b
            sp += 2
    return cl, cr, root
