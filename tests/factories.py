"""Paths of the test meshes and small trees and meshes with known shapes, for tests: import them
from here (``from factories import ...``), which works from every test folder (``conftest`` is
ambiguous once a folder has its own)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from shapetree import Kind, Mesh, Tree

ROOT = Path(__file__).resolve().parents[1]
SHARED_MESHES = ROOT.parent / "shared" / "meshes"
DATA = ROOT / "data"
UNIT_BOX = np.array([[-1.0, -1.0, -1.0], [1.0, 1.0, 1.0]])


def shared_mesh(name: str) -> Path:
    """A mesh of ../shared/meshes beside the checkout; the test is skipped when it is absent."""
    path = SHARED_MESHES / name
    if not path.exists():
        pytest.skip(f"shared mesh {name} not available at {SHARED_MESHES}")
    return path


def random_tree(rng: np.random.Generator, n_leaves: int, kind: Kind = Kind.OCCUPANCY, bounds=UNIT_BOX,
                quantized: bool = False) -> Tree:
    """A random valid tree in pre-order on ``bounds``: planes through the box (``quantized``: few
    distinct coefficients, so exact ties are likely), random leaves (bools, or vectors)."""
    lo, hi = np.asarray(bounds, float)
    normal, offset, left, right, value = [], [], [], [], []

    def grow(k: int) -> int:
        i = len(left)
        normal.append(np.zeros(3))
        offset.append(0.0)
        left.append(-1)
        right.append(-1)
        value.append(rng.random(3) * 2 - 1 if kind == Kind.NORMALS else bool(rng.random() < 0.5))
        if k > 1:
            if quantized:
                n = np.zeros(3)
                while not n.any():
                    n = rng.choice([-1.0, -0.5, 0.0, 0.5, 1.0], 3)
                off = rng.integers(-8, 9) / 8
            else:
                n = rng.normal(size=3)
                n /= np.linalg.norm(n)
                off = float(n @ rng.uniform(lo, hi))
            normal[i] = n
            offset[i] = off
            value[i] = np.zeros(3) if kind == Kind.NORMALS else False
            a = int(rng.integers(1, k))
            left[i] = grow(a)
            right[i] = grow(k - a)
        return i

    grow(n_leaves)
    return Tree(np.array(normal), np.array(offset), np.array(left), np.array(right), np.array(value),
                np.array(bounds, float), kind=kind)


def polytope_tree(normals: np.ndarray, offsets: np.ndarray, bounds: np.ndarray = UNIT_BOX) -> Tree:
    """Inside the closed polytope ``normal . x <= offset`` (all rows): a chain of branches, each
    sending ``-normal . x < -offset`` (the outside) left to an empty leaf."""
    k = len(offsets)
    n = 2 * k + 1
    normal = np.zeros((n, 3))
    offset = np.zeros(n)
    left = np.full(n, -1)
    right = np.full(n, -1)
    value = np.zeros(n, bool)
    for j in range(k):
        i = 2 * j
        normal[i] = -np.asarray(normals[j], np.float32)
        offset[i] = -np.float32(offsets[j])
        left[i] = i + 1
        right[i] = i + 2
    value[n - 1] = True
    return Tree(normal, offset, left, right, value, bounds)


def chain_tree(normals: np.ndarray, offsets: np.ndarray) -> Tree:
    """A chain: branch ``k`` has a leaf on its left and branch ``k + 1`` on its right (pre-order)."""
    k = len(offsets)
    n = 2 * k + 1
    left = np.full(n, -1, np.int64)
    right = np.full(n, -1, np.int64)
    normal = np.zeros((n, 3), np.float32)
    offset = np.zeros(n, np.float32)
    value = np.zeros(n, bool)
    for j in range(k):
        i = 2 * j
        left[i], right[i] = i + 1, i + 2
        normal[i], offset[i] = normals[j], offsets[j]
        value[i + 1] = j % 2 == 0
    value[n - 1] = True
    return Tree(normal=normal, offset=offset, left=left, right=right, value=value,
                bounds=np.array([[-1.0, -1.0, -1.0], [1.0, 1.0, 1.0]]))


def box_tree(lo, hi, bounds=UNIT_BOX) -> Tree:
    """Inside the axis-aligned box [lo, hi]."""
    eye = np.eye(3)
    return polytope_tree(np.concatenate([eye, -eye]), np.concatenate([hi, -np.asarray(lo)]), bounds)


def sphere_tree(radius: float, n_planes: int, bounds=UNIT_BOX) -> Tree:
    """A polytope of tangent planes around a sphere at the origin (Fibonacci directions)."""
    i = np.arange(n_planes) + 0.5
    z = 1 - 2 * i / n_planes
    phi = np.pi * (1 + 5**0.5) * i
    r = np.sqrt(1 - z * z)
    dirs = np.stack([r * np.cos(phi), r * np.sin(phi), z], 1).astype(np.float32)
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    return polytope_tree(dirs, np.full(n_planes, radius), bounds)


def sphere_mesh(radius: float = 0.6, subdivisions: int = 3) -> Mesh:
    """An icosphere at the origin."""
    import trimesh

    s = trimesh.creation.icosphere(subdivisions=subdivisions, radius=radius)
    return Mesh(np.asarray(s.vertices, np.float64), np.asarray(s.faces, np.int64), "<sphere>")


def cad_like(tree: Tree, rng: np.random.Generator) -> Tree:
    """``tree`` with the planes a CAD part's builder makes: some axis-aligned (unit, scaled by a power of
    two or by 3, flipped), some copies of an earlier branch's plane, some with a zero or tiny
    component; the structure and leaves unchanged."""
    normal, offset = tree.normal.copy(), tree.offset.copy()
    branches = np.flatnonzero(tree.left >= 0)
    for k, i in enumerate(branches):
        r = rng.random()
        if r < 0.25:
            axis = rng.integers(3)
            normal[i] = 0.0
            normal[i, axis] = rng.choice([1.0, -1.0, 0.25, -4.0, 3.0])
        elif r < 0.5 and k > 0:
            j = branches[rng.integers(k)]
            normal[i], offset[i] = normal[j], offset[j]
        elif r < 0.6:
            normal[i, rng.integers(3)] = rng.choice([0.0, 1e-30])
            if not np.any(normal[i]):
                normal[i, 0] = 1.0
    return tree.replace(normal=normal, offset=offset)


def run_cli(*args, timeout: float = 600) -> subprocess.CompletedProcess:
    """``python -m shapetree ARGS`` in a subprocess: its exit code, stdout and stderr as text."""
    return subprocess.run([sys.executable, "-m", "shapetree", *map(str, args)], check=False, capture_output=True,
                          text=True, timeout=timeout)
