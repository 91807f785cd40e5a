"""The WebGL2 viewer draws what the Python renderer draws, for the same camera."""

from __future__ import annotations

import numpy as np
import pytest

import shapetree
from shapetree.renderer import cost_image, orbit_camera

SIZE = 256  # the viewer fixture's image size
CAMERAS = [
    {"azimuth": 30.0, "elevation": 20.0},
    {"azimuth": 145.0, "elevation": -15.0, "fov": 40.0},
    {"azimuth": -70.0, "elevation": 55.0, "orthographic": True},
]


def python_image(trees_dir, camera, **options):
    tree = shapetree.load(trees_dir / "bunny.stree")
    return shapetree.render(tree, orbit_camera(tree.bounds, **camera), (SIZE, SIZE), **options)


def agreement(js: np.ndarray, py: np.ndarray) -> tuple[float, float, float]:
    """(silhouette IoU, fraction of pixels of equal coverage, mean |RGB difference| where both hit)."""
    a, b = js[..., 3] > 0, py[..., 3] > 0
    both = a & b
    diff = np.abs(js[both, :3].astype(np.int64) - py[both, :3]).mean()
    return (a & b).sum() / (a | b).sum(), float((a == b).mean()), float(diff)


def test_the_page_renders_the_bunny(viewer):
    frame = viewer.render()
    assert frame["leaves"] == frame["totalLeaves"] == 2048
    img = viewer.pixels()
    covered = (img[..., 3] > 0).mean()
    assert 0.1 < covered < 0.7  # the bunny fills a good part of the view, not all of it
    assert len(np.unique(img[img[..., 3] > 0, 0])) > 20  # shaded, not a flat silhouette
    assert "2048 of 2048 leaves" in viewer.js("document.getElementById('readout').textContent")
    shot = viewer.page.locator("#view").screenshot()  # what the page really shows
    assert len(shot) > 2000


@pytest.mark.parametrize("camera", CAMERAS, ids=["default", "below", "ortho-above"])
def test_flat_shading_matches_the_python_renderer(viewer, trees_dir, camera):
    viewer.js("shapetreeViewer.setMode({normalMap: false, heatmap: false})")
    viewer.render(**camera)
    iou, equal, diff = agreement(viewer.pixels(), python_image(trees_dir, camera))
    assert iou >= 0.99 and equal >= 0.995, (iou, equal)
    assert diff <= 0.5, diff  # 8-bit levels: float32 against float64 rounding only


def test_normal_map_shading_matches_the_python_renderer(viewer, trees_dir):
    camera = CAMERAS[0]
    viewer.js("shapetreeViewer.setMode({normalMap: true, heatmap: false})")
    viewer.render(**camera)
    normals = shapetree.read_trees(trees_dir / "bunny-normals.stree")
    iou, equal, diff = agreement(viewer.pixels(), python_image(trees_dir, camera, normal_trees=normals))
    assert iou >= 0.99 and equal >= 0.995, (iou, equal)
    assert diff <= 1.0, diff


def test_heatmap_counts_the_same_cells_with_the_same_colours(viewer, trees_dir):
    camera = CAMERAS[1]
    viewer.js("shapetreeViewer.setMode({normalMap: false, heatmap: true})")
    frame = viewer.render(**camera)
    tree = shapetree.load(trees_dir / "bunny.stree")
    expected = cost_image(tree, orbit_camera(tree.bounds, **camera), (SIZE, SIZE))
    costs = viewer.costs()
    assert (costs == expected).mean() >= 0.995
    assert frame["vmax"] == max(int(costs.max()), 1)
    # colours: the Python heatmap wherever its legend is not drawn
    py = python_image(trees_dir, camera, heatmap=True)
    js = viewer.pixels()
    left = slice(0, SIZE - 48)
    same = (costs == expected)[:, left]
    assert np.array_equal(js[:, left][same], py[:, left][same])
