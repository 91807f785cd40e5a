"""The surface of an occupancy tree as a triangle mesh (marching cubes, vertices snapped onto
the tree's boundary)."""

from __future__ import annotations

import numpy as np

from ..mesh import Mesh


def occupancy_grid(tree, resolution: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Occupancy of ``tree`` on a grid whose longest side has ``resolution`` cells.

    Returns ``(occ, origin, h)``: occ ``(nx, ny, nz) bool`` at points ``origin + h * index``;
    the grid reaches one cell beyond ``tree.bounds`` on every side, so its border is outside.
    """
    lo, hi = np.asarray(tree.bounds, np.float64)
    h = float(np.max(hi - lo)) / resolution
    counts = np.ceil((hi - lo) / h).astype(np.int64) + 3
    origin = lo - h
    axes = [origin[a] + h * np.arange(counts[a]) for a in range(3)]
    occ = np.empty(tuple(counts), bool)
    yz = np.stack(np.meshgrid(axes[1], axes[2], indexing="ij"), -1).reshape(-1, 2)
    slab = max(1, 4_000_000 // len(yz))
    for i in range(0, counts[0], slab):
        xs = axes[0][i : i + slab]
        pts = np.empty((len(xs), len(yz), 3))
        pts[:, :, 0] = xs[:, None]
        pts[:, :, 1:] = yz[None]
        occ[i : i + slab] = np.asarray(tree.contains(pts.reshape(-1, 3)), bool).reshape(len(xs), *counts[1:])
    return occ, origin, h


def tree_surface(tree, resolution: int = 256, *, snap_steps: int = 30) -> Mesh | None:
    """A marching-cubes mesh of ``tree``'s occupancy, vertices snapped onto its true boundary.

    Marching cubes on the binary occupancy puts every vertex at the midpoint of a grid edge whose
    ends differ; bisecting along that edge (``snap_steps`` halvings with ``tree.contains``) moves
    it onto the tree's surface, so faces inside one planar facet carry that facet's normal.
    Returns ``None`` when the tree is empty on the grid.
    """
    from skimage.measure import marching_cubes

    occ, origin, h = occupancy_grid(tree, resolution)
    if not occ.any():
        return None
    verts, faces, _, _ = marching_cubes(occ.astype(np.float32), level=0.5, allow_degenerate=False)
    verts = verts.astype(np.float64)
    # Each vertex sits half-way along exactly one axis; its two grid ends are floor and ceil.
    frac = np.abs(verts - np.round(verts))
    axis = np.argmax(frac, axis=1)
    a = np.round(verts).astype(np.int64)
    b = a.copy()
    rows = np.arange(len(verts))
    a[rows, axis] = np.floor(verts[rows, axis]).astype(np.int64)
    b[rows, axis] = a[rows, axis] + 1
    a_in = occ[a[:, 0], a[:, 1], a[:, 2]]
    inner = np.where(a_in[:, None], a, b) * h + origin
    outer = np.where(a_in[:, None], b, a) * h + origin
    for _ in range(snap_steps):
        mid = 0.5 * (inner + outer)
        is_in = np.asarray(tree.contains(mid), bool)
        inner[is_in] = mid[is_in]
        outer[~is_in] = mid[~is_in]
    snapped = 0.5 * (inner + outer)
    return Mesh(snapped, np.ascontiguousarray(faces, np.int64), "<tree surface>")
