"""Plane codings 1 to 4 of ``.stree`` v2 (see ``docs/format.md``): quantised planes whose precision
follows the cell they cut.

Every node keeps a conservative axis-aligned box of its cell in frame coordinates, propagated from
the root box with the *quantised* planes. A branch's normal is an octahedral code whose bit count
grows with its box (the angle error times the box stays within the tolerance); its offset is a
code within the interval of ``n . u`` over the box, with a bit count from that interval's width.
The decoder recomputes the same boxes, so it knows every bit count. All arithmetic is float64
``+ - * /`` and comparisons (no FMA: numba's fastmath stays off), so the browser reader computes
bit-identical planes. Coding 2 adds an escape (the unused normal code ``2m + 1``) to reuse an earlier
coded plane or to store a float32 plane exactly (axis planes: CAD faces the builder hits exactly),
and ``auto_precision`` picks the tolerance per file from a disagreement budget. Coding 3 is coding 2
with every node's exact cell (``cells``: the convex polytope its ancestors' planes cut from the root
box) in place of its box: a tighter region, so fewer bits for the same tolerance. Coding 4 (the
default) is coding 3 with every regularly coded normal pointing up (the encoder flips the others,
``oriented``: rotated codes of ``bn`` and ``bn - 1`` bits instead of two of ``bn``) and quarter-step
precisions.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ..errors import FormatError
from ..tree import Kind, Tree, flipped
from . import cells

DEFAULT_PRECISION = 12  # tolerance 2^-12 of the frame box's longest side
DEFAULT_NORMAL_EXTRA = 0  # normal bits = offset-scale bits of the box + this (format_size: 0 beats 1 by 2%)
MAX_PRECISION = 24
MAX_NORMAL_EXTRA = 8
MIN_NORMAL_BITS = 2
MAX_NORMAL_BITS = 20  # 2^19 - 1 steps: float32 rounding of a decoded normal never changes its code
MAX_OFFSET_BITS = 30
DISAGREEMENT_BUDGET = 1e-3  # automatic precision: quantised and float32 trees disagree on at most this
AUTO_PRECISIONS = range(10, 17)  # ... fraction of the float32 tree's inside volume, at the first of these
AUTO_SAMPLES = 200_000  # at the default budget; a smaller budget draws proportionally more ...
MAX_AUTO_SAMPLES = 2_000_000  # ... up to this many
QUANTIZED_PLANES = 1  # plane codings of .stree v2 (docs/format.md): quantised in boxes,
ESCAPED_PLANES = 2  # ... with escapes to reused and exact float32 planes,
CELL_PLANES = 3  # ... and in the nodes' exact cells instead of boxes,
HEMISPHERE_PLANES = 4  # ... with upward normals only and quarter-step precisions (the default)
CODINGS = (QUANTIZED_PLANES, ESCAPED_PLANES, CELL_PLANES, HEMISPHERE_PLANES)
DEFAULT_CODING = HEMISPHERE_PLANES
PRECISION_STEPS = 4  # coding 4: precisions in quarter steps; its precision byte counts them
STEP_FRACTIONS = (1.0, 0.8408964152537145, 0.7071067811865476, 0.5946035575013605)  # 2^-(k/4), float64
AUTO_QUARTERS = (-0.75, -0.5, -0.25)  # coding 4 tries these below the lowest passing whole precision
DEFAULT_EXACT = "axis"  # which planes coding 2 stores as float32 (see plane_hints)
MAX_FRAME = 2.0**100  # root box coordinates beyond this are refused (no overflow anywhere)


@nb.njit(cache=True, inline="always")
def _bits_for(extent, tol, cap):
    """The smallest ``k <= cap`` with ``extent <= tol * 2^k``."""
    k = 0
    step = tol
    while k < cap and extent > step:
        k += 1
        step = step * 2.0
    return k


@nb.njit(cache=True, inline="always")
def _normal_bits(lo, hi, tol, extra):
    e = 0.0
    for i in range(3):
        side = hi[i] - lo[i]
        e = max(e, side)
    bn = _bits_for(e, tol, MAX_PRECISION) + extra
    bn = max(bn, MIN_NORMAL_BITS)
    bn = min(bn, MAX_NORMAL_BITS)
    return bn


@nb.njit(cache=True, inline="always")
def _octahedral(ca, cb, m):
    """The float32 normal (L1 norm 1 before rounding) of octahedral codes ``ca, cb`` in [0, 2m]."""
    a = (np.float64(ca) - np.float64(m)) / np.float64(m)
    b = (np.float64(cb) - np.float64(m)) / np.float64(m)
    aa = a if a >= 0.0 else -a
    ab = b if b >= 0.0 else -b
    z = (1.0 - aa) - ab
    if z < 0.0:
        x = (1.0 - ab) if a >= 0.0 else -(1.0 - ab)
        y = (1.0 - aa) if b >= 0.0 else -(1.0 - aa)
    else:
        x = a
        y = b
    return np.float32(x), np.float32(y), np.float32(z)


@nb.njit(cache=True, inline="always")
def _upper_octahedral(ca, cb, m):
    """Coding 4's float32 normal of octahedral codes ``ca, cb`` of the upper half (``|a| + |b| <= 1``):
    ``(a, b, 1 - |a| - |b|)`` with ``z`` clamped at 0 where rounding makes it negative (never folded,
    so every decoded normal points up)."""
    a = (np.float64(ca) - np.float64(m)) / np.float64(m)
    b = (np.float64(cb) - np.float64(m)) / np.float64(m)
    aa = a if a >= 0.0 else -a
    ab = b if b >= 0.0 else -b
    z = (1.0 - aa) - ab
    z = max(z, 0.0)
    return np.float32(a), np.float32(b), np.float32(z)


@nb.njit(cache=True, inline="always")
def _extent_terms(n, lo, hi, mins, maxs):
    """``mins[i], maxs[i]``: the range of ``n_i u_i`` over the box."""
    for i in range(3):
        p = n[i] * lo[i]
        q = n[i] * hi[i]
        if p < q:
            mins[i] = p
            maxs[i] = q
        else:
            mins[i] = q
            maxs[i] = p


@nb.njit(cache=True, inline="always")
def _offset_range(x, y, z, lo, hi, tol, nq, mins, maxs):
    """The range of ``n . u`` over the box for the float32 normal ``(x, y, z)`` (also left in ``nq``,
    ``mins``, ``maxs``): ``(low end, width, offset code bits)``."""
    nq[0], nq[1], nq[2] = np.float64(x), np.float64(y), np.float64(z)
    _extent_terms(nq, lo, hi, mins, maxs)
    lo_int = (mins[0] + mins[1]) + mins[2]
    width = ((maxs[0] + maxs[1]) + maxs[2]) - lo_int
    return lo_int, width, _bits_for(width, tol, MAX_OFFSET_BITS)


@nb.njit(cache=True, inline="always")
def _offset_value(lo_int, width, q, bo):
    return np.float32(lo_int + ((np.float64(q) + 0.5) / np.float64(1 << bo)) * width)


@nb.njit(cache=True, inline="always")
def _split_box(n, o, lo, hi, mins, maxs, llo, lhi, rlo, rhi):
    """Boxes of (box and n.u < o) and (box and n.u >= o), per axis in closed form, clamped to the box."""
    for i in range(3):
        llo[i] = lo[i]
        lhi[i] = hi[i]
        rlo[i] = lo[i]
        rhi[i] = hi[i]
    for i in range(3):
        ni = n[i]
        if ni == 0.0:
            continue
        j = 1 if i == 0 else 0
        k = 1 if i == 2 else 2
        s_left = mins[j] + mins[k]
        s_right = maxs[j] + maxs[k]
        bl = (o - s_left) / ni
        br = (o - s_right) / ni
        bl = max(bl, lo[i])
        bl = min(bl, hi[i])
        br = max(br, lo[i])
        br = min(br, hi[i])
        if ni > 0.0:
            lhi[i] = bl
            rlo[i] = br
        else:
            llo[i] = bl
            rhi[i] = br


@nb.njit(cache=True, inline="always")
def _split_children(i, qn, qo, left, right, lo, hi, nq, mins, maxs):
    """The boxes of branch ``i``'s children from its quantised plane ``qn[i], qo[i]`` (the encoder
    and decoder run exactly this, so both know every child's box)."""
    nq[0], nq[1], nq[2] = np.float64(qn[i, 0]), np.float64(qn[i, 1]), np.float64(qn[i, 2])
    _extent_terms(nq, lo[i], hi[i], mins, maxs)
    _split_box(nq, np.float64(qo[i]), lo[i], hi[i], mins, maxs, lo[left[i]], hi[left[i]], lo[right[i]], hi[right[i]])


