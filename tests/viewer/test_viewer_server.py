"""The viewer's server answers on loopback only, with its own files and the trees it was given."""

from __future__ import annotations

import http.client
import json

import pytest

from shapetree import FormatError, UsageError
from shapetree.viewer.server import ViewerServer


def get(server, path: str, method: str = "GET", host: str | None = None) -> tuple[int, bytes]:
    port = int(server.url.rsplit(":", 1)[1].strip("/"))
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    # putrequest sends the path exactly as given: no client-side normalisation of '..' or '%2e'
    conn.putrequest(method, path, skip_host=host is not None)
    if host is not None:
        conn.putheader("Host", host)
    conn.endheaders()
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body


def test_serves_the_viewer_the_gallery_and_the_trees(server, trees_dir):
    status, body = get(server, "/")
    assert status == 200 and b'<script type="module" src="main.js">' in body
    assert get(server, "/shaders/trace.frag")[0] == 200
    status, body = get(server, "/trees.json")
    entries = json.loads(body)
    assert entries == [{"name": "bunny", "model": "trees/bunny.stree", "normals": "trees/bunny-normals.stree"}]
    status, body = get(server, "/trees/bunny.stree")
    assert status == 200 and body == (trees_dir / "bunny.stree").read_bytes()
    status, body = get(server, "/trees/bunny.stree?x=1", method="HEAD")
    assert status == 200 and body == b""


@pytest.mark.parametrize("path", [
    "/../server.py", "/trees/../../server.py", "/shaders/../../files.py", "/%2e%2e/server.py",
    "/%2E%2E/%2E%2E/etc/passwd", "/trees/%2e%2e%2fbunny.stree", "/..%2fserver.py", "/%252e%252e/server.py",
    "/trees%2fbunny.stree", "//etc/passwd", "http://127.0.0.1/etc/passwd", "/etc/passwd", "/server.py",
    "/trees/", "/shaders/", "/shaders", "/trees/other.stree", "/trees/bunny.STREE", "/main.js%00.html",
    "/..\\server.py", "*",
])
def test_refuses_anything_else(server, path):
    status, body = get(server, path)
    assert status in (400, 403, 404), (path, status)
    assert b"def " not in body and b"root:" not in body and len(body) < 200


def test_refuses_other_hosts_and_methods(server):
    assert get(server, "/", host="evil.example:80")[0] == 403  # a DNS-rebinding page
    assert get(server, "/", host="localhost:1")[0] == 403
    assert get(server, "/", method="POST")[0] == 405
    assert get(server, "/", method="PUT")[0] == 405


def test_listens_on_loopback_only(trees_dir):
    with pytest.raises(UsageError, match="loopback"):
        ViewerServer([trees_dir / "bunny.stree"], host="0.0.0.0")
    with ViewerServer([trees_dir / "bunny.stree"], host="localhost") as s:
        assert s.url.startswith("http://127.0.0.1:")


def test_checks_the_trees_before_serving(trees_dir, tmp_path):
    with pytest.raises(FormatError, match="no such file"):
        ViewerServer([tmp_path / "missing.stree"])
    with pytest.raises(FormatError, match="occupancy tree is needed"):
        ViewerServer([trees_dir / "bunny-normals.stree"])
    with pytest.raises(FormatError, match="normals tree is needed"):
        ViewerServer([trees_dir / "bunny.stree"], trees_dir / "bunny.stree")
    bad = tmp_path / "bad.stree"
    bad.write_bytes((trees_dir / "bunny.stree").read_bytes()[:-9])
    with pytest.raises(FormatError, match="checksum mismatch"):
        ViewerServer([bad])


def test_several_trees_form_the_gallery_under_distinct_names(trees_dir, tmp_path):
    other = tmp_path / "bunny.stree"
    other.write_bytes((trees_dir / "bunny.stree").read_bytes())
    with ViewerServer([trees_dir / "bunny.stree", other]).start() as s:
        entries = json.loads(get(s, "/trees.json")[1])
        assert [e["model"] for e in entries] == ["trees/bunny.stree", "trees/bunny-2.stree"]
        assert get(s, "/trees/bunny-2.stree")[0] == 200
