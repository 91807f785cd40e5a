"""Numba kernels of the greedy simplification: an indexed heap, the incremental greedy run and
the replay of a prefix of its steps.

State of a run (``n`` nodes of the full tree, ``P`` labelled points, all of weight 1, so every
count is an exact integer and ties break the same way in the slow reference):

* current structure: ``cl``/``cr`` children, ``par`` parent, ``leaf`` current leaves, ``val``
  their values, ``alive`` nodes still in the tree;
* per node: ``W`` points routed to it, ``W1`` of them inside, ``es`` errors of its current
  subtree, ``nlv`` its current leaf count;
* per point: ``home`` its current leaf and ``alt`` the leaf it would reach if its home were removed
  and its parent replaced by the sibling (routed through the sibling's current subtree), kept in
  doubly linked lists per leaf (``ph``/``pn``/``pp`` for homes, ``ah``/``an``/``ap`` for alts);
* per leaf: ``aerr`` errors of its points at their alt leaves.

Moves (heap ids): ``u < n`` collapses branch ``u`` into one leaf of its majority value, costing
``(min(W1, W - W1) - es) / (nlv - 1)`` per removed leaf; ``n + l`` removes leaf ``l`` and puts
its sibling in its parent's place, costing ``aerr[l] - err(l)``; ``2n + c`` does that for the
whole subtree of a small branch ``c`` (its points routed through the sibling, recounted whenever
``c``, its parent or its sibling is touched). A move changes the counts of its ancestors and of
the nodes its rerouted points pass, and the alts of the points that sat in removed leaves: only
those entries are updated.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ..tree.side import goes_left

KEEP_NONE = 0  # the branch becomes a leaf (both children were leaves)
KEEP_LEFT = 1  # the branch and its right child (a leaf) go; the left subtree takes its place
KEEP_RIGHT = 2


# ---------------------------------------------------------------- indexed binary heap
@nb.njit(cache=True, inline="always")
def _less(key, a, b):
    return key[a] < key[b] or (key[a] == key[b] and a < b)


@nb.njit(cache=True)
def _sift_up(heap, pos, key, k):
    item = heap[k]
    while k > 0:
        up = (k - 1) >> 1
        other = heap[up]
        if not _less(key, item, other):
            break
        heap[k] = other
        pos[other] = k
        k = up
    heap[k] = item
    pos[item] = k


@nb.njit(cache=True)
def _sift_down(heap, pos, key, size, k):
    item = heap[k]
    while True:
        c = 2 * k + 1
        if c >= size:
            break
        if c + 1 < size and _less(key, heap[c + 1], heap[c]):
            c += 1
        if not _less(key, heap[c], item):
            break
        heap[k] = heap[c]
        pos[heap[c]] = k
        k = c
    heap[k] = item
    pos[item] = k


@nb.njit(cache=True)
def heap_set(heap, pos, key, size, item, value):
    """Insert ``item`` with ``value`` or change its value; ``size`` is a 1-element array."""
    key[item] = value
    if pos[item] < 0:
        heap[size[0]] = item
        pos[item] = size[0]
        size[0] += 1
        _sift_up(heap, pos, key, size[0] - 1)
    else:
        k = pos[item]
        _sift_up(heap, pos, key, k)
        _sift_down(heap, pos, key, size[0], pos[item])


@nb.njit(cache=True)
def heap_remove(heap, pos, key, size, item):
    k = pos[item]
    if k < 0:
        return
    pos[item] = -1
    size[0] -= 1
    if k < size[0]:
        last = heap[size[0]]
        heap[k] = last
        pos[last] = k
        _sift_up(heap, pos, key, k)
        _sift_down(heap, pos, key, size[0], pos[last])


# ---------------------------------------------------------------- linked lists of points
@nb.njit(cache=True, inline="always")
def _push(head, nxt, prv, i, p):
    h = head[i]
    nxt[p] = h
    prv[p] = -1
    if h >= 0:
        prv[h] = p
    head[i] = p


@nb.njit(cache=True, inline="always")
def _unlink(head, nxt, prv, i, p):
    if prv[p] >= 0:
        nxt[prv[p]] = nxt[p]
    else:
        head[i] = nxt[p]
    if nxt[p] >= 0:
        prv[nxt[p]] = prv[p]


@nb.njit(cache=True)
def _collect(head, nxt, i, buf):
    k = 0
    p = head[i]
    while p >= 0:
        buf[k] = p
        k += 1
        p = nxt[p]
    return k


# ---------------------------------------------------------------- descent
@nb.njit(cache=True, inline="always")
def _route(i, cl, cr, leaf, normal, offset, x0, x1, x2):
    while not leaf[i]:
        i = cl[i] if goes_left(normal[i], offset[i], x0, x1, x2) else cr[i]
    return i


@nb.njit(cache=True, inline="always")
def _sibling(i, par, cl, cr):
    g = par[i]
    if g < 0:
        return -1
    return cr[g] if cl[g] == i else cl[g]


@nb.njit(cache=True, inline="always")
def _err(W, W1, val, i):
    return W[i] - W1[i] if val[i] else W1[i]


@nb.njit(cache=True, inline="always")
def _touch(i, stamp, now, touched, nt):
    if stamp[i] != now:
        stamp[i] = now
        touched[nt] = i
        nt += 1
    return nt


@nb.njit(cache=True, inline="always")
def _merge_cost(b, cl, cr, W, W1, es):
    """Errors added by turning branch ``b`` (both children leaves) into a leaf of its majority."""
    return np.float64(min(W1[b], W[b] - W1[b]) - es[cl[b]] - es[cr[b]])


@nb.njit(cache=True)
def _set_alt(p, start, cl, cr, leaf, val, normal, offset, points, y, alt, ah, an, ap):
    """Route point ``p`` from ``start`` (or nowhere if -1) to its alt leaf; returns its error there."""
    if start < 0:
        alt[p] = -1
        return 0
    a = _route(start, cl, cr, leaf, normal, offset, points[p, 0], points[p, 1], points[p, 2])
    alt[p] = a
    _push(ah, an, ap, a, p)
    return 1 if val[a] != y[p] else 0


@nb.njit(cache=True)
def _reroute_alts(u, par, cl, cr, leaf, val, normal, offset, points, y, alt, ah, an, ap, ph, pn, buf):
    """Route every point of leaf ``u`` anew from ``u``'s sibling to its alt leaf (after the sibling
    changed); returns their error there, ``u``'s new alt error."""
    sib = _sibling(u, par, cl, cr)
    k = _collect(ph, pn, u, buf)
    err = 0
    for q in range(k):
        p = buf[q]
        if alt[p] >= 0:
            _unlink(ah, an, ap, alt[p], p)
        err += _set_alt(p, sib, cl, cr, leaf, val, normal, offset, points, y, alt, ah, an, ap)
    return err


