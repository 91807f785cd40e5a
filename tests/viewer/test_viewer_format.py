"""The viewer's JavaScript modules agree with the Python ones: the .stree reader (every check, the
same message), the camera, the colour map and the levels of detail."""

from __future__ import annotations

import base64
import re
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from factories import cad_like, chain_tree, random_tree
from stree_files import (
    chunk_crcs_fixed,
    compact,
    header_size,
    inflated,
    long_framed,
    rewrapped,
    sizes_at,
    table,
    with_table,
)

import shapetree
from shapetree import FormatError
from shapetree.formats import decode_stree as decode_trees
from shapetree.formats.stree_v1 import encode_trees as encode_v1
from shapetree.renderer import orbit_camera

STATIC = Path(shapetree.__file__).parent / "viewer" / "static"

DECODE = """async ([b64, name]) => {
  const { decodeTrees } = await import('./stree.js');
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  try {
    const f = await decodeTrees(bytes.buffer, name);
    return { kind: f.kind, bounds: Array.from(f.bounds), trees: f.trees.map(t => ({ nLeaves: t.nLeaves,
      depth: t.depth, planes: Array.from(t.planes), next: Array.from(t.next) })) };
  } catch (e) { return { error: e.message, type: e.name }; }
}"""


@pytest.fixture(scope="module")
def page(browser, server):
    p = browser.new_page()
    p.goto(server.url + "?size=16x16")
    p.evaluate("shapetreeViewer.ready")
    yield p
    p.close()


def js_decode(page, data: bytes, name: str = "f.stree") -> dict:
    return page.evaluate(DECODE, [base64.b64encode(data).decode(), name])


def py_decode(data: bytes, name: str = "f.stree") -> str | list:
    try:
        return decode_trees(data, name)
    except FormatError as e:
        return str(e)


def with_crc(body: bytes) -> bytes:
    return body + struct.pack("<I", zlib.crc32(body))


def test_valid_files_decode_to_the_same_trees(page, trees_dir):
    codings = {name: (trees_dir / name).read_bytes()[6] for name in ("bunny.stree", "bunny-lossless.stree")}
    assert codings == {"bunny.stree": 4, "bunny-lossless.stree": 0}
    files = [(name, (trees_dir / name).read_bytes()) for name in ("bunny.stree", "bunny-lossless.stree",
                                                                  "bunny-normals.stree")]
    assert all(data[7] == 2 for _, data in files)  # built trees: the compact header
    from shapetree.formats import encode_trees

    tree = decode_trees(files[1][1])[0]  # the same tree with a stored frame: the long header
    files += [("long.stree", encode_trees([long_framed(tree)])), ("long-lossless.stree",
                                                                  encode_trees([long_framed(tree)], lossless=True))]
    assert all(data[7] == 0 for _, data in files[3:])
    for name, data in files:
        got = js_decode(page, data, name)
        trees = decode_trees(data, name)
        assert got["kind"] == trees[0].kind and np.array_equal(got["bounds"], trees[0].bounds.reshape(-1))
        for js, t in zip(got["trees"], trees, strict=True):
            leaf = t.left < 0
            nxt = np.asarray(js["next"])
            assert js["nLeaves"] == t.n_leaves and js["depth"] == t.depth
            assert np.array_equal(nxt[~leaf], t.right[~leaf])
            assert np.array_equal(t.left[~leaf], np.flatnonzero(~leaf) + 1)  # what the viewer relies on
            planes = np.asarray(js["planes"], np.float32).reshape(-1, 4)
            assert np.array_equal(planes[~leaf, :3], t.normal[~leaf])
            assert np.array_equal(planes[~leaf, 3], t.offset[~leaf])
            if t.kind == shapetree.Kind.OCCUPANCY:
                assert np.array_equal(nxt[leaf] == -2, t.value[leaf])
            else:
                assert np.array_equal(planes[leaf, :3], t.value[leaf])


