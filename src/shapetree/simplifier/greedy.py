"""Greedy simplification to a leaf budget, and the simplification order behind it.

The write-up's move, made incremental: on a labelled point set drawn from the builder's target
distribution (half uniform in the box, half near the surface), repeatedly take the cheapest of

* collapsing a branch into one leaf of its majority value,
* removing a leaf and putting its sibling's subtree in the parent's place (the leaf's points are
  then routed through that subtree), and
* the same for a small subtree (at most ``MAX_SPLICE`` leaves and ``MAX_SPLICE_POINTS`` points),

costed as the increase in disagreements with the labels per removed leaf, until the budget.

Every step of the recorded order removes exactly one leaf (a collapse of a k-leaf branch is
recorded as k - 1 collapses of two-leaf branches, children first; a subtree splice as its
collapse, then the splice of that leaf), so the tree at any budget ``N`` is the full tree after
the first ``leaves - N`` steps, and ``simplify(tree, N)`` is exactly
``simplification_order(tree).at(N)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral

import numpy as np

from .. import validate
from ..errors import UsageError
from ..mesh import Mesh, as_mesh, inside, sample_surface
from ..tree import Kind, Tree, preorder, tree_in_preorder
from .kernels import greedy_steps, replay

DEFAULT_SAMPLES = 400_000
SAMPLES_PER_LEAF = 300  # simplify draws max(DEFAULT_SAMPLES, this * budget) points: enough to rank the
# last, tiny errors of a big budget (at 4,096 leaves 1.2M points gain ~0.001 IoU over 400k)
SURFACE_SHARE = 0.5  # the builder's target: half uniform in the box, half near the surface
# subtree splices are tried for subtrees of at most this many leaves and points (a leaf is always a
# candidate); larger ones can still go by a collapse and then a leaf splice
MAX_SPLICE = 8
MAX_SPLICE_POINTS = 1000
SIGMA = 0.01  # near-surface noise, a fraction of the box's longest side (as the builder's)


@dataclass(frozen=True, eq=False)
class SimplificationOrder:
    """The greedy simplification sequence of ``tree``: step ``k`` removes one leaf.

    node: (m,) int64 the branch (an index into ``tree``) the step removes or collapses
    keep: (m,) int8 0 = the branch becomes a leaf of value ``leaf_value`` (both its children are
        leaves then), 1 / 2 = the branch and its right / left child (a leaf) are removed and the
        left / right subtree takes the branch's place
    leaf_value: (m,) bool the value of a collapsed branch
    error: (m,) int64 disagreements with the labels on the ``n_points`` samples after each step
    start_error: disagreements of the full tree
    """

    tree: Tree
    node: np.ndarray
    keep: np.ndarray
    leaf_value: np.ndarray
    error: np.ndarray
    start_error: int
    n_points: int

    @property
    def min_leaves(self) -> int:
        """The smallest budget the order reaches."""
        return self.tree.n_leaves - len(self.node)

    def steps_for(self, max_leaves: int) -> int:
        """Number of steps that bring the tree down to ``max_leaves`` leaves (or as far as the
        order goes)."""
        _check_budget(max_leaves)
        return int(min(max(self.tree.n_leaves - max_leaves, 0), len(self.node)))

    def at(self, max_leaves: int) -> Tree:
        """The tree with ``max_leaves`` leaves: the full tree after the first steps of the order."""
        k = self.steps_for(max_leaves)
        return self.tree if k == 0 else self.after(k)[0]

    def after(self, k: int) -> tuple[Tree, np.ndarray]:
        """The tree after the first ``k`` steps and, per node of it, the id of the node of ``tree``
        it is: ``(Tree, (m,) int64)``."""
        t = self.tree
        cl, cr, val, root = replay(t.left, t.right, t.value, self.node, self.keep, self.leaf_value, k)
        small = tree_in_preorder(t.normal, t.offset, cl, cr, val, t.bounds, t.kind, origin=t.origin, scale=t.scale,
                                 root=root)
        return small, preorder(cl, cr, root)

    def collapse_leaves(self) -> np.ndarray:
        """(n,) int64: for every branch of ``tree``, the leaf count of the first tree of the order
        in which it is no longer a branch (it is a branch of ``at(N)`` iff ``N`` is larger);
        -1 for the leaves of ``tree`` and ``min_leaves - 1`` for branches the order never removes."""
        out = np.where(self.tree.left >= 0, self.min_leaves - 1, -1).astype(np.int64)
        out[self.node] = self.tree.n_leaves - 1 - np.arange(len(self.node))
        return out


def simplify(tree: Tree, max_leaves: int, *, mesh: Mesh | str | None = None, seed: int = 0,
             n_samples: int | None = None) -> Tree:
    """An occupancy tree with ``min(max_leaves, tree.n_leaves)`` leaves that keeps as much of
    ``tree`` as the budget allows: the greedy simplification (see the module docstring).

    mesh: a ``Mesh`` or mesh path; its winding numbers label the points (else the full tree
        does), and its surface is where the near-surface half of the points is drawn.
    seed: the point samples' seed (same tree, mesh, seed and n_samples give the same result);
    n_samples: points drawn (before those outside the tree's box are dropped); None:
        ``samples_for(max_leaves)``.
    """
    _check_budget(max_leaves)
    if max_leaves >= _check_tree(tree).n_leaves:
        return tree
    n_samples = samples_for(max_leaves) if n_samples is None else n_samples
    return _order(tree, max_leaves, mesh, seed, n_samples).at(max_leaves)


def samples_for(max_leaves: int) -> int:
    """The points ``simplify`` draws by default for a budget: ``max(DEFAULT_SAMPLES,
    SAMPLES_PER_LEAF * max_leaves)``."""
    _check_budget(max_leaves)
    return max(DEFAULT_SAMPLES, SAMPLES_PER_LEAF * int(max_leaves))


def simplification_order(tree: Tree, *, mesh: Mesh | str | None = None, seed: int = 0,
                         n_samples: int = DEFAULT_SAMPLES, min_leaves: int = 1) -> SimplificationOrder:
    """The greedy simplification sequence of ``tree`` down to ``min_leaves`` leaves, one leaf per
    step; ``order.at(N)`` equals ``simplify(tree, N, ...)`` with the same arguments (``n_samples``
    given to both: ``simplify``'s default is ``samples_for(N)``) for every ``N >= min_leaves``.
    Reversed, it is a coarse-to-fine refinement sequence."""
    _check_budget(min_leaves)
    return _order(_check_tree(tree), min_leaves, mesh, seed, n_samples)


def labelled_points(tree: Tree, mesh: Mesh | str | None = None, *, n: int = DEFAULT_SAMPLES,
                    seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Points of the builder's target distribution inside the tree's box and their labels:
    ((k, 3) float64, (k,) bool), ``k <= n``.

    Half are uniform in ``tree.bounds``; half lie near the surface: area-uniform points on the
    mesh (or, without a mesh, on the tree's own surface, found by bisecting short random segments
    whose ends the tree labels differently) plus Gaussian noise of sigma 1 % of the box's
    longest side. Labels are the mesh's winding number > 1/2, or the tree's own occupancy.
    """
    if not isinstance(n, Integral) or isinstance(n, bool) or n < 2:
        raise UsageError(f"n_samples must be an integer >= 2, got {n!r}")
    m = as_mesh(mesh) if mesh is not None else None
    rng = np.random.default_rng(seed)
    lo, hi = tree.bounds
    n_surface = n - uniform_count(n)
    uniform = rng.uniform(lo, hi, (n - n_surface, 3))
    if m is not None:
        mlo, mhi = m.bounds
        sigma = SIGMA * float(np.max(mhi - mlo))
        surface, _ = sample_surface(m, n_surface, rng)
    else:
        sigma = SIGMA * float(np.max(hi - lo))
        surface = _tree_surface_points(tree, n_surface, rng, sigma)
    near = surface + rng.normal(0.0, sigma, surface.shape)
    pts = np.concatenate([uniform, near])
    # points outside the box are outside for every tree: no move can change them
    pts = pts[np.all((pts >= lo) & (pts <= hi), axis=1)]
    labels = inside(m, pts) if m is not None else tree.contains(pts)
    return np.ascontiguousarray(pts), np.ascontiguousarray(labels, np.bool_)


def uniform_count(n: int) -> int:
    """How many of ``labelled_points(..., n=n)`` are the uniform ones: they come first, and all of
    them are kept (only near-surface points can fall outside the box)."""
    return n - round(SURFACE_SHARE * n)


def _tree_surface_points(tree: Tree, n: int, rng: np.random.Generator, sigma: float) -> np.ndarray:
    """About ``n`` points on the boundary of the tree's occupancy, near-uniform by area: the
    crossings of short isotropic segments from uniform points (a segment much shorter than the
    surface's features crosses a patch with probability proportional to its area)."""
    lo, hi = tree.bounds
    found = []
    count = 0
    for _ in range(64):
        if count >= n:
            break
        a = rng.uniform(lo, hi, (max(8 * (n - count), 100_000), 3))
        b = a + rng.normal(0.0, 2 * sigma, a.shape)
        ia = tree.contains(a)
        cross = ia != tree.contains(b)
        a, b, ia = a[cross], b[cross], ia[cross]
        if len(a) == 0:  # no surface this sampling can see (e.g. every leaf has the same value)
            break
        for _ in range(30):
            mid = 0.5 * (a + b)
            same = tree.contains(mid) == ia
            a[same] = mid[same]
            b[~same] = mid[~same]
        found.append(0.5 * (a + b))
        count += len(a)
    if not found or count == 0:
        return np.zeros((0, 3))
    return np.concatenate(found)[:n]


def _order(tree: Tree, stop_leaves: int, mesh, seed: int, n_samples: int) -> SimplificationOrder:
    seed = validate.integer("seed", seed, 0, validate.MAX_SEED)
    n_samples = validate.integer("n_samples", n_samples, 1, 1 << 31)
    pts, labels = labelled_points(tree, mesh, n=n_samples, seed=seed)
    return order_on_points(tree, pts, labels, stop_leaves)


def order_on_points(tree: Tree, points: np.ndarray, labels: np.ndarray, min_leaves: int = 1) -> SimplificationOrder:
    """The greedy simplification order of ``tree`` down to ``min_leaves`` leaves on the given labelled
    points ((k, 3) float64 in the tree's bounds, (k,) bool): what ``simplification_order`` runs on the
    points it draws."""
    _check_budget(min_leaves)
    tree = _check_tree(tree)
    home = tree.apply(points)
    start_error = int(np.count_nonzero(tree.value[home] != labels))
    # the kernels route points with the tree's side rule, in the tree's frame
    node, keep, leaf_value, error = greedy_steps(tree.left, tree.right, tree.value, tree.normal, tree.offset,
                                                 np.ascontiguousarray(tree.to_frame(points)),
                                                 np.ascontiguousarray(labels, np.bool_), home,
                                                 min_leaves, MAX_SPLICE, MAX_SPLICE_POINTS)
    for a in (node, keep, leaf_value, error):
        a.flags.writeable = False
    return SimplificationOrder(tree, node, keep, leaf_value, error, start_error, len(points))


def _check_budget(max_leaves) -> None:
    validate.integer("max_leaves", max_leaves, 1, 1 << 40)


def _check_tree(tree) -> Tree:
    if not isinstance(tree, Tree):
        raise UsageError(f"simplify needs a Tree, got {type(tree).__name__}")
    if tree.kind != Kind.OCCUPANCY:
        raise UsageError("simplify needs an occupancy tree, this is a normal-map tree")
    return tree


__all__ = ["SimplificationOrder", "labelled_points", "order_on_points", "samples_for", "simplification_order", "simplify",
           "uniform_count"]
