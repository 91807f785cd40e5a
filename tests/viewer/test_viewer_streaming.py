"""A progressive file streamed to the viewer from a slow server: the coarse level is on screen before
the rest of the file has arrived, then every finer level in turn, ending at the full tree."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import shapetree

PAUSE = 0.3  # seconds between levels


@pytest.fixture(scope="module")
def slow_server(trees_dir, tmp_path_factory):
    tree = shapetree.load(trees_dir / "bunny.stree")
    order = shapetree.simplification_order(tree, n_samples=50_000)
    path = tmp_path_factory.mktemp("streaming") / "lod.stree"
    shapetree.save(tree, path, progressive=shapetree.detail_levels(order))
    data = path.read_bytes()
    cuts = [b for _, b in shapetree.level_sizes(path)]
    sent = []
    seen_first = threading.Event()  # the test has looked at the coarse level: the rest may come

    class Slow(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path != "/lod.stree":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            done = 0
            for cut in cuts:  # one level's bytes at a time
                self.wfile.write(data[done:cut])
                self.wfile.flush()
                done = cut
                sent.append(done)
                if len(sent) == 1:
                    seen_first.wait(120)
                time.sleep(PAUSE)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield (f"http://127.0.0.1:{httpd.server_address[1]}/lod.stree", [n for n, _ in shapetree.level_sizes(path)], sent,
           len(data), seen_first)
    seen_first.set()
    httpd.shutdown()


def test_the_coarse_level_shows_first_and_refines_to_the_full_tree(new_page, server, slow_server):
    url, levels, sent, size, seen_first = slow_server
    assert levels[0] == 16 and levels[-1] == 2048 and len(levels) >= 5
    viewer = new_page()
    viewer.page.goto(server.url + f"?size=64x64&model={url}")
    viewer.page.wait_for_function("() => window.shapetreeViewer && (shapetreeViewer.status().leaves || 0) > 0")
    first = viewer.js("shapetreeViewer.status()")
    # on screen while the file is still arriving (the server holds the rest back until here)
    assert first["leaves"] == 16 and sent == [sent[0]] and sent[0] < size
    seen_first.set()
    assert first["levels"] == levels
    viewer.js("shapetreeViewer.ready")
    viewer.js("new Promise(requestAnimationFrame)")
    status = viewer.js("shapetreeViewer.status()")
    assert status["error"] is None and status["leaves"] == 2048 and status["totalLeaves"] == 2048
    shown = status["shown"]
    assert shown[0] == first["leaves"] == 16 and shown[-1] == 2048 and shown == sorted(shown) and len(shown) >= 3
    options = viewer.page.eval_on_selector_all("#lod option", "os => os.map(o => [Number(o.value), o.disabled])")
    assert options == [[n, False] for n in levels]
    viewer.page.select_option("#lod", str(levels[2]))
    viewer.js("new Promise(requestAnimationFrame)")
    assert viewer.render()["leaves"] == levels[2]
    assert not viewer.console_errors()
