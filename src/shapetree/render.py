"""Rendering trees: exact ray casting, cameras, shading, images and animations.

The ray caster is a front-to-back BSP traversal: at a branch the ray segment ``[t0, t1]`` is split
at the plane into the near child's part and the far child's part, the far part waits on a small
explicit stack, so only the cells a ray actually crosses are visited. The side of a segment is
decided exactly as ``Tree.contains`` decides it for a point (left iff ``normal . x < offset`` in
float64, on-plane goes right), rays parallel to a plane stay on the side of their origin, and the
ray is clipped to the tree's (inclusive) bounds, outside of which the tree is empty.

A hit is the first point where the ray enters an inside cell along a segment of positive length;
``origin + t * direction`` is that point.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numba as nb
import numpy as np

from .errors import UsageError
from .simplify.truncate import truncated  # noqa: F401 -- re-exported until the renderer/ split
from .tree import OCCUPANCY, Tree

# Where a segment starts, when it is not a plane of the tree (plane ids are node indices >= 0).
_FROM_ORIGIN = -4  # the ray starts inside the box: no surface crossed
# Box faces are -1 - axis (x: -1, y: -2, z: -3).

_CHUNK = 256  # rays per parallel work item (one traversal stack each)


@dataclass
class RayHits:
    """Where rays first enter the inside of a tree.

    t: (n,) float64 ray parameter of the hit, ``inf`` where the ray misses
    normal: (n, 3) float64 unit normal of the surface crossed at the hit, facing the ray
        (zero where the ray misses); the plane of the tree, or the face of the bounds box when
        the hit is where the ray enters the box, or ``-direction`` when the origin is inside
    cells: (n,) int64 number of cells (leaves) the ray crossed before the hit (all of them on a miss)
    """

    t: np.ndarray
    normal: np.ndarray
    cells: np.ndarray

    @property
    def hit(self) -> np.ndarray:
        """(n,) bool mask of the rays that hit."""
        return np.isfinite(self.t)


def packed_children(tree: Tree) -> np.ndarray:
    """(n, 2) int32 ``[left, right]`` rows: both children of a node in one cache line."""
    return np.ascontiguousarray(np.stack([tree.left, tree.right], 1), np.int32)


def packed_planes(tree: Tree) -> np.ndarray:
    """(n, 4) float64 ``[normal, offset]`` rows: the float32 planes widened exactly."""
    planes = np.empty((tree.n_nodes, 4), np.float64)
    planes[:, :3] = tree.normal
    planes[:, 3] = tree.offset
    return planes


@nb.njit(cache=True, inline="always")
def _clip_to_box(lo, hi, o0, o1, o2, d0, d1, d2):
    """Segment ``[t0, t1]`` (t >= 0) of the ray inside the box, and what bounds ``t0``."""
    t0 = 0.0
    t1 = np.inf
    entry = _FROM_ORIGIN
    for a in range(3):
        if a == 0:
            o, d = o0, d0
        elif a == 1:
            o, d = o1, d1
        else:
            o, d = o2, d2
        if d == 0.0:
            if o < lo[a] or o > hi[a]:
                return 1.0, 0.0, entry
        else:
            ta = (lo[a] - o) / d
            tb = (hi[a] - o) / d
            if ta > tb:
                ta, tb = tb, ta
            if ta > t0:
                t0 = ta
                entry = -1 - a
            t1 = min(t1, tb)
    return t0, t1, entry


@nb.njit(cache=True, inline="always")
def _cast_one(planes, children, value, lo, hi, o0, o1, o2, d0, d1, d2, st_node, st_t):
    """One ray: (t of the hit or inf, id of the surface crossed there, cells crossed before).

    ``st_node`` ((2 * depth + 2,) int64) and ``st_t`` ((depth + 1, 2) float64) are the stack of
    far segments waiting: (node, id of the surface at its start) and (t0, t1). One exit point and
    no early returns: LLVM keeps the loop tight this way (about twice as fast).
    """
    t_hit = np.inf
    cells = 0
    # x - x == 0 is False for NaN and +-inf: such rays miss
    finite = (o0 - o0 == 0.0 and o1 - o1 == 0.0 and o2 - o2 == 0.0
              and d0 - d0 == 0.0 and d1 - d1 == 0.0 and d2 - d2 == 0.0)
    t0, t1, src = _clip_to_box(lo, hi, o0, o1, o2, d0, d1, d2)
    if finite and t0 < t1:
        node = 0
        sp = 0
        while True:
            c0 = children[node, 0]
            while c0 >= 0:
                p0 = planes[node, 0]
                p1 = planes[node, 1]
                p2 = planes[node, 2]
                num = planes[node, 3] - (p0 * o0 + p1 * o1 + p2 * o2)
                dot_d = p0 * d0 + p1 * d1 + p2 * d2
                c1 = children[node, 1]
                if dot_d == 0.0:  # parallel: the whole segment is on the origin's side
                    node = c0 if num > 0.0 else c1
                else:
                    # dot_d > 0: left before the plane, right from it on; dot_d < 0: the reverse
                    near = c1 if dot_d < 0.0 else c0
                    far = c0 if dot_d < 0.0 else c1
                    ts = num / dot_d
                    if ts <= t0:
                        if ts == t0:
                            src = node
                        node = far
                    elif ts >= t1:
                        node = near
                    else:
                        st_node[sp] = far
                        st_node[sp + 1] = node
                        st_t[sp >> 1, 0] = ts
                        st_t[sp >> 1, 1] = t1
                        sp += 2
                        node = near
                        t1 = ts
                c0 = children[node, 0]
            if value[node]:
                t_hit = t0
                break
            cells += 1
            if sp == 0:
                break
            # the next segment front to back (pushed segments are never empty: t0 < ts < t1)
            sp -= 2
            node = st_node[sp]
            src = st_node[sp + 1]
            t0 = st_t[sp >> 1, 0]
            t1 = st_t[sp >> 1, 1]
    if t_hit == np.inf:
        src = _FROM_ORIGIN
    return t_hit, src, cells


@nb.njit(cache=True, parallel=True)
def raycast_kernel(planes, children, value, lo, hi, max_depth, origins, directions):
    """Cast every ray; returns ``t`` (n,), surface id (n,) and cells crossed (n,)."""
    n = origins.shape[0]
    t_out = np.empty(n, np.float64)
    src_out = np.empty(n, np.int64)
    cells_out = np.empty(n, np.int64)
    n_chunks = (n + _CHUNK - 1) // _CHUNK
    for c in nb.prange(n_chunks):
        st_node = np.empty(2 * max_depth + 2, np.int64)
        st_t = np.empty((max_depth + 1, 2), np.float64)
        for k in range(c * _CHUNK, min(n, (c + 1) * _CHUNK)):
            t, src, cells = _cast_one(
                planes, children, value, lo, hi,
                origins[k, 0], origins[k, 1], origins[k, 2],
                directions[k, 0], directions[k, 1], directions[k, 2],
                st_node, st_t,
            )
            t_out[k] = t
            src_out[k] = src
            cells_out[k] = cells
    return t_out, src_out, cells_out


@nb.njit(cache=True, inline="always")
def _surface_normal(planes, src, d0, d1, d2):
    """Unit normal of surface ``src`` (a plane, a box face or the origin), facing ray direction d;
    zero when it has no direction."""
    if src >= 0:
        n0 = planes[src, 0]
        n1 = planes[src, 1]
        n2 = planes[src, 2]
    elif src == _FROM_ORIGIN:
        n0 = -d0
        n1 = -d1
        n2 = -d2
    else:
        n0 = 1.0 if src == -1 else 0.0
        n1 = 1.0 if src == -2 else 0.0
        n2 = 1.0 if src == -3 else 0.0
    length = np.sqrt(n0 * n0 + n1 * n1 + n2 * n2)
    if length == 0.0:
        return 0.0, 0.0, 0.0
    if n0 * d0 + n1 * d1 + n2 * d2 > 0.0:
        length = -length
    return n0 / length, n1 / length, n2 / length


@nb.njit(cache=True, parallel=True)
def _hit_normals(planes, t, src, directions):
    """Unit normal of the surface each ray crossed at its hit, turned to face the ray."""
    n = t.shape[0]
    out = np.zeros((n, 3), np.float64)
    for k in nb.prange(n):
        if t[k] < np.inf:
            out[k, 0], out[k, 1], out[k, 2] = _surface_normal(
                planes, src[k], directions[k, 0], directions[k, 1], directions[k, 2])
    return out


def _as_rays(origins: np.ndarray, directions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    o = np.ascontiguousarray(origins, np.float64)
    d = np.ascontiguousarray(directions, np.float64)
    if o.ndim == 1 and o.shape == (3,):
        o = np.ascontiguousarray(np.broadcast_to(o, d.shape))
    if o.ndim != 2 or o.shape[1] != 3 or d.shape != o.shape:
        raise UsageError(f"origins and directions must both have shape (n, 3), got {o.shape} and {d.shape}")
    return o, d


def raycast(tree: Tree, origins: np.ndarray, directions: np.ndarray) -> RayHits:
    """Cast rays ``origin + t * direction`` (t >= 0) at an occupancy tree.

    origins: (n, 3) (or (3,), shared) float64, directions: (n, 3) float64, need not be unit.
    """
    if tree.kind != OCCUPANCY:
        raise UsageError("raycast() needs an occupancy tree, this is a normal-map tree")
    o, d = _as_rays(origins, directions)
    planes = packed_planes(tree)
    t, src, cells = raycast_kernel(
        planes, packed_children(tree), tree.value, tree.bounds[0], tree.bounds[1], max(tree.depth, 1), o, d,
    )
    return RayHits(t, _hit_normals(planes, t, src, d), cells)


# -- cameras -----------------------------------------------------------------------------------------
@dataclass
class Camera:
    """A pinhole (perspective) or orthographic camera looking from ``eye`` at ``target``.

    fov: vertical field of view in degrees (perspective); ortho_height: height of the view in
    world units (orthographic, used when set). Pixel rows go from the top of the image down.
    """

    eye: np.ndarray
    target: np.ndarray
    up: np.ndarray
    fov: float = 30.0
    ortho_height: float | None = None

    def basis(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Unit (right, up, forward) vectors of the image plane."""
        forward = np.asarray(self.target, np.float64) - np.asarray(self.eye, np.float64)
        norm = np.linalg.norm(forward)
        if not norm > 0:
            raise UsageError("camera eye and target coincide")
        forward /= norm
        right = np.cross(forward, np.asarray(self.up, np.float64))
        if np.linalg.norm(right) < 1e-9:  # looking along up: any perpendicular will do
            right = np.cross(forward, np.roll(np.asarray(self.up, np.float64), 1))
        right /= np.linalg.norm(right)
        return right, np.cross(right, forward), forward

    def projection(self) -> tuple[np.ndarray, float, bool]:
        """(4, 3) rows eye, right, up, forward; the half height of the view (a tangent for
        perspective, world units for orthographic); and whether it is orthographic."""
        right, up, forward = self.basis()
        frame = np.stack([np.asarray(self.eye, np.float64), right, up, forward])
        if self.ortho_height is not None:
            return frame, float(self.ortho_height) / 2, True
        return frame, float(np.tan(np.radians(self.fov) / 2)), False

    def rays(self, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
        """Origins and unit directions of every pixel's ray, row-major: two (h*w, 3) float64."""
        frame, half, ortho = self.projection()
        return _pixel_rays(frame, half, ortho, int(width), int(height))


@nb.njit(cache=True, inline="always")
def _pixel_ray(frame, half, ortho, width, height, x, y):
    """Origin and unit direction of pixel (x, y) (row y from the top); the view spans the height."""
    s = 2.0 * half / height
    px = ((x + 0.5) - 0.5 * width) * s
    py = (0.5 * height - (y + 0.5)) * s
    if ortho:
        o0 = frame[0, 0] + px * frame[1, 0] + py * frame[2, 0]
        o1 = frame[0, 1] + px * frame[1, 1] + py * frame[2, 1]
        o2 = frame[0, 2] + px * frame[1, 2] + py * frame[2, 2]
        return o0, o1, o2, frame[3, 0], frame[3, 1], frame[3, 2]
    d0 = frame[3, 0] + px * frame[1, 0] + py * frame[2, 0]
    d1 = frame[3, 1] + px * frame[1, 1] + py * frame[2, 1]
    d2 = frame[3, 2] + px * frame[1, 2] + py * frame[2, 2]
    inv = 1.0 / np.sqrt(d0 * d0 + d1 * d1 + d2 * d2)
    return frame[0, 0], frame[0, 1], frame[0, 2], d0 * inv, d1 * inv, d2 * inv


@nb.njit(cache=True, parallel=True)
def _pixel_rays(frame, half, ortho, width, height):
    origins = np.empty((width * height, 3), np.float64)
    directions = np.empty((width * height, 3), np.float64)
    for y in nb.prange(height):
        for x in range(width):
            k = y * width + x
            o0, o1, o2, d0, d1, d2 = _pixel_ray(frame, half, ortho, width, height, x, y)
            origins[k, 0] = o0
            origins[k, 1] = o1
            origins[k, 2] = o2
            directions[k, 0] = d0
            directions[k, 1] = d1
            directions[k, 2] = d2
    return origins, directions


_UP_AXES = {"x": 0, "y": 1, "z": 2}


def orbit_camera(bounds: np.ndarray, azimuth: float = 30.0, elevation: float = 20.0, *,
                 up: str = "y", fov: float = 30.0, orthographic: bool = False,
                 margin: float = 1.0) -> Camera:
    """A camera on a sphere around ``bounds`` ((2, 3) box) that frames the box's bounding sphere.

    azimuth: degrees around the ``up`` axis ("x", "y" or "z"); elevation: degrees above the
    plane perpendicular to it. At azimuth 0 and elevation 0 the camera looks along the
    axis after ``up`` (y-up: from +z).
    """
    if up not in _UP_AXES:
        raise UsageError(f"up must be one of x, y, z, got {up!r}")
    if not 0 < fov < 180:
        raise UsageError(f"field of view must be in (0, 180) degrees, got {fov}")
    b = np.asarray(bounds, np.float64).reshape(2, 3)
    center = b.mean(0)
    radius = max(0.5 * float(np.linalg.norm(b[1] - b[0])), 1e-12) * margin
    ua = _UP_AXES[up]
    u_vec = np.zeros(3)
    u_vec[ua] = 1.0
    front = np.zeros(3)
    front[(ua + 1) % 3] = 1.0
    side = np.cross(u_vec, front)
    az, el = np.radians(azimuth), np.radians(elevation)
    direction = np.cos(el) * (np.cos(az) * front + np.sin(az) * side) + np.sin(el) * u_vec
    if orthographic:
        return Camera(center + 3 * radius * direction, center, u_vec, fov, ortho_height=2 * radius)
    distance = radius / np.sin(np.radians(fov) / 2)
    return Camera(center + distance * direction, center, u_vec, fov)


# -- shading -----------------------------------------------------------------------------------------
BASE_COLOR = (0.80, 0.72, 0.62)


@dataclass(frozen=True)
class Material:
    """Blinn-Phong parameters; light is added in linear space, then gamma-encoded."""

    color: tuple[float, float, float] = BASE_COLOR
    ambient: float = 0.12
    diffuse: float = 0.78
    specular: float = 0.22
    shininess: float = 40.0
    gamma: float = 2.2

    def packed(self) -> np.ndarray:
        return np.array([*self.color, self.ambient, self.diffuse, self.specular, self.shininess,
                         1.0 / self.gamma])


@nb.njit(cache=True, inline="always")
def _shade_one(n0, n1, n2, d0, d1, d2, light, mat, out, k):
    """Write the RGBA of one lit pixel into ``out[k]``: normal n (any side), view ray d, light
    towards ``light`` (all zero: from the eye)."""
    dl = np.sqrt(d0 * d0 + d1 * d1 + d2 * d2)
    v0 = -d0 / dl
    v1 = -d1 / dl
    v2 = -d2 / dl
    if n0 * v0 + n1 * v1 + n2 * v2 < 0.0:
        n0, n1, n2 = -n0, -n1, -n2
    if light[0] == 0.0 and light[1] == 0.0 and light[2] == 0.0:
        l0, l1, l2 = v0, v1, v2
    else:
        l0, l1, l2 = light[0], light[1], light[2]
    h0 = l0 + v0
    h1 = l1 + v1
    h2 = l2 + v2
    hl = max(np.sqrt(h0 * h0 + h1 * h1 + h2 * h2), 1e-300)
    cos_l = min(max(n0 * l0 + n1 * l1 + n2 * l2, 0.0), 1.0)
    cos_h = min(max((n0 * h0 + n1 * h1 + n2 * h2) / hl, 0.0), 1.0)
    spec = mat[5] * cos_h ** mat[6] if cos_l > 0.0 else 0.0
    lit = mat[3] + mat[4] * cos_l
    for c in range(3):
        x = min(max(lit * mat[c] + spec, 0.0), 1.0) ** mat[7]
        out[k, c] = np.uint8(np.floor(x * 255.0 + 0.5))
    out[k, 3] = 255


@nb.njit(cache=True, parallel=True)
def _shade_kernel(normals, directions, hit, light, mat):
    n = normals.shape[0]
    out = np.zeros((n, 4), np.uint8)
    for k in nb.prange(n):
        if hit[k]:
            _shade_one(normals[k, 0], normals[k, 1], normals[k, 2],
                       directions[k, 0], directions[k, 1], directions[k, 2], light, mat, out, k)
    return out


def shade(normals: np.ndarray, directions: np.ndarray, hit: np.ndarray, light: np.ndarray | None = None,
          material: Material = Material()) -> np.ndarray:
    """Blinn-Phong shading under one light: (n, 4) uint8 RGBA, transparent where ``hit`` is False.

    normals: (n, 3) unit surface normals (each is turned to face its ray), directions: (n, 3) view
    rays, light: (3,) unit direction towards the light (default: from the eye, a headlight).
    """
    lv = np.zeros(3) if light is None else np.asarray(light, np.float64)
    return _shade_kernel(np.ascontiguousarray(normals, np.float64), np.ascontiguousarray(directions, np.float64),
                         np.ascontiguousarray(hit, np.bool_), lv, material.packed())


def camera_light(camera: Camera) -> np.ndarray:
    """A headlight mounted a little above and left of the eye: (3,) unit vector towards it."""
    right, up, forward = camera.basis()
    light = -forward + 0.45 * up - 0.3 * right
    return light / np.linalg.norm(light)


def _check_size(size: tuple[int, int]) -> tuple[int, int]:
    w, h = (int(v) for v in size)
    if not (1 <= w <= 16384 and 1 <= h <= 16384):
        raise UsageError(f"image size must be within 1..16384 pixels, got {w}x{h}")
    return w, h


@nb.njit(cache=True, parallel=True)
def _render_kernel(planes, children, value, lo, hi, max_depth, frame, half, ortho, width, height,
                   light, mat):
    """Cast and shade every pixel: (h * w, 4) uint8 RGBA and (h * w,) cells visited."""
    img = np.zeros((width * height, 4), np.uint8)
    cost = np.empty(width * height, np.int64)
    for y in nb.prange(height):
        st_node = np.empty(2 * max_depth + 2, np.int64)
        st_t = np.empty((max_depth + 1, 2), np.float64)
        for x in range(width):
            k = y * width + x
            o0, o1, o2, d0, d1, d2 = _pixel_ray(frame, half, ortho, width, height, x, y)
            t, src, cells = _cast_one(planes, children, value, lo, hi, o0, o1, o2, d0, d1, d2, st_node, st_t)
            cost[k] = cells
            if t < np.inf:
                cost[k] += 1
                n0, n1, n2 = _surface_normal(planes, src, d0, d1, d2)
                _shade_one(n0, n1, n2, d0, d1, d2, light, mat, img, k)
    return img, cost


def render(tree: Tree, camera: Camera | None = None, size: tuple[int, int] = (512, 512), *,
           normal_trees: list[Tree] | None = None, normal_filter: float | None = None,
           heatmap: bool = False, material: Material = Material(), **orbit) -> np.ndarray:
    """Render an occupancy tree: (h, w, 4) uint8 RGBA image, transparent background.

    camera: defaults to ``orbit_camera(tree.bounds, **orbit)``; normal_trees: a normal map used in
    place of the flat plane normals, looked up with ``normals.predict_normals_filtered`` (radius
    ``normal_filter``, default matched to its leaves, 0 for the raw leaves); heatmap: colour every
    pixel by the cells its ray visited, with a legend, instead of shading.
    """
    if tree.kind != OCCUPANCY:
        raise UsageError("render() needs an occupancy tree, this is a normal-map tree")
    w, h = _check_size(size)
    cam = camera if camera is not None else orbit_camera(tree.bounds, **orbit)
    light = camera_light(cam)
    if not normal_trees:
        frame, half, ortho = cam.projection()
        img, cost = _render_kernel(packed_planes(tree), packed_children(tree), tree.value, tree.bounds[0],
                                   tree.bounds[1], max(tree.depth, 1), frame, half, ortho, w, h, light,
                                   material.packed())
        if heatmap:
            return heatmap_image(cost.reshape(h, w))
        return img.reshape(h, w, 4)
    from .normals import predict_normals_filtered

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


def cost_image(tree: Tree, camera: Camera, size: tuple[int, int]) -> np.ndarray:
    """(h, w) int64 cells visited per pixel's ray: those crossed, plus the hit cell on a hit."""
    w, h = _check_size(size)
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


# -- the source mesh, through Embree (the reference renders compare against) -------------------------
def mesh_raycast(mesh, origins: np.ndarray, directions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First hits of rays on a triangle mesh with Embree: ``t`` (n,) float64 (``inf`` on a
    miss) and the face hit (n,) int64 (-1 on a miss). Embree works in float32."""
    from embreex import mesh_construction, rtcore_scene

    from .mesh import as_mesh

    m = as_mesh(mesh)
    o, d = _as_rays(origins, directions)
    scene = rtcore_scene.EmbreeScene()
    mesh_construction.TriangleMesh(scene, np.ascontiguousarray(m.vertices[m.faces], np.float32))
    res = scene.run(o.astype(np.float32), d.astype(np.float32), output=1)
    face = np.asarray(res["primID"], np.int64)
    face[face >= len(m.faces)] = -1
    t = np.where(face >= 0, np.asarray(res["tfar"], np.float64), np.inf)
    return t, face


def render_mesh(mesh, camera: Camera, size: tuple[int, int] = (512, 512)) -> np.ndarray:
    """The mesh rendered with Embree, flat-shaded like ``render``: (h, w, 4) uint8 RGBA."""
    from .mesh import as_mesh

    m = as_mesh(mesh)
    w, h = _check_size(size)
    origins, directions = camera.rays(w, h)
    t, face = mesh_raycast(m, origins, directions)
    normals = m.face_normals()[np.maximum(face, 0)]
    return shade(normals, directions, np.isfinite(t), camera_light(camera)).reshape(h, w, 4)


# -- animations and files ----------------------------------------------------------------------------
def turntable(tree: Tree, frames: int = 36, size: tuple[int, int] = (512, 512), *,
              azimuth: float = 30.0, elevation: float = 20.0, normal_trees: list[Tree] | None = None,
              heatmap: bool = False, **orbit) -> list[np.ndarray]:
    """``frames`` RGBA images of one full turn around the up axis, starting at ``azimuth``."""
    if frames < 1:
        raise UsageError(f"frames must be at least 1, got {frames}")
    return [
        render(tree, size=size, normal_trees=normal_trees, heatmap=heatmap,
               azimuth=azimuth + 360.0 * k / frames, elevation=elevation, **orbit)
        for k in range(frames)
    ]


def label_image(img: np.ndarray, text: str) -> np.ndarray:
    """A copy of an RGBA image with ``text`` written in its top-left corner (dark, opaque)."""
    from PIL import Image, ImageDraw

    pil = Image.fromarray(np.ascontiguousarray(img))
    ImageDraw.Draw(pil).text((6, 4), text, fill=(20, 20, 20, 255))
    return np.asarray(pil).copy()


def lod_animation(trees: list[Tree], size: tuple[int, int] = (512, 512), *, azimuth: float = 30.0,
                  elevation: float = 20.0, **orbit) -> list[np.ndarray]:
    """One labelled frame per tree (e.g. one shape at growing leaf budgets), all framed alike
    from the first tree's bounds."""
    if not trees:
        raise UsageError("no trees to animate")
    cam = orbit_camera(trees[0].bounds, azimuth, elevation, **orbit)
    return [label_image(render(t, cam, size), f"{t.n_leaves} leaves") for t in trees]


def flatten(img: np.ndarray, background: tuple[int, int, int] = (255, 255, 255)) -> np.ndarray:
    """RGBA over an opaque background: (h, w, 3) uint8."""
    a = img[..., 3:4].astype(np.float64) / 255
    rgb = img[..., :3] * a + np.asarray(background, np.float64) * (1 - a)
    return np.round(rgb).astype(np.uint8)


IMAGE_SUFFIXES = (".png", ".gif", ".mp4")


def write_frames(path: str | Path, frames: list[np.ndarray], fps: float = 20.0) -> None:
    """Write RGBA frames as a PNG (one frame, transparent), a looping GIF or an H.264 MP4 (on white),
    atomically: into a temp file beside ``path``, then renamed."""
    import imageio.v3 as iio

    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise UsageError(f"{p}: output must end with {', '.join(IMAGE_SUFFIXES)}")
    if not frames:
        raise UsageError("no frames to write")
    if suffix == ".png" and len(frames) != 1:
        raise UsageError(f"{p}: a PNG holds one frame, got {len(frames)} (write a .gif or .mp4)")
    directory = p.parent if str(p.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{p.stem}.", suffix=suffix, dir=directory)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes files private; an image is not
    try:
        if suffix == ".png":
            iio.imwrite(tmp, frames[0], extension=".png")
        elif suffix == ".gif":
            # identical consecutive frames are merged by the GIF encoder (their time adds up)
            iio.imwrite(tmp, np.stack([flatten(f) for f in frames]), extension=".gif",
                        duration=round(1000 / fps), loop=0)
        else:
            rgb = np.stack([flatten(f) for f in frames])
            h, w = rgb.shape[1:3]
            # H.264 in yuv420p needs even sizes: pad with background, never resize
            rgb = np.pad(rgb, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), constant_values=255)
            iio.imwrite(tmp, rgb, extension=".mp4", fps=fps, codec="libx264", macro_block_size=1,
                        quality=8, ffmpeg_log_level="error")
        os.replace(tmp, p)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
