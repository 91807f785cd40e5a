"""Greedy growth of an oblique occupancy tree (ID3 on an unlimited stream of samples).

Each frontier node (``node.Node``) keeps its convex cell, the pieces of the mesh surface inside
it and labelled samples from the target distribution restricted to the cell (``sampling``).
Splits are chosen by information gain (``entropy``) over candidate planes; growth is best-first
by mass-weighted gain, with a share of the splits going to spike_heap (``spike_heap``). A cell that holds
no surface is an exact leaf. Labels come from a reference point of known winding number plus
signed crossings with the cell's triangles (closed meshes), or libigl's fast winding number
(open meshes, and points crossings cannot settle). Nodes of a batch are expanded on worker
threads; every random number comes from the node's own stream, so the tree does not depend on
the thread count.
"""

from __future__ import annotations

import heapq
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..mesh import Mesh, hole_fans, pick_by_area, triangle_boxes, winding_by_crossings, winding_number
from ..tree import Tree, sides, tree_in_preorder
from . import cells, sampling, spikes, stream
from .directions import fixed_directions
from .entropy import choose_split
from .node import Node, SampleClass
from .settings import BuildSettings

UNIFORM, NEAR_SURFACE, STRADDLE = SampleClass.UNIFORM, SampleClass.NEAR_SURFACE, SampleClass.STRADDLE


