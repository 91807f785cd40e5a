"""A bad file is a clear message on the page, never a blank canvas or a console error."""

from __future__ import annotations

import base64

from shapetree import FormatError
from shapetree.formats import decode_stree as decode_trees

DROP = """async ([b64s, names]) => {
  const dt = new DataTransfer();
  b64s.forEach((b64, k) => dt.items.add(new File([Uint8Array.from(atob(b64), c => c.charCodeAt(0))], names[k])));
  document.getElementById('stage').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true }));
  await shapetreeViewer.loaded();
}"""


def drop(viewer, files: dict[str, bytes]) -> None:
    viewer.js("() => { document.getElementById('message').textContent = ''; }")
    viewer.js(DROP, [[base64.b64encode(b).decode() for b in files.values()], list(files)])


def python_message(data: bytes, name: str) -> str:
    try:
        decode_trees(data, name)
    except FormatError as e:
        return str(e)
    raise AssertionError("the file is valid")


def test_a_truncated_dropped_file_says_so(viewer, trees_dir):
    viewer.render()
    good = viewer.pixels()
    cut = (trees_dir / "bunny.stree").read_bytes()[:1000]
    drop(viewer, {"cut.stree": cut})
    assert viewer.message() == python_message(cut, "cut.stree")
    assert "checksum mismatch" in viewer.message()
    assert viewer.page.locator("#message.error").is_visible()
    viewer.render()
    assert (viewer.pixels() == good).all()  # the model shown before stays


def test_dropping_a_tree_and_its_normal_map_shows_them(viewer, trees_dir):
    disabled = "document.getElementById('normal-map').disabled"
    model = (trees_dir / "bunny.stree").read_bytes()
    normals = (trees_dir / "bunny-normals.stree").read_bytes()
    drop(viewer, {"a.stree": model})
    assert viewer.message() == "" and viewer.js(disabled)  # a tree alone: no normal map
    viewer.render()
    flat = viewer.pixels()
    drop(viewer, {"a.stree": model, "n.stree": normals})
    assert viewer.message() == "" and not viewer.js(disabled)
    viewer.render()
    assert (viewer.pixels() != flat).any(axis=-1).mean() > 0.1
    drop(viewer, {"n.stree": normals, "m.stree": normals})
    assert viewer.message() == "drop one occupancy tree and at most one normal map at a time"


def open_model(new_page, server, route_bytes: bytes | None, url: str = "bad.stree"):
    v = new_page()
    if route_bytes is not None:
        v.page.route(f"**/{url}", lambda r: r.fulfill(status=200, body=route_bytes,
                                                      content_type="application/octet-stream"))
    v.open(server.url + f"?size=128x128&model={url}")
    return v


def test_a_corrupted_model_url_shows_the_reason_and_no_canvas_is_left_blank(new_page, server, trees_dir):
    data = bytearray((trees_dir / "bunny.stree").read_bytes())
    data[500] ^= 0x10
    v = open_model(new_page, server, bytes(data))
    assert v.message() == "bad.stree: checksum mismatch (file is corrupted or truncated)"
    assert v.page.locator("#message.error").is_visible()
    assert not v.console_errors()


def test_other_bad_files_name_their_problem(new_page, server, trees_dir):
    cases = {
        b"hello, this is not a tree at all, just some text padded out to 60 bytes": "not a .stree file",
        (trees_dir / "bunny.stree").read_bytes()[:4] + b"\x03" + (trees_dir / "bunny.stree").read_bytes()[5:]:
            "unsupported .stree version 3",
        (trees_dir / "bunny-normals.stree").read_bytes(): "holds a normals tree, a occupancy tree is needed",
    }
    for data, text in cases.items():
        v = open_model(new_page, server, data)
        assert text in v.message(), v.message()
        assert not v.console_errors()


def test_a_missing_model_url_says_so(new_page, server):
    v = open_model(new_page, server, None, "nothing-here.stree")
    assert v.message() == "nothing-here.stree: HTTP 404 Not Found"