@nb.njit(cache=True)
def _splice_cost(c, s, cl, cr, leaf, val, normal, offset, points, y, es, nlv, ph, pn, stack):
    """Errors per removed leaf if the subtree of branch ``c`` went and its sibling ``s`` took the
    parent's place: every point of ``c`` routed through ``s``."""
    errors = 0
    sp = 0
    stack[sp] = c
    sp += 1
    while sp > 0:
        sp -= 1
        i = stack[sp]
        if not leaf[i]:
            stack[sp] = cl[i]
            stack[sp + 1] = cr[i]
            sp += 2
            continue
        p = ph[i]
        while p >= 0:
            a = _route(s, cl, cr, leaf, normal, offset, points[p, 0], points[p, 1], points[p, 2])
            if val[a] != y[p]:
                errors += 1
            p = pn[p]
    return np.float64(errors - es[c]) / np.float64(nlv[c])


@nb.njit(cache=True)
def _update_keys(touched, nt, n, alive, leaf, par, cl, cr, W, W1, es, nlv, aerr, val, heap, pos, key, size,
                 max_splice, max_splice_points, normal, offset, points, y, ph, pn, stack, bstamp, now):
    for t in range(nt):
        i = touched[t]
        if not alive[i]:
            continue
        if leaf[i]:
            if par[i] >= 0:
                heap_set(heap, pos, key, size, n + i, np.float64(aerr[i] - _err(W, W1, val, i)))
            else:
                heap_remove(heap, pos, key, size, n + i)
            heap_remove(heap, pos, key, size, 2 * n + i)
        else:
            e = min(W1[i], W[i] - W1[i])
            heap_set(heap, pos, key, size, i, np.float64(e - es[i]) / np.float64(nlv[i] - 1))
    if max_splice < 2:
        return
    # subtree splices of small branches: a touched node's own, and its children's (their sibling changed)
    for t in range(nt):
        i = touched[t]
        if not alive[i]:
            continue
        for r in range(3):
            j = i if r == 0 else (cl[i] if r == 1 else cr[i])
            if j < 0 or bstamp[j] == now:
                continue
            bstamp[j] = now
            if leaf[j] or not alive[j]:
                continue
            g = par[j]
            if g >= 0 and nlv[j] <= max_splice and W[j] <= max_splice_points:
                s = cr[g] if cl[g] == j else cl[g]
                heap_set(heap, pos, key, size, 2 * n + j,
                         _splice_cost(j, s, cl, cr, leaf, val, normal, offset, points, y, es, nlv, ph, pn, stack))
            else:
                heap_remove(heap, pos, key, size, 2 * n + j)


