"""Fixtures of the viewer tests: a small bunny tree with a normal map, the viewer's server, and a
headless Chromium (WebGL2 on SwiftShader) driven by Playwright; skipped when Chromium is absent."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run"]
SIZE = 256  # pixels: the comparisons with the Python renderer are made at SIZE x SIZE
_NOISE = ("GPU stall due to ReadPixels",)  # Chromium's performance notes, not errors


@pytest.fixture(scope="session")
def trees_dir(tmp_path_factory, bunny_lowres_path) -> Path:
    """bunny.stree (about 2k leaves, seed 0, quantised planes), bunny-lossless.stree (the same tree,
    float32 planes) and bunny-normals.stree (quantised planes), built once per session."""
    import shapetree
    from shapetree.formats import write_trees
    
    out = tmp_path_factory.mktemp("viewer-trees")
    tree = shapetree.build(bunny_lowres_path, max_leaves=2048, seed=0, progress=False)
    shapetree.save(tree, out / "bunny.stree")
    shapetree.save(tree, out / "bunny-lossless.stree", lossless=True)
    write_trees(out / "bunny-normals.stree",
                shapetree.fit_normals(bunny_lowres_path, tree.bounds, max_leaves=256, samples=20_000, seed=0))
    return out


@pytest.fixture(scope="session")
def server(trees_dir):
    from shapetree.viewer.server import ViewerServer

    with ViewerServer([trees_dir / "bunny.stree"], trees_dir / "bunny-normals.stree").start() as s:
        yield s


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


class Viewer:
    """A page of the viewer, with the console errors it logged."""

    size = SIZE

    def __init__(self, page):
        self.page = page
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def open(self, url: str) -> Viewer:
        self.page.goto(url)
        self.page.evaluate("shapetreeViewer.ready")
        return self

    def js(self, expression: str, arg=None):
        return self.page.evaluate(expression, arg)

    def render(self, **camera) -> dict:
        if camera:
            self.js("(c) => shapetreeViewer.setCamera(c)", camera)
        return self.js("shapetreeViewer.renderFrame()")

    def pixels(self) -> np.ndarray:
        """(h, w, 4) uint8 of the last frame."""
        raw = base64.b64decode(self.js("shapetreeViewer.pixels()"))
        w, h = self.js("[document.getElementById('view').width, document.getElementById('view').height]")
        return np.frombuffer(raw, np.uint8).reshape(h, w, 4)

    def costs(self) -> np.ndarray:
        raw = base64.b64decode(self.js("shapetreeViewer.costs()"))
        w, h = self.js("[document.getElementById('view').width, document.getElementById('view').height]")
        return np.frombuffer(raw, "<u4").reshape(h, w)

    def message(self) -> str:
        return self.js("shapetreeViewer.status().message")

    def console_errors(self) -> list[str]:
        return [e for e in self.errors if not any(n in e for n in _NOISE)]


@pytest.fixture
def viewer(browser, server):
    """The viewer at SIZE x SIZE on the bunny and its normal map; fails on console errors."""
    page = browser.new_page(viewport={"width": 900, "height": 700})
    v = Viewer(page).open(server.url + f"?size={SIZE}x{SIZE}")
    yield v
    errors = v.console_errors()
    page.close()
    assert not errors, f"console errors: {errors}"


@pytest.fixture
def new_page(browser):
    pages = []

    def make():
        pages.append(Viewer(browser.new_page(viewport={"width": 900, "height": 700})))
        return pages[-1]

    yield make
    for p in pages:
        p.page.close()
