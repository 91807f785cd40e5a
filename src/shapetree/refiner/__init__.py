"""Refinement of built trees: Tree Alternating Optimization (``tao``: the sweep's kernels in
``sweep``, the per-branch plane fit in ``fit``, fresh samples in cells in ``fresh``) and rounds of
pruning and regrowing the structure between TAO passes (``regrow``). Other refiners can sit
beside them."""

from .tao import (
    DEFAULT_PASSES,
    DEFAULT_SAMPLES,
    MAX_REGROW,
    MAX_SAMPLES,
    PassStats,
    RefineResult,
    RoundStats,
    default_regrow,
    refine,
    refine_report,
)

__all__ = ["DEFAULT_PASSES", "DEFAULT_SAMPLES", "MAX_REGROW", "MAX_SAMPLES", "PassStats", "RefineResult", "RoundStats",
           "default_regrow", "refine", "refine_report"]
