"""The normal map's start-node grid (startgrid.js): lookups that start at a grid cell's node reach
the same leaves as from the root, so the viewer draws the same pixels with and without it."""

from __future__ import annotations

import pytest

# Two renderers on their own canvases, drawing the gallery's first tree and normal map.
_RENDER_BOTH = """async ({size, cameras}) => {
  const { TreeRenderer, loadShaders } = await import('./renderer.js');
  const { decodeTrees, frameBounds } = await import('./stree.js');
  const { orbitCamera } = await import('./camera.js');
  const [entry] = await (await fetch('trees.json')).json();
  const read = async (url) => decodeTrees(new Uint8Array(await (await fetch(url)).arrayBuffer()), url);
  const model = await read(entry.model);
  const normals = await read(entry.normals);
  const bounds = frameBounds(model);
  const diagonal = Math.hypot(bounds[3] - bounds[0], bounds[4] - bounds[1], bounds[5] - bounds[2]);
  const radius = 0.4 * diagonal / Math.sqrt(normals.trees.reduce((s, t) => s + t.nLeaves, 0));
  const sources = await loadShaders();
  const out = {};
  for (const grid of [true, false]) {
    const canvas = document.createElement('canvas');
    canvas.width = size;
    canvas.height = size;
    const r = new TreeRenderer(canvas, sources);
    r.setTree(model.trees[0], bounds);
    r.setNormals(normals.trees, radius);
    r.startGrid = grid;
    out[grid] = cameras.map((c) => {
      r.draw(orbitCamera(bounds, c), { normalMap: true, heatmap: false });
      const px = r.pixels();
      let covered = 0;
      for (let i = 3; i < px.length; i += 4) covered += px[i] > 0;
      return { covered, hash: Array.from(px).reduce((h, v) => (Math.imul(h, 31) + v) | 0, 7), res: r.normalGrid.res };
    });
  }
  return out;
}"""

# startgrid.js against the plain descent, in float64 JavaScript: random points of the box reach
# the same leaf from their cell's start node as from the root; and the start nodes are deep.
_CHECK_GRID = """async (res) => {
  const { startGrid } = await import('./startgrid.js');
  const { decodeTrees, frameBounds } = await import('./stree.js');
  const [entry] = await (await fetch('trees.json')).json();
  const read = async (url) => decodeTrees(new Uint8Array(await (await fetch(url)).arrayBuffer()), url);
  const bounds = frameBounds(await read(entry.model));
  const tree = (await read(entry.normals)).trees[0];
  const lo = [bounds[0], bounds[1], bounds[2]];
  const hi = [bounds[3], bounds[4], bounds[5]];
  const grid = startGrid(tree, lo, hi, res);
  const descend = (i, x) => {
    while (tree.next[i] >= 0) {
      const p = tree.planes.subarray(4 * i, 4 * i + 4);
      i = p[0] * x[0] + p[1] * x[1] + p[2] * x[2] < p[3] ? i + 1 : tree.next[i];
    }
    return i;
  };
  const depth = new Int32Array(tree.nNodes);
  for (let i = 0; i < tree.nNodes; i++) {
    if (tree.next[i] >= 0) depth[i + 1] = depth[tree.next[i]] = depth[i] + 1;
  }
  let seed = 12345;
  const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  let wrong = 0;
  const n = 20000;
  for (let k = 0; k < n; k++) {
    const x = [0, 1, 2].map((a) => lo[a] + random() * (hi[a] - lo[a]));
    // on a cell face either neighbour will do: points near faces are the test's hard cases
    if (k % 2) x[k % 3] = lo[k % 3] + Math.round(random() * res) * (hi[k % 3] - lo[k % 3]) / res;
    const cell = [0, 1, 2].map((a) => Math.min(res - 1, Math.floor((x[a] - lo[a]) / (hi[a] - lo[a]) * res)));
    const start = grid[(cell[2] * res + cell[1]) * res + cell[0]];
    if (descend(start, x) !== descend(0, x)) wrong++;
  }
  let sum = 0;
  for (const s of grid) sum += depth[s];
  return { wrong, n, meanStartDepth: sum / grid.length, treeDepth: tree.depth };
}"""


@pytest.mark.parametrize("res", [8, 32])
def test_lookups_from_the_start_grid_reach_the_same_leaves(viewer, res):
    out = viewer.js(_CHECK_GRID, res)
    assert out["wrong"] == 0, out
    assert out["meanStartDepth"] >= 2.0, out  # the grid skips part of the tree, or it is no use


def test_the_normal_map_is_the_same_with_and_without_the_start_grid(viewer):
    cameras = [{"azimuth": 30.0, "elevation": 20.0}, {"azimuth": -70.0, "elevation": 55.0, "orthographic": True},
               {"azimuth": 145.0, "elevation": -15.0, "fov": 40.0, "margin": 0.5}]
    out = viewer.js(_RENDER_BOTH, {"size": viewer.size, "cameras": cameras})
    with_grid, without = out["true"], out["false"]
    assert with_grid[0]["res"] >= 8
    for a, b in zip(with_grid, without):
        assert a["covered"] > 1000  # the bunny is in the picture
        assert a["hash"] == b["hash"], (a, b)