def broken_files(data: bytes, rng) -> list[tuple[str, bytes]]:
    """Damaged versions of a valid occupancy file, each a different check of the reader."""
    body = data[:-4]
    n_leaves = struct.unpack_from("<I", body, 56)[0]
    out = [
        ("empty", b""), ("short", data[:40]), ("magic", b"STRX" + data[4:]), ("version", data[:4] + b"\x02" + data[5:]),
        ("kind", data[:5] + b"\x07" + data[6:]), ("crc", data[:-1] + bytes([data[-1] ^ 1])),
        ("bounds", with_crc(body[:8] + struct.pack("<d", np.nan) + body[16:])),
        ("ordered", with_crc(body[:8] + struct.pack("<d", 1e9) + body[16:])),
        ("count0", with_crc(body[:6] + struct.pack("<H", 0) + body[8:])),
        ("count2", with_crc(body[:6] + struct.pack("<H", 2) + body[8:])),
        ("leaves0", with_crc(body[:56] + struct.pack("<I", 0) + body[60:])),
        ("leaves-huge", with_crc(body[:56] + struct.pack("<I", 1 << 29) + body[60:])),
        ("leaves-lie", with_crc(body[:56] + struct.pack("<I", n_leaves + 5) + body[60:])),
        ("leaves-fewer", with_crc(body[:56] + struct.pack("<I", n_leaves - 5) + body[60:])),
        ("trailing", with_crc(body + b"\x00" * 4)),
        ("no-tree", with_crc(body[:56])),
        ("plane-inf", with_crc(body[:-8] + struct.pack("<f", np.inf) + body[-4:])),
    ]
    for k in range(12):  # damaged structure bits, checksum made right again
        b = bytearray(body)
        b[60 + int(rng.integers(0, 40))] ^= 1 << int(rng.integers(0, 8))
        out.append((f"bits{k}", with_crc(bytes(b))))
    for k in range(6):
        out.append((f"cut{k}", data[: int(rng.integers(60, len(data)))]))
    return out


def test_broken_v1_files_fail_with_the_python_message(page):
    data = encode_v1([random_tree(np.random.default_rng(4), 300)])
    for label, broken in broken_files(data, np.random.default_rng(0)):
        expected = py_decode(broken, f"{label}.stree")
        got = js_decode(page, broken, f"{label}.stree")
        if isinstance(expected, str):
            assert got.get("type") == "FormatError", (label, expected, got)
            assert got["error"] == expected, label
        else:  # a flipped bit that still makes a valid tree: both read it
            assert "error" not in got, (label, got)


def broken_v2_files(data: bytes, rng) -> list[tuple[str, bytes, bool]]:
    """Damaged versions of a valid v2 file, long or compact header: (label, bytes, whether the messages
    must be equal -- damage inside the deflate stream is reported by each side's own inflater)."""
    body = data[:-4]
    size = header_size(data)
    sizes = sizes_at(data)

    def at(offset: int, fmt: str, *value) -> bytes:
        b = bytearray(body)
        struct.pack_into(fmt, b, offset, *value)
        return with_crc(bytes(b))

    out = [("short", data[:90], True), ("shorter", data[:60], True), ("crc", data[:-1] + bytes([data[-1] ^ 1]), True),
           ("kind", at(5, "<B", 9), True), ("coding", at(6, "<B", 5), True), ("flags", at(7, "<B", 4), True),
           ("flags-high", at(7, "<B", data[7] | 0x80), True), ("compact-flag", at(7, "<B", data[7] ^ 2), True),
           ("count", at(8, "<H", 3), True), ("raw-huge", at(sizes, "<I", 2**31 + 1), True),
           ("raw-short", at(sizes, "<I", 10), True), ("packed", at(sizes + 4, "<I", 7), True),
           ("packed-huge", at(sizes + 4, "<I", 2**32 - 1), True), ("trailing", with_crc(body + b"\x00"), True)]
    if compact(data):
        out += [("bounds", at(10, "<d", np.nan), True), ("ordered", at(10, "<d", 1e300), True),
                ("flat-box", at(10, "<6d", 1.0, 2.0, 3.0, 1.0, 2.0, 3.0), True),
                ("huge-box", at(10, "<6d", -1.7e308, 0, 0, 1.7e308, 1, 1), True),
                ("tiny-box", at(10, "<6d", 0, 0, 0, 5e-324, 1e-323, 0), True)]
    else:
        out += [("reserved", at(10, "<H", 1), True), ("bounds", at(12, "<d", np.nan), True),
                ("origin", at(60, "<d", np.inf), True), ("scale", at(84, "<d", 0.0), True)]
    for k in range(6):
        b = bytearray(body)
        b[size + int(rng.integers(0, len(body) - size))] ^= 1 << int(rng.integers(0, 8))
        out.append((f"payload{k}", with_crc(bytes(b)), False))
    for k in range(4):
        out.append((f"cut{k}", data[: int(rng.integers(size, len(data)))], True))
    return out


