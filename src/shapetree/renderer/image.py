"""``render``: one image of an occupancy tree (shaded, normal-mapped, or a ray-cost heatmap)."""

from __future__ import annotations

import numba as nb
import numpy as np

from ..errors import UsageError
from ..tree import Kind, Tree, predict_normals_filtered
from .camera import Camera, check_size, orbit_camera, pixel_ray
from .heatmap import heatmap_image
from .rays import cast_one, raycast, surface_normal
from .shading import Material, camera_light, shade, shade_one


@nb.njit(cache=True, parallel=True)
def _render_kernel(planes, nxt, lo, hi, origin, scale, max_depth, frame, half, ortho, width, height, light, mat):
    """Cast and shade every pixel: (h * w, 4) uint8 RGBA and (h * w,) cells visited."""
    img = np.zeros((width * height, 4), np.uint8)
    cost = np.empty(width * height, np.int64)
    lo_u = (lo - origin) / scale
    hi_u = (hi - origin) / scale
    for y in nb.prange(height):
        st_node = np.empty(2 * max_depth + 2, np.int64)
        st_t = np.empty((max_depth + 1, 2), np.float64)
        for x in range(width):
            k = y * width + x
            o0, o1, o2, d0, d1, d2 = pixel_ray(frame, half, ortho, width, height, x, y)
            t, src, cells = cast_one(planes, nxt, lo_u, hi_u, (o0 - origin[0]) / scale, (o1 - origin[1]) / scale,
                                     (o2 - origin[2]) / scale, d0 / scale, d1 / scale, d2 / scale, st_node, st_t)
            cost[k] = cells
            if t < np.inf:
                cost[k] += 1
                n0, n1, n2 = surface_normal(planes, src, d0, d1, d2)
                shade_one(n0, n1, n2, d0, d1, d2, light, mat, img, k)
    return img, cost


def render(tree: Tree, camera: Camera | None = None, size: tuple[int, int] = (512, 512), *,
           normal_trees: list[Tree] | None = None, normal_filter: float | None = None,
           heatmap: bool = False, material: Material | None = None, azimuth: float = 30.0,
           elevation: float = 20.0, up: str = "y", fov: float = 30.0, orthographic: bool = False) -> np.ndarray:
    """Render an occupancy tree by exact ray casting: (h, w, 4) uint8 RGBA, transparent background.

    camera: defaults to ``orbit_camera(tree.bounds, azimuth, elevation, up=up, fov=fov,
    orthographic=orthographic)``; size: (width, height), each 1..16384; normal_trees: a normal map
    used in place of the flat plane normals, looked up with ``predict_normals_filtered`` (radius
    ``normal_filter``, default matched to its leaves, 0 for the raw leaves); heatmap: colour every
    pixel by the cells its ray visited, with a legend, instead of shading.
    """
    if tree.kind != Kind.OCCUPANCY:
        raise UsageError("render() needs an occupancy tree, this is a normal-map tree")
    w, h = check_size(size)
    cam = camera if camera is not None else orbit_camera(tree.bounds, azimuth, elevation, up=up, fov=fov,
                                                         orthographic=orthographic)
    light = camera_light(cam)
    material = material or Material()
    if not normal_trees:
        frame, half, ortho = cam.projection()
        img, cost = _render_kernel(*tree.layout, tree.bounds[0], tree.bounds[1], tree.origin, tree.scale,
                                   max(tree.depth, 1), frame, half, ortho, w, h, light, material.packed())
        if heatmap:
            return heatmap_image(cost.reshape(h, w))
        return img.reshape(h, w, 4)
    origins, directions = cam.rays(w, h)
    hits = raycast(tree, origins, directions)
    if heatmap:
        return heatmap_image((hits.cells + hits.hit).reshape(h, w))
    hit = hits.hit
    points = origins[hit] + hits.t[hit, None] * directions[hit]
    predicted = predict_normals_filtered(normal_trees, points, normal_filter)
    ok = np.linalg.norm(predicted, axis=1) > 0
    normals = hits.normal.copy()
    normals[np.flatnonzero(hit)[ok]] = predicted[ok]
    return shade(normals, directions, hit, light, material).reshape(h, w, 4)
