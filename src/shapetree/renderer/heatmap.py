"""Ray-cost heatmaps: cells visited per pixel, coloured, with a labelled colour bar."""

from __future__ import annotations

import numpy as np

from ..tree import Tree
from .camera import Camera, check_size
from .rays import raycast


def cost_image(tree: Tree, camera: Camera, size: tuple[int, int]) -> np.ndarray:
    """(h, w) int64 cells visited per pixel's ray: those crossed, plus the hit cell on a hit."""
    w, h = check_size(size)
    origins, directions = camera.rays(w, h)
    hits = raycast(tree, origins, directions)
    return (hits.cells + hits.hit).reshape(h, w)


def heatmap_image(cost: np.ndarray, cmap: str = "inferno") -> np.ndarray:
    """Colour a (h, w) cost image, with a labelled colour bar on the right: (h, w, 4) uint8."""
    from matplotlib import colormaps

    vmax = max(int(cost.max()), 1)
    lut = (colormaps[cmap](np.linspace(0, 1, 256)) * 255).round().astype(np.uint8)
    img = lut[np.clip(np.round(cost / vmax * 255), 0, 255).astype(np.int64)]
    img[..., 3] = 255
    _draw_legend(img, lut, vmax)
    return img


def _draw_legend(img: np.ndarray, lut: np.ndarray, vmax: int) -> None:
    """Draw a vertical colour bar labelled 0..vmax ("cells per ray") into the image's right edge."""
    from PIL import Image, ImageDraw

    h, w = img.shape[:2]
    if h < 48 or w < 64:
        return
    bar_w = max(6, w // 48)
    top, bottom = h // 8, h - h // 8
    x0 = w - bar_w - max(4, w // 64)
    rows = np.linspace(255, 0, bottom - top).round().astype(np.int64)
    img[top:bottom, x0 : x0 + bar_w] = lut[rows][:, None]
    pil = Image.fromarray(img)
    draw = ImageDraw.Draw(pil)
    white = (255, 255, 255, 255)
    draw.rectangle([x0 - 1, top - 1, x0 + bar_w, bottom], outline=white)
    for frac in (0.0, 0.5, 1.0):
        y = bottom - frac * (bottom - top)
        label = f"{frac * vmax:.0f}" if frac in (0.0, 1.0) else f"{frac * vmax:.1f}"
        tw = draw.textlength(label)
        draw.text((x0 - tw - 4, y - 6), label, fill=white)
    title = "cells/ray"
    draw.text((max(0, w - draw.textlength(title) - 4), max(0, top - 16)), title, fill=white)
    img[:] = np.asarray(pil)