class Builder:
    """One build: the mesh's geometry, the settings, and the nodes grown so far."""

    def __init__(self, mesh: Mesh, settings: BuildSettings, *, max_leaves: int, max_depth: int, seed: int,
                 spike_tol: float, threads: int):
        self.s = settings
        self.mesh = mesh
        self.closed = mesh.is_closed()
        self.max_leaves = max_leaves
        self.max_depth = max_depth
        self.seed = seed
        self.lo, self.hi = mesh.bounds
        self.scale = float(np.max(self.hi - self.lo))
        self.sigma = settings.sigma * self.scale
        self.eps = settings.eps * self.scale
        self.min_area = settings.min_area * self.scale**2
        self.dirs = fixed_directions(settings.n_directions)
        self.box_volume = float(np.prod(self.hi - self.lo))
        self.area = float(mesh.face_areas().sum())
        # a spike shorter than a fifth of the surface cells' typical size at this budget,
        # sqrt(area / leaves), is within the tree's resolution anyway: small budgets ignore more
        self.spike_tol = (max(spike_tol * self.scale, settings.spike_resolution * np.sqrt(self.area / max_leaves))
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
        self.nodes: list[Node] = []

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
    def _root(self) -> Node:
        node = Node(id=0)
        node.seed = self._node_seed(0)
        node.path_normal = np.zeros((0, 3), np.float32)
        node.path_offset = np.zeros(0, np.float32)
        node.path_side = np.zeros(0, np.int8)
        node.cell_starts, node.cell_verts = cells.box_cell(self.lo, self.hi)
        node.volume = self.box_volume
        f = len(self.tri)
        node.piece_starts = np.arange(0, 3 * f + 1, 3, dtype=np.int64)
        node.piece_verts = np.ascontiguousarray(self.tri.reshape(-1, 3))
        node.piece_tri = np.arange(f, dtype=np.int64)
        node.piece_area = self.tri_area.copy()
        node.volume_mass = 1.0
        node.surface_mass = 1.0
        state = stream.make_state(node.seed)
        n_s = round(self.s.root_samples * self.s.surface_weight)
        Xs = sampling.near_surface(node.path_normal, node.path_offset, node.path_side, self.lo, self.hi, node.piece_starts, node.piece_verts,
                                      node.piece_area, n_s, self.sigma, state, 20 * n_s)
        Xu = self.lo + (self.hi - self.lo) * stream.rand_array(state, 3 * (self.s.root_samples - len(Xs))).reshape(-1, 3)
        node.points = np.concatenate([Xs, Xu])
        node.sample_class = np.concatenate([np.full(len(Xs), NEAR_SURFACE, np.uint8), np.full(len(Xu), UNIFORM, np.uint8)])
        node.ref_point = 0.5 * (self.lo + self.hi)
        w = self._winding(np.concatenate([node.ref_point[None], node.points]))
        node.ref_winding = w[0]
        node.winding = w[1:]
        node.inside = w[1:] > 0.5
        self.nodes.append(node)
        return node

    # -- splitting -------------------------------------------------------------------
    def _children(self, node: Node) -> tuple[Node, Node]:
        """Fill the node's two (already numbered) children: cells, surface pieces, samples."""
        nrm, off = node.split
        kids = [self.nodes[node.left], self.nodes[node.right]]
        ls, lv, rs, rv = cells.split_cell(node.cell_starts, node.cell_verts, nrm, off, self.eps)
        qparts = cells.split_pieces(node.piece_starts, node.piece_verts, node.piece_tri, nrm, off, self.eps, self.min_area)
        go_left = sides(node.points, nrm, off)
        n_s = max(int(np.count_nonzero(node.sample_class == NEAR_SURFACE)), 1)
        for side, (cs, cv), (qs, qv, qid, qa), mask in (
            (0, (ls, lv), qparts[:4], go_left),
            (1, (rs, rv), qparts[4:], ~go_left),
        ):
            c = kids[side]
            c.depth = node.depth + 1
            c.seed = self._node_seed(c.id)
            c.path_normal = np.concatenate([node.path_normal, nrm[None]])
            c.path_offset = np.concatenate([node.path_offset, np.array([off], np.float32)])
            c.path_side = np.concatenate([node.path_side, np.array([side], np.int8)])
            c.cell_starts, c.cell_verts = cs, cv
            c.volume = cells.cell_volume(cs, cv)
            c.piece_starts, c.piece_verts, c.piece_tri, c.piece_area = qs, qv, qid, qa
            # straddling samples are drawn afresh for every node: the parent's split was chosen to
            # separate its own ones, so those that a child inherits are biased towards purity
            keep = mask & (node.sample_class != STRADDLE)
            c.points = node.points[keep]
            c.winding = node.winding[keep]
            c.inside = node.inside[keep]
            c.sample_class = node.sample_class[keep]
            c.volume_mass = c.volume / self.box_volume
            c.surface_mass = node.surface_mass * np.count_nonzero(c.sample_class == NEAR_SURFACE) / n_s
            c.ref_point = cv.mean(0) if len(cv) else node.ref_point
            c.diameter = float(np.linalg.norm(cv.max(0) - cv.min(0))) if len(cv) else 0.0
        return kids[0], kids[1]

    def _expand(self, node: Node):
        """Worker task: split a node; sample and label its children as far as crossings go."""
        kids = self._children(node)
        out = [(c, self._sample(c, node)) for c in kids]
        node.points = node.inside = node.winding = node.sample_class = None
        node.piece_verts = node.cell_verts = None
        return out

    def _sample(self, c: Node, parent: Node):
        """Top up a child's samples and label what can be labelled by crossings."""
        state = stream.make_state(c.seed)
        parts = []
        comps = []
        if len(c.piece_tri):
            diam = c.diameter
            small = diam <= 4 * self.sigma
            need = max(self.s.samples_per_node - len(c.points), self.s.n_fresh)
            if need > 0:
                mass_s = self.s.surface_weight * c.surface_mass
                mass_u = (1 - self.s.surface_weight) * c.volume_mass
                p_s = mass_s / max(mass_s + mass_u, 1e-300)
                k_s = int(np.count_nonzero(stream.rand_array(state, need) < p_s))
                if k_s and not small:
                    Xs = sampling.near_surface(c.path_normal, c.path_offset, c.path_side, self.lo, self.hi, c.piece_starts, c.piece_verts, c.piece_area, k_s,
                                                  self.sigma, state, 4 * k_s)
                    parts.append(Xs)
                    comps.append(np.full(len(Xs), NEAR_SURFACE, np.uint8))
                    k_s = len(Xs)
                # in a cell much smaller than sigma the near-surface density is flat: uniform
                # points stand in for it (tagged as near-surface to keep the mass estimates)
                Xu = sampling.hit_and_run(c.path_normal, c.path_offset, c.path_side, self.lo, self.hi, c.ref_point, need - k_s, state, 6, 2)
                parts.append(Xu)
                comps.append(np.full(len(Xu), NEAR_SURFACE if small else UNIFORM, np.uint8))
            if self.s.n_straddle > 0:
                k = self.s.n_straddle
                Xt = sampling.straddle(c.path_normal, c.path_offset, c.path_side, self.lo, self.hi, c.piece_starts, c.piece_verts, c.piece_area, k,
                                       self._delta(diam), state, 4 * k)
                parts.append(Xt)
                comps.append(np.full(len(Xt), STRADDLE, np.uint8))
        new = np.concatenate(parts) if parts else np.zeros((0, 3))
        comp = np.concatenate(comps) if comps else np.zeros(0, np.uint8)
        # corners of a cell with a little surface that lie far from it are labelled too: one on
        # the wrong side of the leaf's label is a spike of the rendered shape (see spike_heap)
        c.far_corners = None
        corners = np.zeros((0, 3))
        if 0 < len(c.piece_tri) <= self.s.spike_pieces and self.spike_tol > 0:
            corners, c.far_corners = spikes.far_corners(c.cell_verts, c.piece_tri, self.tri, self.spike_tol)
        pts = np.concatenate([c.ref_point[None], new, corners])
        w = np.zeros(len(pts), np.int64 if self.closed else np.float64)
        bad = np.ones(len(pts), np.bool_)
        if self.closed:
            V, F, box = self.mesh.vertices, self.mesh.faces, self.tri_box
            w0, b0 = winding_by_crossings(V, F, box, parent.piece_tri, parent.ref_point[None], np.array([parent.ref_winding]),
                                          pts[:1], 1e-9)
            if not b0[0]:
                w[0], bad[0] = w0[0], False
                if len(pts) > 1:  # the cell's reference and its inherited samples are the anchors
                    refs = np.concatenate([c.ref_point[None], c.points])
                    w_refs = np.concatenate([w0[:1], c.winding])
                    w[1:], bad[1:] = winding_by_crossings(V, F, box, c.piece_tri, refs, w_refs, pts[1:], 1e-9)
            # corners that crossings cannot settle (on a triangle's plane, say) are dropped rather
            # than sent to libigl: they lie on or next to the surface
            k = len(new) + 1
            settled = ~bad[k:]
            if not settled.all():
                keep = np.concatenate([np.ones(k, np.bool_), settled])
                pts, w, bad = pts[keep], w[keep], bad[keep]
                c.far_corners = (c.far_corners[0][settled], c.far_corners[1][settled]) if settled.any() else None
        return new, comp, pts, w, bad

    def _delta(self, diam: float) -> float:
        return min(self.s.straddle_delta * diam, 0.5 * self.sigma)

    def _straddle_weight(self, c: Node) -> float:
        """Importance weight of a straddling sample relative to a target-mixture sample (1).

        Straddling samples have density q = 1 / (2 delta A) in the slab around the cell's surface
        pieces; the target density there is p (flat within cells much smaller than sigma, else
        the near-surface peak plus the uniform part). Balance heuristic:
        w = 1 / (1 + n_s q m / (n_m p)) with m the node's mass.
        """
        n_s = int(np.count_nonzero(c.sample_class == STRADDLE))
        if not n_s:
            return 1.0
        n_m = len(c.points) - n_s
        q = 1.0 / max(2 * self._delta(c.diameter) * float(c.piece_area.sum()), 1e-300)
        if c.diameter <= 4 * self.sigma:  # p = m / V: the node's mass cancels
            ratio = n_s * q * c.volume / max(n_m, 1)
        else:
            p = self.s.surface_weight / (self.area * np.sqrt(2 * np.pi) * self.sigma) + (1 - self.s.surface_weight) / self.box_volume
            ratio = n_s * q * self._mass(c) / (max(n_m, 1) * p)
        return 1.0 / (1.0 + ratio)

    def _mass(self, c: Node) -> float:
        return self.s.surface_weight * c.surface_mass + (1 - self.s.surface_weight) * c.volume_mass

    def _evaluate(self, c: Node):
        """Pick the best split for a node with fresh samples; store it with its priority."""
        if len(c.piece_tri) == 0 or c.depth >= self.max_depth or len(c.points) < 2:
            return
        state = stream.make_state(c.seed ^ 0x5DEECE66D)
        # deep cells are small and hug the surface: the surface planes and the local search
        # find their splits; the fixed spread of directions only pays near the root
        base = self.dirs if c.depth <= self.s.spread_depth else self.dirs[:3]
        k = min(self.s.n_surface_planes, len(c.piece_tri))
        if k:
            tid = c.piece_tri[pick_by_area(c.piece_area, stream.rand_array(state, k))]
            tn = self.tri_normal[tid].astype(np.float32)
            tb = np.einsum("ij,ij->i", tn.astype(np.float64), self.tri[tid, 0]).astype(np.float32)
            dirs = np.concatenate([base, tn])
            offs = np.concatenate([np.full(len(base), np.nan, np.float32), tb])
        else:
            dirs, offs = base, np.full(len(base), np.nan, np.float32)
        X = c.points
        cls = c.inside.astype(np.uint8) | ((c.sample_class == STRADDLE).astype(np.uint8) << 1)
        if len(X) > self.s.max_score:  # large shallow nodes: a strided subset scores as well
            step = -(-len(X) // self.s.max_score)
            X, cls = np.ascontiguousarray(X[::step]), np.ascontiguousarray(cls[::step])
        nrm, off, gain = choose_split(X, cls, c.straddle_weight, dirs, offs, self.s.n_perturb, self.s.perturb_spread, state)
        if gain > 1e-12:
            c.split = (nrm, off)
            c.gain = gain * self._mass(c)

    def _spike(self, c: Node, w_corner: np.ndarray):
        """Queue the cell's longest spike, if it has one (see ``spike_heap``)."""
        far, c.far_corners = c.far_corners, None
        if far is None or c.depth >= self.max_depth:
            return
        cut = spikes.spike_cut(c.cell_verts, far, w_corner > 0.5, c.value, self.tri_normal, self.tri, self.eps)
        if cut is not None:
            c.spike_split, c.spike_length = cut

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
        c.ref_winding = w[0]
        w_corner = w[1 + len(new):]
        w = w[:1 + len(new)]
        if len(new):
            c.points = np.concatenate([c.points, new])
            c.winding = np.concatenate([c.winding, w[1:]])
            c.inside = c.winding > 0.5
            c.sample_class = np.concatenate([c.sample_class, comp])
        c.straddle_weight = self._straddle_weight(c)
        if len(c.piece_tri) == 0 or len(c.inside) == 0:
            c.value = bool(w[0] > 0.5)
        else:
            wt = np.where(c.sample_class == 2, c.straddle_weight, 1.0)
            c.value = bool(2 * wt[c.inside].sum() >= wt.sum())
        self._evaluate(c)
        self._spike(c, w_corner)
        if c.split is None and c.spike_split is None:
            c.points = c.inside = c.winding = c.sample_class = None
            c.piece_verts = c.cell_verts = None

    def run(self, progress=None) -> Tree:
        root = self._root()
        root.value = bool(2 * np.count_nonzero(root.inside) >= len(root.inside))
        root.diameter = float(np.linalg.norm(self.hi - self.lo))
        root.straddle_weight = 1.0
        self._evaluate(root)
        # two queues: information gain times mass, and spike_heap (corners of cells far on the wrong
        # side of the surface: thin cells of little mass that show in renders) by their length
        heap: list[tuple[float, int]] = []
        spike_heap: list[tuple[float, int]] = []
        if root.split is not None:
            heap.append((-root.gain, root.id))
        leaves = 1
        n_spike_splits = 0
        while (heap or spike_heap) and leaves < self.max_leaves:
            # a batch is split without re-ranking: keep it a small share of the tree so that
            # best-first order holds (in particular for small leaf budgets)
            take = min(self.s.batch, max(1, leaves // self.s.batch_share), self.max_leaves - leaves,
                       len(heap) + len(spike_heap))
            batch = []
            # spike_heap get their share of all splits so far, not of each batch: a batch is a
            # single split while the tree is small
            quota = (len(spike_heap) if not heap
                     else int(self.s.spike_share * (leaves - 1 + take)) - n_spike_splits)
            while spike_heap and len(batch) < quota:
                node = self.nodes[heapq.heappop(spike_heap)[1]]
                if node.left < 0 and node.spike_split is not None:
                    node.split = node.spike_split
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
                    c = Node(id=len(self.nodes))
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
                if c.spike_split is not None:
                    heapq.heappush(spike_heap, (-c.spike_length, c.id))
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
