"""Driving the viewer like a person: drag, wheel, pinch, toggles, levels of detail, save, reset."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np


def changed(a: np.ndarray, b: np.ndarray) -> float:
    """Fraction of pixels that differ."""
    return float(np.any(a != b, axis=-1).mean())


def canvas_centre(viewer) -> tuple[float, float]:
    box = viewer.page.locator("#view").bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def test_dragging_orbits_the_camera(viewer):
    viewer.render()
    before = viewer.pixels()
    x, y = canvas_centre(viewer)
    mouse = viewer.page.mouse
    mouse.move(x, y)
    mouse.down()
    mouse.move(x + 60, y + 20, steps=6)
    mouse.up()
    viewer.render()
    camera = viewer.js("shapetreeViewer.getCamera()")
    assert camera["azimuth"] == 30 - 0.4 * 60 and camera["elevation"] == 20 + 0.4 * 20
    assert changed(before, viewer.pixels()) > 0.05


def test_shift_drag_pans_and_the_wheel_zooms(viewer):
    viewer.render()
    before = viewer.pixels()
    x, y = canvas_centre(viewer)
    page = viewer.page
    page.keyboard.down("Shift")
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 40, y, steps=4)
    page.mouse.up()
    page.keyboard.up("Shift")
    pan = viewer.js("shapetreeViewer.getCamera().pan")
    assert pan[0] < 0 and pan[1] == 0  # the target moved left: the model right
    viewer.render()
    panned = viewer.pixels()
    # the silhouette moved right by about 40 pixels
    shift = np.argmax((panned[..., 3] > 0).any(0)) - np.argmax((before[..., 3] > 0).any(0))
    assert 30 <= shift <= 50, shift
    page.mouse.wheel(0, -300)
    viewer.js("new Promise(requestAnimationFrame)")
    assert viewer.js("shapetreeViewer.getCamera().margin") < 1
    viewer.render()
    assert (viewer.pixels()[..., 3] > 0).sum() > 1.2 * (panned[..., 3] > 0).sum()  # closer: bigger


def test_two_finger_pinch_zooms(viewer):
    viewer.render()
    before = (viewer.pixels()[..., 3] > 0).sum()
    x, y = canvas_centre(viewer)
    cdp = viewer.page.context.new_cdp_session(viewer.page)

    def touch(kind, spread):
        points = [] if kind == "touchEnd" else [{"x": x - spread, "y": y, "id": 1}, {"x": x + spread, "y": y, "id": 2}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    touch("touchStart", 20)
    for spread in (30, 40, 50, 60):
        touch("touchMove", spread)
    touch("touchEnd", 0)
    margin = viewer.js("shapetreeViewer.getCamera().margin")
    assert abs(margin - 20 / 60) < 0.02, margin  # fingers three times as far apart: a third of the distance
    viewer.render()
    assert (viewer.pixels()[..., 3] > 0).sum() > 2 * before


def test_set_camera_is_a_whole_orbit_camera(viewer):
    viewer.js("shapetreeViewer.setCamera({orthographic: true, fov: 50, margin: 2})")
    viewer.js("shapetreeViewer.setCamera({azimuth: 10})")  # what is not given is orbit_camera's default
    assert viewer.js("shapetreeViewer.getCamera()") == {"azimuth": 10, "elevation": 20, "up": "y", "fov": 30,
                                                       "orthographic": False, "margin": 1, "pan": [0, 0]}


def test_reset_restores_the_first_view(viewer):
    viewer.render()
    first = viewer.pixels()
    viewer.render(azimuth=100, elevation=-30, margin=0.7, pan=[0.2, 0.1])
    assert changed(first, viewer.pixels()) > 0.05
    viewer.page.click("#reset")
    viewer.render()
    assert np.array_equal(first, viewer.pixels())


def test_each_toggle_changes_the_image(viewer):
    viewer.render()
    normal_mapped = viewer.pixels()
    assert viewer.page.is_checked("#normal-map")
    viewer.page.click("#normal-map")
    viewer.render()
    flat = viewer.pixels()
    hit = flat[..., 3] > 0
    assert np.array_equal(hit, normal_mapped[..., 3] > 0)  # same silhouette, other shading
    assert changed(flat[hit], normal_mapped[hit]) > 0.3
    viewer.page.click("#heatmap")
    viewer.render()
    heat = viewer.pixels()
    assert (heat[..., 3] == 255).all()  # the heatmap colours every pixel
    assert changed(heat, flat) > 0.5
    legend = viewer.js("""(() => { const c = document.getElementById('overlay');
        return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data).filter((v, i) => i % 4 == 3
        && v > 0).length; })()""")
    assert legend > 500  # the colour bar is drawn


def test_the_detail_picker_changes_the_leaf_count(viewer):
    viewer.render()
    full = viewer.pixels()
    options = viewer.js("Array.from(document.querySelectorAll('#lod option'), o => o.value)")
    assert options == ["16", "64", "256", "1024", "2048"]
    viewer.page.select_option("#lod", "64")
    frame = viewer.render()
    assert frame["leaves"] == 64 and frame["totalLeaves"] == 2048
    assert "64 of 2048 leaves" in viewer.js("document.getElementById('readout').textContent")
    coarse = viewer.pixels()
    assert changed(full, coarse) > 0.05
    a, b = full[..., 3] > 0, coarse[..., 3] > 0
    assert (a & b).sum() / (a | b).sum() > 0.6  # still the bunny, roughly
    viewer.page.select_option("#lod", "2048")
    viewer.render()
    assert np.array_equal(full, viewer.pixels())


def test_save_png_writes_the_view(viewer):
    from PIL import Image

    viewer.render()
    shown = viewer.pixels()
    with viewer.page.expect_download() as download:
        viewer.page.click("#save")
    assert download.value.suggested_filename == "bunny.png"
    saved = np.asarray(Image.open(io.BytesIO(Path(download.value.path()).read_bytes())).convert("RGBA"))
    opaque = shown[..., 3] == 255
    assert saved.shape == shown.shape and np.array_equal(saved[opaque], shown[opaque])
    assert (saved[~opaque, 3] == 0).all()
