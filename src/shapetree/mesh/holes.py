"""Holes of open meshes, spanned by fans of virtual triangles."""

from __future__ import annotations

import numpy as np

from .core import Mesh, weld


def hole_fans(mesh: Mesh) -> np.ndarray:
    """Triangles that span the holes of an open mesh, (k, 3, 3) float64.

    Boundary edges (used by one face after merging equal vertices) are chained into loops, and
    each loop is closed by a fan from its centroid. The fans approximate where the winding
    number crosses 1/2 over a hole, so a builder can treat them as (virtual) surface.
    """
    uniq, inverse = weld(mesh.vertices)
    f = inverse[mesh.faces]
    directed = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    und = np.sort(directed, axis=1)
    _, idx, counts = np.unique(und, axis=0, return_index=True, return_counts=True)
    boundary = directed[idx[counts == 1]]
    if len(boundary) == 0:
        return np.zeros((0, 3, 3))
    nxt: dict[int, list[int]] = {}
    for a, b in boundary.tolist():
        nxt.setdefault(b, []).append(a)  # walk against the face orientation: fans face outward
    fans = []
    while nxt:
        start = next(iter(nxt))
        loop = [start]
        v = start
        while True:
            outs = nxt.get(v)
            if not outs:
                break
            w = outs.pop()
            if not outs:
                del nxt[v]
            if w == start:
                break
            loop.append(w)
            v = w
        if len(loop) < 3:
            continue
        pts = uniq[loop]
        c = pts.mean(0)
        for i in range(len(pts)):
            fans.append((c, pts[i], pts[(i + 1) % len(pts)]))
    return np.array(fans, np.float64).reshape(-1, 3, 3)
