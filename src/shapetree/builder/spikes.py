"""Spikes: thin cells of little mass whose corners reach far out of the surface.

Gain times mass never splits such a cell, yet it shows as a needle in a render. A cell with a
little surface labels its corners that lie farther than a tolerance from its triangles; the
farthest one on the wrong side of the cell's label is the spike, cut off along the plane of its
nearest triangle (a plane of the surface, so the cut lies on the shape).
"""

from __future__ import annotations

import numpy as np

from ..mesh import far_from_surface


def far_corners(cell_verts: np.ndarray, piece_tri: np.ndarray, triangles: np.ndarray,
                tol: float) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
    """Corners of a cell farther than ``tol`` from its triangles ``triangles[piece_tri]``:
    ``(corners (c, 3), (distance (c,), nearest triangle id (c,)))``, or no corners and None."""
    dist, near = far_from_surface(cell_verts, triangles[piece_tri], tol)
    far = near >= 0
    if not far.any():
        return np.zeros((0, 3)), None
    return cell_verts[far], (dist[far], piece_tri[near[far]])


def spike_cut(cell_verts: np.ndarray, far: tuple[np.ndarray, np.ndarray], corner_inside: np.ndarray,
              label: bool, tri_normal: np.ndarray, triangles: np.ndarray,
              eps: float) -> tuple[tuple[np.ndarray, np.float32], float] | None:
    """The cut of a cell's longest spike and its length, or None.

    far: the corners' distances and nearest triangles (``far_corners``); corner_inside: (c,) bool
    labels of those corners; label: the cell's leaf value. The cut is the nearest triangle's
    plane of the farthest corner on the wrong side, kept only if it really cuts the cell.
    """
    dist, tri_id = far
    wrong = corner_inside != label
    if not wrong.any():
        return None
    vi = int(np.argmax(np.where(wrong, dist, -1.0)))
    tid = tri_id[vi]
    nrm = tri_normal[tid].astype(np.float32)
    off = np.float32(np.dot(nrm.astype(np.float64), triangles[tid, 0]))
    sd = cell_verts @ nrm.astype(np.float64) - np.float64(off)
    if sd.min() < -eps and sd.max() > eps:
        return (nrm, off), float(dist[vi])
    return None
