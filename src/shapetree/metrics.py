"""Quality metrics: volumetric IoU, near-surface accuracy, Chamfer-L1, F-score, normal consistency,
and the angular error of normal maps.

Occupancy metrics follow the Occupancy Networks protocol and surface metrics the ConvONet
definitions. Both work in *normalised units*: the mesh's bounding box scaled so its longest side
is 1. Points are drawn in those units and mapped back, so the tree is evaluated in the mesh's own
coordinates. Ground truth is the generalized winding number (> 0.5 is inside).
"""

from __future__ import annotations

import numpy as np

from .builder.normal_map import surface_normal_samples
from .extract import tree_surface
from .formats.quantized import DISAGREEMENT_BUDGET, seeded_points
from .mesh import Mesh, as_mesh, inside, sample_surface
from .tree import Kind, Tree, predict_normals

PADDING = 0.05  # IoU box: the mesh's box grown by this much on every side (normalised units)
NEAR_SIGMA = 0.01  # near-surface noise per axis (normalised units)
FSCORE_THRESHOLDS = {"fscore_1": 0.01, "fscore_2": 0.02}

ERROR_RISE = 2.5e-4  # a file's quantisation may raise the tree's error against its mesh by at most this (an upper bound) ...
ERROR_SHARE = 0.5  # ... and move the tree by at most this share of its own error (at least 1e-3), ...
ERROR_SAMPLES = 1_000_000  # ... both measured on these seeded uniform points in its bounds (fractions of its inside volume)


def tree_error(tree: Tree, mesh) -> float:
    """The volume where occupancy ``tree`` and ``mesh`` (a ``Mesh`` or path; winding number > 1/2)
    disagree, as a fraction of the tree's inside volume, by ``ERROR_SAMPLES`` seeded uniform points
    in the tree's bounds (``MeshBudget``'s points)."""
    return MeshBudget(tree, mesh).error


class MeshBudget:
    """What ``shapetree.save(tree, path, budget=...)`` lets quantised planes do to ``tree``, an
    approximation of a mesh: a quantised tree passes when its error against the mesh is at most
    ``ERROR_RISE`` above the float32 tree's (an upper bound from the paired count and its noise, so
    the file's IoU stays within about that of the tree's) and it disagrees with the float32 tree on
    at most ``ERROR_SHARE`` of the tree's own error, or 1e-3, whichever is larger; volumes are
    fractions of the tree's inside volume, counted on the same ``ERROR_SAMPLES`` seeded uniform
    points (paired, so the rise is measured, not sampled twice). The file's precision is the lowest
    that passes: an accurate tree (a CAD part) keeps the bits its accuracy needs, a coarse one may
    drop bits its error hides."""

    def __init__(self, tree: Tree, mesh):
        m = as_mesh(mesh)
        self.points = seeded_points(tree, ERROR_SAMPLES)
        self.truth = inside(m, self.points)
        self.tree_inside = tree.contains(self.points)
        self.volume = max(int(np.count_nonzero(self.tree_inside)), 1)
        self.error = int(np.count_nonzero(self.tree_inside != self.truth)) / self.volume
        self.max_moved = max(DISAGREEMENT_BUDGET, ERROR_SHARE * self.error)

    def rise_and_moved(self, q: Tree) -> tuple[float, float]:
        """``q``'s error against the mesh minus the tree's, and where ``q`` and the tree disagree."""
        got = q.contains(self.points)
        rise = int(np.count_nonzero(got != self.truth)) / self.volume - self.error
        return rise, int(np.count_nonzero(got != self.tree_inside)) / self.volume

    def rise_bound(self, rise: float, moved: float) -> float:
        """An upper bound on the rise (about 97.5 %): the rise is a sum of +-1 over the points where the
        trees disagree, so its standard deviation is at most ``sqrt(moved * volume) / volume``."""
        return rise + 2.0 * float(np.sqrt(moved * self.volume)) / self.volume

    def __call__(self, q: Tree) -> bool:
        rise, moved = self.rise_and_moved(q)
        return self.rise_bound(rise, moved) <= ERROR_RISE and moved <= self.max_moved

    def __repr__(self) -> str:
        return f"MeshBudget(error {self.error:.3g}, rise <= {ERROR_RISE:g}, moved <= {self.max_moved:.3g})"


def quantization_budget(tree: Tree, mesh) -> MeshBudget | float:
    """The budget ``shapetree.save(tree, path, budget=...)`` quantises ``tree``, an approximation of
    ``mesh``, within: a ``MeshBudget`` for an occupancy tree; the budget used without a mesh (1e-3
    of disagreement with the float32 tree) for normal-map trees."""
    if tree.kind != Kind.OCCUPANCY:
        return DISAGREEMENT_BUDGET
    return MeshBudget(tree, mesh)


def normalisation(mesh: Mesh) -> tuple[np.ndarray, float]:
    """Centre ``(3,) float64`` and scale such that ``(x - centre) * scale`` has longest side 1."""
    lo, hi = mesh.bounds
    return (lo + hi) / 2, 1.0 / float(np.max(hi - lo))


