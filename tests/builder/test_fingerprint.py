"""Pinned results: a small build, a normal map and renders of them must not change unless a commit
changes what they compute on purpose (and says so, updating the pinned values in that commit)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from conftest import DATA

import shapetree
from shapetree.formats import encode_trees


def digest(data) -> str:
    raw = data if isinstance(data, bytes) else np.ascontiguousarray(data).tobytes()
    return hashlib.sha256(raw).hexdigest()[:16]


@pytest.fixture(scope="module")
def built():
    tree = shapetree.build(DATA / "bunny_lowres.obj", max_leaves=600, seed=3)
    normal_map = shapetree.fit_normals(DATA / "bunny_lowres.obj", tree.bounds, n_trees=2, max_leaves=64,
                                       samples=5000, seed=1)
    return tree, normal_map


def test_a_small_build_is_pinned(built):
    tree, _ = built
    assert tree.n_leaves == 600
    assert digest(encode_trees([tree])) == "bed4e199f55b49bc"


def test_a_normal_map_is_pinned(built):
    _, normal_map = built
    assert digest(encode_trees(normal_map)) == "3b157b7579a1217d"


def test_renders_rays_and_truncation_are_pinned(built):
    tree, normal_map = built
    assert digest(shapetree.render(tree, size=(96, 80))) == "c1f2f5137ecd29bd"
    assert digest(shapetree.render(tree, size=(96, 80), heatmap=True)) == "6e5ecec17bc26051"
    assert digest(shapetree.render(tree, size=(96, 80), normal_trees=normal_map)) == "0af12ee0e2deb72a"
    assert digest(encode_trees([shapetree.truncated(tree, 50)])) == "dc0427003e56c504"
    o, d = shapetree.orbit_camera(tree.bounds, 10, 5).rays(40, 30)
    hits = shapetree.raycast(tree, o, d)
    assert [digest(hits.t), digest(hits.normal), digest(hits.cells)] == [
        "c0359faf64071949", "cfff542846891b69", "a461551e851743c3"]
