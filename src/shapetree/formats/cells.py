"""Coding 3's cells: the exact convex polytope of points that reach a node, as the reader rebuilds it.

A cell is a list of vertices, each a float64 point and the set of plane ids it lies on (the root
box's six faces are ids 0..5, branch ``i``'s plane is id ``6 + i``). Two vertices of a cell are
joined by an edge when at least two ids are in both sets (both lie on the line where two of the
cell's supporting planes meet), so splitting a cell by a plane needs no face loops: the vertices
on each side are kept, and every edge that crosses the plane gives a new vertex on it. Encoder and
decoder (and the browser's reader, ``viewer/static/stree.js``) run exactly these float64 steps in
this order, so all of them see the same cells; ``docs/format.md`` specifies them.

Cells live on a stack (pre-order: a branch's left child is processed next, its right child once the
left subtree is done), so memory follows the depth, not the tree: nodes deeper than ``CELL_DEPTH``
have boxes (coding 2's rule), and a child with more than ``CELL_VERTICES`` vertices or a vertex on
more than ``VERTEX_PLANES`` planes is replaced by its bounding box.
"""

from __future__ import annotations

import numba as nb

CELL_DEPTH = 128  # nodes at depth <= this (the root is 0) have exact cells
CELL_VERTICES = 256  # a child with more vertices becomes its bounding box ...
VERTEX_PLANES = 16  # ... and so does one with a vertex on more planes
ROOT_IDS = 6  # the root box's faces: x = lo, y = lo, z = lo, x = hi, y = hi, z = hi


@nb.njit(cache=True, inline="always")
def plane_value(n0, n1, n2, o, x, y, z):
    """``((n0 x + n1 y) + n2 z) - o`` in float64: which side of the plane a cell vertex is on."""
    return ((n0 * x + n1 * y) + n2 * z) - o


@nb.njit(cache=True)
def write_box(px, ids, cnt, at, lo, hi, base):
    """The 8 corners of box ``[lo, hi]`` at ``at``: corner ``c`` takes ``hi`` on axis ``a`` when bit ``a`` of
    ``c`` is set, and lies on planes ``base + a`` (``lo``) or ``base + 3 + a`` (``hi``) for each axis."""
    for c in range(8):
        for a in range(3):
            up = (c >> a) & 1
            px[at + c, a] = hi[a] if up else lo[a]
            ids[at + c, a] = base + a + 3 * up
        cnt[at + c] = 3
    return at + 8


@nb.njit(cache=True)
def cell_bounds(px, a, b, lo, hi):
    """The bounding box of vertices ``a..b`` into ``lo, hi`` (0, 0 for an empty cell)."""
    if b <= a:
        for k in range(3):
            lo[k] = 0.0
            hi[k] = 0.0
        return
    for k in range(3):
        lo[k] = px[a, k]
        hi[k] = px[a, k]
    for v in range(a + 1, b):
        for k in range(3):
            x = px[v, k]
            lo[k] = min(lo[k], x)
            hi[k] = max(hi[k], x)


@nb.njit(cache=True)
def cell_range(px, a, b, n0, n1, n2):
    """``(L, W)``: the lowest ``n . v`` over vertices ``a..b`` and the range up to the highest (0, 0 when empty)."""
    if b <= a:
        return 0.0, 0.0
    low = plane_value(n0, n1, n2, 0.0, px[a, 0], px[a, 1], px[a, 2])
    high = low
    for v in range(a + 1, b):
        d = plane_value(n0, n1, n2, 0.0, px[v, 0], px[v, 1], px[v, 2])
        low = min(low, d)
        high = max(high, d)
    return low, high - low


@nb.njit(cache=True, inline="always")
def _shared(ids, cnt, u, v):
    """How many plane ids vertices ``u`` and ``v`` have in common."""
    k = 0
    for p in range(cnt[u]):
        x = ids[u, p]
        for q in range(cnt[v]):
            if ids[v, q] == x:
                k += 1
                break
    return k


@nb.njit(cache=True)
def _over_full(cnt, s, a, b, sign, n_cut):
    """Whether the child on side ``sign`` (-1 left: ``s <= 0``, +1 right: ``s >= 0``) is over-full: more
    than ``CELL_VERTICES`` vertices, or a kept vertex on the plane over ``VERTEX_PLANES`` ids."""
    k = n_cut
    over = False
    for v in range(a, b):
        if (sign < 0 and s[v - a] <= 0.0) or (sign > 0 and s[v - a] >= 0.0):
            k += 1
            if s[v - a] == 0.0 and cnt[v] + 1 > VERTEX_PLANES:
                over = True
    return over or k > CELL_VERTICES


