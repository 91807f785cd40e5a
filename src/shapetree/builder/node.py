"""The state of one node while the tree grows."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np


class SampleClass(enum.IntEnum):
    """Where a node's sample came from (``Node.sample_class``)."""

    UNIFORM = 0  # uniform in the box (the volume half of the target mixture)
    NEAR_SURFACE = 1  # near the surface (the other half; in tiny cells, uniform stand-ins)
    STRADDLE = 2  # either side of the cell's surface pieces, importance-weighted


@dataclass(slots=True, eq=False)
class Node:
    """A node of the growing tree: its cell, its surface, its samples and its best split.

    Arrays are dropped (set to None) once the node is split or final, to bound memory.
    """

    id: int  # index in the builder's node list (children are numbered before any work)
    depth: int = 0
    seed: int = 0  # of the node's random stream
    left: int = -1  # children ids, -1 while a leaf (0 marks "taken" inside a batch)
    right: int = -1
    # the path from the root: one plane per ancestor and the side taken (0: left, 1: right)
    path_normal: np.ndarray | None = None  # (k, 3) float32
    path_offset: np.ndarray | None = None  # (k,) float32
    path_side: np.ndarray | None = None  # (k,) int8
    # the convex cell, as face polygons in CSR form (see builder.cells)
    cell_starts: np.ndarray | None = None  # (m + 1,) int64
    cell_verts: np.ndarray | None = None  # (v, 3) float64
    volume: float = 0.0
    diameter: float = 0.0  # of the cell's bounding box
    # the mesh surface inside the cell: triangles clipped to it (CSR), their mesh ids and areas
    piece_starts: np.ndarray | None = None  # (p + 1,) int64
    piece_verts: np.ndarray | None = None  # (w, 3) float64
    piece_tri: np.ndarray | None = None  # (p,) int64
    piece_area: np.ndarray | None = None  # (p,) float64
    # target mass of the cell: its share of the volume part and of the near-surface part
    volume_mass: float = 0.0
    surface_mass: float = 0.0
    # labelled samples in the cell
    points: np.ndarray | None = None  # (s, 3) float64
    winding: np.ndarray | None = None  # (s,) int64 (closed meshes) or float64 winding numbers
    inside: np.ndarray | None = None  # (s,) bool: winding > 1/2
    sample_class: np.ndarray | None = None  # (s,) uint8 SampleClass
    straddle_weight: float = 1.0  # importance weight of a STRADDLE sample (the others weigh 1)
    # a point of the cell of known winding number, from which crossings are counted
    ref_point: np.ndarray | None = None  # (3,) float64
    ref_winding: float = 0.0
    value: bool = False  # the leaf's label (weighted majority of its samples)
    # the best split by information gain, and its priority (gain times mass)
    split: tuple[np.ndarray, np.float32] | None = None
    gain: float = 0.0
    # corners far from the surface: ((c,) distances, (c,) nearest triangle), until labelled
    far_corners: tuple[np.ndarray, np.ndarray] | None = None
    # the cut of the longest spike, and its length (the spike queue's priority)
    spike_split: tuple[np.ndarray, np.float32] | None = None
    spike_length: float = 0.0