@nb.njit(cache=True)
def _split_region(i, has_cell, qn, qo, left, right, lo, hi, nq, mins, maxs, depth, px, ids, cnt, start, top, a, b, s):
    """After branch ``i``'s plane ``qn[i], qo[i]`` is known: its children's depths, boxes ``lo, hi`` (a
    cell's box is its bounding box) and, for children at depth <= ``cells.CELL_DEPTH`` of a node with a cell
    (``has_cell``: the popped cell at vertices ``a..b``), their cells pushed (right first, so the left
    child's is on top; leaves get none). Returns the stack's new top."""
    n_nodes = left.shape[0]
    li = left[i]
    ri = right[i]
    depth[li] = depth[i] + 1
    depth[ri] = depth[i] + 1
    if not has_cell or depth[i] >= cells.CELL_DEPTH:
        _split_children(i, qn, qo, left, right, lo, hi, nq, mins, maxs)
        return top
    n0 = np.float64(qn[i, 0])
    n1 = np.float64(qn[i, 1])
    n2 = np.float64(qn[i, 2])
    o = np.float64(qo[i])
    l0, l1, r0, r1 = cells.split_cell(px, ids, cnt, a, b, n0, n1, n2, o, cells.ROOT_IDS + i, lo[i], hi[i],
                                cells.ROOT_IDS + n_nodes + 6 * li, cells.ROOT_IDS + n_nodes + 6 * ri, s)
    cells.cell_bounds(px, l0, l1, lo[li], hi[li])
    cells.cell_bounds(px, r0, r1, lo[ri], hi[ri])
    at = a
    if left[ri] >= 0:
        cells.move_cells(px, ids, cnt, r0, at, r1 - r0)
        at += r1 - r0
        top += 1
        start[top] = at
    if left[li] >= 0:
        cells.move_cells(px, ids, cnt, l0, at, l1 - l0)
        at += l1 - l0
        top += 1
        start[top] = at
    return top


@nb.njit(cache=True)
def _root_region(use_cells, root_lo, root_hi, n_nodes):
    """The per-node boxes (the root's set), depths, and the cell stack with the root box's cell on it
    when ``use_cells`` (codings 3 and 4): ``(lo, hi, depth, points, ids, id counts, starts, top, scratch)``."""
    lo = np.empty((n_nodes, 3), np.float64)
    hi = np.empty((n_nodes, 3), np.float64)
    lo[0] = root_lo
    hi[0] = root_hi
    depth = np.zeros(n_nodes, np.int64)
    cap = (cells.CELL_DEPTH + 4) * cells.CELL_VERTICES if use_cells else 0
    px = np.zeros((cap, 3), np.float64)
    ids = np.zeros((cap, cells.VERTEX_PLANES), np.int64)
    cnt = np.zeros(cap, np.int64)
    start = np.zeros(cells.CELL_DEPTH + 4, np.int64)
    top = 0
    if use_cells:
        start[1] = cells.write_box(px, ids, cnt, 0, root_lo, root_hi, 0)
        top = 1
    return lo, hi, depth, px, ids, cnt, start, top, np.empty(cells.CELL_VERTICES, np.float64)


@nb.njit(cache=True, inline="always")
def _enter(use_cells, depth, start, top):
    """A branch at ``depth`` comes up in pre-order: ``(has a cell, new top, first vertex, end)``, its cell
    taken off the stack (codings 3 and 4, depth <= ``cells.CELL_DEPTH``), else no cell."""
    if use_cells and depth <= cells.CELL_DEPTH:
        return True, top - 1, start[top - 1], start[top]
    return False, top, 0, 0


