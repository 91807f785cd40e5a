"""Cameras: pinhole or orthographic, the rays of their pixels, and orbits around a box."""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np

from ..errors import UsageError

MAX_IMAGE_SIDE = 16384


def check_size(size: tuple[int, int]) -> tuple[int, int]:
    """``(width, height)`` as ints, each within 1..MAX_IMAGE_SIDE, or a ``UsageError``."""
    w, h = (int(v) for v in size)
    if not (1 <= w <= MAX_IMAGE_SIDE and 1 <= h <= MAX_IMAGE_SIDE):
        raise UsageError(f"image size must be within 1..{MAX_IMAGE_SIDE} pixels, got {w}x{h}")
    return w, h


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
def pixel_ray(frame, half, ortho, width, height, x, y):
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
            o0, o1, o2, d0, d1, d2 = pixel_ray(frame, half, ortho, width, height, x, y)
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
