"""Shared fixtures; the paths and tree factories live in factories.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import DATA


@pytest.fixture(scope="session")
def bunny_lowres_path() -> Path:
    return DATA / "bunny_lowres.obj"
