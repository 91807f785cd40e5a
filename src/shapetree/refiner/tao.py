"""Tree Alternating Optimization (Carreira-Perpinan and Tavallali, NeurIPS 2018) for occupancy trees.

With the tree's structure fixed, a pass visits the depths from the deepest up; at each depth

* every leaf takes the weighted majority label of the points that reach it, and
* every branch re-fits its plane to its *care points* -- the points its left subtree labels right
  and its right subtree wrong, or the other way round -- as a weighted linear classification
  (``fit.fit_plane``: Newton on the logistic loss from the current plane, then the exact best
  threshold), and takes the new plane only when the weight of the care points it sends the wrong
  way drops.

Branches of one depth have disjoint cells, so they are refitted in parallel (numba), each from
its own points; nothing else changes the points' leaves, so the pass's weighted training error
never rises. After the sweep the leaves re-take their majority once more and branches one of
whose children no point reaches are spliced out (the points' leaves do not change).

The points of a pass: the fixed labelled points of the simplifier's target distribution
(``simplifier.labelled_points``: half uniform in the box, half near the surface) plus, for every
branch reached by fewer than ``min_points`` of them, fresh samples of the same distribution drawn
in its cell (``fresh``), all labelled by the mesh's winding number and weighted by the balance
heuristic (``sweep.path_weights``), so the weighted error estimates the tree's error under the
target distribution. Weights are multiples of 2**-28, so every sum of them is exact.

Patent note: TAO is patented (US 12,505,355 B2, University of California); see docs/refine.md.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .. import validate
from ..errors import UsageError
from ..mesh import Mesh, as_mesh, inside
from ..progress import progress_bar
from ..simplifier import labelled_points
from ..simplifier.greedy import uniform_count
from ..tree import Kind, Tree, tree_in_preorder
from . import fresh, sweep
from .fit import NEWTON_STEPS
from .regrow import DEFAULT_SHARE as REGROW_SHARE
from .regrow import prune_and_grow

DEFAULT_PASSES = 3
DEFAULT_REGROW = 0  # rounds of pruning and regrowing after the passes (regrow.py); the CLI asks for
CLI_REGROW = 4  # ... this many on trees of at most REGROW_UP_TO leaves (docs/refine.md), none above
REGROW_UP_TO = 4096
MAX_REGROW = 100
REGROW_PASSES = 2  # TAO passes that re-fit a regrown tree
REGROW_STREAM = 0x9E6  # the rounds' points' seed offset
DEFAULT_SAMPLES = 400_000
DEFAULT_MIN_POINTS = 256
MAX_PASSES = 1000
MAX_SAMPLES = 4_000_000
SIGMA = 0.01  # near-surface noise, a fraction of the mesh box's longest side (the simplifier's)
HELD_OUT_STREAM = 0x4B1D  # the held-out points' seed offset (the passes' is 0x7A0, simplify's 0)
WEIGHT_UNIT = 2.0**-28  # weights are whole multiples of this: sums of up to 2**25 points are exact


@dataclass(frozen=True)
class PassStats:
    """One pass of ``refine``.

    error_before / error_after: the weighted training error (a fraction of the total weight) of
        the pass's points at its start and end; ``error_after <= error_before`` always.
    fixed_error_before / fixed_error_after: the plain error fraction on the fixed labelled points.
    points / fresh: points of the pass, and how many of them were fresh samples in cells.
    planes / leaves / pruned: planes replaced, leaf values changed, branches spliced out.
    seconds / cpu_seconds: wall-clock and process CPU time of the pass.
    """

    error_before: float
    error_after: float
    fixed_error_before: float
    fixed_error_after: float
    points: int
    fresh: int
    planes: int
    leaves: int
    pruned: int
    seconds: float
    cpu_seconds: float


@dataclass(frozen=True)
class RoundStats:
    """One round of regrowing (``regrow.prune_and_grow`` then ``REGROW_PASSES`` TAO passes).

    held_out_before / held_out_after: mistakes on the held-out points of the tree before the round
    and of the round's tree; accepted: the round's tree is kept (it made fewer);
    leaves: its leaf count; seconds: wall-clock time of the round.
    """

    held_out_before: int
    held_out_after: int
    accepted: bool
    leaves: int
    seconds: float


@dataclass(frozen=True, eq=False)
class RefineResult:
    """What ``refine_report`` returns: the refined tree and one ``PassStats`` per pass run.

    held_out: mistakes of the input and of the refined tree on held-out labelled points (points of
        the same distribution that neither the passes nor ``simplify``'s default seed used), or
        None without the check; kept_input: the refined tree made more of them on the uniform half
        or on the near-surface half, so ``tree`` is the input, unchanged (refinement fitted its
        points' noise rather than the shape, or traded volume for surface).
    rounds: one ``RoundStats`` per round of regrowing.
    """

    tree: Tree
    history: tuple[PassStats, ...]
    held_out: tuple[int, int] | None = None
    kept_input: bool = False
    rounds: tuple[RoundStats, ...] = ()


def refine(tree: Tree, mesh: Mesh | str, *, passes: int = DEFAULT_PASSES, seed: int = 0,
           n_samples: int = DEFAULT_SAMPLES, min_points: int = DEFAULT_MIN_POINTS, significance: float = 0.0,
           held_out: bool = True, regrow: int = DEFAULT_REGROW, progress: bool = False) -> Tree:
    """The occupancy ``tree`` with its planes re-fitted and its leaves relabelled by TAO against
    ``mesh``'s winding numbers: same or fewer leaves, a training error that never rises. See the
    module docstring; ``refine_report`` also returns the training error of every pass.

    mesh: the mesh the tree was made from (a ``Mesh`` or a path): it labels the points.
    passes: bottom-up sweeps (stops early when one changes nothing); seed: the points' seed
    (same inputs give byte-identical trees, whatever the thread count); n_samples: fixed points
    drawn; min_points: fresh samples top every branch's cell up to this many points;
    significance: a new plane must lower its care error by this many standard errors of the
    change (0: any drop; 1 keeps near-perfect trees from fitting noise, at some cost on small
    trees, see docs/refine.md); held_out: return the input unchanged when the refined tree makes
    more mistakes than it on either half (uniform, near the surface) of ``n_samples`` held-out
    points of the same distribution (so refining is kept only where it pays; see
    ``RefineResult``); regrow: rounds of pruning and regrowing the structure after the passes
    (``regrow``: each round swaps a sixteenth of the leaves for better splits and re-fits with
    ``REGROW_PASSES`` passes, and is kept only when it makes fewer mistakes on the held-out points
    and no more on either half; the leaf count stays the input's).
    """
    return refine_report(tree, mesh, passes=passes, seed=seed, n_samples=n_samples, min_points=min_points,
                         significance=significance, held_out=held_out, regrow=regrow, progress=progress).tree


def refine_report(tree: Tree, mesh: Mesh | str, *, passes: int = DEFAULT_PASSES, seed: int = 0,
                  n_samples: int = DEFAULT_SAMPLES, min_points: int = DEFAULT_MIN_POINTS,
                  significance: float = 0.0, held_out: bool = True, regrow: int = DEFAULT_REGROW,
                  progress: bool = False) -> RefineResult:
    """``refine``, with the statistics of every pass (``RefineResult.history``)."""
    if not isinstance(tree, Tree):
        raise UsageError(f"refine needs a Tree, got {type(tree).__name__}")
    if tree.kind != Kind.OCCUPANCY:
        raise UsageError("refine needs an occupancy tree, this is a normal-map tree")
    if mesh is None:
        raise UsageError("refine needs the mesh the tree was made from: its winding numbers label the points")
    passes = validate.integer("passes", passes, 0, MAX_PASSES)
    seed = validate.integer("seed", seed, 0, validate.MAX_SEED)
    n_samples = validate.integer("n_samples", n_samples, 2, MAX_SAMPLES)
    min_points = validate.integer("min_points", min_points, 0, 1 << 20)
    significance = validate.real("significance", significance, 0.0, 100.0)
    progress = validate.flag("progress", progress)
    held_out = validate.flag("held_out", held_out)
    regrow = validate.integer("regrow", regrow, 0, MAX_REGROW)
    m = as_mesh(mesh)
    run = _Run(tree, m, seed, n_samples, min_points, significance)
    history = []
    with progress_bar("refining", passes, "passes", progress) as update:
        for k in range(passes):
            stats = run.sweep(k)
            history.append(stats)
            update(k + 1)
            if stats.planes == 0 and stats.leaves == 0 and stats.pruned == 0:
                break
    refined = run.tree(tree.meta, history)
    if not held_out and not regrow:
        return RefineResult(refined, tuple(history))
    pts, labels = labelled_points(tree, m, n=n_samples, seed=(seed * 0x9E3779B1 + HELD_OUT_STREAM) % (1 << 63))
    n_uniform = uniform_count(n_samples)  # labelled_points: the uniform half first

    def mistakes(t: Tree) -> np.ndarray:
        """(2,) int64: mistakes on the held-out points uniform in the box (the volume, IoU's
        half) and on those near the surface."""
        wrong = t.contains(pts) != labels
        return np.array([np.count_nonzero(wrong[:n_uniform]), np.count_nonzero(wrong[n_uniform:])], np.int64)

    rounds = []
    if regrow:
        refined, rounds = _regrow(refined, tree, m, seed, n_samples, min_points, significance, regrow, mistakes,
                                  progress)
    if not held_out:
        return RefineResult(refined, tuple(history), rounds=tuple(rounds))
    before, after = mistakes(tree), mistakes(refined)
    counts = (int(before.sum()), int(after.sum()))
    if np.any(after > before):  # worse in the volume or near the surface: not worth it
        return RefineResult(tree, tuple(history), counts, True, tuple(rounds))
    return RefineResult(refined, tuple(history), counts, False, tuple(rounds))


def default_regrow(n_leaves: int) -> int:
    """The rounds of regrowing the CLI runs on a tree of ``n_leaves`` leaves: ``CLI_REGROW`` up to
    ``REGROW_UP_TO`` leaves, where it pays, else 0 (each round costs ``REGROW_PASSES`` passes)."""
    return CLI_REGROW if n_leaves <= REGROW_UP_TO else 0


def _regrow(refined: Tree, tree: Tree, mesh: Mesh, seed: int, n_samples: int, min_points: int,
            significance: float, rounds: int, mistakes, progress: bool) -> tuple[Tree, list[RoundStats]]:
    """``rounds`` rounds of pruning and regrowing ``refined`` (see ``refine``), each kept only when
    its tree makes fewer ``mistakes`` on the held-out points, and no more on either half of them
    (uniform in the box, near the surface); the leaf count stays ``tree``'s."""
    best, best_count = refined, mistakes(refined)
    k = max(1, round(REGROW_SHARE * tree.n_leaves))
    out = []
    with progress_bar("regrowing", rounds, "rounds", progress) as update:
        for r in range(rounds):
            t0 = time.perf_counter()
            round_seed = (seed * 0x9E3779B1 + REGROW_STREAM + 2 * r) % (1 << 63)
            prune_on = labelled_points(best, mesh, n=n_samples, seed=round_seed)
            grow_on = labelled_points(best, mesh, n=n_samples, seed=(round_seed + 1) % (1 << 63))
            grown = prune_and_grow(best, prune_on, grow_on, k, leaves=tree.n_leaves)
            run = _Run(grown, mesh, round_seed, n_samples, min_points, significance)
            history = [run.sweep(p) for p in range(REGROW_PASSES)]
            candidate = run.tree(tree.meta, history)
            count = mistakes(candidate)
            better = bool(count.sum() < best_count.sum() and np.all(count <= best_count))
            out.append(RoundStats(int(best_count.sum()), int(count.sum()), better, candidate.n_leaves,
                                  time.perf_counter() - t0))
            if better:
                best, best_count = candidate, count
            update(r + 1)
    return best, out


class _Run:
    """The state of one ``refine``: the tree as mutable arrays, the fixed points, the mesh in the
    tree's frame."""

    def __init__(self, tree: Tree, mesh: Mesh, seed: int, n_samples: int, min_points: int,
                 significance: float = 0.0):
        self.seed = seed
        self.significance = significance
        self.n_samples = n_samples
        self.min_points = min_points
        self.mesh = mesh
        self.bounds = tree.bounds
        self.origin = tree.origin
        self.scale = tree.scale
        self._set(tree)
        # a stream of its own: the simplifier draws its points from ``seed`` itself, and refitting
        # to the very points a tree was simplified on would overfit them
        pts, labels = labelled_points(tree, mesh, n=n_samples, seed=(seed * 0x9E3779B1 + 0x7A0) % (1 << 63))
        self.x = np.ascontiguousarray(tree.to_frame(pts))
        self.y = labels
        self.lo, self.hi = (np.ascontiguousarray(b) for b in tree.to_frame(tree.bounds))
        tri = (mesh.triangles - self.origin) / self.scale
        self.tri = np.ascontiguousarray(tri)
        self.tri_box = np.ascontiguousarray(np.concatenate([tri.min(1), tri.max(1)], axis=1))
        self.tri_area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
        mlo, mhi = mesh.bounds
        self.sigma = SIGMA * float(np.max(mhi - mlo)) / self.scale

    def _set(self, t: Tree) -> None:
        self.left = t.left.astype(np.int64)
        self.right = t.right.astype(np.int64)
        self.normal = np.ascontiguousarray(t.normal, np.float32).copy()
        self.offset = np.ascontiguousarray(t.offset, np.float32).copy()
        self.value = np.ascontiguousarray(t.value, np.bool_).copy()
        self.parent = np.ascontiguousarray(t.parent, np.int64)
        self.depth = np.ascontiguousarray(t.node_depth, np.int64)

    def _arrays(self):
        return self.left, self.right, self.normal, self.offset

    def _fresh(self, k: int, count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fresh samples for the branches reached by fewer than ``min_points`` fixed points, and
        each node's sampling rate (samples per unit of the distribution's mass; 0 elsewhere)."""
        n = len(self.left)
        rate = np.zeros(n)
        want = np.where(self.left >= 0, np.maximum(self.min_points - count, 0), 0)
        nodes = np.flatnonzero(want > 0)
        if len(nodes) == 0:
            return np.zeros((0, 3)), rate
        _, volume, centre, cand_starts, cand_ids = fresh.cell_shapes(
            self.left, self.right, self.normal, self.offset, self.lo, self.hi, want > 0, self.tri_box,
            fresh.NOISE_REACH * self.sigma)
        seeds = fresh.node_seeds(np.uint64(self.seed), np.uint64(k), nodes)
        pts, starts, mass = fresh.draw_in_cells(nodes, want[nodes], seeds, self.parent, self.left, self.normal,
                                                self.offset, self.lo, self.hi, volume, centre, cand_starts, cand_ids,
                                                self.tri, self.tri_area, self.sigma, 20 * self.min_points)
        got = np.diff(starts)
        ok = mass > 0
        rate[nodes[ok]] = got[ok] / mass[ok]
        return pts, rate

    def sweep(self, k: int) -> PassStats:
        w0, c0 = time.perf_counter(), time.process_time()
        n_fixed = len(self.x)
        home = sweep.leaves_of(self.x, *self._arrays())
        count = sweep.subtree_counts(home, self.left, self.right, len(self.left))
        fresh_x, rate = self._fresh(k, count)
        fresh_y = inside(self.mesh, fresh_x * self.scale + self.origin) if len(fresh_x) else np.zeros(0, bool)
        x = np.ascontiguousarray(np.concatenate([self.x, fresh_x]))
        y = np.ascontiguousarray(np.concatenate([self.y, fresh_y]))
        home = sweep.leaves_of(x, *self._arrays())
        w = sweep.path_weights(home, self.parent, rate, float(self.n_samples))
        w = np.maximum(np.rint(w / WEIGHT_UNIT), 1.0) * WEIGHT_UNIT
        total = float(w.sum())
        before = sweep.weighted_error(home, self.value, y, w)
        fixed_before = np.count_nonzero(self.value[home[:n_fixed]] != self.y) / max(n_fixed, 1)
        old_value = self.value.copy()
        old_planes = np.concatenate([self.normal, self.offset[:, None]], axis=1)
        anc = home.copy()
        n = len(self.left)
        for d in range(int(self.depth.max()), -1, -1):
            nodes, starts, order = sweep.group_at_depth(anc, self.parent, self.depth, d, n)
            sweep.retake_majority(nodes, starts, order, self.left, self.value, y, w)
            g = len(nodes)
            old_err, new_err, n_care = np.empty(g), np.empty(g), np.empty(g, np.int64)
            side = sweep.care_sides(nodes, starts, order, x, y, home, self.left, self.right, self.normal,
                                    self.offset, self.value)
            sweep.refit_branches(nodes, starts, order, side, x, w, self.left, self.normal, self.offset, NEWTON_STEPS,
                                 self.significance, old_err, new_err, n_care)
            changed = new_err < old_err
            if changed.any():
                sweep.reroute(nodes, starts, order, changed, x, home, *self._arrays())
        # the leaves' final points: majority once more, then splice out branches with an empty side
        leaves = np.flatnonzero(self.left < 0)
        inside_w = np.bincount(home, weights=np.where(y, w, 0.0), minlength=n)
        all_w = np.bincount(home, weights=w, minlength=n)
        self.value[leaves] = np.where(2 * inside_w[leaves] > all_w[leaves], True,
                                      np.where(2 * inside_w[leaves] < all_w[leaves], False, self.value[leaves]))
        planes = int(np.count_nonzero(np.any(np.concatenate([self.normal, self.offset[:, None]], axis=1)
                                             != old_planes, axis=1)))
        leaves_changed = int(np.count_nonzero(self.value != old_value))
        count = sweep.subtree_counts(home, self.left, self.right, n)
        cl, cr, root = sweep.splice_empty(self.left, self.right, count)
        branches_before = int(np.count_nonzero(self.left >= 0))
        t = self._rebuild(cl, cr, root)
        pruned = branches_before - int(np.count_nonzero(t.left >= 0))
        self._set(t)
        home = sweep.leaves_of(x, *self._arrays())
        after = sweep.weighted_error(home, self.value, y, w)
        if after > before:  # every step is exact; this would be a bug
            raise AssertionError(f"refine: training error rose from {before} to {after}")
        fixed_after = np.count_nonzero(self.value[home[:n_fixed]] != self.y) / max(n_fixed, 1)
        return PassStats(before / total, after / total, fixed_before, fixed_after, len(x), len(fresh_x), planes,
                         leaves_changed, pruned, time.perf_counter() - w0, time.process_time() - c0)

    def _rebuild(self, cl: np.ndarray, cr: np.ndarray, root: int) -> Tree:
        return tree_in_preorder(self.normal, self.offset, cl, cr, self.value, self.bounds, Kind.OCCUPANCY,
                                origin=self.origin, scale=self.scale, root=root)

    def tree(self, meta: dict, history: list[PassStats]) -> Tree:
        summary = [{"error_before": s.error_before, "error_after": s.error_after} for s in history]
        t = tree_in_preorder(self.normal, self.offset, self.left, self.right, self.value, self.bounds,
                             Kind.OCCUPANCY, origin=self.origin, scale=self.scale)
        return t.replace(meta={**meta, "refine": summary})

