"""Shared fixtures: the project's meshes (../shared/meshes beside the checkout, data/ inside it);
the tree factories live in factories.py and are re-exported here."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import UNIT_BOX, box_tree, polytope_tree, random_tree, sphere_mesh, sphere_tree  # noqa: F401

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
