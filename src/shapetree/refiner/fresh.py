"""Fresh samples of the target distribution restricted to a branch's cell, so deep branches are
never starved of points (the data is unlimited: the mesh labels any point).

The target distribution ``D`` is the builder's (and the simplifier's): half uniform in the box,
half near the surface (area-uniform surface points plus Gaussian noise of ``sigma`` per axis).
In a cell ``c`` it is the mixture of

* the uniform part, of mass ``0.5 vol(c) / vol(box)`` (the cell's polytope gives the volume),
  drawn by hit-and-run from the polytope's vertex centroid (``builder.sampling.hit_and_run``), and
* the near-surface part, drawn by rejection: area-uniform points of the triangles whose box comes
  within ``4 sigma`` of the cell's box, plus the noise, kept when inside the cell; its mass is
  ``0.5 (candidate area / area) (acceptance rate)``.

Each part gets its share of the samples, so the samples of a cell are a sample of ``D``
restricted to it, at the rate ``count / mass``; the sweep weights every point by the balance
heuristic over all the rates that could have drawn it (``sweep.path_weights``).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ..builder import cells
from ..builder.sampling import hit_and_run, in_cell
from ..builder.stream import make_state, rand01, randn

NOISE_REACH = 4.0  # near-surface candidates: triangles within this many sigma of the cell's box
EPS = 1e-9  # plane tolerance of the polytope clipping (frame units, coordinates are O(1))


def cell_shapes(left: np.ndarray, right: np.ndarray, normal: np.ndarray, offset: np.ndarray, lo: np.ndarray,
                hi: np.ndarray, wanted: np.ndarray, tri_box: np.ndarray, reach: float):
    """For every node with ``wanted[i]``: its cell's box ``(n, 6)`` (min, max; NaN when not
    wanted or empty), volume ``(n,)``, vertex centroid ``(n, 3)`` and the triangles whose box comes
    within ``reach`` of the cell's box (CSR ``(n + 1,)`` starts into ids). Polytopes are clipped from
    the box down the tree, only into subtrees that hold a wanted node; a child's triangles are
    looked for among its parent's."""
    n = len(left)
    need = wanted.copy()
    for i in range(n - 1, -1, -1):  # pre-order: children after parents
        if left[i] >= 0:
            need[i] |= need[left[i]] | need[right[i]]
    box = np.full((n, 6), np.nan)
    volume = np.zeros(n)
    centre = np.zeros((n, 3))
    found = {}
    stack = [(0, *cells.box_cell(lo, hi), np.arange(len(tri_box), dtype=np.int64))]
    while stack:
        i, starts, verts, cand = stack.pop()
        if not len(verts):
            continue
        vlo, vhi = verts.min(0), verts.max(0)
        cand = near_box(cand, tri_box, vlo, vhi, reach)
        if wanted[i]:
            box[i, :3], box[i, 3:] = vlo, vhi
            volume[i] = cells.cell_volume(starts, verts)
            centre[i] = verts.mean(0)
            found[i] = cand
        if left[i] >= 0 and (need[left[i]] or need[right[i]]):
            ls, lv, rs, rv = cells.split_cell(starts, verts, normal[i], offset[i], EPS)
            if need[left[i]]:
                stack.append((left[i], ls, lv, cand))
            if need[right[i]]:
                stack.append((right[i], rs, rv, cand))
    sizes = np.zeros(n, np.int64)
    for i, c in found.items():
        sizes[i] = len(c)
    cand_starts = np.concatenate([[0], np.cumsum(sizes)])
    ids = np.concatenate([found[i] for i in sorted(found)]) if found else np.zeros(0, np.int64)
    return box, volume, centre, cand_starts, np.ascontiguousarray(ids, np.int64)


@nb.njit(cache=True)
def near_box(cand, tri_box, lo, hi, reach):
    """The triangles of ``cand`` whose box comes within ``reach`` of the box ``[lo, hi]``."""
    out = np.empty(cand.shape[0], np.int64)
    m = 0
    for c in range(cand.shape[0]):
        t = cand[c]
        if (tri_box[t, 0] <= hi[0] + reach and tri_box[t, 3] >= lo[0] - reach
                and tri_box[t, 1] <= hi[1] + reach and tri_box[t, 4] >= lo[1] - reach
                and tri_box[t, 2] <= hi[2] + reach and tri_box[t, 5] >= lo[2] - reach):
            out[m] = t
            m += 1
    return out[:m]


@nb.njit(cache=True, nogil=True)
def _path(v, parent, left, normal, offset):
    """The planes and sides (0 left, 1 right) from the root down to node ``v``."""
    k = 0
    u = v
    while parent[u] >= 0:
        k += 1
        u = parent[u]
    pn = np.empty((k, 3), np.float32)
    po = np.empty(k, np.float32)
    ps = np.empty(k, np.int8)
    u = v
    j = k - 1
    while parent[u] >= 0:
        p = parent[u]
        pn[j] = normal[p]
        po[j] = offset[p]
        ps[j] = 0 if left[p] == u else 1
        u = p
        j -= 1
    return pn, po, ps


