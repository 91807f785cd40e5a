"""``export-web`` writes a static site any static server can host; ``view`` and ``export-web`` on the
command line: one line and a non-zero exit for every mistake."""

from __future__ import annotations

import functools
import json
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner

from shapetree import FormatError, UsageError
from shapetree.cli import main
from shapetree.viewer.site import MARKER, export_site


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def test_the_site_holds_the_viewer_and_the_trees(trees_dir, tmp_path):
    out = export_site(trees_dir / "bunny.stree", trees_dir / "bunny-normals.stree", tmp_path / "site")
    assert (out / "index.html").is_file() and (out / "shaders" / "trace.frag").is_file() and (out / MARKER).is_file()
    assert (out / "trees" / "bunny.stree").read_bytes() == (trees_dir / "bunny.stree").read_bytes()
    assert json.loads((out / "trees.json").read_text()) == [
        {"name": "bunny", "model": "trees/bunny.stree", "normals": "trees/bunny-normals.stree"}]
    assert [p.name for p in tmp_path.iterdir()] == ["site"]  # no temporary folder left behind


def test_a_site_is_replaced_but_no_other_folder(trees_dir, tmp_path):
    out = tmp_path / "site"
    export_site(trees_dir / "bunny.stree", trees_dir / "bunny-normals.stree", out)
    export_site(trees_dir / "bunny.stree", None, out)
    assert json.loads((out / "trees.json").read_text())[0]["normals"] is None
    assert not (out / "trees" / "bunny-normals.stree").exists()
    (tmp_path / "empty").mkdir()
    export_site(trees_dir / "bunny.stree", None, tmp_path / "empty")
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(UsageError, match="not empty and not a shapetree site"):
        export_site(trees_dir / "bunny.stree", None, other)
    assert [p.name for p in other.iterdir()] == ["notes.txt"]
    with pytest.raises(UsageError, match="not a folder"):
        export_site(trees_dir / "bunny.stree", None, other / "notes.txt")
    with pytest.raises(FormatError, match="no such file"):
        export_site(tmp_path / "none.stree", None, tmp_path / "site2")
    assert not (tmp_path / "site2").exists()


def test_the_site_renders_from_a_plain_static_server(trees_dir, tmp_path, new_page):
    out = export_site(trees_dir / "bunny.stree", trees_dir / "bunny-normals.stree", tmp_path / "site")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(out)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        v = new_page().open(f"http://127.0.0.1:{httpd.server_address[1]}/?size=96x96")
        frame = v.render()
        assert v.message() == "" and frame["leaves"] == 2048
        assert (v.pixels()[..., 3] > 0).mean() > 0.1
        assert v.js("document.getElementById('gallery').options.length") == 2  # "(local file)" and bunny
        assert not v.console_errors()
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_export_web_on_the_command_line(trees_dir, tmp_path):
    runner = CliRunner()
    ok = runner.invoke(main, ["export-web", str(trees_dir / "bunny.stree"), "-o", str(tmp_path / "s")])
    assert ok.exit_code == 0 and "wrote" in ok.output and (tmp_path / "s" / "index.html").is_file()
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("x")
    bad = runner.invoke(main, ["export-web", str(trees_dir / "bunny.stree"), "-o", str(tmp_path / "busy")])
    assert bad.exit_code == 2 and "Traceback" not in bad.output
    expected = f"{tmp_path / 'busy'}: folder is not empty and not a shapetree site; choose a new or empty folder"
    assert bad.output.strip().splitlines() == [f"shapetree: error: {expected}"]
    wrong = runner.invoke(main, ["export-web", str(trees_dir / "bunny-normals.stree"), "-o", str(tmp_path / "t")])
    assert wrong.exit_code == 1 and len(wrong.output.strip().splitlines()) == 1


def test_view_on_the_command_line_checks_before_serving(trees_dir, tmp_path):
    runner = CliRunner()
    missing = runner.invoke(main, ["view", str(tmp_path / "none.stree"), "--no-browser"])
    assert missing.exit_code == 1 and missing.output.strip().endswith("no such file")
    wrong = runner.invoke(main, ["view", str(trees_dir / "bunny.stree"), "--normals", str(trees_dir / "bunny.stree"),
                                 "--no-browser"])
    assert wrong.exit_code == 1 and "normals tree is needed" in wrong.output
    assert runner.invoke(main, ["view", "--no-browser"]).exit_code == 2


def test_view_serves_until_interrupted(trees_dir, monkeypatch, capsys):
    from shapetree.viewer import server

    started = []

    def interrupt(self):
        started.append(self.url)
        raise KeyboardInterrupt

    monkeypatch.setattr(server.ViewerServer, "serve_forever", interrupt)
    server.serve([trees_dir / "bunny.stree"], open_browser=False)
    out = capsys.readouterr().out
    assert started and f"shapetree viewer at {started[0]}" in out and out.strip().endswith("stopped")


def test_shapetree_view_prints_the_url_serves_and_stops_on_ctrl_c(trees_dir):
    import os
    import signal
    import subprocess
    import sys
    import urllib.request
    from pathlib import Path

    import shapetree

    env = {**os.environ, "PYTHONPATH": str(Path(shapetree.__file__).parents[1])}
    proc = subprocess.Popen([sys.executable, "-m", "shapetree", "view", str(trees_dir / "bunny.stree"), "--no-browser"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        url = line.split(" at ", 1)[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url + "trees.json", timeout=10) as r:
            assert json.loads(r.read())[0]["name"] == "bunny"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 0 and out.strip() == "stopped" and err == ""