@pytest.fixture(scope="module", params=[(4, "compact"), (3, "compact"), (4, "long")])
def quantised_file(request, trees_dir) -> bytes:
    """The bunny in plane coding 4 (as saved) and 3, with the compact header (its own frame) and the long one."""
    from shapetree.formats import encode_trees

    coding, layout = request.param
    if (coding, layout) == (4, "compact"):
        data = (trees_dir / "bunny.stree").read_bytes()
    else:
        tree = decode_trees((trees_dir / "bunny-lossless.stree").read_bytes())[0]
        data = encode_trees([tree if layout == "compact" else long_framed(tree)], coding=coding)
    assert data[6] == coding and compact(data) == (layout == "compact")
    return data


def test_broken_v2_files_fail_like_the_python_reader(page, quantised_file):
    data = quantised_file
    assert data[4] == 2
    for label, broken, same in broken_v2_files(data, np.random.default_rng(0)):
        expected = py_decode(broken, f"{label}.stree")
        got = js_decode(page, broken, f"{label}.stree")
        if not isinstance(expected, str):  # raw deflate has no Adler-32: a flipped bit may still inflate
            assert not same and compact(data), label  # to a valid tree (the file's CRC was made right): the same
            assert_same_planes(got, expected[0])
            continue
        assert got.get("type") == "FormatError", (label, expected, got)
        if same:
            assert got["error"] == expected, label
        else:
            assert got["error"].startswith(f"{label}.stree: "), (label, got)


def assert_same_planes(got: dict, q) -> None:
    """The browser's planes (a decoded file's first tree) are bit for bit the quantised tree ``q``'s."""
    assert "error" not in got, got
    planes = np.asarray(got["trees"][0]["planes"], np.float32).reshape(-1, 4)
    branch = q.left >= 0
    assert planes[branch].view(np.uint32).tolist() == np.concatenate(
        [q.normal[branch], q.offset[branch, None]], 1).astype(np.float32).view(np.uint32).tolist()


@pytest.mark.parametrize("coding", [1, 2, 3, 4])
def test_quantised_planes_are_the_python_ones_bit_for_bit(page, coding):
    # many tiny cells, planes that miss their cells, far-away bounds: every branch of the box rules
    from shapetree.formats import encode_trees, quantize
    from shapetree.tree import bounds_frame

    bounds = np.array([[-3e7, 1e7, 5.0], [-3e7 + 12, 1e7 + 7, 9.0]])
    origin, scale = bounds_frame(bounds)
    cases = [(seed, n_leaves, cad) for seed, n_leaves in ((0, 1), (1, 2), (2, 700), (3, 400)) for cad in (False, True)]
    for seed, n_leaves, cad in cases:
        rng = np.random.default_rng(seed)
        unit = random_tree(rng, n_leaves, bounds=(bounds - origin) / scale)
        tree = unit.replace(bounds=bounds, origin=origin, scale=scale)
        if cad:  # axis planes (exact escapes), repeated planes (reuse escapes), zero components
            tree = cad_like(tree, rng)
        for t in (tree, long_framed(tree)):  # the compact header and the long one
            data = encode_trees([t], coding=coding)
            assert data[6] == coding
            assert_same_planes(js_decode(page, data), quantize(t, coding=coding))