@nb.njit(cache=True)
def region_boxes(normal, offset, left, right, root_lo, root_hi, use_cells):
    """Every node's box as the codings see it for planes ``normal, offset`` (float32, the quantised
    ones): coding 3's cell bounding boxes (``use_cells``; boxes below ``cells.CELL_DEPTH``) or codings
    1 and 2's boxes: ``(lo, hi)``, (n, 3) float64 each."""
    n_nodes = left.shape[0]
    lo, hi, depth, px, ids, cnt, start, top, scratch = _root_region(use_cells, root_lo, root_hi, n_nodes)
    nq, mins, maxs = np.empty(3, np.float64), np.empty(3, np.float64), np.empty(3, np.float64)
    for i in range(n_nodes):
        if left[i] < 0:
            continue
        has_cell, top, va, vb = _enter(use_cells, depth[i], start, top)
        top = _split_region(i, has_cell, normal, offset, left, right, lo, hi, nq, mins, maxs, depth, px, ids, cnt,
                            start, top, va, vb, scratch)
    return lo, hi


@nb.njit(cache=True, inline="always")
def _region_range(has_cell, px, va, vb, x, y, z, lo, hi, tol, nq, mins, maxs):
    """``_offset_range`` over the node's cell (vertices ``va..vb``) when it has one, else over its box."""
    if not has_cell:
        return _offset_range(x, y, z, lo, hi, tol, nq, mins, maxs)
    nq[0], nq[1], nq[2] = np.float64(x), np.float64(y), np.float64(z)
    lo_int, width = cells.cell_range(px, va, vb, nq[0], nq[1], nq[2])
    return lo_int, width, _bits_for(width, tol, MAX_OFFSET_BITS)


@nb.njit(cache=True, inline="always")
def _table_bits(size):
    """Bits of an index into a table of ``size`` planes: the smallest ``w`` with ``2^w >= size``."""
    w = 0
    while (1 << w) < size:
        w += 1
    return w


@nb.njit(cache=True, inline="always")
def _f32_bits(x):
    buf = np.empty(1, np.float32)
    buf[0] = x
    return np.int64(buf.view(np.uint32)[0])


@nb.njit(cache=True, inline="always")
def _bits_f32(v):
    buf = np.empty(1, np.uint32)
    buf[0] = np.uint32(v)
    return buf.view(np.float32)[0]


@nb.njit(cache=True)
def _exact_form(n0, n1, n2, o):
    """The exact escape of a float32 plane, scaled by a power of two (which changes no side):
    ``(form, x, y, z, offset)``, form 0..5 an axis normal (axis ``form // 2``, negative if odd), 6 a
    full normal with every ``|n_i| <= 1``, -1 when no exact form exists (a zero normal, or scaling
    would round)."""
    big = max(abs(n0), max(abs(n1), abs(n2)))
    if big == 0.0 or not np.isfinite(big) or not np.isfinite(o):
        return -1, 0.0, 0.0, 0.0, 0.0
    s = 1.0  # a power of two with big * s in [0.5, 1)
    while big * s >= 1.0:
        s = s * 0.5
    while big * s < 0.5:
        s = s * 2.0
    v0, v1, v2, vo = n0 * s, n1 * s, n2 * s, o * s
    if (np.float64(np.float32(v0)) != v0 or np.float64(np.float32(v1)) != v1
            or np.float64(np.float32(v2)) != v2 or np.float64(np.float32(vo)) != vo):
        return -1, 0.0, 0.0, 0.0, 0.0
    nz = (v0 != 0.0) + (v1 != 0.0) + (v2 != 0.0)
    if nz == 1:
        axis = 0 if v0 != 0.0 else (1 if v1 != 0.0 else 2)
        c = v0 if axis == 0 else (v1 if axis == 1 else v2)
        vo2 = vo * 2.0  # with |c| = 0.5 (a power of two) the axis form is (±1, 2 vo)
        if abs(c) == 0.5 and np.float64(np.float32(vo2)) == vo2:
            form = 2 * axis + (1 if c < 0.0 else 0)
            sgn = -1.0 if c < 0.0 else 1.0
            return (form, sgn if axis == 0 else 0.0, sgn if axis == 1 else 0.0, sgn if axis == 2 else 0.0, vo2)
    return 6, v0, v1, v2, vo


@nb.njit(cache=True)
def _reuse_fits(qn, qo, n0, n1, n2, o, lo, hi, tol):
    """Whether the decoded plane ``(qn, qo)`` stays within ``tol`` of the original (L1-normalised)
    over the whole box: the difference is linear, so the 8 corners bound it."""
    l1 = abs(n0) + abs(n1) + abs(n2)
    if l1 == 0.0:
        return False
    worst = 0.0
    for c in range(8):
        x = lo[0] if c & 1 == 0 else hi[0]
        y = lo[1] if c & 2 == 0 else hi[1]
        z = lo[2] if c & 4 == 0 else hi[2]
        d = (qn[0] * x + qn[1] * y + qn[2] * z - qo) - (n0 * x + n1 * y + n2 * z - o) / l1
        worst = max(worst, abs(d))
    return worst <= tol


@nb.njit(cache=True)
def _diamond(v0, v1, m):
    """Octahedral codes ``(ca, cb)`` of an upward unit-L1 normal ``(v0, v1, z >= 0)``: the nearest
    lattice point ``(i, j) = (ca - m, cb - m)`` by rounding, kept in the upper half (``|i| + |j| <= m``:
    where rounding both overshoots, the coordinate that overshot more, ``i`` on a tie, steps back)."""
    i = min(max(int(np.round(v0 * m)), -m), m)
    j = min(max(int(np.round(v1 * m)), -m), m)
    if abs(i) + abs(j) > m:
        over_i = abs(i) - abs(v0 * m)
        over_j = abs(j) - abs(v1 * m)
        if over_i >= over_j:
            i = i - 1 if i > 0 else i + 1
        else:
            j = j - 1 if j > 0 else j + 1
    return i + m, j + m


