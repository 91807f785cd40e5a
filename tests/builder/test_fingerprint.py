"""Pinned results: a small build, a normal map and renders of them must not change unless a commit
changes what they compute on purpose (and says so, updating the pinned values in that commit)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from factories import DATA

import shapetree
from shapetree.formats.stree_v2 import encode_trees


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
    # the files have the compact header (a built tree's frame is its bounds'); rewritten with the long
    # header and a zlib stream they are the bytes pinned before it (fbc5c4d5b9262ce3, 1dd318f325175dfb,
    # d6ff27b47ea8aeaa)
    tree, _ = built
    assert tree.n_leaves == 600
    assert digest(encode_trees([tree], lossless=True)) == "112d4ec89ca8e6d4"


def test_a_normal_map_is_pinned(built):
    _, normal_map = built
    assert digest(encode_trees(normal_map, lossless=True)) == "e7a9fb8bcab07fc9"


def test_renders_rays_and_truncation_are_pinned(built):
    tree, normal_map = built
    assert digest(shapetree.render(tree, size=(96, 80))) == "14608e4bd0afb954"
    assert digest(shapetree.render(tree, size=(96, 80), heatmap=True)) == "b9e21519c0ee5d95"
    assert digest(shapetree.render(tree, size=(96, 80), normal_trees=normal_map)) == "09b5d84bdd92f9c0"
    assert digest(encode_trees([shapetree.truncated(tree, 50)], lossless=True)) == "62eacd4bd8f79923"
    o, d = shapetree.orbit_camera(tree.bounds, 10, 5).rays(40, 30)
    hits = shapetree.raycast(tree, o, d)
    assert [digest(hits.t), digest(hits.normal), digest(hits.cells)] == [
        "8db942d456cfbf6f", "296d63569a41baa6", "94c4afda25d85767"]