def cell_trees(trees_dir: Path) -> list[tuple[str, shapetree.Tree]]:
    """Trees that reach coding 3's every rule: a built bunny (2k leaves), a chain deeper than CELL_DEPTH
    (boxes below it) whose cells come near CELL_VERTICES, planes through one point (quantised: near it),
    exact axis planes through a corner of a simplex again and again (a vertex on more planes than it may
    keep: the cell becomes its box, which later planes see), and CAD-like planes (escapes in cells; repeated planes make over CELL_VERTICES cuts:
    box fallback)."""
    from shapetree.formats.cells import CELL_DEPTH

    rng = np.random.default_rng(9)
    bunny = decode_trees((trees_dir / "bunny-lossless.stree").read_bytes())[0]
    k = CELL_DEPTH + 40  # planes tangent to a ball the chain keeps: cells never empty
    n = rng.normal(size=(k, 3)).astype(np.float32)
    deep = chain_tree(n, (-0.5 * np.linalg.norm(n, axis=1)).astype(np.float32))
    m = np.concatenate([np.eye(3), rng.integers(-3, 4, (40, 3))]).astype(np.float32)
    star = chain_tree(m[np.abs(m).sum(1) > 0], np.zeros(len(m[np.abs(m).sum(1) > 0]), np.float32))
    repeats = []  # the simplex x, y, z >= 0, x + y + z <= 1, then x, y, z >= 0 r more times (the origin's
    for r in range(10, 18):  # ids overflow at some r: the cell becomes its box), then planes across the cell
        tilt = rng.normal(size=(10, 3))
        normals = np.concatenate([np.eye(3), [[-1, -1, -1]], np.eye(3)[np.arange(r) % 3], tilt]).astype(np.float32)
        offsets = np.concatenate([[0, 0, 0, -1], np.zeros(r), tilt.sum(1) * 0.2]).astype(np.float32)
        repeats.append((f"repeat{r}", chain_tree(normals, offsets)))
    cad_rng = np.random.default_rng(2)  # this one's repeated planes make over CELL_VERTICES cuts and vertices
    cad = cad_like(random_tree(cad_rng, 500), cad_rng)
    return [("bunny", bunny), ("deep", deep), ("star", star), *repeats, ("cad", cad),
            ("cad-bunny", cad_like(bunny, rng))]


@pytest.mark.parametrize("coding", [3, 4])
def test_cell_codings_are_the_python_ones_bit_for_bit(page, trees_dir, coding):
    from shapetree.formats import encode_trees, quantize

    for label, tree in cell_trees(trees_dir):
        data = encode_trees([tree], coding=coding)
        assert data[6] == coding, label
        assert_same_planes(js_decode(page, data, f"{label}.stree"), quantize(tree, coding=coding))