def occupancy_metrics(tree, mesh, *, seed: int = 0, n: int = 100_000) -> dict:
    """Volumetric IoU and near-surface accuracy of ``tree`` against ``mesh``.

    ``tree`` is anything with ``contains((n, 3) float64) -> (n,) bool`` in the mesh's coordinates
    (a ``Tree``, or a stand-in such as a voxel grid). IoU uses ``n`` points uniform in the mesh's
    box grown by 0.05; near-surface accuracy uses ``n`` area-uniform surface samples plus
    Gaussian noise (sigma 0.01 per axis). Deterministic for a seed.
    """
    m = as_mesh(mesh)
    centre, scale = normalisation(m)
    rng = np.random.default_rng(seed)
    half = (m.bounds[1] - m.bounds[0]) * scale / 2 + PADDING
    uniform = centre + rng.uniform(-half, half, (n, 3)) / scale
    surface, _ = sample_surface(m, n, rng)
    near = surface + rng.normal(0.0, NEAR_SIGMA, (n, 3)) / scale

    truth = inside(m, uniform)
    pred = np.asarray(tree.contains(uniform), bool)
    union = np.count_nonzero(truth | pred)
    iou = np.count_nonzero(truth & pred) / union if union else 1.0
    near_accuracy = float(np.mean(np.asarray(tree.contains(near), bool) == inside(m, near)))
    return {"iou": float(iou), "near_accuracy": near_accuracy}


def surface_metrics(tree, mesh, *, seed: int = 0, n: int = 100_000, resolution: int = 256) -> dict:
    """Chamfer-L1, F-score at 1 % and 2 % and normal consistency of ``tree``'s surface.

    The tree's surface is a marching-cubes mesh of its occupancy (``tree_surface``) sampled
    uniformly by area. ``tree`` needs ``contains`` and ``bounds``. Keys: ``chamfer_l1``,
    ``fscore_1``, ``fscore_2``, ``normal_consistency``, ``resolution``.
    """
    m = as_mesh(mesh)
    result = mesh_surface_metrics(tree_surface(tree, resolution), m, seed=seed, n=n)
    result["resolution"] = resolution
    return result


def mesh_surface_metrics(pred: Mesh | None, mesh, *, seed: int = 0, n: int = 100_000) -> dict:
    """ConvONet surface metrics of a predicted mesh against ``mesh`` (distances normalised).

    Chamfer-L1 is the mean of accuracy (prediction to truth) and completeness (truth to
    prediction) Euclidean distances; F-score is the harmonic mean of precision and recall at a
    threshold; normal consistency averages ``|n_pred . n_truth|`` at nearest neighbours both ways.
    An empty prediction (``None``) scores infinite distance and zero everything else.
    """
    from scipy.spatial import cKDTree

    m = as_mesh(mesh)
    if pred is None:
        return {"chamfer_l1": float("inf"), "normal_consistency": 0.0,
                **{k: 0.0 for k in FSCORE_THRESHOLDS}}
    centre, scale = normalisation(m)
    rng = np.random.default_rng(seed)
    truth_pts, truth_face = sample_surface(m, n, rng)
    pred_pts, pred_face = sample_surface(pred, n, rng)
    truth_pts = (truth_pts - centre) * scale
    pred_pts = (pred_pts - centre) * scale
    truth_nrm = m.face_normals()[truth_face]
    pred_nrm = pred.face_normals()[pred_face]

    to_truth, idx_truth = cKDTree(truth_pts).query(pred_pts, workers=-1)
    to_pred, idx_pred = cKDTree(pred_pts).query(truth_pts, workers=-1)
    accuracy_nc = np.abs(np.sum(pred_nrm * truth_nrm[idx_truth], axis=1)).mean()
    completeness_nc = np.abs(np.sum(truth_nrm * pred_nrm[idx_pred], axis=1)).mean()

    result = {
        "chamfer_l1": float(0.5 * (to_truth.mean() + to_pred.mean())),
        "normal_consistency": float(0.5 * (accuracy_nc + completeness_nc)),
    }
    for key, threshold in FSCORE_THRESHOLDS.items():
        precision = np.mean(to_truth < threshold)
        recall = np.mean(to_pred < threshold)
        total = precision + recall
        result[key] = float(2 * precision * recall / total) if total > 0 else 0.0
    return result


def angular_error(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Angle in degrees between each pair of vectors, (n,) float64."""
    a = predicted / np.maximum(np.linalg.norm(predicted, axis=1, keepdims=True), 1e-300)
    b = truth / np.maximum(np.linalg.norm(truth, axis=1, keepdims=True), 1e-300)
    return np.degrees(np.arccos(np.clip(np.einsum("ij,ij->i", a, b), -1.0, 1.0)))


def normal_map_error(trees: list[Tree], mesh, *, seed: int = 0, n: int = 20_000, smooth: bool = True) -> dict:
    """Angular error in degrees of a normal map on ``n`` held-out points near ``mesh``'s surface
    (drawn with a stream of their own, apart from any fit with the same seed): ``mean``, ``median``."""
    points, truth = surface_normal_samples(as_mesh(mesh), n, np.random.default_rng(seed + 0x5EED), smooth=smooth)
    err = angular_error(predict_normals(trees, points), truth)
    return {"mean": float(err.mean()), "median": float(np.median(err))}
