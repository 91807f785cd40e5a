"""Refinement of built trees: Tree Alternating Optimization (``tao``: the sweep's kernels in
``sweep``, the per-branch plane fit in ``fit``, fresh samples in cells in ``fresh``). Other
refiners can sit beside it."""

from .tao import DEFAULT_PASSES, DEFAULT_SAMPLES, MAX_SAMPLES, PassStats, RefineResult, refine, refine_report

__all__ = ["DEFAULT_PASSES", "DEFAULT_SAMPLES", "MAX_SAMPLES", "PassStats", "RefineResult", "refine", "refine_report"]
