"""Every setting of the occupancy builder, with its default and its meaning, in one place."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..errors import UsageError

DEFAULT_MAX_LEAVES = 16384
DEFAULT_MAX_DEPTH = 96
DEFAULT_SPIKE_TOL = 0.002
MAX_LEAVES = 5_000_000  # the most a build may ask for (a 5M-leaf tree is ~80 MB)
MAX_DEPTH = 200


@dataclass(frozen=True)
class BuildSettings:
    """How the builder samples, searches and schedules; lengths are fractions of the box's
    longest side. The defaults are what the benchmarks measure; change them to experiment.

    samples_per_node: target-mixture samples a node holds before it is scored.
    n_fresh: fresh target-mixture samples every node draws, however many it inherits.
    root_samples: samples of the root.
    surface_weight: share of the target mass near the surface (the rest is uniform in the box).
    sigma: the near-surface noise (standard deviation per axis).
    n_directions: fixed spread of candidate normals, tried down to depth ``spread_depth``.
    n_surface_planes: planes of surface triangles in the cell tried per node (fixed offsets).
    n_perturb: random perturbations of the best normal scanned after the candidates, with
        spread ``perturb_spread`` (radians, roughly).
    n_straddle: samples drawn either side of the cell's surface, within ``straddle_delta`` of
        the cell's diameter (at most half of sigma).
    max_score: samples a node's split search looks at (a strided subset of larger nodes).
    batch: most nodes split per round (in parallel); batch_share: a round splits at most
        1/batch_share of the leaves so far, so best-first order holds for small trees.
    spike_share: share of all splits that go to spikes; spike_pieces: only cells with at most
        this many surface pieces look for spikes; spike_resolution: the spike tolerance is at
        least this times the budget's surface cell size sqrt(area / max_leaves).
    eps: plane tolerance of cell clipping; min_area: smallest surface piece kept (of the box's
        area).
    """

    samples_per_node: int = 192
    n_fresh: int = 32
    root_samples: int = 32768
    surface_weight: float = 0.5
    sigma: float = 0.01
    n_directions: int = 13
    spread_depth: int = 12
    n_surface_planes: int = 12
    n_perturb: int = 8
    perturb_spread: float = 0.15
    n_straddle: int = 64
    straddle_delta: float = 0.05
    max_score: int = 8192
    batch: int = 64
    batch_share: int = 32
    spike_share: float = 0.25
    spike_pieces: int = 64
    spike_resolution: float = 0.2
    eps: float = 1e-7
    min_area: float = 1e-14

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.type == "int" and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
                raise UsageError(f"{f.name} must be a non-negative integer, got {v!r}")
            if f.type == "float" and (isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0):
                raise UsageError(f"{f.name} must be a non-negative number, got {v!r}")
        if not 0 <= self.surface_weight <= 1 or not 0 <= self.spike_share < 1:
            raise UsageError("surface_weight must be in [0, 1] and spike_share in [0, 1)")
        if self.root_samples < 2 or self.batch < 1 or self.batch_share < 1 or self.max_score < 2:
            raise UsageError("root_samples, max_score >= 2 and batch, batch_share >= 1 are needed")