@nb.njit(cache=True, inline="always")
def _rotated_codes(ca, cb, m):
    """Coding 4's codes ``(s, t)`` of the upper-half octahedral codes ``ca, cb``: with ``i, j = ca - m,
    cb - m``, ``s = i + j + m`` and ``d = i - j + m`` (in [0, 2m], of equal parity), ``t = d // 2`` (in
    [0, m]: ``bn - 1`` bits; ``s`` takes ``bn`` bits, leaving ``2m + 1`` for the escape)."""
    i = ca - m
    j = cb - m
    return i + j + m, (i - j + m) // 2


@nb.njit(cache=True, inline="always")
def _unrotated_codes(s, t, m):
    """``(ca, cb)`` of coding-4 codes ``s <= 2m, t <= m``, or ``(-1, -1)`` for the invalid pair (odd ``s``
    with ``t = m``)."""
    if s & 1 and t == m:
        return -1, -1
    d = 2 * t + (s & 1)
    return (s + d) // 2, (s - d) // 2 + m


@nb.njit(cache=True)
def encode_step(normal, offset, left, right, root_lo, root_hi, tol, extra, escapes, use_cells, hemi, stop, key, exact,
                known, tqn, tqo, tstored, class_slot, size):
    """The encoder's pass over one tree in pre-order, shared by the flat and the progressive codings:
    returns (codes (n, 8) int64, widths (n, 8) int64, the quantised float32 normal (n, 3) and offset
    (n,) the decoder will rebuild, the plane table's new size). A ``known`` branch's plane (given in
    ``normal, offset``, already quantised: the decoder has it) is not coded, only its children's boxes
    follow from it. With ``escapes`` (coding 2) a branch whose plane is of the same class (``key``) as
    an earlier coded one reuses the first of them (``class_slot[key]``, an index into the table
    ``tqn, tqo, tstored`` of coded planes) when that stays within the tolerance, and one marked
    ``exact`` is stored as float32; the table and ``class_slot`` are updated in place. ``use_cells``
    (codings 3 and 4): codes follow the nodes' exact cells (``cells``) instead of their boxes. ``hemi``
    (coding 4): rotated codes of ``bn`` and ``bn - 1`` bits per upward normal (``_rotated_codes``; a
    downward one that is not stored exactly raises ValueError: orient the tree first, ``oriented``).
    ``stop``: return as soon as a coded plane differs from the given one, with size -1 (``stored_at``)."""
    n_nodes = left.shape[0]
    codes = np.zeros((n_nodes, 8), np.int64)
    widths = np.zeros((n_nodes, 8), np.int64)
    qn = np.zeros((n_nodes, 3), np.float32)
    qo = np.zeros(n_nodes, np.float32)
    lo, hi, depth, px, ids, cnt, start, top, scratch = _root_region(use_cells, root_lo, root_hi, n_nodes)
    nq, mins, maxs = np.empty(3, np.float64), np.empty(3, np.float64), np.empty(3, np.float64)
    for i in range(n_nodes):
        if left[i] < 0:
            continue
        has_cell, top, va, vb = _enter(use_cells, depth[i], start, top)
        if known[i]:
            qn[i] = normal[i]
            qo[i] = offset[i]
        else:
            bn = _normal_bits(lo[i], hi[i], tol, extra)
            m = (1 << (bn - 1)) - 1
            escape = 2 * m + 1
            n0 = np.float64(normal[i, 0])
            n1 = np.float64(normal[i, 1])
            n2 = np.float64(normal[i, 2])
            done = False
            reused = False
            if escapes:
                s = class_slot[key[i]]
                if s >= 0 and (tstored[s] or _reuse_fits(tqn[s].astype(np.float64), np.float64(tqo[s]),
                                                          n0, n1, n2, np.float64(offset[i]), lo[i], hi[i], tol)):
                    codes[i, 0], codes[i, 1], codes[i, 2] = escape, 0, s
                    widths[i, 0], widths[i, 1], widths[i, 2] = bn, 1, _table_bits(size)
                    qn[i] = tqn[s]
                    qo[i] = tqo[s]
                    done = True
                    reused = True
                elif exact[i]:
                    form, x, y, z, o = _exact_form(n0, n1, n2, np.float64(offset[i]))
                    if form >= 0:
                        codes[i, 0], codes[i, 1], codes[i, 2] = escape, 1, form
                        widths[i, 0], widths[i, 1], widths[i, 2] = bn, 1, 3
                        if form == 6:
                            codes[i, 3], codes[i, 4], codes[i, 5] = _f32_bits(x), _f32_bits(y), _f32_bits(z)
                            widths[i, 3], widths[i, 4], widths[i, 5] = 32, 32, 32
                        codes[i, 6], widths[i, 6] = _f32_bits(o), 32
                        qn[i, 0], qn[i, 1], qn[i, 2] = x, y, z
                        qo[i] = o
                        tstored[size] = True
                        done = True
            if not done:
                l1 = abs(n0) + abs(n1) + abs(n2)
                if l1 == 0.0:
                    v0, v1, v2 = 0.0, 0.0, 1.0
                else:
                    v0, v1, v2 = n0 / l1, n1 / l1, n2 / l1
                if hemi:
                    if v2 < 0.0:
                        raise ValueError("a downward normal in the upward-normal coding: orient the tree first")
                    ca, cb = _diamond(v0, v1, m)
                elif v2 < 0.0:
                    a = (1.0 - abs(v1)) * (1.0 if v0 >= 0.0 else -1.0)
                    b = (1.0 - abs(v0)) * (1.0 if v1 >= 0.0 else -1.0)
                    ca = min(max(int(np.round(a * m)) + m, 0), 2 * m)
                    cb = min(max(int(np.round(b * m)) + m, 0), 2 * m)
                else:
                    ca = min(max(int(np.round(v0 * m)) + m, 0), 2 * m)
                    cb = min(max(int(np.round(v1 * m)) + m, 0), 2 * m)
                if hemi:
                    x, y, z = _upper_octahedral(ca, cb, m)
                else:
                    x, y, z = _octahedral(ca, cb, m)
                lo_int, width, bo = _region_range(has_cell, px, va, vb, x, y, z, lo[i], hi[i], tol, nq, mins, maxs)
                # aim at the original plane where it passes closest to the box's centre
                c0 = (lo[i, 0] + hi[i, 0]) * 0.5
                c1 = (lo[i, 1] + hi[i, 1]) * 0.5
                c2 = (lo[i, 2] + hi[i, 2]) * 0.5
                nn = n0 * n0 + n1 * n1 + n2 * n2
                d = (n0 * c0 + n1 * c1 + n2 * c2 - np.float64(offset[i])) / nn if nn > 0.0 else 0.0
                target = nq[0] * (c0 - d * n0) + nq[1] * (c1 - d * n1) + nq[2] * (c2 - d * n2)
                q = 0
                if width > 0.0:
                    q = int(np.floor((target - lo_int) / width * np.float64(1 << bo)))
                    q = min(max(q, 0), (1 << bo) - 1)
                if hemi:
                    rs, rt = _rotated_codes(ca, cb, m)
                    codes[i, 0], codes[i, 1], codes[i, 2] = rs, rt, q
                    widths[i, 0], widths[i, 1], widths[i, 2] = bn, bn - 1, bo
                else:
                    codes[i, 0], codes[i, 1], codes[i, 2] = ca, cb, q
                    widths[i, 0], widths[i, 1], widths[i, 2] = bn, bn, bo
                qn[i, 0], qn[i, 1], qn[i, 2] = x, y, z
                qo[i] = _offset_value(lo_int, width, q, bo)
                tstored[size] = False
            if stop and (qo[i] != offset[i] or qn[i, 0] != normal[i, 0] or qn[i, 1] != normal[i, 1]
                         or qn[i, 2] != normal[i, 2]):
                return codes, widths, qn, qo, -1
            if not reused:  # a coded plane joins the table
                tqn[size] = qn[i]
                tqo[size] = qo[i]
                if class_slot[key[i]] < 0:
                    class_slot[key[i]] = size
                size += 1
        top = _split_region(i, has_cell, qn, qo, left, right, lo, hi, nq, mins, maxs, depth, px, ids, cnt, start, top,
                            va, vb, scratch)
    return codes, widths, qn, qo, size