@nb.njit(cache=True, parallel=True)
def draw_in_cells(nodes, want, seeds, parent, left, normal, offset, lo, hi, volume, centre, cand_starts, cand_ids,
                  tri, tri_area, sigma, max_tries):
    """Fresh samples for each of ``nodes``: up to ``want[j]`` points of the target distribution
    restricted to the node's cell, from the node's own random stream ``seeds[j]``; per node its
    cell's volume and vertex centroid and its candidate triangles (``cell_shapes``).

    Returns ``(points (m, 3), starts (g + 1,), mass (g,))``: node ``j``'s points are
    ``points[starts[j]:starts[j + 1]]`` and ``mass[j]`` the estimated mass of its cell under the
    distribution (total mass 1; 0 when nothing could be drawn)."""
    g = nodes.shape[0]
    box_volume = (hi[0] - lo[0]) * (hi[1] - lo[1]) * (hi[2] - lo[2])
    total_area = tri_area.sum()
    buf = np.empty((want.sum(), 3))
    offs = np.zeros(g + 1, np.int64)
    for j in range(g):
        offs[j + 1] = offs[j] + want[j]
    got = np.zeros(g, np.int64)
    mass = np.zeros(g)
    for j in nb.prange(g):
        v = nodes[j]
        k = want[j]
        if k <= 0 or not volume[v] > 0:
            continue
        pn, po, ps = _path(v, parent, left, normal, offset)
        state = make_state(seeds[j])
        # near-surface candidates and their area
        cand = cand_ids[cand_starts[v]:cand_starts[v + 1]]
        nc = cand.shape[0]
        cdf = np.empty(nc)
        acc = 0.0
        for c in range(nc):
            acc += tri_area[cand[c]]
            cdf[c] = acc
        mass_u = 0.5 * volume[v] / box_volume
        near = np.empty((k, 3))
        n_near = 0
        tries = 0
        mass_n = 0.0
        if nc > 0 and acc > 0:
            # draw until the near part has its share of k (the share is re-estimated as we go)
            while tries < max_tries:
                tries += 1
                c = np.searchsorted(cdf, rand01(state) * acc)
                if c >= nc:
                    c = nc - 1
                t = cand[c]
                r1 = rand01(state)
                r2 = rand01(state)
                if r1 + r2 > 1.0:
                    r1 = 1.0 - r1
                    r2 = 1.0 - r2
                x0 = tri[t, 0, 0] + r1 * (tri[t, 1, 0] - tri[t, 0, 0]) + r2 * (tri[t, 2, 0] - tri[t, 0, 0])
                x1 = tri[t, 0, 1] + r1 * (tri[t, 1, 1] - tri[t, 0, 1]) + r2 * (tri[t, 2, 1] - tri[t, 0, 1])
                x2 = tri[t, 0, 2] + r1 * (tri[t, 1, 2] - tri[t, 0, 2]) + r2 * (tri[t, 2, 2] - tri[t, 0, 2])
                x0 += sigma * randn(state)
                x1 += sigma * randn(state)
                x2 += sigma * randn(state)
                if in_cell(pn, po, ps, lo, hi, x0, x1, x2):
                    if n_near < k:
                        near[n_near, 0] = x0
                        near[n_near, 1] = x1
                        near[n_near, 2] = x2
                    n_near += 1
                if tries >= 2 * k:
                    m_n = 0.5 * (acc / total_area) * n_near / tries
                    share = k * m_n / (m_n + mass_u)
                    if n_near >= share:
                        break
            mass_n = 0.5 * (acc / total_area) * n_near / tries
        total = mass_u + mass_n
        k_near = min(n_near, k, int(np.rint(k * mass_n / total)))
        k_uni = k - k_near
        if mass_n > 0 and k_near < k * mass_n / total - 0.5:  # too few near points: fewer uniform too
            k_uni = int(np.rint(k_near * mass_u / mass_n))
        start = centre[v].copy()
        uni = hit_and_run(pn, po, ps, lo, hi, start, k_uni, state) if k_uni > 0 else np.empty((0, 3))
        o = offs[j]
        for i in range(k_near):
            buf[o + i] = near[i]
        for i in range(uni.shape[0]):
            buf[o + k_near + i] = uni[i]
        got[j] = k_near + uni.shape[0]
        mass[j] = total if got[j] > 0 else 0.0
    starts = np.zeros(g + 1, np.int64)
    for j in range(g):
        starts[j + 1] = starts[j] + got[j]
    out = np.empty((starts[g], 3))
    for j in range(g):
        out[starts[j]:starts[j + 1]] = buf[offs[j]:offs[j] + got[j]]
    return out, starts, mass


@nb.njit(cache=True)
def node_seeds(seed, sweep, nodes):
    """A random-stream seed per node from (seed, sweep, node id): no stream is shared."""
    out = np.empty(nodes.shape[0], np.uint64)
    for j in range(nodes.shape[0]):
        s = make_state(np.uint64(seed) ^ (np.uint64(sweep) * np.uint64(0x9E3779B97F4A7C15)))
        z = s[0] ^ (np.uint64(nodes[j]) * np.uint64(0xBF58476D1CE4E5B9))
        out[j] = make_state(z)[0]
    return out
