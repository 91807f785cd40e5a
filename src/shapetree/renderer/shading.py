"""Shading: Blinn-Phong under one light, added in linear space, then gamma-encoded."""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np

from .camera import Camera

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
        """(8,) float64 for the kernels, indexed by the ``MAT_*`` constants."""
        return np.array([*self.color, self.ambient, self.diffuse, self.specular, self.shininess,
                         1.0 / self.gamma])


# positions in ``Material.packed()`` (the kernels cannot take the dataclass)
MAT_COLOR, MAT_AMBIENT, MAT_DIFFUSE, MAT_SPECULAR, MAT_SHININESS, MAT_INV_GAMMA = 0, 3, 4, 5, 6, 7


@nb.njit(cache=True, inline="always")
def shade_one(n0, n1, n2, d0, d1, d2, light, mat, out, k):
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
    spec = mat[MAT_SPECULAR] * cos_h ** mat[MAT_SHININESS] if cos_l > 0.0 else 0.0
    lit = mat[MAT_AMBIENT] + mat[MAT_DIFFUSE] * cos_l
    for c in range(3):
        x = min(max(lit * mat[MAT_COLOR + c] + spec, 0.0), 1.0) ** mat[MAT_INV_GAMMA]
        out[k, c] = np.uint8(np.floor(x * 255.0 + 0.5))
    out[k, 3] = 255


@nb.njit(cache=True, parallel=True)
def _shade_kernel(normals, directions, hit, light, mat):
    n = normals.shape[0]
    out = np.zeros((n, 4), np.uint8)
    for k in nb.prange(n):
        if hit[k]:
            shade_one(normals[k, 0], normals[k, 1], normals[k, 2],
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