def quantised_stream_files(data: bytes) -> list[tuple[str, bytes]]:
    """Quantised-plane files whose inflated stream lies (each one check after inflating)."""
    raw = inflated(data)
    n_leaves = struct.unpack_from("<I", raw, 2)[0]
    plane_at = 6 + (3 * n_leaves - 1 + 7) // 8
    plane_bytes = struct.unpack_from("<I", raw, plane_at)[0]

    def wrapped(r: bytes) -> bytes:
        return rewrapped(data, r)

    def plane_size(v: int) -> bytes:
        return wrapped(raw[:plane_at] + struct.pack("<I", v) + raw[plane_at + 4:])

    bounds_at = 10 if compact(data) else 12  # a compact header's frame follows: far bounds still fit it
    out = [("params", wrapped(b"\x1f" + raw[1:])), ("no-params", wrapped(raw[:1])),
           ("leaves", wrapped(raw[:2] + struct.pack("<I", n_leaves + 9) + raw[6:])),
           ("plane-big", plane_size(plane_bytes + 1)), ("plane-small", plane_size(3)),
           ("plane-short", wrapped(raw[:plane_at] + struct.pack("<I", plane_bytes - 1) + raw[plane_at + 4:-1])),
           ("trailing", wrapped(raw + b"\0")),
           ("far", with_crc(data[:bounds_at] + struct.pack("<d", -1e300) + data[bounds_at + 8:-4]))]
    for k in range(16):
        b = bytearray(raw)
        b[plane_at + 4 + 3 * k + 40 * (k // 8)] ^= 1 << (k % 8)
        out.append((f"planes{k}", wrapped(bytes(b))))
    return out


def test_broken_quantised_streams_fail_with_the_python_message(page, quantised_file):
    for label, broken in quantised_stream_files(quantised_file):
        expected = py_decode(broken, f"{label}.stree")
        got = js_decode(page, broken, f"{label}.stree")
        if isinstance(expected, str):
            assert got.get("type") == "FormatError", (label, expected, got)
            assert got["error"] == expected, label
        else:  # a flipped plane bit that still decodes: both read the same planes
            assert_same_planes(got, expected[0])


def test_a_single_leaf_tree_decodes(page):
    body = struct.pack("<4sBBH6d", b"STRE", 1, 0, 1, 0, 0, 0, 1, 1, 1) + struct.pack("<I", 1) + b"\x03"
    got = js_decode(page, with_crc(body))
    assert got["trees"][0]["next"] == [-2] and got["trees"][0]["depth"] == 0


@pytest.mark.parametrize("orbit", [
    {}, {"azimuth": 123.4, "elevation": -56.7, "fov": 50.0}, {"azimuth": 10, "elevation": 90, "up": "z"},
    {"azimuth": -30, "elevation": 5, "up": "x", "orthographic": True, "margin": 1.3},
])
def test_the_camera_is_the_python_orbit_camera(page, orbit):
    bounds = np.array([[-1.5, 0.25, -3.0], [2.0, 4.0, 1.0]])
    got = page.evaluate("""async ([b, o]) => { const c = await import('./camera.js');
        const cam = c.orbitCamera(b, o); return [c.projection(cam), c.cameraLight(cam)]; }""",
                        [bounds.reshape(-1).tolist(), orbit])
    cam = orbit_camera(bounds, **orbit)
    frame, half, ortho = cam.projection()
    projection, light = got
    assert projection["ortho"] == ortho and projection["half"] == pytest.approx(half, rel=1e-14)
    for k, row in enumerate(("eye", "right", "up", "forward")):
        np.testing.assert_allclose(projection[row], frame[k], rtol=0, atol=1e-12)
    from shapetree.renderer import camera_light

    np.testing.assert_allclose(light, camera_light(cam), rtol=0, atol=1e-12)


def test_the_colour_map_is_matplotlibs_inferno():
    from matplotlib import colormaps

    text = (STATIC / "colormap.js").read_text()
    hexes = "".join(re.findall(r'"([0-9a-f]+)"', text))
    lut = np.frombuffer(bytes.fromhex(hexes), np.uint8).reshape(-1, 3)
    expected = (colormaps["inferno"](np.linspace(0, 1, 256)) * 255).round().astype(np.uint8)[:, :3]
    assert np.array_equal(lut, expected)


def test_levels_of_detail_are_best_first_cuts_of_the_tree(page, trees_dir):
    tree = shapetree.load(trees_dir / "bunny.stree")
    got = page.evaluate("""async (b64) => {
        const { decodeTrees } = await import('./stree.js');
        const { expansionOrder, truncateTree } = await import('./lod.js');
        const f = await decodeTrees(Uint8Array.from(atob(b64), c => c.charCodeAt(0)).buffer);
        const { frameBounds } = await import('./stree.js');
        const lod = expansionOrder(f.trees[0], frameBounds(f));
        return [16, 128, 1024, 2048].map(n => { const t = truncateTree(f.trees[0], lod, n);
          return { n: t.nLeaves, depth: t.depth, planes: Array.from(t.planes), next: Array.from(t.next) }; });
    }""", base64.b64encode((trees_dir / "bunny.stree").read_bytes()).decode())
    points = np.random.default_rng(1).uniform(*tree.bounds, (50_000, 3))
    truth = tree.contains(points)
    accuracy = []
    for level in got:
        nxt = np.asarray(level["next"])
        n = len(nxt)
        leaf = nxt < 0
        left = np.where(leaf, -1, np.arange(n) + 1)
        right = np.where(leaf, -1, nxt)
        planes = np.asarray(level["planes"], np.float32).reshape(-1, 4)
        cut = shapetree.Tree(planes[:, :3], planes[:, 3], left, right, nxt == -2, tree.bounds, origin=tree.origin,
                             scale=tree.scale)
        assert cut.n_leaves == level["n"] and cut.depth == level["depth"]
        accuracy.append(float((cut.contains(points) == truth).mean()))
    assert accuracy == sorted(accuracy) and accuracy[-1] == 1.0
    assert accuracy[1] > 0.9  # 128 leaves already get most of the volume right


DECODE_LEVEL = """async ([b64, name, maxLeaves]) => {
  const { decodeTrees } = await import('./stree.js');
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  try {
    const f = await decodeTrees(bytes.buffer, name, maxLeaves);
    return { level: f.level, levels: f.levels, trees: f.trees.map(t => ({ nLeaves: t.nLeaves, depth: t.depth,
      planes: Array.from(t.planes), next: Array.from(t.next) })) };
  } catch (e) { return { error: e.message, type: e.name }; }
}"""


@pytest.fixture(scope="module")
def progressive_levels():
    from shapetree import detail_levels, simplification_order
    from shapetree.tree import bounds_frame

    bounds = np.array([[-3e7, 1e7, 5.0], [-3e7 + 12, 1e7 + 7, 9.0]])
    origin, scale = bounds_frame(bounds)
    rng = np.random.default_rng(7)
    tree = cad_like(random_tree(rng, 600, bounds=(bounds - origin) / scale), rng)  # exact and reused planes too
    tree = tree.replace(bounds=bounds, origin=origin, scale=scale)
    return detail_levels(simplification_order(tree, n_samples=20_000))


@pytest.fixture(scope="module", params=[(2, "compact"), (3, "compact"), (3, "long")])
def progressive_file(request, progressive_levels) -> bytes:
    """The levels in plane coding 2 and 3, with the compact header and table (their bounds' frame) and
    with the long ones (the same levels in another frame)."""
    from shapetree.formats.progressive import encode_file

    coding, layout = request.param
    data = encode_file(stored_levels(progressive_levels, layout), coding=coding)
    assert data[6] == coding and compact(data) == (layout == "compact")
    return data


def stored_levels(levels, layout: str):
    """``levels``, or for the long header the same levels in another frame."""
    from shapetree.formats.progressive import Levels

    return levels if layout == "compact" else Levels(tuple(map(long_framed, levels.trees)), levels.ids)


def test_progressive_files_decode_to_the_same_levels(page, progressive_file):
    data = progressive_file
    for budget in (None, 16, 40, 128, 599):
        trees = decode_trees(data, "p.stree", budget)
        got = js_decode_level(page, data, "p.stree", budget)
        assert "error" not in got, got
        js, t = got["trees"][0], trees[0]
        leaf = t.left < 0
        nxt = np.asarray(js["next"])
        assert js["nLeaves"] == t.n_leaves and js["depth"] == t.depth
        assert np.array_equal(nxt[~leaf], t.right[~leaf]) and np.array_equal(nxt[leaf] == -2, t.value[leaf])
        planes = np.asarray(js["planes"], np.float32).reshape(-1, 4)
        assert np.array_equal(planes[~leaf, :3], t.normal[~leaf]) and np.array_equal(planes[~leaf, 3], t.offset[~leaf])
        assert [lv["leaves"] for lv in got["levels"]] == [16, 32, 64, 128, 600]
        assert got["level"] == [16, 32, 64, 128, 600].index(t.n_leaves)


STREAM_LEVELS = """async ([b64, pieces]) => {
  const { LevelReader } = await import('./stree.js');
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  const reader = new LevelReader('p.stree', bytes.length);
  const out = [];
  for (let k = 0; k < pieces; k++) {  // the bytes as they arrive, levels decoded as their chunks complete
    reader.push(bytes.subarray(Math.floor(k * bytes.length / pieces), Math.floor((k + 1) * bytes.length / pieces)));
    for (const f of await reader.levels(k === pieces - 1)) {
      out.push({ at: k, level: f.level, planes: Array.from(f.trees[0].planes), next: Array.from(f.trees[0].next) });
    }
  }
  return out;
}"""


@pytest.mark.parametrize("pieces", [7, 300])
def test_streamed_levels_are_the_python_levels_bit_for_bit(page, progressive_levels, progressive_file, pieces):
    from shapetree.formats.progressive import quantize_levels

    coding = progressive_file[6]
    levels = stored_levels(progressive_levels, "compact" if compact(progressive_file) else "long")
    want = quantize_levels(levels, coding=coding)
    got = page.evaluate(STREAM_LEVELS, [base64.b64encode(progressive_file).decode(), pieces])
    assert [g["level"] for g in got] == list(range(len(want)))
    assert got[0]["at"] < pieces - 1  # the coarse levels come before the last bytes
    for g, q in zip(got, want, strict=True):
        nxt = np.asarray(g["next"])
        assert np.array_equal(nxt[q.left >= 0], q.right[q.left >= 0])
        assert_same_planes({"trees": [g]}, q)


def js_decode_level(page, data: bytes, name: str, budget) -> dict:
    return page.evaluate(DECODE_LEVEL, [base64.b64encode(data).decode(), name, budget])


def progressive_cases(data: bytes) -> list[tuple[str, bytes, int | None, bool]]:
    """Damaged versions of a valid progressive file: (label, bytes, the level budget, whether the
    messages must be equal)."""
    first, rows, end = table(data)
    size = header_size(data)
    sizes = sizes_at(data)

    def at(offset: int, fmt: str, value) -> bytes:  # the header's and the file's checksums right again
        b = bytearray(data)
        struct.pack_into(fmt, b, offset, value)
        struct.pack_into("<I", b, end, zlib.crc32(bytes(b[:end])))
        struct.pack_into("<I", b, len(b) - 4, zlib.crc32(bytes(b[:-4])))
        return bytes(b)

    def row(i: int, field: int, value) -> bytes:
        lying = [list(r) for r in rows]
        lying[i][field] = value
        return with_table(data, lying)

    count = "<B" if compact(data) else "<I"
    cases = [("short", data[:50], None, True), ("cut-head", data[:size + 1], None, True),
             ("cut-table", data[:first + 20], None, True), ("cut-crc", data[:end + 2], None, True),
             ("cut", data[:len(data) - 30], None, True), ("count", at(size, count, 0), None, True),
             ("count-65", at(size, count, 65), None, True),
             ("head-crc", data[:end] + b"\0\0\0\0" + data[end + 4:], None, True),
             ("kind", at(5, "<B", 1), None, True), ("coding", at(6, "<B", 0), None, True),
             ("flags", at(7, "<B", data[7] ^ 2), None, True), ("count-1", with_table(data, count=len(rows) - 1), 16, True),
             ("leaves", row(1, 0, 1 << 27), 16, True), ("level-crc", row(1, 3, 1), 32, True),
             ("tail-crc", data[:-1] + b"\0", None, True), ("raw-size", at(sizes, "<I", 5), None, True)]
    if compact(data):  # rows: new leaves, packed size, raw size, CRC
        cases += [("order", row(2, 0, 0), 16, True), ("packed-size", row(1, 1, 0), None, True),
                  ("raw-big", row(3, 2, 10**9), None, True), ("raw-end", row(3, 2, rows[3][2] + 1), None, True),
                  ("leaves-max", row(4, 0, 1 << 28), None, True), ("u32", row(2, 1, 1 << 32), None, True),
                  ("not-minimal", row(1, 0, b"\x90\x00"), None, True),
                  ("six-bytes", row(0, 2, b"\x80\x80\x80\x80\x80\x00"), None, True),
                  ("bounds-order", at(10, "<d", 1e300), None, True)]
    else:  # rows: leaves, packed end, raw end, CRC
        cases += [("order", row(2, 0, 20), 16, True), ("packed-end", row(1, 1, 2), None, True),
                  ("raw-end", row(3, 2, 10**9), None, True)]
    rng = np.random.default_rng(1)
    for k in range(8):  # damaged chunks, every CRC right again: the level's own checks (or the inflater's)
        b = bytearray(data)
        b[end + 4 + int(rng.integers(0, len(data) - end - 8))] ^= 1 << int(rng.integers(0, 8))
        cases.append((f"payload{k}", chunk_crcs_fixed(bytes(b)), None, False))
    return cases


def test_broken_progressive_files_fail_like_the_python_reader(page, progressive_file):
    for label, broken, budget, same in progressive_cases(progressive_file):
        try:
            expected = decode_trees(broken, f"{label}.stree", budget)
        except FormatError as e:
            expected = str(e)
        got = js_decode_level(page, broken, f"{label}.stree", budget)
        if isinstance(expected, str):
            assert got.get("type") == "FormatError", (label, expected, got)
            if same:
                assert got["error"] == expected, label
            else:
                assert got["error"].startswith(f"{label}.stree: "), (label, got)
        else:  # damage that still decodes (raw deflate has no Adler-32): both read the same tree
            assert "error" not in got, (label, got)
            assert got["trees"][0]["nLeaves"] == expected[0].n_leaves, label
            assert_same_planes(got, expected[0])


BOUNDS_FRAME = """async (rows) => {
  const { boundsFrame } = await import('./stree.js');
  return rows.map(b => { const f = boundsFrame(new Float64Array(b));
    return f === null ? null : [...Array.from(f.origin), f.scale]; });
}"""


def test_the_compact_headers_frame_is_bounds_frame_bit_for_bit(page):
    from shapetree.formats.stree_v2 import derived_frame

    rng = np.random.default_rng(3)
    boxes = [[-1, -1, -1, 1, 1, 1], [-3e7, 1e7, 5, -3e7 + 12, 1e7 + 7, 9], [0, 0, 0, 1, 1, 1], [0, 0, 0, 0.5, 0.5, 0.5],
             [-0.0, -0.0, 0, 0.0, 0.0, 2], [0, 0, 0, 5e-324, 0, 0], [0, 0, 0, 1e-310, 3e-320, 0],
             [2e-308, 0, 0, 2.5e-308, 0, 0], [-1.7e308, 0, 0, 1.7e308, 1, 1], [-8.9e307, 0, 0, 8.9e307, 0, 0],
             [1, 2, 3, 1, 2, 3], [-2.0**-1021, 0, 0, 2.0**-1021, 0, 0]]
    for _ in range(40):
        lo = rng.normal(size=3) * 10.0 ** rng.integers(-300, 300, 3)
        boxes.append([*lo, *(lo + np.abs(rng.normal(size=3)) * 10.0 ** rng.integers(-300, 300, 3))])
    boxes = [b for b in np.array(boxes, np.float64) if np.all(np.isfinite(b)) and np.all(b[:3] <= b[3:])]
    got = page.evaluate(BOUNDS_FRAME, [b.tolist() for b in boxes])
    for b, g in zip(boxes, got, strict=True):
        frame = derived_frame(b.reshape(2, 3))
        if frame is None:
            assert g is None, b
        else:
            want = np.array([*frame[0], frame[1]], np.float64)
            assert np.array(g, np.float64).view(np.uint64).tolist() == want.view(np.uint64).tolist(), b
