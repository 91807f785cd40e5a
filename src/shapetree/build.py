"""Greedy growth of an oblique occupancy tree (ID3 on an unlimited stream of samples).

Each frontier node keeps its convex cell (as a polytope), the pieces of the mesh surface that
lie in the cell (triangles clipped to it) and a set of labelled samples drawn from the target
distribution restricted to the cell: a mixture of uniform points (volume, hence IoU) and points
near the surface (where the decisions are). Splits are scored by information gain with an exact
scan over sorted projections, over a fixed spread of directions, the planes of surface pieces
in the cell and perturbations of the best one. Growth is best-first by mass-weighted gain,
with a quarter of the splits going to spikes: cells whose corner lies farther than a tolerance
from the surface on the wrong side of the cell's label (thin cells of little mass, hence never
worth a split by gain, that poke out of the shape as needles in a render), longest first, cut
along the plane of the corner's nearest triangle. A cell that holds no surface is an exact leaf.
Labels come from a reference point of known winding number plus signed crossings with the
cell's triangles (closed meshes), or libigl's fast winding number (open meshes, and the first
levels where cells hold many triangles).
"""

from __future__ import annotations

import heapq
import os
import time
from concurrent.futures import ThreadPoolExecutor

import numba as nb
import numpy as np

from . import cells, sampling
from .errors import UsageError
from .mesh import Mesh, as_mesh, hole_fans, triangle_boxes, winding_by_crossings, winding_number
from .tree import Tree, tree_in_preorder

DEFAULT_MAX_LEAVES = 16384
DEFAULT_MAX_DEPTH = 96
DEFAULT_SPIKE_TOL = 0.002
SPIKE_RESOLUTION = 0.2


# ---------------------------------------------------------------- split scoring kernels
MAX_SCORE = 8192  # samples scored per node; larger (shallow) nodes score a strided subset


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
        v0 = np.float64(best_n[0]) + scale * sampling.randn(state)
        v1 = np.float64(best_n[1]) + scale * sampling.randn(state)
        v2 = np.float64(best_n[2]) + scale * sampling.randn(state)
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


@nb.njit(cache=True, nogil=True)
def _side_of(X, normal, offset):
    out = np.empty(X.shape[0], np.bool_)
    for i in range(X.shape[0]):
        d = (np.float64(normal[0]) * X[i, 0] + np.float64(normal[1]) * X[i, 1]
             + np.float64(normal[2]) * X[i, 2])
        out[i] = d < np.float64(offset)
    return out


def fixed_directions(k: int) -> np.ndarray:
    """``k`` well-spread unit normals on a hemisphere (Fibonacci spiral) plus the three axes."""
    i = np.arange(k) + 0.5
    z = i / k
    phi = np.pi * (1 + 5**0.5) * i
    r = np.sqrt(1 - z * z)
    d = np.stack([r * np.cos(phi), r * np.sin(phi), z], 1)
    d = np.concatenate([np.eye(3), d])
    return (d / np.linalg.norm(d, axis=1, keepdims=True)).astype(np.float32)


# ---------------------------------------------------------------- nodes
class _Node:
    __slots__ = (
        "X",
        "comp",
        "cs",
        "cv",
        "depth",
        "diam",
        "far",
        "gain",
        "hsplit",
        "id",
        "left",
        "m_s",
        "m_u",
        "pn",
        "po",
        "ps",
        "qa",
        "qid",
        "qs",
        "qv",
        "ref",
        "right",
        "seed",
        "spike",
        "split",
        "value",
        "volume",
        "w_ref",
        "wn",
        "ws",
        "y",
    )

    def __init__(self):
        self.left = -1
        self.right = -1
        self.split = None
        self.hsplit = None
        self.spike = 0.0
        self.gain = 0.0
        self.value = False


