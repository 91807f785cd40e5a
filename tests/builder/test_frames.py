"""Trees are built in the frame of the mesh's box: any finite scale and position representable in
float64 gives the same shape, and inside-out meshes are turned right."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from factories import DATA

import shapetree
from shapetree import Mesh, MeshWarning
from shapetree.metrics import occupancy_metrics


@pytest.fixture(scope="module")
def bunny():
    return shapetree.load_mesh(DATA / "bunny_lowres.obj")


@pytest.fixture(scope="module")
def reference(bunny):
    tree = shapetree.build(bunny, max_leaves=400, seed=0)
    return tree, occupancy_metrics(tree, bunny, n=20_000)["iou"]


@pytest.mark.parametrize("scale, shift", [(1e30, 0.0), (1e-30, 0.0), (1e39, 0.0), (1e-42, 0.0), (1.0, 1e7),
                                          (1e-3, -3e5)])
def test_the_shape_survives_any_scale_and_offset(bunny, reference, scale, shift):
    tree, iou = reference
    lo, hi = bunny.bounds
    unit = (bunny.vertices - lo) / float(np.max(hi - lo))  # the bunny in [0, 1]
    moved = Mesh(unit * (10 * scale) + shift, bunny.faces, "moved")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning from overflow
        t = shapetree.build(moved, max_leaves=400, seed=0)
    assert occupancy_metrics(t, moved, n=20_000)["iou"] >= iou - 0.02
    # the same points, moved back, get the same answers as the unmoved tree's (up to the
    # boundary's rounding): the shape is the shape
    pts = np.random.default_rng(1).uniform(0, 1, (20_000, 3))
    agree = np.mean(t.contains(pts * (10 * scale) + shift) == tree.contains(lo + pts * float(np.max(hi - lo))))
    assert agree > 0.97


def test_an_inside_out_mesh_is_flipped_with_a_warning(bunny, reference):
    _, iou = reference
    flipped = Mesh(bunny.vertices, bunny.faces[:, ::-1].copy(), "flipped")
    with pytest.warns(MeshWarning, match="inwards"):
        t = shapetree.build(flipped, max_leaves=400, seed=0)
    assert t.meta["stats"]["flipped"]
    assert occupancy_metrics(t, bunny, n=20_000)["iou"] >= iou - 0.01


def test_a_flipped_cube_is_a_cube():
    import trimesh

    box = trimesh.creation.box(extents=(1.0, 2.0, 3.0))
    inward = Mesh(np.asarray(box.vertices), np.asarray(box.faces)[:, ::-1].copy(), "cube")
    with pytest.warns(MeshWarning):
        t = shapetree.build(inward, max_leaves=64, seed=0)
    pts = np.random.default_rng(0).uniform(-0.6, 0.6, (5000, 3)) * [1, 2, 3]
    assert np.array_equal(t.contains(pts), np.all(np.abs(pts) < [0.5, 1.0, 1.5], axis=1))


def test_mixed_orientations_are_not_flipped(bunny):
    """Two bunnies, one inside out: nothing is flipped, the right one is built as before."""
    lo, hi = bunny.bounds
    shift = np.array([1.5 * float(np.max(hi - lo)), 0, 0])
    v = np.concatenate([bunny.vertices, bunny.vertices + shift])
    f = np.concatenate([bunny.faces, bunny.faces[:, ::-1] + len(bunny.vertices)])
    with warnings.catch_warnings():
        warnings.simplefilter("error", MeshWarning)
        t = shapetree.build(Mesh(v, f, "mixed"), max_leaves=300, seed=0)
    assert not t.meta["stats"]["flipped"]
    centre = bunny.triangles.mean(axis=(0, 1))
    assert t.contains(np.array([centre, centre + shift])).tolist() == [True, False]