@nb.njit(cache=True)
def _write_side(px, ids, cnt, s, a, b, sign, at, k_id, cuts_at, n_cut):
    """Write one child at ``at``: the kept vertices of side ``sign`` in order (those on the plane gain
    id ``k_id``), then the ``n_cut`` cut vertices stored at ``cuts_at``. Returns the end."""
    w = at
    for v in range(a, b):
        sv = s[v - a]
        if (sign < 0 and sv <= 0.0) or (sign > 0 and sv >= 0.0):
            for k in range(3):
                px[w, k] = px[v, k]
            for p in range(cnt[v]):
                ids[w, p] = ids[v, p]
            c = cnt[v]
            if sv == 0.0:
                ids[w, c] = k_id
                c += 1
            cnt[w] = c
            w += 1
    for v in range(cuts_at, cuts_at + n_cut):
        for k in range(3):
            px[w, k] = px[v, k]
        for p in range(cnt[v]):
            ids[w, p] = ids[v, p]
        cnt[w] = cnt[v]
        w += 1
    return w


@nb.njit(cache=True)
def split_cell(px, ids, cnt, a, b, n0, n1, n2, o, k_id, plo, phi, left_base, right_base, s):
    """Split the cell of vertices ``a..b`` (bounding box ``plo, phi``) by the plane ``n . u = o`` (id
    ``k_id``) into its left child (vertices with ``s = n . v - o <= 0``) and right child (``s >= 0``),
    written from ``b + CELL_VERTICES`` on: returns ``(left start, left end, right start, right end)``.
    Every edge from a vertex with ``s < 0`` to one with ``s > 0`` (vertex pairs in cell order, the left
    one first) gives the vertex ``p + t (q - p)``, ``t = s_p / (s_p - s_q)``, on the ids both share and
    ``k_id``; vertices with ``s = 0`` belong to both children and gain ``k_id``. More than
    ``CELL_VERTICES`` cuts or a cut on more than ``VERTEX_PLANES`` planes make both children the parent's
    bounding box (ids ``left_base + 0..5`` and ``right_base + 0..5``); a child over ``CELL_VERTICES``
    vertices or with a kept vertex over ``VERTEX_PLANES`` ids becomes it alone. ``s``: scratch of at
    least ``b - a``."""
    for v in range(a, b):
        s[v - a] = plane_value(n0, n1, n2, o, px[v, 0], px[v, 1], px[v, 2])
    n_cut = 0  # the cut vertices, at b ..
    cut_over = False
    w = b
    for p in range(a, b):
        sp = s[p - a]
        if not sp < 0.0:
            continue
        for q in range(a, b):
            sq = s[q - a]
            if not sq > 0.0 or _shared(ids, cnt, p, q) < 2:
                continue
            if n_cut >= CELL_VERTICES:
                cut_over = True
                break
            t = sp / (sp - sq)
            for k in range(3):
                px[w, k] = px[p, k] + t * (px[q, k] - px[p, k])
            c = 0
            for i in range(cnt[p]):
                x = ids[p, i]
                for j in range(cnt[q]):
                    if ids[q, j] == x:
                        if c < VERTEX_PLANES:
                            ids[w, c] = x
                        c += 1
                        break
            if c + 1 > VERTEX_PLANES:
                cut_over = True
            else:
                ids[w, c] = k_id
                cnt[w] = c + 1
            n_cut += 1
            w += 1
        if cut_over:
            break
    over_l = _over_full(cnt, s, a, b, -1, n_cut)
    over_r = _over_full(cnt, s, a, b, 1, n_cut)
    l0 = b + CELL_VERTICES
    if cut_over or over_l:
        l1 = write_box(px, ids, cnt, l0, plo, phi, left_base)
    else:
        l1 = _write_side(px, ids, cnt, s, a, b, -1, l0, k_id, b, n_cut)
    if cut_over or over_r:
        r1 = write_box(px, ids, cnt, l1, plo, phi, right_base)
    else:
        r1 = _write_side(px, ids, cnt, s, a, b, 1, l1, k_id, b, n_cut)
    return l0, l1, l1, r1


@nb.njit(cache=True)
def move_cells(px, ids, cnt, src, dst, count):
    """Move ``count`` vertices from ``src`` down to ``dst`` (``dst <= src``)."""
    for v in range(count):
        for k in range(3):
            px[dst + v, k] = px[src + v, k]
        c = cnt[src + v]
        for p in range(c):
            ids[dst + v, p] = ids[src + v, p]
        cnt[dst + v] = c

