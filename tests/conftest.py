"""Shared fixtures: the project's meshes (../shared/meshes beside the checkout, data/ inside it)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_MESHES = ROOT.parent / "shared" / "meshes"
DATA = ROOT / "data"


def shared_mesh(name: str) -> Path:
    path = SHARED_MESHES / name
    if not path.exists():
        pytest.skip(f"shared mesh {name} not available at {SHARED_MESHES}")
    return path


@pytest.fixture(scope="session")
def bunny_lowres_path() -> Path:
    return DATA / "bunny_lowres.obj"


def random_tree(rng, n_leaves: int, kind: int = 0, bounds=((-1.0, -1.0, -1.0), (1.0, 1.0, 1.0))):
    """A random valid tree in pre-order: random unit planes through the box, random leaves."""
    import numpy as np

    from shapetree.tree import Tree

    left, right, normal, offset, value = [], [], [], [], []

    def grow(leaves: int) -> int:
        i = len(left)
        left.append(-1)
        right.append(-1)
        if leaves == 1:
            normal.append((0.0, 0.0, 0.0))
            offset.append(0.0)
            value.append(rng.random(3) * 2 - 1 if kind else bool(rng.random() < 0.5))
            return i
        n = rng.normal(size=3)
        normal.append(tuple(n / np.linalg.norm(n)))
        offset.append(float(rng.uniform(-0.8, 0.8)))
        value.append(np.zeros(3) if kind else False)
        k = int(rng.integers(1, leaves))
        left[i] = grow(k)
        right[i] = grow(leaves - k)
        return i

    grow(n_leaves)
    return Tree(np.array(normal), np.array(offset), np.array(left), np.array(right), np.array(value),
                np.array(bounds, float), kind=kind)