# ---------------------------------------------------------------- the greedy run
@nb.njit(cache=True)
def greedy_steps(left, right, value, normal, offset, points, y, home0, stop_leaves, max_splice,
                 max_splice_points):
    """Run the greedy simplification of a pre-order tree until ``stop_leaves`` leaves or fewer.

    left, right: (n,) int32 children (-1 at leaves); value: (n,) bool; normal (n, 3) float32,
    offset (n,) float32; points (P, 3) float64 labelled ``y`` (P,) bool; home0 (P,) int64 the
    full tree's leaf of each point; max_splice: the largest subtree (in leaves) a splice may
    remove whole (1: only leaves). Returns one entry per removed leaf: ``node`` (m,) int64 the
    branch removed or collapsed, ``keep`` (m,) int8 (KEEP_*), ``leaf_value`` (m,) bool (the value
    of a collapsed branch), ``error`` (m,) int64 errors on the points after the step.

    A collapse of a k-leaf branch is recorded as k - 1 collapses of two-leaf branches, the cheapest
    ready one first (ties: the lower node id); a splice of a k-leaf subtree as its collapse and then
    the splice of the resulting leaf.
    """
    n = left.shape[0]
    P = points.shape[0]
    cl = left.astype(np.int64)
    cr = right.astype(np.int64)
    leaf = left < 0
    val = value.copy()
    alive = np.ones(n, np.bool_)
    par = np.full(n, -1, np.int64)
    for i in range(n):
        if not leaf[i]:
            par[cl[i]] = i
            par[cr[i]] = i
    W = np.zeros(n, np.int64)
    W1 = np.zeros(n, np.int64)
    for p in range(P):
        W[home0[p]] += 1
        if y[p]:
            W1[home0[p]] += 1
    es = np.zeros(n, np.int64)
    nlv = np.ones(n, np.int64)
    for i in range(n - 1, -1, -1):  # pre-order: children follow their parent
        if leaf[i]:
            es[i] = _err(W, W1, val, i)
        else:
            W[i] = W[cl[i]] + W[cr[i]]
            W1[i] = W1[cl[i]] + W1[cr[i]]
            es[i] = es[cl[i]] + es[cr[i]]
            nlv[i] = nlv[cl[i]] + nlv[cr[i]]
    root = 0

    home = home0.copy()
    alt = np.full(P, -1, np.int64)
    ph = np.full(n, -1, np.int64)
    pn = np.empty(P, np.int64)
    pp = np.empty(P, np.int64)
    ah = np.full(n, -1, np.int64)
    an = np.empty(P, np.int64)
    ap = np.empty(P, np.int64)
    aerr = np.zeros(n, np.int64)
    for p in range(P):
        h = home[p]
        _push(ph, pn, pp, h, p)
        aerr[h] += _set_alt(p, _sibling(h, par, cl, cr), cl, cr, leaf, val, normal, offset, points, y,
                            alt, ah, an, ap)

    heap = np.empty(3 * n, np.int64)
    pos = np.full(3 * n, -1, np.int64)
    key = np.zeros(3 * n, np.float64)
    size = np.zeros(1, np.int64)
    stamp = np.zeros(n, np.int64)
    bstamp = np.zeros(n, np.int64)
    touched = np.empty(n, np.int64)
    stack = np.empty(n + 1, np.int64)
    stack2 = np.empty(n + 1, np.int64)
    now = 1
    nt = 0
    for i in range(n):
        nt = _touch(i, stamp, now, touched, nt)
    _update_keys(touched, nt, n, alive, leaf, par, cl, cr, W, W1, es, nlv, aerr, val, heap, pos, key, size,
                 max_splice, max_splice_points, normal, offset, points, y, ph, pn, stack2, bstamp, now)

    m_max = max(nlv[0] - 1, 0)
    out_node = np.empty(m_max, np.int64)
    out_keep = np.empty(m_max, np.int8)
    out_value = np.zeros(m_max, np.bool_)
    out_error = np.empty(m_max, np.int64)
    m = 0
    buf = np.empty(P, np.int64)
    sub = np.empty(n, np.int64)
    path = np.empty(n, np.int64)
    total = es[0]
    lheap = np.empty(n, np.int64)  # the ready branches of a collapse, cheapest first
    lpos = np.full(n, -1, np.int64)
    lkey = np.zeros(n, np.float64)
    lsize = np.zeros(1, np.int64)
    pend = np.zeros(n, np.int64)

    while nlv[root] > stop_leaves and size[0] > 0:
        move = heap[0]
        now += 1
        nt = 0
        if move >= 2 * n:  # splice a small subtree: collapse it, then splice the leaf
            collapse = move - 2 * n
            splice = collapse
        elif move >= n:
            collapse = -1
            splice = move - n
        else:
            collapse = move
            splice = -1
        if collapse >= 0:  # collapse branch u into one leaf
            u = collapse
            nb_ = 0
            nl = 0
            sp = 0
            stack[sp] = u
            sp += 1
            while sp > 0:  # current subtree of u in pre-order: branches first in sub, leaves at the end
                sp -= 1
                i = stack[sp]
                if leaf[i]:
                    nl += 1
                    sub[n - nl] = i
                else:
                    sub[nb_] = i
                    nb_ += 1
                    stack[sp] = cr[i]
                    stack[sp + 1] = cl[i]
                    sp += 2
            new_val = 2 * W1[u] > W[u]
            old_es = es[u]
            # recorded one two-leaf branch at a time, the cheapest ready one first (a branch is ready
            # once both its children are leaves), so the budgets inside the collapse get good trees
            for t in range(nb_):
                b = sub[t]
                pend[b] = (0 if leaf[cl[b]] else 1) + (0 if leaf[cr[b]] else 1)
                if pend[b] == 0:
                    heap_set(lheap, lpos, lkey, lsize, b, _merge_cost(b, cl, cr, W, W1, es))
            while lsize[0] > 0:
                b = lheap[0]
                heap_remove(lheap, lpos, lkey, lsize, b)
                e = min(W1[b], W[b] - W1[b])
                total += e - es[cl[b]] - es[cr[b]]
                es[b] = e
                out_node[m] = b
                out_keep[m] = KEEP_NONE
                out_value[m] = 2 * W1[b] > W[b]
                out_error[m] = total
                m += 1
                if b != u:
                    a = par[b]
                    pend[a] -= 1
                    if pend[a] == 0:
                        heap_set(lheap, lpos, lkey, lsize, a, _merge_cost(a, cl, cr, W, W1, es))
            # alts that ended below u now end at u
            for t in range(n - nl, n):
                lf = sub[t]
                k = _collect(ah, an, lf, buf)
                for q in range(k):
                    p = buf[q]
                    o = home[p]
                    aerr[o] += (1 if new_val != y[p] else 0) - (1 if val[lf] != y[p] else 0)
                    alt[p] = u
                    _push(ah, an, ap, u, p)
                    nt = _touch(o, stamp, now, touched, nt)
                ah[lf] = -1
            leaf[u] = True
            val[u] = new_val
            for t in range(n - nl, n):
                lf = sub[t]
                k = _collect(ph, pn, lf, buf)
                for q in range(k):
                    p = buf[q]
                    home[p] = u
                    _push(ph, pn, pp, u, p)
                ph[lf] = -1
                alive[lf] = False
                heap_remove(heap, pos, key, size, n + lf)
            for t in range(nb_):
                b = sub[t]
                heap_remove(heap, pos, key, size, b)
                heap_remove(heap, pos, key, size, 2 * n + b)
                if b != u:
                    alive[b] = False
            aerr[u] = _reroute_alts(u, par, cl, cr, leaf, val, normal, offset, points, y, alt, ah, an, ap, ph, pn, buf)
            removed = nlv[u] - 1
            delta = _err(W, W1, val, u) - old_es
            nlv[u] = 1
            es[u] = _err(W, W1, val, u)
            nt = _touch(u, stamp, now, touched, nt)
            a = par[u]
            while a >= 0:
                nlv[a] -= removed
                es[a] += delta
                nt = _touch(a, stamp, now, touched, nt)
                a = par[a]
        if splice >= 0:  # remove leaf c, its sibling s takes the parent's place
            c = splice
            v = par[c]
            s = cr[v] if cl[v] == c else cl[v]
            g = par[v]
            delta = aerr[c] - _err(W, W1, val, c)
            out_node[m] = v
            out_keep[m] = KEEP_LEFT if cl[v] == s else KEEP_RIGHT
            total += delta
            out_error[m] = total
            m += 1
            if g >= 0:
                if cl[g] == v:
                    cl[g] = s
                else:
                    cr[g] = s
            else:
                root = s
            par[s] = g
            alive[v] = False
            alive[c] = False
            heap_remove(heap, pos, key, size, v)
            heap_remove(heap, pos, key, size, 2 * n + v)
            heap_remove(heap, pos, key, size, n + c)
            nt = _touch(s, stamp, now, touched, nt)
            # the points of c move into s and land where their alt route ended
            k = _collect(ph, pn, c, buf)
            for t in range(k):
                p = buf[t]
                _unlink(ah, an, ap, alt[p], p)
                x0 = points[p, 0]
                x1 = points[p, 1]
                x2 = points[p, 2]
                depth = 0
                i = s
                while True:
                    path[depth] = i
                    depth += 1
                    W[i] += 1
                    if y[p]:
                        W1[i] += 1
                    nt = _touch(i, stamp, now, touched, nt)
                    if leaf[i]:
                        break
                    i = cl[i] if goes_left(normal[i], offset[i], x0, x1, x2) else cr[i]
                if val[i] != y[p]:
                    for j in range(depth):
                        es[path[j]] += 1
                home[p] = i
                _push(ph, pn, pp, i, p)
                if not leaf[s]:
                    aerr[i] += _set_alt(p, _sibling(i, par, cl, cr), cl, cr, leaf, val, normal, offset, points,
                                        y, alt, ah, an, ap)
                else:
                    alt[p] = -1
            ph[c] = -1
            # points whose alt ended in c continue through s
            k = _collect(ah, an, c, buf)
            for t in range(k):
                p = buf[t]
                o = home[p]
                aerr[o] += _set_alt(p, s, cl, cr, leaf, val, normal, offset, points, y, alt, ah, an, ap)
                aerr[o] -= 1 if val[c] != y[p] else 0
                nt = _touch(o, stamp, now, touched, nt)
            ah[c] = -1
            if leaf[s]:  # its sibling changed: route all its points' alts anew
                aerr[s] = _reroute_alts(s, par, cl, cr, leaf, val, normal, offset, points, y, alt, ah, an, ap, ph, pn,
                                        buf)
                nt = _touch(s, stamp, now, touched, nt)
            a = g
            while a >= 0:
                nlv[a] -= 1
                es[a] += delta
                nt = _touch(a, stamp, now, touched, nt)
                a = par[a]
        _update_keys(touched, nt, n, alive, leaf, par, cl, cr, W, W1, es, nlv, aerr, val, heap, pos, key, size,
                     max_splice, max_splice_points, normal, offset, points, y, ph, pn, stack2, bstamp, now)
    return out_node[:m], out_keep[:m], out_value[:m], out_error[:m]


# ---------------------------------------------------------------- replaying a prefix
@nb.njit(cache=True)
def replay(left, right, value, node, keep, leaf_value, n_steps):
    """Apply the first ``n_steps`` steps to a pre-order tree: (cl, cr, leaf value, root), with
    ``cl``/``cr`` -1 at the current leaves (nodes no longer reachable are simply not visited)."""
    n = left.shape[0]
    cl = left.astype(np.int64)
    cr = right.astype(np.int64)
    val = value.copy()
    par = np.full(n, -1, np.int64)
    for i in range(n):
        if cl[i] >= 0:
            par[cl[i]] = i
            par[cr[i]] = i
    root = 0
    for k in range(n_steps):
        v = node[k]
        if keep[k] == KEEP_NONE:
            cl[v] = -1
            cr[v] = -1
            val[v] = leaf_value[k]
            continue
        s = cl[v] if keep[k] == KEEP_LEFT else cr[v]
        g = par[v]
        if g < 0:
            root = s
        elif cl[g] == v:
            cl[g] = s
        else:
            cr[g] = s
        par[s] = g
    return cl, cr, val, root
