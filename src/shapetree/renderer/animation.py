"""Frames: turntables and level-of-detail sequences of a tree."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import UsageError
from ..simplifier import truncated
from ..tree import Tree
from .camera import orbit_camera
from .image import render


def turntable(tree: Tree, frames: int = 36, size: tuple[int, int] = (512, 512), *, azimuth: float = 30.0,
              elevation: float = 20.0, normal_trees: list[Tree] | None = None, heatmap: bool = False,
              up: str = "y", fov: float = 30.0, orthographic: bool = False) -> list[np.ndarray]:
    """``frames`` RGBA images of one full turn around the up axis, starting at ``azimuth``."""
    if frames < 1:
        raise UsageError(f"frames must be at least 1, got {frames}")
    return [
        render(tree, size=size, normal_trees=normal_trees, heatmap=heatmap, azimuth=azimuth + 360.0 * k / frames,
               elevation=elevation, up=up, fov=fov, orthographic=orthographic)
        for k in range(frames)
    ]


def label_image(img: np.ndarray, text: str) -> np.ndarray:
    """A copy of an RGBA image with ``text`` written in its top-left corner (dark, opaque)."""
    from PIL import Image, ImageDraw

    pil = Image.fromarray(np.ascontiguousarray(img))
    ImageDraw.Draw(pil).text((6, 4), text, fill=(20, 20, 20, 255))
    return np.asarray(pil).copy()


def lod_animation(trees: list[Tree], size: tuple[int, int] = (512, 512), *, azimuth: float = 30.0,
                  elevation: float = 20.0, up: str = "y", fov: float = 30.0,
                  orthographic: bool = False) -> list[np.ndarray]:
    """One labelled frame per tree (e.g. one shape at growing leaf budgets), all framed alike
    from the first tree's bounds."""
    if not trees:
        raise UsageError("no trees to animate")
    cam = orbit_camera(trees[0].bounds, azimuth, elevation, up=up, fov=fov, orthographic=orthographic)
    return [label_image(render(t, cam, size), f"{t.n_leaves} leaves") for t in trees]


def render_lod(tree: Tree, budgets: list[int], size: tuple[int, int] = (512, 512), *, side_by_side: bool = False,
               levels: Sequence[Tree] | None = None, azimuth: float = 30.0, elevation: float = 20.0, up: str = "y",
               fov: float = 30.0, orthographic: bool = False) -> list[np.ndarray]:
    """Level of detail: one labelled frame per leaf budget -- or, ``side_by_side``, one image of
    them all in a row. A budget is served by the largest of ``levels`` (e.g. a progressive file's
    simplified levels of detail) with at most that many leaves; without ``levels``, or below the
    smallest, by the tree cut down to the budget (``simplifier.truncated``)."""
    if not budgets or min(budgets) < 1:
        raise UsageError(f"leaf budgets must be >= 1, got {budgets}")
    frames = lod_animation([lod_tree(tree, b, levels) for b in budgets], size, azimuth=azimuth,
                           elevation=elevation, up=up, fov=fov, orthographic=orthographic)
    return [np.concatenate(frames, axis=1)] if side_by_side else frames


def lod_tree(tree: Tree, budget: int, levels: Sequence[Tree] | None = None) -> Tree:
    """The tree ``render_lod`` draws for one budget: the largest of ``levels`` with at most
    ``budget`` leaves, else ``truncated(tree, budget)``."""
    fits = [t for t in levels or () if t.n_leaves <= budget]
    return max(fits, key=lambda t: t.n_leaves) if fits else truncated(tree, budget)
