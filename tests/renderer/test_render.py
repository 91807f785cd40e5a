"""The ray caster, cameras, shading and image/animation outputs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from factories import UNIT_BOX, box_tree, random_tree, sphere_tree
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from shapetree import Tree, save
from shapetree.renderer import raycast
from shapetree.tree import trees_equal


# -- a slow, obvious reference ---------------------------------------------------------------------
def reference_cast(tree: Tree, o: np.ndarray, d: np.ndarray):
    """Hit t, the t where the hit cell ends, and cells crossed before, by cutting the ray at every
    plane of the tree and descending the tree at each piece's midpoint (in the ray's parameter)."""
    planes = np.concatenate([tree.normal.astype(np.float64), tree.offset[:, None].astype(np.float64)], 1)
    branch = tree.left >= 0
    lo, hi = tree.bounds
    t0, t1 = 0.0, np.inf
    for a in range(3):
        if d[a] == 0:
            if o[a] < lo[a] or o[a] > hi[a]:
                return np.inf, np.inf, 0
        else:
            ta, tb = sorted([(lo[a] - o[a]) / d[a], (hi[a] - o[a]) / d[a]])
            t0, t1 = max(t0, ta), min(t1, tb)
    if not t0 < t1:
        return np.inf, np.inf, 0
    dot_o = planes[:, 0] * o[0] + planes[:, 1] * o[1] + planes[:, 2] * o[2]
    dot_d = planes[:, 0] * d[0] + planes[:, 1] * d[1] + planes[:, 2] * d[2]
    with np.errstate(divide="ignore", invalid="ignore"):
        ts = (planes[:, 3] - dot_o) / dot_d
    ts = ts[branch & (dot_d != 0) & (ts > t0) & (ts < t1)]
    cuts = np.unique(np.concatenate([[t0, t1], ts]))
    cells, last = 0, -1
    for a, b in itertools.pairwise(cuts):
        m = 0.5 * (a + b)
        i = 0
        while tree.left[i] >= 0:
            side = dot_o[i] < planes[i, 3] if dot_d[i] == 0 else dot_o[i] + m * dot_d[i] < planes[i, 3]
            i = tree.left[i] if side else tree.right[i]
        if tree.value[i]:
            end = b
            for c in cuts[cuts > b]:  # the hit cell may span several pieces
                mm = 0.5 * (end + c)
                j = 0
                while tree.left[j] >= 0:
                    s = dot_o[j] < planes[j, 3] if dot_d[j] == 0 else dot_o[j] + mm * dot_d[j] < planes[j, 3]
                    j = tree.left[j] if s else tree.right[j]
                if j != i:
                    break
                end = c
            return a, end, cells
        if i != last:
            cells += 1
            last = i
    return np.inf, np.inf, cells


def random_rays(rng: np.random.Generator, tree: Tree, n: int):
    """Rays of every awkward kind: oblique, axis-parallel, parallel to planes, starting on planes."""
    grid = 1 / 16
    o = np.round(rng.uniform(-1.6, 1.6, (n, 3)) / grid) * grid
    kind = rng.integers(0, 4, n)
    d = rng.normal(size=(n, 3))
    axis = rng.integers(0, 3, n)
    ax = kind == 1
    d[ax] = 0
    d[ax, axis[ax]] = rng.choice([-1.0, 1.0], ax.sum())
    q = kind == 2
    d[q] = rng.choice([-1.0, -0.5, 0.0, 0.5, 1.0], (q.sum(), 3))
    d[q & ~d.any(1)] = [1.0, 0.0, 0.0]
    # kind 3: the origin moved exactly onto a plane of the tree
    branches = np.flatnonzero(tree.left >= 0)
    for k in np.flatnonzero(kind == 3):
        i = rng.choice(branches)
        nrm = tree.normal[i].astype(np.float64)
        a = int(np.argmax(np.abs(nrm)))
        rest = sum(nrm[b] * o[k, b] for b in range(3) if b != a)
        o[k, a] = (np.float64(tree.offset[i]) - rest) / nrm[a]
        if rng.random() < 0.5:
            d[k] = 0
            d[k, rng.integers(0, 3)] = rng.choice([-1.0, 1.0])
    return o, d, kind


# -- the ray caster --------------------------------------------------------------------------------
@pytest.mark.parametrize("quantized", [False, True])
def test_ray_caster_matches_a_slow_reference(quantized):
    rng = np.random.default_rng(1 + quantized)
    for _ in range(4):
        tree = random_tree(rng, 40, quantized=quantized)
        o, d, _ = random_rays(rng, tree, 400)
        hits = raycast(tree, o, d)
        for k in range(len(o)):
            t, _, cells = reference_cast(tree, o[k], d[k])
            if np.isinf(t):
                assert np.isinf(hits.t[k])
            else:
                assert hits.t[k] == pytest.approx(t, rel=1e-12, abs=1e-12)
            assert hits.cells[k] == cells


@pytest.mark.parametrize("quantized", [False, True])
def test_ray_caster_agrees_with_contains(quantized):
    """Just before the hit the tree is empty, just after it is full."""
    rng = np.random.default_rng(10 + quantized)
    checked = 0
    for _ in range(3):
        tree = random_tree(rng, 60, quantized=quantized)
        o, d, kind = random_rays(rng, tree, 300)
        # a point off the ray's exact line could round to the other side of a plane the ray lies in
        exact = (np.count_nonzero(d, axis=1) == 1) | (kind == 0)
        hits = raycast(tree, o, d)
        for k in np.flatnonzero(hits.hit & exact):
            t, end, _ = reference_cast(tree, o[k], d[k])
            eps = min(1e-7, 0.25 * (end - t))
            if eps < 1e-12:
                continue
            after = o[k] + (hits.t[k] + eps) * d[k]
            assert tree.contains(after[None])[0]
            if hits.t[k] > 0:
                before = o[k] + (hits.t[k] - eps) * d[k]
                assert not tree.contains(before[None])[0]
            checked += 1
        missed = ~hits.hit & exact
        samples = o[missed] + rng.uniform(0, 4, (missed.sum(), 1)) * d[missed]
        assert not tree.contains(samples).any()
    assert checked > 150


_HYPOTHESIS_TREE = random_tree(np.random.default_rng(99), 50)
_coord = st.floats(-1.5, 1.5, allow_nan=False).map(lambda v: round(v * 64) / 64)
_dir = st.floats(-1, 1, allow_nan=False).map(lambda v: v if abs(v) > 1e-3 else 0.0)


@settings(max_examples=100, deadline=None)
@given(o=st.tuples(_coord, _coord, _coord), d=st.tuples(_dir, _dir, _dir))
def test_ray_caster_agrees_with_point_evaluation(o, d):
    """Law: points of the ray before the hit are outside; just after it, inside."""
    tree = _HYPOTHESIS_TREE
    o, d = np.array(o), np.array(d)
    assume(np.count_nonzero(d) in (1, 3))  # axis-parallel or generic: exact points along the ray
    hits = raycast(tree, o[None], d[None])
    t, end, _ = reference_cast(tree, o, d)
    if not hits.hit[0]:
        assert np.isinf(t)
        ts = np.linspace(0, 5, 400)[1:]  # the origin alone is no hit: it has no length
        assert not tree.contains(o + ts[:, None] * d).any()
        return
    assert hits.t[0] == pytest.approx(t, rel=1e-12, abs=1e-12)
    eps = min(1e-7, 0.25 * (end - t))
    assume(eps > 1e-12)
    assert tree.contains((o + (hits.t[0] + eps) * d)[None])[0]
    before = np.linspace(0, hits.t[0] - eps, 50) if hits.t[0] > eps else np.zeros(0)
    assert not tree.contains(o + before[:, None] * d).any()


def test_origins_on_a_plane_enter_the_cell_the_ray_goes_into():
    tree = box_tree([-0.5, -0.5, -0.5], [0.5, 0.5, 0.5])
    # on the face x = 0.5, going in: hits at t = 0 with the face's plane as normal
    hits = raycast(tree, np.array([[0.5, 0.0, 0.0]]), np.array([[-1.0, 0.0, 0.0]]))
    assert hits.t[0] == 0 and np.allclose(hits.normal[0], [1, 0, 0])
    # on the same face, going out: never hits
    hits = raycast(tree, np.array([[0.5, 0.0, 0.0]]), np.array([[1.0, 0.0, 0.0]]))
    assert np.isinf(hits.t[0])
    # on x = -0.5, going in through it
    hits = raycast(tree, np.array([[-0.5, 0.2, 0.1]]), np.array([[1.0, 0.0, 0.0]]))
    assert hits.t[0] == 0 and np.allclose(hits.normal[0], [-1, 0, 0])


def test_rays_parallel_to_a_face_stay_on_their_side():
    tree = box_tree([-0.5, -0.5, -0.5], [0.5, 0.5, 0.5])  # closed: its faces are inside
    o = np.array([[-0.9, 0.5, 0.0], [-0.9, 0.50000001, 0.0], [-0.9, -0.5, 0.0], [-0.9, -0.50000001, 0.0]])
    d = np.array([[1.0, 0.0, 0.0]] * 4)
    hits = raycast(tree, o, d)
    assert hits.t[0] == pytest.approx(0.4) and hits.t[2] == pytest.approx(0.4)
    assert np.isinf(hits.t[1]) and np.isinf(hits.t[3])
    assert np.array_equal(tree.contains(o + 0.5 * d), [True, False, True, False])


def test_box_hits_are_analytic():
    rng = np.random.default_rng(3)
    lo, hi = np.array([-0.5, -0.25, -0.125]), np.array([0.75, 0.5, 0.25])
    tree = box_tree(lo, hi)
    o = rng.uniform(-3, 3, (2000, 3))
    d = rng.normal(size=(2000, 3))
    hits = raycast(tree, o, d)
    with np.errstate(divide="ignore", invalid="ignore"):
        ta, tb = (lo - o) / d, (hi - o) / d
    t0 = np.maximum(np.minimum(ta, tb).max(1), 0)
    t1 = np.maximum(ta, tb).min(1)
    expect = np.where(t0 < t1, t0, np.inf)
    assert np.array_equal(np.isinf(expect), np.isinf(hits.t))
    assert np.allclose(hits.t[hits.hit], expect[hits.hit], rtol=1e-9, atol=1e-9)
    axis = np.argmin(np.abs(o + hits.t[:, None] * d - np.where(d > 0, lo, hi)), axis=1)
    inside = np.all((o > lo) & (o < hi), axis=1)
    sel = hits.hit & ~inside
    expect_n = np.zeros((len(o), 3))
    expect_n[np.arange(len(o)), axis] = -np.sign(d[np.arange(len(o)), axis])
    assert np.allclose(hits.normal[sel], expect_n[sel])
    assert np.allclose(hits.normal[inside], -d[inside] / np.linalg.norm(d[inside], axis=1, keepdims=True))


def test_tree_is_empty_outside_its_bounds():
    tree = box_tree([-2, -2, -2], [2, 2, 2], bounds=UNIT_BOX)  # the box is cut by the bounds
    hits = raycast(tree, np.array([[-3.0, 0.0, 0.0], [0.0, 0.0, 5.0]]), np.array([[1.0, 0, 0], [0, 0, -2.0]]))
    assert np.allclose(hits.t, [2.0, 2.0])
    assert np.allclose(hits.normal, [[-1, 0, 0], [0, 0, 1]])


def test_sphere_hits_lie_on_the_tangent_planes():
    tree = sphere_tree(0.5, 200)
    rng = np.random.default_rng(4)
    o = rng.normal(size=(3000, 3))
    o *= 2.5 / np.linalg.norm(o, axis=1, keepdims=True)
    d = rng.uniform(-0.3, 0.3, (3000, 3)) - o
    hits = raycast(tree, o, d)
    p = o[hits.hit] + hits.t[hits.hit, None] * d[hits.hit]
    n = hits.normal[hits.hit]
    assert np.allclose(np.linalg.norm(n, axis=1), 1)
    assert np.all(np.einsum("ij,ij->i", n, d[hits.hit]) < 0)
    # the hit point is on the tangent plane whose (outward, so camera-facing) normal is reported
    assert np.allclose(np.einsum("ij,ij->i", n, p), 0.5, atol=1e-6)
    r = np.linalg.norm(p, axis=1)
    assert np.all((r > 0.5 - 1e-6) & (r < 0.5 / np.cos(0.2)))


def test_bad_rays_miss_and_bad_shapes_are_rejected():
    from shapetree.errors import UsageError

    tree = box_tree([-0.5] * 3, [0.5] * 3)
    o = np.array([[np.nan, 0, 0], [-2, 0, 0], [-2, 0, 0], [0, 0, 0]])
    d = np.array([[1.0, 0, 0], [np.inf, 0, 0], [0, 0, 0], [0, 0, 0]])
    hits = raycast(tree, o, d)
    assert np.isinf(hits.t[:3]).all() and hits.t[3] == 0
    with pytest.raises(UsageError):
        raycast(tree, np.zeros((2, 3)), np.zeros((3, 3)))


def test_tree_raycast_delegates():
    tree = box_tree([-0.5] * 3, [0.5] * 3)
    hits = raycast(tree, np.array([[-2.0, 0, 0]]), np.array([[1.0, 0, 0]]))
    assert hits.t[0] == pytest.approx(1.5)


# -- cameras, shading, heatmap -------------------------------------------------------------------
def test_perspective_camera_looks_at_its_target():
    from shapetree.renderer import Camera

    cam = Camera(np.array([0.0, 0.0, 5.0]), np.zeros(3), np.array([0.0, 1.0, 0.0]), fov=40)
    _, d = cam.rays(5, 3)
    assert np.allclose(np.linalg.norm(d, axis=1), 1)
    assert np.allclose(d[7], [0, 0, -1])  # the centre pixel of 5x3
    top = d[2]  # middle column, top row: a third of the half field of view up (pixel centre)
    assert np.degrees(np.arctan2(top[1], -top[2])) == pytest.approx(
        np.degrees(np.arctan(np.tan(np.radians(20)) * 2 / 3)))
    assert d[0, 0] < 0 and d[0, 1] > 0  # the first pixel is top-left


def test_orthographic_rays_are_parallel():
    from shapetree.renderer import orbit_camera

    cam = orbit_camera(UNIT_BOX, 0, 0, orthographic=True)
    o, d = cam.rays(8, 8)
    assert np.allclose(d, [0, 0, -1])
    assert np.ptp(o[:, 0]) == pytest.approx(cam.ortho_height * 7 / 8)


def test_rendered_box_matches_its_analytic_silhouette_and_shade():
    from shapetree.renderer import Camera, camera_light, render, shade

    lo, hi = np.array([-0.5, -0.25, -0.3]), np.array([0.25, 0.5, 0.3])
    tree = box_tree(lo, hi)
    cam = Camera(np.array([0.0, 0.0, 3.0]), np.zeros(3), np.array([0.0, 1.0, 0.0]), ortho_height=2.0)
    img = render(tree, cam, (64, 48))
    assert img.shape == (48, 64, 4)
    o, _ = cam.rays(64, 48)
    inside = ((o[:, 0] > lo[0]) & (o[:, 0] < hi[0]) & (o[:, 1] > lo[1]) & (o[:, 1] < hi[1])).reshape(48, 64)
    assert np.array_equal(img[..., 3] == 255, inside)
    assert np.all(img[..., 3][~inside] == 0)
    expect = shade(np.array([[0.0, 0.0, 1.0]]), np.array([[0.0, 0.0, -1.0]]), np.array([True]),
                   camera_light(cam))[0]
    assert np.all(img[inside] == expect)


def test_rendered_sphere_matches_an_analytic_sphere():
    from shapetree.renderer import orbit_camera, render

    tree = sphere_tree(0.6, 400)
    cam = orbit_camera(UNIT_BOX, 20, 30, fov=35)
    img = render(tree, cam, (96, 96))
    o, d = cam.rays(96, 96)
    # distance from the sphere's centre to each pixel's ray
    closest = np.linalg.norm(o - np.einsum("ij,ij->i", o, d)[:, None] * d, axis=1).reshape(96, 96)
    mask = img[..., 3] == 255
    assert mask[closest < 0.6 * 0.97].all()
    assert not mask[closest > 0.6 * 1.06].any()
    # where the ray meets the sphere head-on, the shade is the one of a normal facing the ray
    centre = img[48, 48, :3].astype(int)
    assert np.abs(img[closest < 0.05][:, :3].astype(int) - centre).max() <= 12


@pytest.mark.parametrize("quantized", [False, True])
def test_heatmap_counts_match_a_slow_reference(quantized):
    from shapetree.renderer import cost_image, orbit_camera

    rng = np.random.default_rng(20 + quantized)
    tree = random_tree(rng, 50, quantized=quantized)
    cam = orbit_camera(UNIT_BOX, 10, 25, margin=0.8, orthographic=quantized)
    cost = cost_image(tree, cam, (20, 16))
    o, d = cam.rays(20, 16)
    expect = []
    for k in range(len(o)):
        t, _, cells = reference_cast(tree, o[k], d[k])
        expect.append(cells + np.isfinite(t))
    assert np.array_equal(cost.ravel(), expect)


def test_heatmap_has_a_legend_and_the_cost_colours():
    from matplotlib import colormaps

    from shapetree.renderer import heatmap_image

    cost = np.tile(np.arange(100), (80, 1))[:, ::-1]  # high cost on the left
    img = heatmap_image(cost)
    assert img.shape == (80, 100, 4) and np.all(img[..., 3] == 255)
    lut = (colormaps["inferno"](np.linspace(0, 1, 256)) * 255).round().astype(np.uint8)
    assert np.array_equal(img[40, 0], lut[255])
    assert not np.array_equal(img[40, 95], lut[round(4 / 99 * 255)])  # the legend covers it


def test_normal_trees_replace_the_plane_normals():
    from shapetree.renderer import orbit_camera, render
    from shapetree.tree import Kind

    tree = box_tree([-0.5] * 3, [0.5] * 3)
    cam = orbit_camera(UNIT_BOX, 30, 20)
    # a one-leaf normal map that says "up" everywhere: the whole box gets one colour
    up = Tree(np.zeros((1, 3)), np.zeros(1), [-1], [-1], np.array([[0.0, 2.0, 0.0]]), UNIT_BOX, kind=Kind.NORMALS)
    flat = render(tree, cam, (40, 40))
    mapped = render(tree, cam, (40, 40), normal_trees=[up])
    assert np.array_equal(flat[..., 3], mapped[..., 3])
    visible = mapped[..., 3] == 255
    assert len(np.unique(mapped[visible].reshape(-1, 4), axis=0)) == 1
    assert len(np.unique(flat[visible].reshape(-1, 4), axis=0)) == 3


# -- files -------------------------------------------------------------------------------------------
def test_png_is_written_with_a_transparent_background(tmp_path):
    import imageio.v3 as iio

    from shapetree.renderer import render, write_frames

    img = render(box_tree([-0.5] * 3, [0.5] * 3), size=(32, 24))
    write_frames(tmp_path / "a.png", [img])
    back = iio.imread(tmp_path / "a.png")
    assert np.array_equal(back, img)
    assert (back[..., 3] == 0).any() and (back[..., 3] == 255).any()
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_turntables_have_the_requested_frame_count(tmp_path, suffix):
    import imageio.v3 as iio

    from shapetree.renderer import turntable, write_frames

    frames = turntable(box_tree([-0.6, -0.2, -0.4], [0.5, 0.3, 0.1]), 7, (34, 27))
    write_frames(tmp_path / f"t{suffix}", frames, fps=10)
    back = iio.imread(tmp_path / f"t{suffix}", index=None)
    assert back.shape[0] == 7
    assert back.shape[1:3] == ((27, 34) if suffix == ".gif" else (28, 34))


def test_lod_frames_are_labelled():
    from shapetree.renderer import lod_animation

    trees = [box_tree([-0.5] * 3, [0.5] * 3), sphere_tree(0.7, 30)]
    frames = lod_animation(trees, (48, 48))
    assert len(frames) == 2 and all(f.shape == (48, 48, 4) for f in frames)
    assert (frames[0][:14, :40, 3] > 0).any()  # the label is drawn on the transparent corner


# -- the command line --------------------------------------------------------------------------------
@pytest.fixture
def box_file(tmp_path):
    path = tmp_path / "box.stree"
    save(box_tree([-0.5, -0.4, -0.3], [0.5, 0.3, 0.2]), path)
    return path


def _run(*args):
    from click.testing import CliRunner

    from shapetree.cli import main

    return CliRunner().invoke(main, [str(a) for a in args])


def test_cli_renders_a_png_and_a_gif(box_file, tmp_path):
    import imageio.v3 as iio

    r = _run("render", box_file, "-o", tmp_path / "a.png", "--size", 40, 30, "--azimuth", 45)
    assert r.exit_code == 0, r.output
    assert iio.imread(tmp_path / "a.png").shape == (30, 40, 4)
    r = _run("render", box_file, "-o", tmp_path / "a.gif", "--size", 40, 30, "--frames", 4, "--heatmap")
    assert r.exit_code == 0, r.output
    assert iio.imread(tmp_path / "a.gif", index=None).shape == (4, 30, 40, 3)


@pytest.mark.parametrize("args", [
    ["--frames", "3"],  # a PNG holds one frame
    ["--normals", "{box}"],  # an occupancy tree is not a normal map
    ["--size", "0", "10"],
])
def test_cli_render_errors_are_one_line_and_write_nothing(box_file, tmp_path, args):
    args = [a.format(box=box_file) for a in args]
    r = _run("render", box_file, "-o", tmp_path / "out.png", *args)
    assert r.exit_code != 0
    assert "Traceback" not in r.output
    assert not (tmp_path / "out.png").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["box.stree"]


def test_cli_render_rejects_a_missing_tree(tmp_path):
    r = _run("render", tmp_path / "missing.stree", "-o", tmp_path / "out.png")
    assert r.exit_code == 1
    assert r.output.strip().count("\n") == 0 and "no such file" in r.output


def test_the_fused_renderer_matches_rays_cast_then_shaded():
    from shapetree.renderer import camera_light, cost_image, heatmap_image, orbit_camera, render, shade

    rng = np.random.default_rng(30)
    tree = random_tree(rng, 80)
    for cam in (orbit_camera(UNIT_BOX, 40, 15), orbit_camera(UNIT_BOX, 200, -30, orthographic=True)):
        o, d = cam.rays(37, 23)
        hits = raycast(tree, o, d)
        expect = shade(hits.normal, d, hits.hit, camera_light(cam)).reshape(23, 37, 4)
        assert np.array_equal(render(tree, cam, (37, 23)), expect)
        assert np.array_equal(render(tree, cam, (37, 23), heatmap=True),
                              heatmap_image(cost_image(tree, cam, (37, 23))))


# -- level of detail ---------------------------------------------------------------------------------
def test_truncated_trees_have_the_budget_and_converge_to_the_tree():
    from shapetree.simplifier import truncated

    rng = np.random.default_rng(40)
    tree = random_tree(rng, 300)
    pts = rng.uniform(-1, 1, (20000, 3))
    full = tree.contains(pts)
    agree = []
    for budget in (1, 8, 40, 150, 300, 1000):
        t = truncated(tree, budget, n_samples=50_000)
        assert t.n_leaves == min(budget, 300)
        assert t.n_nodes == 2 * t.n_leaves - 1
        agree.append(np.mean(t.contains(pts) == full))
    assert agree[-1] == agree[-2] == 1.0
    assert agree[0] <= agree[1] <= agree[2] <= agree[3]
    assert agree[0] >= 0.5  # one leaf holds the majority value
    full_again = truncated(tree, 300)
    assert trees_equal(full_again, tree)


def test_cli_lod_writes_one_labelled_frame_per_budget(tmp_path):
    import imageio.v3 as iio

    rng = np.random.default_rng(41)
    save(random_tree(rng, 60), tmp_path / "t.stree")
    r = _run("render", tmp_path / "t.stree", "--lod", "4,16,60", "-o", tmp_path / "lod.gif", "--size", 30, 20)
    assert r.exit_code == 0, r.output
    assert iio.imread(tmp_path / "lod.gif", index=None).shape == (3, 20, 30, 3)
    r = _run("render", tmp_path / "t.stree", "--lod", "4,16", "-o", tmp_path / "lod.png", "--size", 30, 20)
    assert r.exit_code == 0, r.output
    assert iio.imread(tmp_path / "lod.png").shape == (20, 60, 4)
    r = _run("render", tmp_path / "t.stree", "--lod", "4,0", "-o", tmp_path / "bad.png")
    assert r.exit_code == 2 and not (tmp_path / "bad.png").exists()


def test_lod_of_a_progressive_file_draws_the_files_levels(tmp_path):
    import imageio.v3 as iio

    import shapetree
    from shapetree.renderer import render_lod
    from shapetree.renderer.animation import lod_tree
    from shapetree.simplifier import truncated

    tree = random_tree(np.random.default_rng(5), 600)
    order = shapetree.simplification_order(tree, n_samples=20_000, min_leaves=16)
    path = tmp_path / "p.stree"
    save(tree, path, progressive=shapetree.detail_levels(order))
    sizes = shapetree.level_sizes(path)
    assert len(sizes) >= 3
    full = shapetree.load(path)
    levels = [shapetree.load(path, max_leaves=n) for n, _ in sizes]
    n = sizes[1][0]
    assert lod_tree(full, n, levels) is levels[1]
    assert lod_tree(full, n + 1, levels) is levels[1]  # between levels: the coarser one
    assert lod_tree(full, 3, levels).n_leaves == 3  # below every level: truncated
    assert not trees_equal(levels[1], truncated(full, n))
    r = _run("render", path, "--lod", f"{n},{sizes[-1][0]}", "-o", tmp_path / "lod.png", "--size", 40, 40)
    assert r.exit_code == 0, r.output
    want = render_lod(full, [n, sizes[-1][0]], (40, 40), side_by_side=True, levels=levels)[0]
    assert np.array_equal(iio.imread(tmp_path / "lod.png"), want)
