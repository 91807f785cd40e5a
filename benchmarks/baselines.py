"""What a user would pick instead of a tree: decimated meshes (binary STL, Draco) and voxel grids.

Each baseline gives the bytes it stores and something the metrics can score: an object with
``contains`` (for IoU and near-surface accuracy) and a surface ``Mesh`` (for Chamfer and friends).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np

from shapetree.mesh import Mesh, as_mesh, inside, winding_number

DRACO_QUANTIZATION_BITS = 12
DRACO_COMPRESSION_LEVEL = 10


@dataclass
class MeshOccupancy:
    """A mesh as an occupancy function: winding number > 0.5, like the ground truth."""

    mesh: Mesh

    @property
    def bounds(self) -> np.ndarray:
        return self.mesh.bounds

    def contains(self, points: np.ndarray) -> np.ndarray:
        return inside(self.mesh, points)


def decimate(mesh: Mesh, target_faces: int) -> Mesh:
    """Quadric-error decimation (fast-simplification) to about ``target_faces`` triangles."""
    import fast_simplification

    reduction = 1.0 - target_faces / len(mesh.faces)
    v, f = fast_simplification.simplify(mesh.vertices, mesh.faces, target_reduction=float(reduction))
    return as_mesh((np.asarray(v, np.float64), np.asarray(f, np.int64)))


def stl_bytes(mesh: Mesh) -> int:
    """Size of the mesh as binary STL: 80-byte header, count, 50 bytes per triangle."""
    return 84 + 50 * len(mesh.faces)


def draco_round_trip(mesh: Mesh) -> tuple[int, Mesh]:
    """(bytes, decoded mesh) of the mesh compressed with Draco (positions quantised)."""
    import DracoPy

    data = DracoPy.encode(mesh.vertices.astype(np.float32), mesh.faces.astype(np.uint32),
                          quantization_bits=DRACO_QUANTIZATION_BITS,
                          compression_level=DRACO_COMPRESSION_LEVEL)
    decoded = DracoPy.decode(data)
    faces = np.asarray(decoded.faces, np.int64).reshape(-1, 3)
    return len(data), as_mesh((np.asarray(decoded.points, np.float64).reshape(-1, 3), faces))


@dataclass
class VoxelGrid:
    """A bit-packed occupancy grid of ``n`` cells per side over a cube: (n, n, n) bool ``occ``."""

    occ: np.ndarray
    origin: np.ndarray
    h: float

    HEADER_BYTES = 32  # origin (3 float64), cell size (float32), n (uint32)

    @property
    def n(self) -> int:
        return self.occ.shape[0]

    @property
    def bounds(self) -> np.ndarray:
        return np.stack([self.origin, self.origin + self.n * self.h])

    @property
    def nbytes(self) -> int:
        return self.HEADER_BYTES + len(np.packbits(self.occ))

    def contains(self, points: np.ndarray) -> np.ndarray:
        idx = np.floor((np.asarray(points, np.float64) - self.origin) / self.h).astype(np.int64)
        ok = np.all((idx >= 0) & (idx < self.n), axis=1)
        out = np.zeros(len(idx), bool)
        i = idx[ok]
        out[ok] = self.occ[i[:, 0], i[:, 1], i[:, 2]]
        return out

    def pooled(self) -> VoxelGrid:
        """Half the resolution: a coarse cell is inside when at least half its 8 cells are."""
        n = self.n // 2
        counts = self.occ.reshape(n, 2, n, 2, n, 2).sum(axis=(1, 3, 5))
        return VoxelGrid(counts >= 4, self.origin, 2 * self.h)

    def surface(self) -> Mesh | None:
        """Marching cubes on the binary grid (padded so the surface closes), the usual voxel mesh."""
        from skimage.measure import marching_cubes

        if not self.occ.any():
            return None
        padded = np.pad(self.occ, 1).astype(np.float32)
        verts, faces, _, _ = marching_cubes(padded, level=0.5, allow_degenerate=False)
        v = (verts.astype(np.float64) - 0.5) * self.h + self.origin  # voxel centres at (i + 0.5) h
        return Mesh(v, np.ascontiguousarray(faces, np.int64), f"voxels {self.n}^3")


@nb.njit(cache=True)
def _surface_cells(tris, n):
    """(n, n, n) bool: cells the triangles (given in cell units) may touch -- conservative.

    A triangle marks every cell of its bounding box once that box is at most 2 cells wide;
    larger ones are split into four at their edge midpoints first.
    """
    marked = np.zeros((n, n, n), np.bool_)
    stack = np.empty((64, 3, 3))
    lo = np.empty(3, np.int64)
    hi = np.empty(3, np.int64)
    for t in range(tris.shape[0]):
        stack[0] = tris[t]
        sp = 1
        while sp > 0:
            sp -= 1
            tri = stack[sp].copy()
            cells = 1
            for a in range(3):
                lo[a] = max(0, min(n - 1, int(np.floor(min(tri[0, a], tri[1, a], tri[2, a])))))
                hi[a] = max(0, min(n - 1, int(np.floor(max(tri[0, a], tri[1, a], tri[2, a])))))
                cells *= hi[a] - lo[a] + 1
            if cells <= 8 or sp + 4 > stack.shape[0]:
                marked[lo[0] : hi[0] + 1, lo[1] : hi[1] + 1, lo[2] : hi[2] + 1] = True
                continue
            ab = 0.5 * (tri[0] + tri[1])
            bc = 0.5 * (tri[1] + tri[2])
            ca = 0.5 * (tri[2] + tri[0])
            stack[sp, 0], stack[sp, 1], stack[sp, 2] = tri[0], ab, ca
            stack[sp + 1, 0], stack[sp + 1, 1], stack[sp + 1, 2] = ab, tri[1], bc
            stack[sp + 2, 0], stack[sp + 2, 1], stack[sp + 2, 2] = ca, bc, tri[2]
            stack[sp + 3, 0], stack[sp + 3, 1], stack[sp + 3, 2] = ab, bc, ca
            sp += 4
    return marked


def voxel_grids(mesh: Mesh, resolutions: list[int]) -> dict[int, VoxelGrid]:
    """Voxel grids over the cube around the mesh's box, labelled by winding number at cell centres.

    The finest grid asks the winding number only where the surface may pass (cells its triangles
    touch); every other cell takes the label of its face-connected region of untouched cells,
    which no surface crosses. Coarser grids (each half the last) come by pooling.
    """
    from scipy import ndimage

    finest = max(resolutions)
    lo, hi = mesh.bounds
    side = float(np.max(hi - lo))
    origin = (lo + hi) / 2 - side / 2
    h = side / finest
    touched = _surface_cells(np.ascontiguousarray((mesh.triangles - origin) / h), finest)
    regions, n_regions = ndimage.label(~touched)
    flat = regions.ravel()
    first = np.zeros(n_regions + 1, np.int64)
    first[flat[::-1]] = np.arange(len(flat) - 1, -1, -1)  # the last write wins: each region's first cell
    first_cells = np.stack(np.unravel_index(first[1:], regions.shape), 1)
    asked = np.concatenate([np.argwhere(touched), first_cells])
    labels = winding_number(mesh, origin + h * (asked + 0.5)) > 0.5
    occ = np.zeros((finest,) * 3, bool)
    n_touched = int(touched.sum())
    occ[tuple(asked[:n_touched].T)] = labels[:n_touched]
    region_label = np.concatenate([[False], labels[n_touched:]])
    occ |= region_label[regions]
    grids = {finest: VoxelGrid(occ, origin, h)}
    g = grids[finest]
    while g.n // 2 >= min(resolutions):
        g = g.pooled()
        grids[g.n] = g
    return {r: grids[r] for r in resolutions}
