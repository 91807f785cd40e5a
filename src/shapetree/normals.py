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

import numba as nb
import numpy as np

from .errors import UsageError
from .mesh import Mesh, as_mesh
from .tree import NORMALS, Tree, tree_in_preorder

DEFAULT_MAX_LEAVES = 4096
DEFAULT_SAMPLES = 200_000


# -- training data -----------------------------------------------------------------------------------
def vertex_normals(mesh: Mesh) -> np.ndarray:
    """(v, 3) float64 unit normals at the vertices: area-weighted face normals, summed over every
    vertex at the same position (so seams of a split mesh stay smooth)."""
    t = mesh.triangles
    weighted = np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0])  # length = 2 * area
    _, same = np.unique(mesh.vertices, axis=0, return_inverse=True)
    same = same.reshape(-1)
    acc = np.zeros((same.max() + 1, 3))
    for c in range(3):
        np.add.at(acc, same[mesh.faces[:, c]], weighted)
    acc = acc[same]
    length = np.linalg.norm(acc, axis=1, keepdims=True)
    return np.divide(acc, length, out=np.zeros_like(acc), where=length > 0)


def surface_normal_samples(mesh: Mesh, n: int, rng: np.random.Generator, *, spread: float = 0.005,
                           smooth: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``n`` training points near the surface and their target normals: ((n, 3), (n, 3)) float64.

    Points are uniform by area on the surface, then moved along the face normal by a normal
    variate of ``spread`` times the largest box side. Targets are the barycentric interpolation of
    ``vertex_normals`` (``smooth``) or the face normal, unit length.
    """
    areas = mesh.face_areas()
    cdf = np.cumsum(areas)
    face = np.minimum(np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right"), len(areas) - 1)
    u = rng.random((n, 2))
    flip = u.sum(1) > 1
    u[flip] = 1 - u[flip]
    bary = np.stack([1 - u[:, 0] - u[:, 1], u[:, 0], u[:, 1]], 1)
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


# -- kernels -------------------------------------------------------------------------------------------
@nb.njit(cache=True, inline="always")
def _scan_direction(X, Y, d0, d1, d2, s0, s1, s2, min_leaf):
    """(SSE reduction, threshold) of the best split of the samples along one direction; -1 if none.

    SSE = sum |y|^2 - |sum y|^2 / n on each side, so the reduction needs only prefix sums of y.
    """
    m = X.shape[0]
    proj = X[:, 0] * d0 + X[:, 1] * d1 + X[:, 2] * d2
    order = np.argsort(proj)
    parent = (s0 * s0 + s1 * s1 + s2 * s2) / m
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    best = -1.0
    thr = 0.0
    for r in range(m - 1):
        i = order[r]
        a0 += Y[i, 0]
        a1 += Y[i, 1]
        a2 += Y[i, 2]
        nl = r + 1
        if nl < min_leaf or m - nl < min_leaf:
            continue
        p = proj[i]
        q = proj[order[r + 1]]
        if not p < q:
            continue
        b0 = s0 - a0
        b1 = s1 - a1
        b2 = s2 - a2
        g = (a0 * a0 + a1 * a1 + a2 * a2) / nl + (b0 * b0 + b1 * b1 + b2 * b2) / (m - nl) - parent
        if g > best:
            best = g
            thr = 0.5 * (p + q)
    return best, thr


@nb.njit(cache=True)
def _best_split(X, Y, dirs, min_leaf):
    """Best (direction index, threshold, SSE reduction) over ``dirs`` ((d, 3) float64, already
    float32-exact) for the rows of ``X`` (m, 3) with targets ``Y`` (m, 3)."""
    s = Y.sum(axis=0)
    gains = np.empty(dirs.shape[0])
    thresholds = np.empty(dirs.shape[0])
    for j in range(dirs.shape[0]):
        gains[j], thresholds[j] = _scan_direction(X, Y, dirs[j, 0], dirs[j, 1], dirs[j, 2], s[0], s[1], s[2],
                                                  min_leaf)
    j = np.argmax(gains)
    return j, thresholds[j], gains[j]


@nb.njit(cache=True, parallel=True)
def _best_split_parallel(X, Y, dirs, min_leaf):
    """``_best_split`` with the directions spread over threads: for big nodes only."""
    s = Y.sum(axis=0)
    gains = np.empty(dirs.shape[0])
    thresholds = np.empty(dirs.shape[0])
    for j in nb.prange(dirs.shape[0]):
        gains[j], thresholds[j] = _scan_direction(X, Y, dirs[j, 0], dirs[j, 1], dirs[j, 2], s[0], s[1], s[2],
                                                  min_leaf)
    j = np.argmax(gains)
    return j, thresholds[j], gains[j]


_PARALLEL_ABOVE = 2048  # samples: below this, starting threads costs more than it saves


@nb.njit(cache=True)
def _goes_left(X, normal, offset):
    """The side of each point exactly as ``Tree`` decides it (float64 dot of the float32 plane)."""
    m = X.shape[0]
    out = np.empty(m, np.bool_)
    n0 = np.float64(normal[0])
    n1 = np.float64(normal[1])
    n2 = np.float64(normal[2])
    off = np.float64(offset)
    for k in range(m):
        out[k] = n0 * X[k, 0] + n1 * X[k, 1] + n2 * X[k, 2] < off
    return out


def fibonacci_directions(k: int) -> np.ndarray:
    """``k`` roughly uniform unit directions on a hemisphere (a plane and its flip split alike)."""
    i = np.arange(k) + 0.5
    z = 1 - i / k
    phi = np.pi * (1 + 5**0.5) * i
    r = np.sqrt(1 - z * z)
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], 1)


# -- growing one tree ------------------------------------------------------------------------------------
class _Grower:
    """Best-first growth of one regression tree over fixed samples."""

    def __init__(self, X, Y, *, max_leaves, min_leaf, n_directions, n_perturb, max_search, rng):
        self.X, self.Y = X, Y
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
        split = _best_split_parallel if len(search) > _PARALLEL_ABOVE else _best_split
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
        left = _goes_left(self.X[rows], normal, offset)
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
        return tree_in_preorder(normal, offset, left, right, value, np.zeros((2, 3)), kind=NORMALS)


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
    grower = _Grower(X, Y, max_leaves=max_leaves, min_leaf=max(1, min_leaf), n_directions=n_directions,
                     n_perturb=n_perturb, max_search=max_search, rng=np.random.default_rng(seed))
    tree = grower.grow()
    tree.bounds = np.asarray(bounds, np.float64).reshape(2, 3).copy()
    return tree


def fit_normal_trees(points: np.ndarray, targets: np.ndarray, bounds: np.ndarray, *, n_trees: int = 1,
                     learning_rate: float = 1.0, seed: int = 0, **tree_options) -> list[Tree]:
    """A boosted ensemble: tree ``k`` fits the residual ``targets - sum of trees < k``; the leaves
    of every tree after the first are scaled by ``learning_rate``, so the prediction is a plain sum."""
    if n_trees < 1:
        raise UsageError(f"the number of trees must be >= 1, got {n_trees}")
    if not 0 < learning_rate <= 1:
        raise UsageError(f"learning_rate must be in (0, 1], got {learning_rate}")
    residual = np.array(targets, np.float64)
    trees = []
    for k in range(n_trees):
        tree = fit_normal_tree(points, residual, bounds, seed=seed + k, **tree_options)
        if k > 0:
            tree.value *= np.float32(learning_rate)
        residual -= tree.predict(points)
        trees.append(tree)
    return trees


def predict_normals(trees: list[Tree], points: np.ndarray) -> np.ndarray:
    """The ensemble's unit normal at each point: the normalised sum of the trees' predictions,
    (n, 3) float64 (zero where the sum is zero). Bounds are not checked."""
    acc = np.zeros((len(points), 3))
    for t in trees:
        acc += t.predict(points)
    length = np.linalg.norm(acc, axis=1, keepdims=True)
    return np.divide(acc, length, out=np.zeros_like(acc), where=length > 0)


def filter_radius(trees: list[Tree], scale: float = 0.4) -> float:
    """A lookup radius matched to the leaves' size: ``scale`` times the bounds diagonal over the
    square root of the leaf count (the leaves tile a surface, so their width goes as 1/sqrt)."""
    diagonal = float(np.linalg.norm(trees[0].bounds[1] - trees[0].bounds[0]))
    return scale * diagonal / np.sqrt(sum(t.n_leaves for t in trees))


def predict_normals_filtered(trees: list[Tree], points: np.ndarray, radius: float | None = None,
                             taps: int = 12) -> np.ndarray:
    """Normals averaged over a disk around each point, like a filtered texture lookup: (n, 3).

    A tree's leaves are constant, so its normals jump at leaf borders. Averaging ``taps``
    predictions on a disk of ``radius`` (default ``filter_radius``) in the plane perpendicular to
    the point's own prediction blends neighbouring leaves, which is closer to the smooth normals
    it was fitted to. Taps follow a Vogel spiral: deterministic and evenly spread.
    """
    pts = np.ascontiguousarray(points, np.float64).reshape(-1, 3)
    center = predict_normals(trees, pts)
    r = filter_radius(trees) if radius is None else float(radius)
    if r <= 0 or taps < 1 or len(pts) == 0:
        return center
    helper = np.where(np.abs(center[:, :1]) < 0.9, [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]])
    u = np.cross(center, helper)
    u /= np.maximum(np.linalg.norm(u, axis=1, keepdims=True), 1e-300)
    v = np.cross(center, u)
    acc = np.zeros_like(center)
    golden = np.pi * (3 - 5**0.5)
    for k in range(taps):
        rho = r * np.sqrt((k + 0.5) / taps)
        offset = rho * (np.cos(k * golden) * u + np.sin(k * golden) * v)
        acc += predict_normals(trees, pts + offset)
    length = np.linalg.norm(acc, axis=1, keepdims=True)
    return np.where(length > 0, acc / np.maximum(length, 1e-300), center)


def fit_normal_map(mesh_or_path, bounds: np.ndarray | None = None, *, n_trees: int = 1,
                   max_leaves: int = DEFAULT_MAX_LEAVES, samples: int = DEFAULT_SAMPLES,
                   spread: float = 0.005, smooth: bool = True, seed: int = 0, **options) -> list[Tree]:
    """Normal-map trees for a mesh, on ``bounds`` (default: the mesh's; pass the occupancy tree's)."""
    mesh = as_mesh(mesh_or_path)
    if samples < 16:
        raise UsageError(f"samples must be >= 16, got {samples}")
    rng = np.random.default_rng(seed)
    points, targets = surface_normal_samples(mesh, samples, rng, spread=spread, smooth=smooth)
    b = mesh.bounds if bounds is None else np.asarray(bounds, np.float64)
    return fit_normal_trees(points, targets, b, n_trees=n_trees, max_leaves=max_leaves, seed=seed, **options)


def angular_error(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Angle in degrees between each pair of vectors, (n,) float64."""
    a = predicted / np.maximum(np.linalg.norm(predicted, axis=1, keepdims=True), 1e-300)
    b = truth / np.maximum(np.linalg.norm(truth, axis=1, keepdims=True), 1e-300)
    return np.degrees(np.arccos(np.clip(np.einsum("ij,ij->i", a, b), -1.0, 1.0)))