class _Builder:
    def __init__(self, mesh: Mesh, *, max_leaves: int, max_depth: int, seed: int, samples_per_node: int,
                 root_samples: int, surface_weight: float, sigma: float, n_directions: int,
                 n_surface_planes: int, n_perturb: int, n_straddle: int, spread_depth: int, batch: int,
                 threads: int, spike_tol: float):
        self.mesh = mesh
        self.closed = mesh.is_closed()
        self.max_leaves = max_leaves
        self.max_depth = max_depth
        self.seed = seed
        self.n_node = samples_per_node
        self.n_root = root_samples
        self.w_s = surface_weight
        self.lo, self.hi = mesh.bounds
        self.scale = float(np.max(self.hi - self.lo))
        self.sigma = sigma * self.scale
        self.eps = 1e-7 * self.scale
        self.min_area = 1e-14 * self.scale**2
        self.dirs = fixed_directions(n_directions)
        self.n_surface_planes = n_surface_planes
        self.n_perturb = n_perturb
        self.max_score = MAX_SCORE
        self.n_straddle = n_straddle
        self.delta = 0.05
        self.spike_share = 0.25
        self.spike_pieces = 64
        self.n_fresh = 32
        self.batch = batch
        self.batch_share = 32
        self.spread_depth = spread_depth
        self.box_volume = float(np.prod(self.hi - self.lo))
        self.area = float(mesh.face_areas().sum())
        # a spike shorter than a fifth of the surface cells' typical size at this budget,
        # sqrt(area / leaves), is within the tree's resolution anyway: small budgets ignore more
        self.spike_tol = (max(spike_tol * self.scale, SPIKE_RESOLUTION * np.sqrt(self.area / max_leaves))
                          if spike_tol > 0 else 0.0)
        # triangle ids index the mesh's faces first, then (open meshes) the fans over its holes,
        # virtual surface so that cells near a hole keep splitting
        self.tri = mesh.triangles
        if not self.closed:
            fans = hole_fans(mesh)
            fan_area = np.linalg.norm(np.cross(fans[:, 1] - fans[:, 0], fans[:, 2] - fans[:, 0]), axis=1)
            self.tri = np.concatenate([self.tri, fans[fan_area > 0]])
        cr = np.cross(self.tri[:, 1] - self.tri[:, 0], self.tri[:, 2] - self.tri[:, 0])
        length = np.linalg.norm(cr, axis=1)
        self.tri_area = 0.5 * length
        self.tri_normal = cr / length[:, None]
        self.tri_box = triangle_boxes(mesh)
        self.pool = ThreadPoolExecutor(max_workers=threads) if threads > 1 else None
        self.nodes: list[_Node] = []

    def _map(self, fn, items):
        if self.pool is None:
            return [fn(x) for x in items]
        return list(self.pool.map(fn, items))

    def _node_seed(self, node_id: int) -> int:
        return (self.seed * 0x9E3779B1 + node_id * 0x85EBCA77 + 1) % (1 << 63)

    # -- labels ----------------------------------------------------------------
    def _winding(self, points: np.ndarray) -> np.ndarray:
        w = winding_number(self.mesh, points)
        return np.rint(w).astype(np.int64) if self.closed else w

    # -- root ----------------------------------------------------------------------
    def _root(self) -> _Node:
        node = _Node()
        node.id = 0
        node.depth = 0
        node.seed = self._node_seed(0)
        node.pn = np.zeros((0, 3), np.float32)
        node.po = np.zeros(0, np.float32)
        node.ps = np.zeros(0, np.int8)
        node.cs, node.cv = cells.box_cell(self.lo, self.hi)
        node.volume = self.box_volume
        f = len(self.tri)
        node.qs = np.arange(0, 3 * f + 1, 3, dtype=np.int64)
        node.qv = np.ascontiguousarray(self.tri.reshape(-1, 3))
        node.qid = np.arange(f, dtype=np.int64)
        node.qa = self.tri_area.copy()
        node.m_u = 1.0
        node.m_s = 1.0
        state = sampling.make_state(node.seed)
        n_s = round(self.n_root * self.w_s)
        Xs, _ = sampling.near_surface(node.pn, node.po, node.ps, self.lo, self.hi, node.qs, node.qv,
                                      node.qa, n_s, self.sigma, state, 20 * n_s)
        Xu = self.lo + (self.hi - self.lo) * sampling.rand_array(state, 3 * (self.n_root - len(Xs))).reshape(-1, 3)
        node.X = np.concatenate([Xs, Xu])
        node.comp = np.concatenate([np.ones(len(Xs), np.uint8), np.zeros(len(Xu), np.uint8)])
        node.ref = 0.5 * (self.lo + self.hi)
        w = self._winding(np.concatenate([node.ref[None], node.X]))
        node.w_ref = w[0]
        node.wn = w[1:]
        node.y = w[1:] > 0.5
        self.nodes.append(node)
        return node

    # -- splitting -------------------------------------------------------------------
    def _children(self, node: _Node) -> tuple[_Node, _Node]:
        """Fill the node's two (already numbered) children: cells, surface pieces, samples."""
        nrm, off = node.split
        kids = [self.nodes[node.left], self.nodes[node.right]]
        ls, lv, rs, rv = cells.split_cell(node.cs, node.cv, nrm, off, self.eps)
        qparts = cells.split_pieces(node.qs, node.qv, node.qid, nrm, off, self.eps, self.min_area)
        go_left = _side_of(node.X, nrm, off)
        n_s = max(int(np.count_nonzero(node.comp == 1)), 1)
        for side, (cs, cv), (qs, qv, qid, qa), mask in (
            (0, (ls, lv), qparts[:4], go_left),
            (1, (rs, rv), qparts[4:], ~go_left),
        ):
            c = kids[side]
            c.depth = node.depth + 1
            c.seed = self._node_seed(c.id)
            c.pn = np.concatenate([node.pn, nrm[None]])
            c.po = np.concatenate([node.po, np.array([off], np.float32)])
            c.ps = np.concatenate([node.ps, np.array([side], np.int8)])
            c.cs, c.cv = cs, cv
            c.volume = cells.cell_volume(cs, cv)
            c.qs, c.qv, c.qid, c.qa = qs, qv, qid, qa
            # straddling samples are drawn afresh for every node: the parent's split was chosen to
            # separate its own ones, so those that a child inherits are biased towards purity
            keep = mask & (node.comp != 2)
            c.X = node.X[keep]
            c.wn = node.wn[keep]
            c.y = node.y[keep]
            c.comp = node.comp[keep]
            c.m_u = c.volume / self.box_volume
            c.m_s = node.m_s * np.count_nonzero(c.comp == 1) / n_s
            c.ref = cv.mean(0) if len(cv) else node.ref
            c.diam = float(np.linalg.norm(cv.max(0) - cv.min(0))) if len(cv) else 0.0
        return kids[0], kids[1]

    def _expand(self, node: _Node):
        """Worker task: split a node; sample and label its children as far as crossings go."""
        kids = self._children(node)
        out = [(c, self._sample(c, node)) for c in kids]
        node.X = node.y = node.wn = node.comp = None
        node.qv = node.cv = None
        return out

    def _sample(self, c: _Node, parent: _Node):
        """Top up a child's samples and label what can be labelled by crossings."""
        state = sampling.make_state(c.seed)
        parts = []
        comps = []
        if len(c.qid):
            diam = c.diam
            small = diam <= 4 * self.sigma
            need = max(self.n_node - len(c.X), self.n_fresh)
            if need > 0:
                mass_s = self.w_s * c.m_s
                mass_u = (1 - self.w_s) * c.m_u
                p_s = mass_s / max(mass_s + mass_u, 1e-300)
                k_s = int(np.count_nonzero(sampling.rand_array(state, need) < p_s))
                if k_s and not small:
                    Xs, _ = sampling.near_surface(c.pn, c.po, c.ps, self.lo, self.hi, c.qs, c.qv, c.qa, k_s,
                                                  self.sigma, state, 4 * k_s)
                    parts.append(Xs)
                    comps.append(np.ones(len(Xs), np.uint8))
                    k_s = len(Xs)
                # in a cell much smaller than sigma the near-surface density is flat: uniform
                # points stand in for it (tagged as near-surface to keep the mass estimates)
                Xu = sampling.hit_and_run(c.pn, c.po, c.ps, self.lo, self.hi, c.ref, need - k_s, state, 6, 2)
                parts.append(Xu)
                comps.append(np.full(len(Xu), 1 if small else 0, np.uint8))
            if self.n_straddle > 0:
                k = self.n_straddle
                Xt = sampling.straddle(c.pn, c.po, c.ps, self.lo, self.hi, c.qs, c.qv, c.qa, k,
                                       self._delta(diam), state, 4 * k)
                parts.append(Xt)
                comps.append(np.full(len(Xt), 2, np.uint8))
        new = np.concatenate(parts) if parts else np.zeros((0, 3))
        comp = np.concatenate(comps) if comps else np.zeros(0, np.uint8)
        # corners of a cell with a little surface that lie far from it are labelled too: one on
        # the wrong side of the leaf's label is a spike of the rendered shape (see _spike)
        c.far = None
        corners = np.zeros((0, 3))
        if 0 < len(c.qid) <= self.spike_pieces and self.spike_tol > 0:
            dist, near = cells.far_from_surface(c.cv, self.tri[c.qid], self.spike_tol)
            far = near >= 0
            if far.any():
                corners = c.cv[far]
                c.far = (dist[far], c.qid[near[far]])
        pts = np.concatenate([c.ref[None], new, corners])
        w = np.zeros(len(pts), np.int64 if self.closed else np.float64)
        bad = np.ones(len(pts), np.bool_)
        if self.closed:
            V, F, box = self.mesh.vertices, self.mesh.faces, self.tri_box
            w0, b0 = winding_by_crossings(V, F, box, parent.qid, parent.ref[None], np.array([parent.w_ref]),
                                          pts[:1], 1e-9)
            if not b0[0]:
                w[0], bad[0] = w0[0], False
                if len(pts) > 1:  # the cell's reference and its inherited samples are the anchors
                    refs = np.concatenate([c.ref[None], c.X])
                    w_refs = np.concatenate([w0[:1], c.wn])
                    w[1:], bad[1:] = winding_by_crossings(V, F, box, c.qid, refs, w_refs, pts[1:], 1e-9)
            # corners that crossings cannot settle (on a triangle's plane, say) are dropped rather
            # than sent to libigl: they lie on or next to the surface
            k = len(new) + 1
            settled = ~bad[k:]
            if not settled.all():
                keep = np.concatenate([np.ones(k, np.bool_), settled])
                pts, w, bad = pts[keep], w[keep], bad[keep]
                c.far = (c.far[0][settled], c.far[1][settled]) if settled.any() else None
        return new, comp, pts, w, bad

    def _delta(self, diam: float) -> float:
        return min(self.delta * diam, 0.5 * self.sigma)

    def _straddle_weight(self, c: _Node) -> float:
        """Importance weight of a straddling sample relative to a target-mixture sample (1).

        Straddling samples have density q = 1 / (2 delta A) in the slab around the cell's surface
        pieces; the target density there is p (flat within cells much smaller than sigma, else
        the near-surface peak plus the uniform part). Balance heuristic:
        w = 1 / (1 + n_s q m / (n_m p)) with m the node's mass.
        """
        n_s = int(np.count_nonzero(c.comp == 2))
        if not n_s:
            return 1.0
        n_m = len(c.X) - n_s
        q = 1.0 / max(2 * self._delta(c.diam) * float(c.qa.sum()), 1e-300)
        if c.diam <= 4 * self.sigma:  # p = m / V: the node's mass cancels
            ratio = n_s * q * c.volume / max(n_m, 1)
        else:
            p = self.w_s / (self.area * np.sqrt(2 * np.pi) * self.sigma) + (1 - self.w_s) / self.box_volume
            ratio = n_s * q * self._mass(c) / (max(n_m, 1) * p)
        return 1.0 / (1.0 + ratio)

    def _mass(self, c: _Node) -> float:
        return self.w_s * c.m_s + (1 - self.w_s) * c.m_u

    def _evaluate(self, c: _Node):
        """Pick the best split for a node with fresh samples; store it with its priority."""
        if len(c.qid) == 0 or c.depth >= self.max_depth or len(c.X) < 2:
            return
        state = sampling.make_state(c.seed ^ 0x5DEECE66D)
        # deep cells are small and hug the surface: the surface planes and the local search
        # find their splits; the fixed spread of directions only pays near the root
        base = self.dirs if c.depth <= self.spread_depth else self.dirs[:3]
        k = min(self.n_surface_planes, len(c.qid))
        if k:
            cdf = np.cumsum(c.qa)
            pick = np.searchsorted(cdf, sampling.rand_array(state, k) * cdf[-1],
                                   side="right")
            tid = c.qid[np.minimum(pick, len(c.qid) - 1)]
            tn = self.tri_normal[tid].astype(np.float32)
            tb = np.einsum("ij,ij->i", tn.astype(np.float64), self.tri[tid, 0]).astype(np.float32)
            dirs = np.concatenate([base, tn])
            offs = np.concatenate([np.full(len(base), np.nan, np.float32), tb])
        else:
            dirs, offs = base, np.full(len(base), np.nan, np.float32)
        X = c.X
        cls = c.y.astype(np.uint8) | ((c.comp == 2).astype(np.uint8) << 1)
        if len(X) > self.max_score:  # large shallow nodes: a strided subset scores as well
            step = -(-len(X) // self.max_score)
            X, cls = np.ascontiguousarray(X[::step]), np.ascontiguousarray(cls[::step])
        nrm, off, gain = choose_split(X, cls, c.ws, dirs, offs, self.n_perturb, 0.15, state)
        if gain > 1e-12:
            c.split = (nrm, off)
            c.gain = gain * self._mass(c)

    def _spike(self, c: _Node, w_corner: np.ndarray):
        """Find the corner of the cell farthest from the surface on the wrong side of the
        leaf's label; if it is farther than the tolerance, store its distance and the plane of
        its nearest triangle (which cuts the spike off along the surface) as a second split."""
        far, c.far = c.far, None
        if far is None or c.depth >= self.max_depth:
            return
        dist, tri_id = far
        wrong = (w_corner > 0.5) != c.value
        if not wrong.any():
            return
        vi = int(np.argmax(np.where(wrong, dist, -1.0)))
        e = float(dist[vi])
        tid = tri_id[vi]
        nrm = self.tri_normal[tid].astype(np.float32)
        off = np.float32(np.dot(nrm.astype(np.float64), self.tri[tid, 0]))
        sd = c.cv @ nrm.astype(np.float64) - np.float64(off)
        if sd.min() < -self.eps and sd.max() > self.eps:
            c.hsplit = (nrm, off)
            c.spike = e

    def _resolve(self, results):
        """Label, with libigl in one call, the points that crossings could not settle."""
        need = [pts[bad] for _, (_, _, pts, _, bad) in results if np.any(bad)]
        allw = self._winding(np.concatenate(need)) if need else None
        pos = 0
        out = []
        for c, (new, comp, pts, w, bad) in results:
            nb_ = int(np.count_nonzero(bad))
            if nb_:
                w = w.astype(allw.dtype)
                w[bad] = allw[pos:pos + nb_]
                pos += nb_
            out.append((c, new, comp, w))
        return out

    def _finish(self, item):
        """Worker task: store a child's labelled samples and leaf value, then score its split."""
        c, new, comp, w = item
        c.w_ref = w[0]
        w_corner = w[1 + len(new):]
        w = w[:1 + len(new)]
        if len(new):
            c.X = np.concatenate([c.X, new])
            c.wn = np.concatenate([c.wn, w[1:]])
            c.y = c.wn > 0.5
            c.comp = np.concatenate([c.comp, comp])
        c.ws = self._straddle_weight(c)
        if len(c.qid) == 0 or len(c.y) == 0:
            c.value = bool(w[0] > 0.5)
        else:
            wt = np.where(c.comp == 2, c.ws, 1.0)
            c.value = bool(2 * wt[c.y].sum() >= wt.sum())
        self._evaluate(c)
        self._spike(c, w_corner)
        if c.split is None and c.hsplit is None:
            c.X = c.y = c.wn = c.comp = None
            c.qv = c.cv = None

    def run(self, progress=None) -> Tree:
        root = self._root()
        root.value = bool(2 * np.count_nonzero(root.y) >= len(root.y))
        root.diam = float(np.linalg.norm(self.hi - self.lo))
        root.ws = 1.0
        self._evaluate(root)
        # two queues: information gain times mass, and spikes (corners of cells far on the wrong
        # side of the surface: thin cells of little mass that show in renders) by their length
        heap: list[tuple[float, int]] = []
        spikes: list[tuple[float, int]] = []
        if root.split is not None:
            heap.append((-root.gain, root.id))
        leaves = 1
        n_spike_splits = 0
        while (heap or spikes) and leaves < self.max_leaves:
            # a batch is split without re-ranking: keep it a small share of the tree so that
            # best-first order holds (in particular for small leaf budgets)
            take = min(self.batch, max(1, leaves // self.batch_share), self.max_leaves - leaves,
                       len(heap) + len(spikes))
            batch = []
            # spikes get their share of all splits so far, not of each batch: a batch is a
            # single split while the tree is small
            quota = (len(spikes) if not heap
                     else int(self.spike_share * (leaves - 1 + take)) - n_spike_splits)
            while spikes and len(batch) < quota:
                node = self.nodes[heapq.heappop(spikes)[1]]
                if node.left < 0 and node.hsplit is not None:
                    node.split = node.hsplit
                    node.left = 0  # taken; numbered below
                    batch.append(node)
                    n_spike_splits += 1
            while heap and len(batch) < take:
                node = self.nodes[heapq.heappop(heap)[1]]
                if node.left < 0:
                    node.left = 0
                    batch.append(node)
            if not batch:
                continue
            take = len(batch)
            for node in batch:  # number the children in a fixed order before any work
                for side in range(2):
                    c = _Node()
                    c.id = len(self.nodes)
                    self.nodes.append(c)
                    if side == 0:
                        node.left = c.id
                    else:
                        node.right = c.id
            results = [r for pair in self._map(self._expand, batch) for r in pair]
            items = self._resolve(results)
            self._map(self._finish, items)
            for c, *_ in items:
                if c.split is not None:
                    heapq.heappush(heap, (-c.gain, c.id))
                if c.hsplit is not None:
                    heapq.heappush(spikes, (-c.spike, c.id))
            leaves += take
            if progress is not None:
                progress(leaves)
        return self._assemble()

    def _assemble(self) -> Tree:
        m = len(self.nodes)
        normal = np.zeros((m, 3), np.float32)
        offset = np.zeros(m, np.float32)
        left = np.full(m, -1, np.int64)
        right = np.full(m, -1, np.int64)
        value = np.zeros(m, np.bool_)
        for i, nd in enumerate(self.nodes):
            if nd.left >= 0:
                normal[i], offset[i] = nd.split
                left[i], right[i] = nd.left, nd.right
            else:
                value[i] = nd.value
        return tree_in_preorder(normal, offset, left, right, value, np.stack([self.lo, self.hi]))


def build_tree(mesh_or_path, *, max_leaves: int = DEFAULT_MAX_LEAVES, max_depth: int = DEFAULT_MAX_DEPTH,
               seed: int = 0, progress: bool = False, samples_per_node: int = 192,
               root_samples: int = 32768, surface_weight: float = 0.5, sigma: float = 0.01,
               n_directions: int = 13, n_surface_planes: int = 12, n_perturb: int = 8, n_straddle: int = 64,
               spread_depth: int = 12, spike_tol: float = DEFAULT_SPIKE_TOL,
               threads: int | None = None) -> Tree:
    """Grow an occupancy tree for a mesh, best-first, until ``max_leaves`` leaves, ``max_depth``
    or no split gains anything. Same mesh, settings and ``seed`` give byte-identical trees,
    whatever ``threads`` is.

    mesh_or_path: a path, ``Mesh``, trimesh object or ``(vertices, faces)``.
    samples_per_node: target-mixture samples a node holds before it is scored (topped up with
        at least 32 fresh ones per node); root_samples: samples of the root.
    surface_weight: share of the target mass near the surface (the rest is uniform in the box);
        sigma: the near-surface noise, as a fraction of the box's longest side.
    n_directions: fixed spread of candidate normals (used down to depth ``spread_depth``);
        n_surface_planes: planes of surface triangles tried per node; n_perturb: local search
        steps around the best normal; n_straddle: samples drawn either side of the surface.
    spike_tol: a quarter of the splits go to cells with a corner farther than this (a fraction
        of the box's longest side; at least 0.2 sqrt(surface area / max_leaves)) from the
        surface on the wrong side of the cell's label, longest first, cut along the plane of the
        corner's nearest triangle; 0 turns this off.
    progress: show a progress bar; threads: worker threads (default: all cores).
    """
    if max_leaves < 1:
        raise UsageError(f"max_leaves must be >= 1, got {max_leaves}")
    if max_depth < 0:
        raise UsageError(f"max_depth must be >= 0, got {max_depth}")
    if not 0 <= spike_tol <= 0.5:
        raise UsageError(f"spike_tol must be in [0, 0.5], got {spike_tol}")
    mesh = as_mesh(mesh_or_path)
    threads = threads or min(os.cpu_count() or 1, nb.config.NUMBA_NUM_THREADS)
    t0 = time.perf_counter()
    builder = _Builder(mesh, max_leaves=max_leaves, max_depth=max_depth, seed=seed,
                       samples_per_node=samples_per_node, root_samples=root_samples,
                       surface_weight=surface_weight, sigma=sigma, n_directions=n_directions,
                       n_surface_planes=n_surface_planes, n_perturb=n_perturb, n_straddle=n_straddle,
                       spread_depth=spread_depth, batch=64, threads=threads, spike_tol=spike_tol)
    try:
        if progress:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            console = Console(stderr=True)
            with Progress(TextColumn("building"), BarColumn(), TextColumn("{task.completed}/{task.total} leaves"),
                          TimeElapsedColumn(), transient=True, console=console,
                          disable=not console.is_terminal) as bar:
                task = bar.add_task("build", total=max_leaves)
                tree = builder.run(lambda n: bar.update(task, completed=n))
        else:
            tree = builder.run()
    finally:
        if builder.pool is not None:
            builder.pool.shutdown(wait=True, cancel_futures=True)
    tree.meta["stats"] = {"seconds": time.perf_counter() - t0, "closed": builder.closed}
    return tree
