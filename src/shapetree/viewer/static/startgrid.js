// Start nodes of point lookups: for each cell of a res^3 grid over a box, the deepest node of a tree
// whose cell holds the whole grid cell with a margin (tree/layout.py's start_grid). A point in the
// box descends from its grid cell's start node instead of the root: the planes above that node have
// the whole cell on one side, so the point reaches the same leaf in fewer steps. The normal map's
// 13 lookups a pixel start there (the occupancy traversal does not: a ray restarted at each grid
// cell it crosses takes more steps than one front-to-back traversal from the root).
//
// The margin covers float32 rounding in the shader (the point's grid cell, its side of a plane):
// MARGIN of the box's size around each cell, and MARGIN times the size of a plane's terms as the
// tolerance of the side test; rounding is some 1e-7 of those.

export const MARGIN = 1e-4;

/**
 * Int32Array(res^3) of start nodes, x fastest then y then z (a texImage3D's layout), for a tree of
 * stree.js form (planes: 4 floats a node, next: a branch's right child, < 0 for a leaf; the left
 * child is the next node) in the box lo, hi (its frame's coordinates).
 */
export function startGrid(tree, lo, hi, res) {
  const { planes, next } = tree;
  const out = new Int32Array(res * res * res);
  const step = [0, 1, 2].map((a) => (hi[a] - lo[a]) / res);
  const size = Math.max(...[0, 1, 2].map((a) => Math.max(Math.abs(lo[a]), Math.abs(hi[a]))));
  const pad = MARGIN * Math.max(...[0, 1, 2].map((a) => hi[a] - lo[a]));
  // a block of cells, size n from cell (i, j, k): descend from node while it lies on one side of the
  // plane; split it into octants where a plane cuts it
  const fill = (i, j, k, n, node) => {
    const c0 = lo[0] + (i + n / 2) * step[0];
    const c1 = lo[1] + (j + n / 2) * step[1];
    const c2 = lo[2] + (k + n / 2) * step[2];
    const h0 = (n / 2) * step[0] + pad;
    const h1 = (n / 2) * step[1] + pad;
    const h2 = (n / 2) * step[2] + pad;
    while (next[node] >= 0) {
      const q = 4 * node;
      const a0 = planes[q];
      const a1 = planes[q + 1];
      const a2 = planes[q + 2];
      const b = planes[q + 3];
      const centre = a0 * c0 + a1 * c1 + a2 * c2;
      const reach = Math.abs(a0) * h0 + Math.abs(a1) * h1 + Math.abs(a2) * h2;
      const tol = MARGIN * ((Math.abs(a0) + Math.abs(a1) + Math.abs(a2)) * size + Math.abs(b));
      if (centre + reach < b - tol) node += 1; // all of the block is left: n.x < b
      else if (centre - reach >= b + tol) node = next[node];
      else break;
    }
    if (n === 1 || next[node] < 0) {
      for (let z = k; z < k + n; z++) {
        for (let y = j; y < j + n; y++) out.fill(node, (z * res + y) * res + i, (z * res + y) * res + i + n);
      }
      return;
    }
    const m = n / 2;
    for (let o = 0; o < 8; o++) fill(i + (o & 1) * m, j + ((o >> 1) & 1) * m, k + ((o >> 2) & 1) * m, m, node);
  };
  fill(0, 0, 0, res, 0);
  return out;
}
