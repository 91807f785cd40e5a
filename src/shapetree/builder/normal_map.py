"""Normal-map trees: regression trees with 3-vector leaves that predict a mesh's surface normal.

A renderer evaluates them at the hit point in place of the flat plane normal. The training set is
points on the mesh surface, moved a little along the normal so that points near the surface (where
a tree's hit points lie) agree, with the mesh's interpolated vertex normals (or face normals) as
targets. Trees grow greedily and best-first: each split is the oblique plane, from a fixed set of
directions plus perturbations of the best one, that most reduces the squared error of the node's
vectors. Several trees form a boosted ensemble: each fits what the previous ones left over, and the
prediction is the normalised sum.
"""

from __future__ import annotations

import heapq
from pathlib import Path

import numpy as np

from .. import validate
from ..errors import UsageError
from ..mesh import Mesh, as_mesh, surface_barycentric, vertex_normals
from ..tree import Kind, Tree, bounds_frame, sides, tree_in_preorder
from .directions import fibonacci_directions
from .settings import MAX_LEAVES
from .variance import best_split, best_split_parallel

DEFAULT_MAX_LEAVES = 4096
DEFAULT_SAMPLES = 200_000


def surface_normal_samples(mesh: Mesh, n: int, rng: np.random.Generator, *, spread: float = 0.005,
                           smooth: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``n`` training points near the surface and their target normals: ((n, 3), (n, 3)) float64.

    Points are uniform by area on the surface, then moved along the face normal by a normal
    variate of ``spread`` times the largest box side. Targets are the barycentric interpolation of
    ``vertex_normals`` (``smooth``) or the face normal, unit length.
    """
    face, bary = surface_barycentric(mesh, n, rng)
    t = mesh.triangles[face]
    points = np.einsum("ij,ijk->ik", bary, t)
    fn = mesh.face_normals()[face]
    if smooth:
        vn = vertex_normals(mesh)[mesh.faces[face]]
        target = np.einsum("ij,ijk->ik", bary, vn)
        length = np.linalg.norm(target, axis=1, keepdims=True)
        target = np.where(length > 1e-12, target / np.maximum(length, 1e-300), fn)
    else:
        target = fn
    lo, hi = mesh.bounds
    points = points + fn * (rng.normal(size=(n, 1)) * spread * float(np.max(hi - lo)))
    return points, target


_PARALLEL_ABOVE = 2048  # samples: below this, starting threads costs more than it saves


# -- growing one tree ------------------------------------------------------------------------------------
class _Grower:
    """Best-first growth of one regression tree over fixed samples."""

    def __init__(self, X, Y, bounds, *, max_leaves, min_leaf, n_directions, n_perturb, max_search, rng):
        self.X, self.Y, self.bounds = X, Y, bounds
        self.max_leaves, self.min_leaf = max_leaves, min_leaf
        self.dirs = fibonacci_directions(n_directions)
        self.n_perturb, self.max_search, self.rng = n_perturb, max_search, rng
        self.rows: list[np.ndarray] = []
        self.split: list[tuple[np.ndarray, np.float32] | None] = []
        self.children: list[tuple[int, int]] = []

    def _candidate(self, rows: np.ndarray):
        """(gain, float32 normal, float32 offset) of the node's best split, or None."""
        if len(rows) < 2 * self.min_leaf:
            return None
        search = rows
        if len(rows) > self.max_search:
            search = np.sort(self.rng.choice(rows, self.max_search, replace=False))
        X, Y = self.X[search], self.Y[search]
        min_leaf = max(1, round(self.min_leaf * len(search) / len(rows)))
        dirs = self.dirs.astype(np.float32).astype(np.float64)
        split = best_split_parallel if len(search) > _PARALLEL_ABOVE else best_split
        j, thr, gain = split(X, Y, dirs, min_leaf)
        normal = dirs[j]
        if self.n_perturb and gain > 0:
            jitter = normal + self.rng.normal(scale=0.15, size=(self.n_perturb, 3))
            jitter = (jitter / np.linalg.norm(jitter, axis=1, keepdims=True)).astype(np.float32)
            jitter = jitter.astype(np.float64)
            jj, thr2, g2 = split(X, Y, jitter, min_leaf)
            if g2 > gain:
                normal, thr, gain = jitter[jj], thr2, g2
        if not gain > 0:
            return None
        normal = normal.astype(np.float32)
        offset = np.float32(thr)
        left = sides(self.X[rows], normal, offset)
        n_left = int(left.sum())
        if n_left == 0 or n_left == len(rows):  # the float32 threshold rounded onto a sample
            return None
        return gain, normal, offset, left

    def grow(self) -> Tree:
        self.rows = [np.arange(len(self.X))]
        self.split = [None]
        self.children = [(-1, -1)]
        heap = []
        leaves = 1
        cand = self._candidate(self.rows[0])
        pending = {0: cand}
        if cand is not None:
            heapq.heappush(heap, (-cand[0], 0))
        while heap and leaves < self.max_leaves:
            _, i = heapq.heappop(heap)
            _, normal, offset, left = pending.pop(i)
            rows = self.rows[i]
            self.split[i] = (normal, offset)
            kids = []
            for part in (rows[left], rows[~left]):
                c = len(self.rows)
                self.rows.append(part)
                self.split.append(None)
                self.children.append((-1, -1))
                kids.append(c)
                cand = self._candidate(part)
                if cand is not None:
                    pending[c] = cand
                    heapq.heappush(heap, (-cand[0], c))
            self.children[i] = (kids[0], kids[1])
            self.rows[i] = rows[:0]
            leaves += 1
        return self._assemble()

    def _assemble(self) -> Tree:
        """Flat arrays in pre-order, leaves holding the mean target of their samples."""
        m = len(self.split)
        normal = np.zeros((m, 3), np.float32)
        offset = np.zeros(m, np.float32)
        left = np.full(m, -1, np.int64)
        right = np.full(m, -1, np.int64)
        value = np.zeros((m, 3), np.float32)
        for i in range(m):
            if self.split[i] is not None:
                normal[i], offset[i] = self.split[i]
                left[i], right[i] = self.children[i]
            elif len(self.rows[i]):
                value[i] = self.Y[self.rows[i]].mean(0)
        return tree_in_preorder(normal, offset, left, right, value, self.bounds, kind=Kind.NORMALS)


def fit_normal_tree(points: np.ndarray, targets: np.ndarray, bounds: np.ndarray, *,
                    max_leaves: int = DEFAULT_MAX_LEAVES, min_leaf: int = 8, n_directions: int = 48,
                    n_perturb: int = 12, max_search: int = 16384, seed: int = 0) -> Tree:
    """One regression tree, grown best-first to at most ``max_leaves`` leaves, whose leaves hold the
    mean target vector of their samples. points, targets: (n, 3) float64; bounds: (2, 3)."""
    X = np.ascontiguousarray(points, np.float64)
    Y = np.ascontiguousarray(targets, np.float64)
    if X.ndim != 2 or X.shape[1] != 3 or Y.shape != X.shape or len(X) == 0:
        raise UsageError(f"points and targets must both have shape (n, 3), got {X.shape} and {Y.shape}")
    if max_leaves < 1:
        raise UsageError(f"max_leaves must be >= 1, got {max_leaves}")
    grower = _Grower(X, Y, np.asarray(bounds, np.float64).reshape(2, 3), max_leaves=max_leaves,
                     min_leaf=max(1, min_leaf), n_directions=n_directions, n_perturb=n_perturb,
                     max_search=max_search, rng=np.random.default_rng(seed))
    return grower.grow()


def fit_normal_trees(points: np.ndarray, targets: np.ndarray, bounds: np.ndarray, *, n_trees: int = 1,
                     learning_rate: float = 1.0, seed: int = 0, max_leaves: int = DEFAULT_MAX_LEAVES,
                     min_leaf: int = 8, n_directions: int = 48, n_perturb: int = 12,
                     max_search: int = 16384) -> list[Tree]:
    """A boosted ensemble: tree ``k`` fits the residual ``targets - sum of trees < k``; the leaves
    of every tree after the first are scaled by ``learning_rate``, so the prediction is a plain sum.
    points, targets: (n, 3) float64; bounds: (2, 3); the other settings as ``fit_normal_tree``."""
    if n_trees < 1:
        raise UsageError(f"the number of trees must be >= 1, got {n_trees}")
    if not 0 < learning_rate <= 1:
        raise UsageError(f"learning_rate must be in (0, 1], got {learning_rate}")
    residual = np.array(targets, np.float64)
    trees = []
    for k in range(n_trees):
        tree = fit_normal_tree(points, residual, bounds, seed=seed + k, max_leaves=max_leaves, min_leaf=min_leaf,
                               n_directions=n_directions, n_perturb=n_perturb, max_search=max_search)
        if k > 0:
            tree = tree.replace(value=tree.value * np.float32(learning_rate))
        residual -= tree.predict(points)
        trees.append(tree)
    return trees


def fit_normals(mesh: Mesh | str | Path, bounds: np.ndarray | None = None, *, n_trees: int = 1,
                max_leaves: int = DEFAULT_MAX_LEAVES, samples: int = DEFAULT_SAMPLES, spread: float = 0.005,
                smooth: bool = True, learning_rate: float = 1.0, seed: int = 0) -> list[Tree]:
    """Normal-map trees for a mesh: a boosted ensemble of ``n_trees`` regression trees (each of at
    most ``max_leaves`` leaves) fitted to ``samples`` points near the surface, on ``bounds``
    ((2, 3); default: the mesh's; pass the occupancy tree's). ``smooth``: fit interpolated vertex
    normals (else face normals). Evaluate with ``shapetree.tree.predict_normals``."""
    n_trees = validate.integer("n_trees", n_trees, 1, 1024)
    max_leaves = validate.integer("max_leaves", max_leaves, 1, MAX_LEAVES)
    samples = validate.integer("samples", samples, 16, 1 << 31)
    spread = validate.real("spread", spread, 0.0, 1.0)
    smooth = validate.flag("smooth", smooth)
    learning_rate = validate.real("learning_rate", learning_rate, 0.0, 1.0)
    seed = validate.integer("seed", seed, 0, validate.MAX_SEED)
    m = as_mesh(mesh)
    if samples < 16:
        raise UsageError(f"samples must be >= 16, got {samples}")
    rng = np.random.default_rng(seed)
    points, targets = surface_normal_samples(m, samples, rng, spread=spread, smooth=smooth)
    b = m.bounds if bounds is None else np.asarray(bounds, np.float64).reshape(2, 3)
    # fitted in the frame of the bounds, like occupancy trees (float32 planes stay precise)
    origin, scale = bounds_frame(b)
    trees = fit_normal_trees((points - origin) / scale, targets, (b - origin) / scale, n_trees=n_trees,
                             max_leaves=max_leaves, seed=seed, learning_rate=learning_rate)
    return [t.replace(bounds=b, origin=origin, scale=scale) for t in trees]
