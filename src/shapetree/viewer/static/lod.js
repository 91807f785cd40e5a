// Levels of detail of a loaded occupancy tree: the top of the tree grown best-first from the root,
// always expanding the node whose collapse would disagree most with the full tree on uniform
// samples, each cut node a leaf of its majority value (the Python renderer's `truncated`, with a
// fixed sample count). The expansion order is computed once; any leaf budget is a prefix of it.

import { LEAF_IN, LEAF_OUT } from "./stree.js";

const SAMPLES = 65536;

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A binary max-heap of node ids by key, ties to the smaller id (Python's heapq on (-key, id)). */
class MaxHeap {
  constructor(key) {
    this.key = key;
    this.items = [];
  }

  before(a, b) {
    return this.key[a] > this.key[b] || (this.key[a] === this.key[b] && a < b);
  }

  push(i) {
    const h = this.items;
    h.push(i);
    let k = h.length - 1;
    while (k > 0) {
      const p = (k - 1) >> 1;
      if (!this.before(h[k], h[p])) break;
      [h[k], h[p]] = [h[p], h[k]];
      k = p;
    }
  }

  pop() {
    const h = this.items;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0) {
      h[0] = last;
      let k = 0;
      for (;;) {
        const l = 2 * k + 1;
        const r = l + 1;
        let m = k;
        if (l < h.length && this.before(h[l], h[m])) m = l;
        if (r < h.length && this.before(h[r], h[m])) m = r;
        if (m === k) break;
        [h[k], h[m]] = [h[m], h[k]];
        k = m;
      }
    }
    return top;
  }

  get size() {
    return this.items.length;
  }
}

/**
 * The best-first expansion order of an occupancy tree (from stree.js) in bounds (Float64Array(6)):
 * {order: Int32Array of branch ids, the first k of them give a tree of k + 1 leaves, majority:
 * Uint8Array (1 where a node's samples are mostly inside)}.
 */
export function expansionOrder(tree, bounds, seed = 0) {
  const { planes, next, nNodes } = tree;
  const inside = new Float64Array(nNodes);
  const total = new Float64Array(nNodes);
  const rand = mulberry32(seed);
  const lo = [bounds[0], bounds[1], bounds[2]];
  const span = [bounds[3] - bounds[0], bounds[4] - bounds[1], bounds[5] - bounds[2]];
  for (let s = 0; s < SAMPLES; s++) {
    const x = lo[0] + rand() * span[0];
    const y = lo[1] + rand() * span[1];
    const z = lo[2] + rand() * span[2];
    let i = 0;
    while (next[i] >= 0) {
      const p = 4 * i;
      i = planes[p] * x + planes[p + 1] * y + planes[p + 2] * z < planes[p + 3] ? i + 1 : next[i];
    }
    total[i] += 1;
    if (next[i] === LEAF_IN) inside[i] += 1;
  }
  for (let i = nNodes - 1; i >= 0; i--) { // pre-order: children come after their parent
    if (next[i] >= 0) {
      inside[i] = inside[i + 1] + inside[next[i]];
      total[i] = total[i + 1] + total[next[i]];
    }
  }
  const error = new Float64Array(nNodes);
  const majority = new Uint8Array(nNodes);
  for (let i = 0; i < nNodes; i++) {
    error[i] = Math.min(inside[i], total[i] - inside[i]); // disagreements if the node became a leaf
    majority[i] = 2 * inside[i] > total[i] ? 1 : 0;
  }
  const order = new Int32Array(tree.nLeaves - 1);
  const heap = new MaxHeap(error);
  if (next[0] >= 0) heap.push(0);
  let k = 0;
  while (heap.size > 0) {
    const i = heap.pop();
    order[k++] = i;
    for (const c of [i + 1, next[i]]) if (next[c] >= 0) heap.push(c);
  }
  return { order, majority };
}

/** The tree cut to `leaves` leaves (at most its own), renumbered in pre-order: a stree.js tree. */
export function truncateTree(tree, lod, leaves) {
  const { planes, next, nNodes } = tree;
  const budget = Math.max(1, Math.min(leaves, tree.nLeaves));
  if (budget === tree.nLeaves) return tree;
  const expanded = new Uint8Array(nNodes);
  for (let k = 0; k < budget - 1; k++) expanded[lod.order[k]] = 1;
  const outNodes = 2 * budget - 1;
  const outPlanes = new Float32Array(4 * outNodes);
  const outNext = new Int32Array(outNodes);
  const stack = [[0, -1, 0]]; // old id, new id of the parent waiting for it as right child, depth
  let n = 0;
  let depth = 0;
  while (stack.length > 0) {
    const [i, parent, d] = stack.pop();
    const j = n++;
    if (parent >= 0) outNext[parent] = j;
    if (d > depth) depth = d;
    if (expanded[i]) {
      outPlanes.set(planes.subarray(4 * i, 4 * i + 4), 4 * j);
      stack.push([next[i], j, d + 1], [i + 1, -1, d + 1]); // left is popped first: it is j + 1
    } else if (next[i] >= 0) {
      outNext[j] = lod.majority[i] ? LEAF_IN : LEAF_OUT;
    } else {
      outNext[j] = next[i];
    }
  }
  return { nLeaves: budget, nNodes: outNodes, depth, planes: outPlanes, next: outNext };
}