@nb.njit(cache=True)
def _pack_bits(codes, widths):
    """Codes written least significant bit first, nodes in order, each of its widths."""
    total = 0
    for i in range(codes.shape[0]):
        for c in range(codes.shape[1]):
            total += widths[i, c]
    out = np.zeros((total + 7) // 8, np.uint8)
    b = 0
    for i in range(codes.shape[0]):
        for c in range(codes.shape[1]):
            v = codes[i, c]
            for _ in range(widths[i, c]):
                if v & 1:
                    out[b >> 3] |= np.uint8(1 << (b & 7))
                v >>= 1
                b += 1
    return out


@nb.njit(cache=True, inline="always")
def _read(bits, pos, width):
    v = 0
    for k in range(width):
        p = pos + k
        v |= np.int64((bits[p >> 3] >> (p & 7)) & 1) << k
    return v


@nb.njit(cache=True)
def decode_step(bits, left, right, root_lo, root_hi, tol, extra, escapes, use_cells, hemi, known, kn, ko, tqn, tqo,
                size):
    """Rebuild the float32 planes of one tree from its plane stream, the decoder's pass shared by the
    flat and the progressive codings: (normal, offset, status, the plane table's new size); status 0,
    or -1 the stream ends early, -2 an invalid normal code (or escape), -3 stray bytes or non-zero
    padding, -4 a non-finite offset. A ``known`` branch's plane is ``kn[i], ko[i]`` (read nothing);
    the others are read in pre-order and, unless reused, appended to the table ``tqn, tqo`` of coded
    planes (``size`` entries so far; room for every branch). ``escapes``: codings 2 to 4;
    ``use_cells``: codings 3 and 4 (codes follow the nodes' exact cells); ``hemi``: coding 4 (rotated
    codes of ``bn`` and ``bn - 1`` bits per upward normal)."""
    n_nodes = left.shape[0]
    qn = np.zeros((n_nodes, 3), np.float32)
    qo = np.zeros(n_nodes, np.float32)
    lo, hi, depth, px, ids, cnt, start, top, scratch = _root_region(use_cells, root_lo, root_hi, n_nodes)
    nq, mins, maxs = np.empty(3, np.float64), np.empty(3, np.float64), np.empty(3, np.float64)
    total = bits.shape[0] * 8
    pos = 0
    for i in range(n_nodes):
        if left[i] < 0:
            continue
        has_cell, top, va, vb = _enter(use_cells, depth[i], start, top)
        if known[i]:
            qn[i] = kn[i]
            qo[i] = ko[i]
            top = _split_region(i, has_cell, qn, qo, left, right, lo, hi, nq, mins, maxs, depth, px, ids, cnt, start,
                                top, va, vb, scratch)
            continue
        bn = _normal_bits(lo[i], hi[i], tol, extra)
        m = (1 << (bn - 1)) - 1
        if pos + bn > total:
            return qn, qo, -1, size
        ca = _read(bits, pos, bn)
        pos += bn
        if ca == 2 * m + 1 and escapes:
            if pos + 1 > total:
                return qn, qo, -1, size
            kind = _read(bits, pos, 1)
            pos += 1
            if kind == 0:  # reuse an earlier coded plane
                w = _table_bits(size)
                if pos + w > total:
                    return qn, qo, -1, size
                r = _read(bits, pos, w)
                pos += w
                if r >= size:
                    return qn, qo, -2, size
                qn[i] = tqn[r]
                qo[i] = tqo[r]
            else:  # an exact float32 plane
                if pos + 3 > total:
                    return qn, qo, -1, size
                form = _read(bits, pos, 3)
                pos += 3
                if form == 7:
                    return qn, qo, -2, size
                if form == 6:
                    if pos + 96 > total:
                        return qn, qo, -1, size
                    for c in range(3):
                        qn[i, c] = _bits_f32(_read(bits, pos, 32))
                        pos += 32
                    nonzero = False
                    for c in range(3):
                        v = np.float64(qn[i, c])
                        if not (abs(v) <= 1.0):
                            return qn, qo, -2, size
                        nonzero = nonzero or v != 0.0
                    if not nonzero:
                        return qn, qo, -2, size
                else:
                    qn[i, form // 2] = np.float32(-1.0) if form & 1 else np.float32(1.0)
                if pos + 32 > total:
                    return qn, qo, -1, size
                qo[i] = _bits_f32(_read(bits, pos, 32))
                pos += 32
                if not np.isfinite(qo[i]):
                    return qn, qo, -4, size
                tqn[size] = qn[i]
                tqo[size] = qo[i]
                size += 1
        else:
            wb = bn - 1 if hemi else bn
            if pos + wb > total:
                return qn, qo, -1, size
            cb = _read(bits, pos, wb)
            pos += wb
            if hemi and ca <= 2 * m:
                ca, cb = _unrotated_codes(ca, cb, m)
                if ca < 0:
                    return qn, qo, -2, size
            if ca > 2 * m or cb > 2 * m:
                return qn, qo, -2, size
            if hemi:
                x, y, z = _upper_octahedral(ca, cb, m)
            else:
                x, y, z = _octahedral(ca, cb, m)
            lo_int, width, bo = _region_range(has_cell, px, va, vb, x, y, z, lo[i], hi[i], tol, nq, mins, maxs)
            if pos + bo > total:
                return qn, qo, -1, size
            q = _read(bits, pos, bo)
            pos += bo
            o = _offset_value(lo_int, width, q, bo)
            if not np.isfinite(o):
                return qn, qo, -4, size
            qn[i, 0], qn[i, 1], qn[i, 2] = x, y, z
            qo[i] = o
            tqn[size] = qn[i]
            tqo[size] = qo[i]
            size += 1
        top = _split_region(i, has_cell, qn, qo, left, right, lo, hi, nq, mins, maxs, depth, px, ids, cnt, start, top,
                            va, vb, scratch)
    if (pos + 7) // 8 != bits.shape[0]:
        return qn, qo, -3, size
    while pos < total:
        if (bits[pos >> 3] >> (pos & 7)) & 1:
            return qn, qo, -3, size
        pos += 1
    return qn, qo, 0, size


def root_box(tree: Tree) -> tuple[np.ndarray, np.ndarray]:
    """The tree's bounds in its frame, ``(bounds - origin) / scale``: two (3,) float64."""
    return (tree.bounds[0] - tree.origin) / tree.scale, (tree.bounds[1] - tree.origin) / tree.scale


def tolerance(lo: np.ndarray, hi: np.ndarray, precision: float) -> float:
    """``2^-precision`` of the root box's longest side: for a whole ``precision`` exact (a power-of-two
    multiple); for coding 4's quarter steps ``p = k + f/4`` the power-of-two multiple times
    ``STEP_FRACTIONS[f]`` (one rounding, the same in the browser)."""
    longest = 0.0
    for i in range(3):
        side = float(hi[i] - lo[i])
        longest = max(longest, side)
    quarters = round(precision * PRECISION_STEPS)
    return longest * 2.0**-(quarters // PRECISION_STEPS) * STEP_FRACTIONS[quarters % PRECISION_STEPS]


def precision_byte(precision: float, coding: int) -> int:
    """The precision byte of a quantised stream: the precision, in quarter steps for coding 4;
    ``FormatError`` unless it is a valid precision of the coding."""
    steps = PRECISION_STEPS if coding == HEMISPHERE_PLANES else 1
    byte = round(precision * steps) if isinstance(precision, (int, float)) and np.isfinite(precision) else -1
    if byte != precision * steps or not 0 <= byte <= MAX_PRECISION * steps:
        unit = "a multiple of 1/4" if steps > 1 else "a whole number"
        raise FormatError(f"precision must be {unit} in 0..{MAX_PRECISION} for plane coding {coding}, "
                          f"got {precision!r}")
    return int(byte)


def precision_of(byte: int, coding: int) -> float | int:
    """The precision a stream's precision byte stands for (``precision_byte``'s inverse), or None when
    the byte is out of range."""
    steps = PRECISION_STEPS if coding == HEMISPHERE_PLANES else 1
    if byte > MAX_PRECISION * steps:
        return None
    return byte / steps if steps > 1 else byte


def frame_fits(lo: np.ndarray, hi: np.ndarray) -> bool:
    return bool(np.all(np.abs(lo) <= MAX_FRAME) and np.all(np.abs(hi) <= MAX_FRAME))


def plane_hints(tree: Tree, exact: str = "axis") -> tuple[np.ndarray, np.ndarray]:
    """The encoder's choices for coding 2: ``key[i]``, the class of node ``i``'s float32 plane (branches
    with equal planes share one, ``-0`` = ``+0``; numbered ``0..key.max()``), and which planes to store
    exactly: ``"axis"`` planes whose normal is a coordinate axis (CAD faces the builder hits exactly),
    ``"shared"`` those and the planes used by more than one branch, ``"none"``."""
    n_nodes = tree.left.shape[0]
    branch = tree.left >= 0
    planes = np.zeros((n_nodes, 4), np.float32)
    planes[:, :3] = tree.normal
    planes[:, 3] = tree.offset
    planes += np.float32(0.0)  # -0 and +0 are the same plane
    keys = np.ascontiguousarray(planes).view(np.dtype((np.void, 16))).ravel()
    keys = np.where(branch, keys, np.void(b"\xff" * 16))
    _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    key = inverse.reshape(-1).astype(np.int64)
    axis = np.count_nonzero(tree.normal, axis=1) == 1
    if exact == "axis":
        mark = axis
    elif exact == "shared":
        mark = axis | (counts[key] > 1)
    elif exact == "none":
        mark = np.zeros(n_nodes, bool)
    else:
        raise ValueError(f"unknown exact policy {exact!r}")
    return key, mark & branch


class PlaneTable:
    """The coded planes so far (normal, offset, whether stored exactly) and, per plane class, the
    first coded plane of it: the state coding 2's reuse escape refers to, kept across the chunks of
    a progressive file (``capacity``: at most this many planes are coded)."""

    def __init__(self, capacity: int, n_classes: int):
        self.normal = np.zeros((max(capacity, 1), 3), np.float32)
        self.offset = np.zeros(max(capacity, 1), np.float32)
        self.stored = np.zeros(max(capacity, 1), np.bool_)
        self.class_slot = np.full(max(n_classes, 1), -1, np.int64)
        self.size = 0

    def reserve(self, capacity: int) -> None:
        """Room for ``capacity`` coded planes in all (a reader grows the table level by level, once each
        level's bytes are there)."""
        if capacity > len(self.offset):
            grow = capacity - len(self.offset)
            self.normal = np.concatenate([self.normal, np.zeros((grow, 3), np.float32)])
            self.offset = np.concatenate([self.offset, np.zeros(grow, np.float32)])
            self.stored = np.concatenate([self.stored, np.zeros(grow, np.bool_)])


def step_flags(coding: int) -> tuple[bool, bool, bool]:
    """``(escapes, use_cells, hemi)`` of plane ``coding`` for ``encode_step`` / ``decode_step``."""
    return coding >= ESCAPED_PLANES, coding >= CELL_PLANES, coding == HEMISPHERE_PLANES


def encode_known(normal: np.ndarray, offset: np.ndarray, left: np.ndarray, right: np.ndarray, lo: np.ndarray,
                 hi: np.ndarray, tol: float, extra: int, coding: int, key: np.ndarray, exact: np.ndarray,
                 known: np.ndarray, table: PlaneTable) -> tuple[bytes, np.ndarray, np.ndarray]:
    """``encode_step`` over one tree whose ``known`` branches the decoder already has: the packed
    plane stream of the others and the quantised planes of all (``table`` is updated). Coding 4 needs
    the planes oriented (``oriented``)."""
    try:
        codes, widths, qn, qo, table.size = encode_step(
            normal, offset, left.astype(np.int64), right.astype(np.int64), lo, hi, tol, extra, *step_flags(coding),
            False, key, exact, known, table.normal, table.offset, table.stored, table.class_slot, table.size)
    except ValueError as e:
        raise FormatError(str(e)) from None
    if not np.all(np.isfinite(qo)):
        raise FormatError("a quantised offset does not fit in float32; write the tree lossless")
    return _pack_bits(codes, widths).tobytes(), qn, qo


def encode_planes(tree: Tree, precision: float = DEFAULT_PRECISION, extra: int = DEFAULT_NORMAL_EXTRA,
                  coding: int = DEFAULT_CODING, exact: str = DEFAULT_EXACT) -> tuple[bytes, np.ndarray, np.ndarray]:
    """The plane stream of ``tree`` and the float32 ``(normal (n, 3), offset (n,))`` it decodes to, in
    plane ``coding`` 4 (upward normals, ``tree`` oriented: see ``oriented``), 3 (exact cells, reused
    and exact planes: ``exact`` is the policy of ``plane_hints``), 2 (boxes, with those escapes) or 1
    (boxes)."""
    lo, hi = checked_root_box(tree)
    key, mark = plane_hints(tree, exact)
    table = PlaneTable(tree.n_leaves - 1, int(key.max()) + 1)
    return encode_known(tree.normal, tree.offset, tree.left, tree.right, lo, hi, tolerance(lo, hi, precision),
                        extra, coding, key, mark, np.zeros(tree.left.shape[0], np.bool_), table)


def checked_root_box(tree: Tree) -> tuple[np.ndarray, np.ndarray]:
    """``root_box``, or a ``FormatError`` when it is too far from the frame for quantised planes."""
    lo, hi = root_box(tree)
    if not frame_fits(lo, hi):
        raise FormatError(f"bounds too far from the frame for quantised planes ({tree.bounds.tolist()}); "
                          "write them lossless")
    return lo, hi


def seeded_points(tree: Tree, samples: int) -> np.ndarray:
    """``samples`` uniform points in the tree's bounds, always the same ones (seed 0): the points every
    precision check counts volumes on."""
    return np.random.default_rng(0).uniform(tree.bounds[0], tree.bounds[1], (samples, 3))


def disagreement(tree: Tree, q: Tree, samples: int = AUTO_SAMPLES) -> float:
    """The volume where occupancy trees ``q`` and ``tree`` disagree, as a fraction of ``tree``'s inside
    volume, by ``samples`` seeded uniform points in the bounds."""
    pts = seeded_points(tree, samples)
    inside = tree.contains(pts)
    return float(np.count_nonzero(q.contains(pts) != inside)) / max(int(np.count_nonzero(inside)), 1)


def budget_samples(budget: float) -> int:
    """Points ``auto_precision`` checks a budget with: ``AUTO_SAMPLES`` at the default budget, more
    for smaller ones (as many disagreeing points at the limit), at most ``MAX_AUTO_SAMPLES``."""
    if budget >= DISAGREEMENT_BUDGET:
        return AUTO_SAMPLES
    if budget <= DISAGREEMENT_BUDGET * AUTO_SAMPLES / MAX_AUTO_SAMPLES:
        return MAX_AUTO_SAMPLES
    return int(np.ceil(AUTO_SAMPLES * DISAGREEMENT_BUDGET / budget))


@nb.njit(cache=True)
def _flip_mask(normal, offset, left, keep_axis):
    """``downward``'s kernel: branches with ``z < 0``, but for axis planes with an exact form when
    ``keep_axis``."""
    n = left.shape[0]
    mask = np.zeros(n, np.bool_)
    for i in range(n):
        if left[i] < 0 or not normal[i, 2] < 0:
            continue
        n0, n1, n2 = np.float64(normal[i, 0]), np.float64(normal[i, 1]), np.float64(normal[i, 2])
        axis = (n0 != 0.0) + (n1 != 0.0) + (n2 != 0.0) == 1
        mask[i] = not (keep_axis and axis and _exact_form(n0, n1, n2, np.float64(offset[i]))[0] >= 0)
    return mask


def downward(tree: Tree, exact: str = DEFAULT_EXACT) -> np.ndarray:
    """The branches coding 4 flips: normal ``z < 0``, unless an axis plane the ``exact`` policy stores as
    float32 (``_exact_form``). The choice depends on the plane alone, so equal planes (and one plane in
    every level of a progressive file) flip alike."""
    return _flip_mask(tree.normal, tree.offset, tree.left.astype(np.int64), exact != "none")


def oriented(tree: Tree, exact: str = DEFAULT_EXACT) -> Tree:
    """``tree`` as coding 4 stores it: every ``downward`` branch's plane negated and its children
    swapped (the same occupancy but on the planes themselves), in pre-order; ``tree`` itself when none."""
    mask = downward(tree, exact)
    return flipped(tree, mask)[0] if mask.any() else tree


def oriented_for(tree: Tree, coding: int, exact: str = DEFAULT_EXACT) -> Tree:
    """``oriented(tree)`` for coding 4, ``tree`` for the others."""
    return oriented(tree, exact) if coding == HEMISPHERE_PLANES else tree


def stored_at(tree: Tree, precision: float, extra: int = DEFAULT_NORMAL_EXTRA, coding: int = DEFAULT_CODING,
              exact: str = DEFAULT_EXACT) -> bool:
    """Whether a flat file at ``precision`` stores ``tree`` (oriented for coding 4) exactly as it is:
    it was read from one. Stops at the first plane that differs."""
    if tree.n_leaves < 2:
        return True
    lo, hi = checked_root_box(tree)
    key, mark = plane_hints(tree, exact)
    table = PlaneTable(tree.n_leaves - 1, int(key.max()) + 1)
    try:
        size = encode_step(tree.normal, tree.offset, tree.left.astype(np.int64), tree.right.astype(np.int64), lo, hi,
                           tolerance(lo, hi, precision), extra, *step_flags(coding), True, key, mark,
                           np.zeros(tree.left.shape[0], np.bool_), table.normal, table.offset, table.stored,
                           table.class_slot, 0)[4]
    except ValueError:
        return False
    return size >= 0


def auto_precisions(coding: int) -> list[float]:
    """The precisions ``auto_precision`` can choose for ``coding``: ``AUTO_PRECISIONS``, and for coding 4
    their quarter steps from 3/4 below the first."""
    if coding != HEMISPHERE_PLANES:
        return list(AUTO_PRECISIONS)
    first = AUTO_PRECISIONS[0] + AUTO_QUARTERS[0]
    return [first + k / PRECISION_STEPS for k in range(round((AUTO_PRECISIONS[-1] - first) * PRECISION_STEPS) + 1)]


def auto_precision(tree: Tree, extra: int = DEFAULT_NORMAL_EXTRA, coding: int = DEFAULT_CODING,
                   exact: str = DEFAULT_EXACT, budget=DISAGREEMENT_BUDGET, planes_at=None, stored=None) -> float:
    """The precision shapetree writes when none is asked for: for an occupancy tree one of
    ``auto_precisions(coding)`` at which ``tree`` is already quantised (so saving a loaded file again
    loses nothing), else the lowest of ``AUTO_PRECISIONS`` whose quantised tree is within ``budget``
    and, for coding 4, then the lowest of the quarter steps below it (``AUTO_QUARTERS``) that is: a
    number, the volume where it may disagree with ``tree`` (see ``disagreement``, on
    ``budget_samples(budget)`` points), or a function of the quantised tree saying whether it passes
    (``metrics.MeshBudget``); the highest when none does. ``DEFAULT_PRECISION`` for normal maps (the
    trees of one file share one precision). ``planes_at(p)``: the quantised ``(normal, offset)`` at
    precision ``p`` of ``tree`` (default: a flat file's, ``encode_planes``; coding 4 orients ``tree``
    first unless ``planes_at`` is given: then ``tree`` must be oriented); ``stored(p)``: whether
    ``tree`` is quantised at ``p`` already (default: ``stored_at``, a flat file's)."""
    if tree.kind != Kind.OCCUPANCY:
        return DEFAULT_PRECISION
    if callable(budget):
        passes = budget
    elif isinstance(budget, (int, float)) and not isinstance(budget, bool) and 0.0 <= budget <= 1.0:
        samples = budget_samples(budget)
        passes = lambda q: disagreement(tree, q, samples) <= budget
    else:
        raise FormatError(f"the disagreement budget must be a number in [0, 1], got {budget!r}")
    if planes_at is None:
        tree = oriented_for(tree, coding, exact)
        planes_at = lambda p: encode_planes(tree, p, extra, coding, exact)[1:]
    if stored is None:
        stored = lambda p: stored_at(tree, p, extra, coding, exact)
    for p in auto_precisions(coding):
        if stored(p):
            return p  # already quantised at p (a loaded file saved again): keep it exactly
    chosen = None
    for p in AUTO_PRECISIONS:
        if passes(tree.replace(normal=(q := planes_at(p))[0], offset=q[1])):
            chosen = p
            break
    if chosen is None:
        return AUTO_PRECISIONS[-1]
    if coding == HEMISPHERE_PLANES:
        for d in AUTO_QUARTERS:
            if passes(tree.replace(normal=(q := planes_at(chosen + d))[0], offset=q[1])):
                return chosen + d
    return chosen


def quantize(tree: Tree, precision: float | None = None, extra: int = DEFAULT_NORMAL_EXTRA,
             coding: int = DEFAULT_CODING, exact: str = DEFAULT_EXACT) -> Tree:
    """``tree`` exactly as a quantised file of plane ``coding`` 1 to 4 stores it: the same structure
    and leaves (coding 4: ``oriented``, the same occupancy), the planes decode(encode(tree)) gives
    (children see their parents' quantised planes). ``precision`` None: ``auto_precision``, what
    ``encode_trees`` writes."""
    tree = oriented_for(tree, coding, exact)
    if precision is None:
        precision = auto_precision(tree, extra, coding, exact)
    _, qn, qo = encode_planes(tree, precision, extra, coding, exact)
    return tree.replace(normal=qn, offset=qo)
