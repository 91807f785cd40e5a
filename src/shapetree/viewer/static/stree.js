// The .stree file format, versions 1 and 2 (docs/format.md), read in the browser with the same
// checks, in the same order, as shapetree's Python reader: a bad file is one FormatError line, never
// a tree. Version 2's blocks are inflated with the browser's own DecompressionStream ("deflate", or
// "deflate-raw" after a compact header);
// its quantised planes (codings 1 to 4) are rebuilt with the same float64 operations, in the same
// order, as shapetree.formats.quantized (and coding 3's cells as shapetree.formats.cells), so they are
// the same float32 numbers.

export const OCCUPANCY = 0;
export const NORMALS = 1;
export const KIND_NAMES = { [OCCUPANCY]: "occupancy", [NORMALS]: "normals" };
const HEADER_BYTES = 56; // v1: magic, version, kind, n_trees (u16), 6 x f64 bounds
// v2: magic, version, kind, coding, flags, n_trees (u16), reserved (u16), 6 x f64 bounds,
// 3 x f64 origin, f64 scale, raw size (u32), packed size (u32)
const HEADER2_BYTES = 100;
// v2 with flags COMPACT: magic, version, kind, coding, flags, n_trees (u16), 6 x f64 bounds, raw size (u32),
// packed size (u32); the frame is boundsFrame(bounds), the blocks raw deflate
const COMPACT_HEADER_BYTES = 66;
const PREFIX_BYTES = 8; // magic, version, kind, coding, flags: how every v2 header starts
const MAX_RAW = 2 ** 31;
const MAX_RATIO = 1100;
const MAX_LEAVES = 2 ** 28;
const FLOAT32_PLANES = 0;
const QUANTIZED_PLANES = 1;
const ESCAPED_PLANES = 2; // coding 1 plus reused and exact planes
const CELL_PLANES = 3; // coding 2 in the nodes' exact cells instead of their boxes
const HEMISPHERE_PLANES = 4; // coding 3 with upward normals only and quarter-step precisions
const PRECISION_STEPS = 4; // coding 4's precision byte counts quarter steps
const STEP_FRACTIONS = [1.0, 0.8408964152537145, 0.7071067811865476, 0.5946035575013605]; // 2^-(k/4)
const PROGRESSIVE = 1; // flags bit 0: levels of detail, coarse first (shapetree/formats/progressive.py)
const COMPACT = 2; // flags bit 1: the compact header (the frame derived from the bounds, raw deflate)
const FLAGS = PROGRESSIVE | COMPACT;
const MAX_LEVELS = 64;
const LEVEL_BYTES = 16; // leaf count, packed end, raw end, CRC-32 of the packed chunk
const MIN_COMPACT_ROW = 3 + 4; // a compact table's row: 3 LEB128 numbers of 1 byte at least, the CRC-32
const MAX_NUMBER_BYTES = 5; // a LEB128 number of a compact table holds a u32
// plane codings 1, 2 and 3 (shapetree.formats.quantized)
const MAX_PRECISION = 24;
const MAX_NORMAL_EXTRA = 8;
const MIN_NORMAL_BITS = 2;
const MAX_NORMAL_BITS = 20;
const MAX_OFFSET_BITS = 30;
const MAX_FRAME = 2 ** 100;
// coding 3's cells (shapetree.formats.cells)
const CELL_DEPTH = 128; // nodes at depth <= this (the root is 0) have exact cells
const CELL_VERTICES = 256; // a child with more vertices becomes its bounding box ...
const VERTEX_PLANES = 16; // ... and so does one with a vertex on more planes
const ROOT_IDS = 6; // the root box's faces: x = lo, y = lo, z = lo, x = hi, y = hi, z = hi

// An occupancy leaf's `next` entry: -1 outside, -2 inside. A normal-map leaf's is -1.
export const LEAF_OUT = -1;
export const LEAF_IN = -2;

export class FormatError extends Error {
  constructor(message) {
    super(message);
    this.name = "FormatError";
  }
}

let crcTable = null;

/** CRC-32 (the zlib polynomial) of a byte array. */
export function crc32(bytes) {
  if (crcTable === null) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = crcTable[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function structureBytes(nLeaves, kind) {
  const nNodes = 2 * nLeaves - 1;
  return Math.ceil((nNodes + (kind === OCCUPANCY ? nLeaves : 0)) / 8);
}

function treeBytes(nLeaves, kind) {
  return 4 + structureBytes(nLeaves, kind) + 16 * (nLeaves - 1) + (kind === NORMALS ? 12 * nLeaves : 0);
}

// Python's repr of a float, so that messages read exactly as the Python reader's
function pyFloat(x) {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const [mantissa, e] = x.toExponential().split("e"); // the shortest digits that round-trip
  const exp = Number(e);
  const sign = x < 0 ? "-" : "";
  const digits = mantissa.replace("-", "").replace(".", "");
  if (exp >= -4 && exp < 16) {
    if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
    if (digits.length > exp + 1) return `${sign}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
    return `${sign}${digits}${"0".repeat(exp + 1 - digits.length)}.0`;
  }
  const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  return `${sign}${m}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
}

function printable(bytes) {
  let s = "";
  for (const b of bytes) s += b >= 0x20 && b < 0x7f && b !== 0x27 && b !== 0x5c ? String.fromCharCode(b)
    : "\\x" + b.toString(16).padStart(2, "0");
  return `b'${s}'`;
}

/**
 * Rebuild a pre-order tree from its structure bits. A branch's left child is the next node, so
 * only `next` is kept: the right child of a branch, or LEAF_OUT / LEAF_IN for a leaf.
 * Returns {next, depth} or a negative status, as the Python decoder does.
 */
function decodeStructure(bits, nLeaves, occupancy) {
  const nNodes = 2 * nLeaves - 1;
  const next = new Int32Array(nNodes);
  const stack = new Int32Array(nNodes + 1); // branches still waiting for their right child
  const leftSet = new Uint8Array(nNodes);
  const nodeDepth = new Int32Array(nNodes);
  const totalBits = bits.length * 8;
  let sp = 0;
  let b = 0;
  let leaves = 0;
  let depth = 0;
  for (let i = 0; i < nNodes; i++) {
    if (b >= totalBits) return { status: -1 };
    if (i > 0) {
      if (sp === 0) return { status: -2 }; // tree complete before the node count
      const parent = stack[sp - 1];
      if (!leftSet[parent]) {
        leftSet[parent] = 1; // the left child is always parent + 1 in pre-order
      } else {
        next[parent] = i;
        sp--;
      }
      nodeDepth[i] = nodeDepth[parent] + 1;
    }
    const isLeaf = (bits[b >> 3] >> (b & 7)) & 1;
    b++;
    if (isLeaf) {
      leaves++;
      next[i] = LEAF_OUT;
      if (occupancy) {
        if (b >= totalBits) return { status: -1 };
        if ((bits[b >> 3] >> (b & 7)) & 1) next[i] = LEAF_IN;
        b++;
      }
      if (nodeDepth[i] > depth) depth = nodeDepth[i];
    } else {
      stack[sp++] = i;
    }
  }
  if (sp !== 0 || leaves !== nLeaves) return { status: -3 };
  for (; b < totalBits; b++) if ((bits[b >> 3] >> (b & 7)) & 1) return { status: -4 }; // padding must be zero
  return { status: 0, next, depth };
}

function decodeV1(data, name) {
  const size = data.length;
  const view = new DataView(data.buffer, data.byteOffset, size);
  if (size < HEADER_BYTES + 4) throw new FormatError(`${name}: too short to be a .stree file (${size} bytes)`);
  const magic = data.subarray(0, 4);
  if (String.fromCharCode(...magic) !== "STRE") {
    throw new FormatError(`${name}: not a .stree file (bad magic ${printable(magic)})`);
  }
  const version = data[4];
  if (version !== 1) {
    throw new FormatError(`${name}: unsupported .stree version ${version} (this reader knows 1 and 2)`);
  }
  const kind = data[5];
  if (!(kind in KIND_NAMES)) throw new FormatError(`${name}: unknown tree kind ${kind}`);
  if (crc32(data.subarray(0, size - 4)) !== view.getUint32(size - 4, true)) {
    throw new FormatError(`${name}: checksum mismatch (file is corrupted or truncated)`);
  }
  const nTrees = view.getUint16(6, true);
  const bounds = new Float64Array(6);
  for (let k = 0; k < 6; k++) bounds[k] = view.getFloat64(8 + 8 * k, true);
  checkHeader(name, nTrees, kind, bounds);
  const trees = decodeBlocks(data, HEADER_BYTES, size - 4, nTrees, kind, name);
  return { kind, bounds, trees, origin: new Float64Array(3), scale: 1 };
}

function checkHeader(name, nTrees, kind, bounds) {
  if (!bounds.every(Number.isFinite) || bounds[0] > bounds[3] || bounds[1] > bounds[4] || bounds[2] > bounds[5]) {
    const row = (r) => Array.from(r, pyFloat).join(", ");
    throw new FormatError(`${name}: invalid bounds [[${row(bounds.subarray(0, 3))}], [${row(bounds.subarray(3))}]]`);
  }
  if (nTrees < 1 || (kind === OCCUPANCY && nTrees !== 1)) {
    throw new FormatError(`${name}: invalid tree count ${nTrees} for a ${KIND_NAMES[kind]} file`);
  }
}

/** A normal-map block's float32 leaf vectors, into the leaves' rows of `planes`; the position after. */
function readLeafVectors(view, pos, next, planes, name) {
  for (let i = 0; i < next.length; i++) {
    if (next[i] >= 0) continue;
    for (let c = 0; c < 3; c++) {
      const v = view.getFloat32(pos, true);
      pos += 4;
      if (!Number.isFinite(v)) throw new FormatError(`${name}: non-finite leaf values`);
      planes[4 * i + c] = v;
    }
  }
  return pos;
}

/** The tree blocks in data[pos, end) (v1's layout, also v2's once inflated), which they must fill. */
function decodeBlocks(data, pos, end, nTrees, kind, name) {
  const view = new DataView(data.buffer, data.byteOffset, data.length);
  const trees = [];
  for (let t = 0; t < nTrees; t++) {
    if (pos + 4 > end) throw new FormatError(`${name}: truncated (tree header past the end)`);
    const nLeaves = view.getUint32(pos, true);
    pos += 4;
    if (nLeaves < 1 || nLeaves > MAX_LEAVES) throw new FormatError(`${name}: invalid leaf count ${nLeaves}`);
    if (pos + treeBytes(nLeaves, kind) - 4 > end) {
      throw new FormatError(`${name}: header says ${nLeaves} leaves but the file is too short`);
    }
    const sb = structureBytes(nLeaves, kind);
    const decoded = decodeStructure(data.subarray(pos, pos + sb), nLeaves, kind === OCCUPANCY);
    pos += sb;
    if (decoded.status !== 0) throw new FormatError(`${name}: malformed tree structure (code ${decoded.status})`);
    const { next, depth } = decoded;
    const nNodes = next.length;
    const planes = new Float32Array(4 * nNodes);
    for (let i = 0; i < nNodes; i++) {
      if (next[i] < 0) continue;
      for (let c = 0; c < 4; c++) {
        const v = view.getFloat32(pos, true);
        pos += 4;
        if (!Number.isFinite(v)) throw new FormatError(`${name}: non-finite plane coefficients`);
        planes[4 * i + c] = v;
      }
    }
    if (kind === NORMALS) pos = readLeafVectors(view, pos, next, planes, name);
    trees.push({ nLeaves, nNodes, depth, planes, next });
  }
  if (pos !== end) throw new FormatError(`${name}: ${end - pos} unexpected trailing bytes`);
  return trees;
}

// ---- plane codings 1, 2 and 3: every step mirrors shapetree/formats/quantized.py and cells.py ----

/** The smallest k <= cap with extent <= tol * 2^k. */
function bitsFor(extent, tol, cap) {
  let k = 0;
  let step = tol;
  while (k < cap && extent > step) {
    k++;
    step = step * 2.0;
  }
  return k;
}

function normalBits(lo, hi, o, tol, extra) {
  let e = 0.0;
  for (let i = 0; i < 3; i++) {
    const side = hi[o + i] - lo[o + i];
    if (side > e) e = side;
  }
  const bn = bitsFor(e, tol, MAX_PRECISION) + extra;
  return Math.min(Math.max(bn, MIN_NORMAL_BITS), MAX_NORMAL_BITS);
}

/** Coding 4's float32 normal of upper-half octahedral codes ca, cb: z clamped at 0, never folded. */
function upperOctahedral(ca, cb, m, n) {
  const a = (ca - m) / m;
  const b = (cb - m) / m;
  const aa = a >= 0.0 ? a : -a;
  const ab = b >= 0.0 ? b : -b;
  let z = (1.0 - aa) - ab;
  if (z < 0.0) z = 0.0;
  n[0] = Math.fround(a);
  n[1] = Math.fround(b);
  n[2] = Math.fround(z);
}

/** The float32 normal of octahedral codes ca, cb in [0, 2m], into n[0..2]. */
function octahedral(ca, cb, m, n) {
  const a = (ca - m) / m;
  const b = (cb - m) / m;
  const aa = a >= 0.0 ? a : -a;
  const ab = b >= 0.0 ? b : -b;
  const z = (1.0 - aa) - ab;
  let x = a;
  let y = b;
  if (z < 0.0) {
    x = a >= 0.0 ? 1.0 - ab : -(1.0 - ab);
    y = b >= 0.0 ? 1.0 - aa : -(1.0 - aa);
  }
  n[0] = Math.fround(x);
  n[1] = Math.fround(y);
  n[2] = Math.fround(z);
}

const f32View = new DataView(new ArrayBuffer(4));
const POW2 = Float64Array.from({ length: 33 }, (_, k) => 2 ** k);

/** The float32 whose bits are the unsigned 32-bit integer v. */
function bitsToFloat32(v) {
  f32View.setUint32(0, v, true);
  return f32View.getFloat32(0, true);
}

/** The bits of an index into a table of `size` planes: the smallest w with 2^w >= size. */
function tableBits(size) {
  let w = 0;
  while (2 ** w < size) w++;
  return w;
}

/** The coded planes so far (coding 2's reuse escape indexes them), kept across a progressive file's levels. */
function planeTable(capacity) {
  const n = Math.max(capacity, 1);
  return { normal: new Float32Array(3 * n), offset: new Float32Array(n), size: 0 };
}

/**
 * A plane stream (quantized.decode_step): returns {normal, offset} (float32 per node) or a negative
 * status. `coding` 2 to 4 has escapes: a normal code 2m + 1 escapes to a reused or an exact float32
 * plane; in codings 3 and 4 the codes follow the nodes' exact cells (nodes at depth <= CELL_DEPTH)
 * instead of their boxes; coding 4 codes an upward normal as rotated codes s (bn bits, 2m + 1 the
 * escape) and t (bn - 1 bits; quantized._unrotated_codes). A branch with known[i] set takes its plane from kplanes (4 per node) and reads nothing;
 * the coded planes join `table` (a fresh one when null).
 */
function decodePlanes(bits, next, rootLo, rootHi, tol, extra, coding, known = null, kplanes = null, table = null) {
  const escapes = coding >= ESCAPED_PLANES;
  const useCells = coding >= CELL_PLANES;
  const hemi = coding === HEMISPHERE_PLANES;
  const nNodes = next.length;
  const normal = new Float32Array(3 * nNodes);
  const offset = new Float32Array(nNodes);
  const r = rootRegion(useCells, rootLo, rootHi, nNodes);
  const { lo, hi } = r;
  if (table === null) table = planeTable(nNodes);
  const tn = table.normal;
  const to = table.offset;
  let size = table.size;
  const n = new Float64Array(3);
  const mins = new Float64Array(3);
  const maxs = new Float64Array(3);
  const range = new Float64Array(2);
  const total = bits.length * 8;
  const read = (pos, width) => { // quantized._read (widths up to 32: exact in a double)
    let v = 0;
    for (let k = 0; k < width; k++) {
      const p = pos + k;
      if ((bits[p >> 3] >> (p & 7)) & 1) v += POW2[k];
    }
    return v;
  };
  let pos = 0;
  for (let i = 0; i < nNodes; i++) {
    if (next[i] < 0) continue;
    const o3 = 3 * i;
    const hasCell = useCells && r.depth[i] <= CELL_DEPTH;
    let va = 0; // the node's cell: vertices va..vb of the stack (quantized._pop_cell)
    let vb = 0;
    if (hasCell) {
      r.top--;
      va = r.start[r.top];
      vb = r.start[r.top + 1];
    }
    let off;
    if (known !== null && known[i]) {
      for (let k = 0; k < 3; k++) n[k] = kplanes[4 * i + k];
      off = kplanes[4 * i + 3];
      splitRegion(r, i, hasCell, n, off, next, mins, maxs, va, vb);
      normal.set(n, o3);
      offset[i] = off;
      continue;
    }
    const bn = normalBits(lo, hi, o3, tol, extra);
    const m = (1 << (bn - 1)) - 1;
    if (pos + bn > total) return { status: -1 };
    let ca = read(pos, bn);
    pos += bn;
    if (ca === 2 * m + 1 && escapes) {
      if (pos + 1 > total) return { status: -1 };
      const kind = read(pos, 1);
      pos += 1;
      if (kind === 0) {
        // reuse an earlier coded plane
        const w = tableBits(size);
        if (pos + w > total) return { status: -1 };
        const ri = read(pos, w);
        pos += w;
        if (ri >= size) return { status: -2 };
        for (let k = 0; k < 3; k++) n[k] = tn[3 * ri + k];
        off = to[ri];
      } else {
        // an exact float32 plane
        if (pos + 3 > total) return { status: -1 };
        const form = read(pos, 3);
        pos += 3;
        if (form === 7) return { status: -2 };
        if (form === 6) {
          if (pos + 96 > total) return { status: -1 };
          let nonzero = false;
          for (let k = 0; k < 3; k++) {
            n[k] = bitsToFloat32(read(pos, 32));
            pos += 32;
            if (!(Math.abs(n[k]) <= 1.0)) return { status: -2 };
            if (n[k] !== 0.0) nonzero = true;
          }
          if (!nonzero) return { status: -2 };
        } else {
          for (let k = 0; k < 3; k++) n[k] = 0.0;
          n[form >> 1] = form & 1 ? -1.0 : 1.0;
        }
        if (pos + 32 > total) return { status: -1 };
        off = bitsToFloat32(read(pos, 32));
        pos += 32;
        if (!Number.isFinite(off)) return { status: -4 };
        tn.set(n, 3 * size);
        to[size++] = off;
      }
    } else {
      const wb = hemi ? bn - 1 : bn;
      if (pos + wb > total) return { status: -1 };
      let cb = read(pos, wb);
      pos += wb;
      if (hemi && ca <= 2 * m) { // quantized._unrotated_codes
        if (ca % 2 === 1 && cb === m) return { status: -2 };
        const d = 2 * cb + (ca % 2);
        cb = (ca - d) / 2 + m;
        ca = (ca + d) / 2;
      }
      if (ca > 2 * m || cb > 2 * m) return { status: -2 };
      if (hemi) upperOctahedral(ca, cb, m, n);
      else octahedral(ca, cb, m, n);
      regionRange(hasCell, r.px, va, vb, n, lo, hi, o3, mins, maxs, range); // quantized._region_range
      const loInt = range[0];
      const width = range[1];
      const bo = bitsFor(width, tol, MAX_OFFSET_BITS);
      if (pos + bo > total) return { status: -1 };
      const q = read(pos, bo);
      pos += bo;
      off = Math.fround(loInt + ((q + 0.5) / 2 ** bo) * width);
      if (!Number.isFinite(off)) return { status: -4 };
      tn.set(n, 3 * size);
      to[size++] = off;
    }
    normal.set(n, o3);
    offset[i] = off;
    splitRegion(r, i, hasCell, n, off, next, mins, maxs, va, vb);
  }
  table.size = size;
  if (((pos + 7) >> 3) !== bits.length) return { status: -3 };
  for (; pos < total; pos++) if ((bits[pos >> 3] >> (pos & 7)) & 1) return { status: -3 };
  return { status: 0, normal, offset };
}

/** mins[k], maxs[k]: the range of n_k u_k over box o3 (quantized._extent_terms). */
function extentTerms(n, lo, hi, o3, mins, maxs) {
  for (let k = 0; k < 3; k++) {
    const p = n[k] * lo[o3 + k];
    const q = n[k] * hi[o3 + k];
    mins[k] = p < q ? p : q;
    maxs[k] = p < q ? q : p;
  }
}

/** range = [low end, width] of n.u over the node's cell (vertices va..vb) when it has one, else over its
 * box (quantized._region_range, _offset_range and cells.cell_range; an empty cell: 0, 0). */
function regionRange(hasCell, px, va, vb, n, lo, hi, o3, mins, maxs, range) {
  if (!hasCell) {
    extentTerms(n, lo, hi, o3, mins, maxs);
    const loInt = (mins[0] + mins[1]) + mins[2];
    range[0] = loInt;
    range[1] = ((maxs[0] + maxs[1]) + maxs[2]) - loInt;
    return;
  }
  if (vb <= va) {
    range[0] = 0.0;
    range[1] = 0.0;
    return;
  }
  const n0 = n[0];
  const n1 = n[1];
  const n2 = n[2];
  let low = ((n0 * px[3 * va] + n1 * px[3 * va + 1]) + n2 * px[3 * va + 2]) - 0.0;
  let high = low;
  for (let v = va + 1; v < vb; v++) {
    const d = ((n0 * px[3 * v] + n1 * px[3 * v + 1]) + n2 * px[3 * v + 2]) - 0.0;
    if (d < low) low = d; // Python's min and max: the first argument unless the second is beyond it
    if (d > high) high = d;
  }
  range[0] = low;
  range[1] = high - low;
}

let cellStore = null;

/**
 * The per-node boxes (the root's set), depths, and for coding 3 the cell stack with the root box's cell
 * on it (quantized._root_region): vertex v is px[3v..3v+2] (float64), its plane ids ids[16v..] (cnt[v] of
 * them; int32, ids below 2^32 wrap but stay distinct), cell k is vertices start[k-1]..start[k], `top` cells.
 */
function rootRegion(useCells, rootLo, rootHi, nNodes) {
  const lo = new Float64Array(3 * nNodes);
  const hi = new Float64Array(3 * nNodes);
  lo.set(rootLo, 0);
  hi.set(rootHi, 0);
  const r = { lo, hi, depth: new Int32Array(nNodes), nNodes, top: 0, px: null, ids: null, cnt: null, start: null, s: null,
    neg: null, pos: null, splitEnd: 0 };
  if (useCells) {
    if (cellStore === null) { // one stack for every decode (decodes do not interleave: nothing awaits inside)
      const cap = (CELL_DEPTH + 4) * CELL_VERTICES;
      cellStore = { px: new Float64Array(3 * cap), ids: new Int32Array(VERTEX_PLANES * cap), cnt: new Int32Array(cap),
        start: new Int32Array(CELL_DEPTH + 4), s: new Float64Array(CELL_VERTICES), neg: new Int32Array(CELL_VERTICES),
        pos: new Int32Array(CELL_VERTICES) };
    }
    Object.assign(r, cellStore);
    r.start[0] = 0;
    r.start[1] = writeBox(r, 0, rootLo, 0, rootHi, 0, 0);
    r.top = 1;
  }
  return r;
}

/** The 8 corners of box [lo, hi] (at lo[lo3..], hi[hi3..]) at vertex `at`: corner c takes hi on axis a when bit
 * a of c is set, and lies on planes base + a (lo) or base + 3 + a (hi) (cells.write_box). Returns the end. */
function writeBox(r, at, lo, lo3, hi, hi3, base) {
  const { px, ids, cnt } = r;
  for (let c = 0; c < 8; c++) {
    const v = at + c;
    for (let a = 0; a < 3; a++) {
      const up = (c >> a) & 1;
      px[3 * v + a] = up ? hi[hi3 + a] : lo[lo3 + a];
      ids[VERTEX_PLANES * v + a] = (base + a + 3 * up) | 0;
    }
    cnt[v] = 3;
  }
  return at + 8;
}

/** The bounding box of vertices a..b into lo, hi at o3 (0, 0 for an empty cell; cells.cell_bounds). */
function cellBounds(px, a, b, lo, hi, o3) {
  if (b <= a) {
    for (let k = 0; k < 3; k++) {
      lo[o3 + k] = 0.0;
      hi[o3 + k] = 0.0;
    }
    return;
  }
  for (let k = 0; k < 3; k++) {
    lo[o3 + k] = px[3 * a + k];
    hi[o3 + k] = px[3 * a + k];
  }
  for (let v = a + 1; v < b; v++) {
    for (let k = 0; k < 3; k++) {
      const x = px[3 * v + k];
      if (x < lo[o3 + k]) lo[o3 + k] = x;
      if (x > hi[o3 + k]) hi[o3 + k] = x;
    }
  }
}

/**
 * After branch i's plane (n, off) is known (quantized._split_region): its children's depths and boxes
 * (a cell's box is its bounding box) and, for children at depth <= CELL_DEPTH of a node with a cell
 * (vertices a..b, already popped), their cells pushed (right first, so the left child's is on top;
 * leaves get none).
 */
function splitRegion(r, i, hasCell, n, off, next, mins, maxs, a, b) {
  const { lo, hi, depth } = r;
  const li = i + 1;
  const ri = next[i];
  depth[li] = depth[i] + 1;
  depth[ri] = depth[i] + 1;
  if (!hasCell || depth[i] >= CELL_DEPTH) { // quantized._split_children
    extentTerms(n, lo, hi, 3 * i, mins, maxs);
    splitBox(n, off, lo, hi, 3 * i, 3 * li, 3 * ri, mins, maxs);
    return;
  }
  const base = ROOT_IDS + r.nNodes;
  const ends = splitCell(r, a, b, n[0], n[1], n[2], off, ROOT_IDS + i, 3 * i, base + 6 * li, base + 6 * ri);
  const l0 = b + CELL_VERTICES;
  const l1 = ends;
  const r1 = r.splitEnd;
  cellBounds(r.px, l0, l1, lo, hi, 3 * li);
  cellBounds(r.px, l1, r1, lo, hi, 3 * ri);
  let at = a;
  if (next[ri] >= 0) {
    moveCells(r, l1, at, r1 - l1);
    at += r1 - l1;
    r.start[++r.top] = at;
  }
  if (next[li] >= 0) {
    moveCells(r, l0, at, l1 - l0);
    at += l1 - l0;
    r.start[++r.top] = at;
  }
}

/** Move count vertices from src down to dst <= src (cells.move_cells). */
function moveCells(r, src, dst, count) {
  const { px, ids, cnt } = r;
  for (let v = 0; v < count; v++) {
    const s = src + v;
    const d = dst + v;
    px[3 * d] = px[3 * s];
    px[3 * d + 1] = px[3 * s + 1];
    px[3 * d + 2] = px[3 * s + 2];
    const c = cnt[s];
    for (let p = 0; p < c; p++) ids[VERTEX_PLANES * d + p] = ids[VERTEX_PLANES * s + p];
    cnt[d] = c;
  }
}

/**
 * Split the cell of vertices a..b (bounding box lo, hi at o3) by the plane n.u = o (id kId) into its left
 * child (s = n.v - o <= 0) and right child (s >= 0), written from b + CELL_VERTICES on: returns the left
 * child's end (the right child's start; its end in r.splitEnd) (cells.split_cell). Every pair of
 * vertices p (s < 0) and q (s > 0), in cell order, that share two ids is an edge crossing the plane: it
 * gives the vertex p + t (q - p), t = s_p / (s_p - s_q), on their shared ids and kId; vertices with s = 0
 * belong to both children and gain kId. More than CELL_VERTICES cuts or a cut on more than VERTEX_PLANES
 * planes make both children the box (ids leftBase + 0..5, rightBase + 0..5); a child over CELL_VERTICES
 * vertices or with a kept vertex over VERTEX_PLANES ids becomes it alone.
 */
function splitCell(r, a, b, n0, n1, n2, o, kId, o3, leftBase, rightBase) {
  const { px, ids, cnt, s, neg, pos } = r;
  const P = VERTEX_PLANES;
  let nNeg = 0; // the vertices with s < 0 and s > 0, in cell order: the pair loop's p and q
  let nPos = 0;
  for (let v = a; v < b; v++) {
    const sv = ((n0 * px[3 * v] + n1 * px[3 * v + 1]) + n2 * px[3 * v + 2]) - o;
    s[v - a] = sv;
    if (sv < 0.0) neg[nNeg++] = v;
    else if (sv > 0.0) pos[nPos++] = v;
  }
  let nCut = 0; // the cut vertices, at b ..
  let cutOver = false;
  let w = b;
  pairs: for (let pi = 0; pi < nNeg; pi++) {
    const p = neg[pi];
    const sp = s[p - a];
    const cp = cnt[p];
    const ip = P * p;
    for (let qi = 0; qi < nPos; qi++) {
      const q = pos[qi];
      const cq = cnt[q];
      const iq = P * q;
      let shared = 0; // cells._shared, stopped at 2 (all the test needs)
      for (let x = 0; x < cp && shared < 2; x++) {
        const id = ids[ip + x];
        for (let y = 0; y < cq; y++) {
          if (ids[iq + y] === id) {
            shared++;
            break;
          }
        }
      }
      if (shared < 2) continue;
      if (nCut >= CELL_VERTICES) {
        cutOver = true;
        break pairs;
      }
      const sq = s[q - a];
      const t = sp / (sp - sq);
      for (let k = 0; k < 3; k++) px[3 * w + k] = px[3 * p + k] + t * (px[3 * q + k] - px[3 * p + k]);
      let c = 0;
      const iw = P * w;
      for (let x = 0; x < cp; x++) {
        const id = ids[ip + x];
        for (let y = 0; y < cq; y++) {
          if (ids[iq + y] === id) {
            if (c < P) ids[iw + c] = id;
            c++;
            break;
          }
        }
      }
      if (c + 1 > P) { // both children become boxes whatever the other cuts are
        cutOver = true;
        break pairs;
      }
      ids[iw + c] = kId;
      cnt[w] = c + 1;
      nCut++;
      w++;
    }
  }
  const l0 = b + CELL_VERTICES;
  let l1;
  if (cutOver || overFull(cnt, s, a, b, -1, nCut)) {
    l1 = writeBox(r, l0, r.lo, o3, r.hi, o3, leftBase);
  } else {
    l1 = writeSide(r, a, b, -1, l0, kId, nCut);
  }
  if (cutOver || overFull(cnt, s, a, b, 1, nCut)) {
    r.splitEnd = writeBox(r, l1, r.lo, o3, r.hi, o3, rightBase);
  } else {
    r.splitEnd = writeSide(r, a, b, 1, l1, kId, nCut);
  }
  return l1;
}

/** Whether the child on side `sign` (-1 left: s <= 0, +1 right: s >= 0) is over-full: more than
 * CELL_VERTICES vertices, or a kept vertex on the plane over VERTEX_PLANES ids (cells._over_full). */
function overFull(cnt, s, a, b, sign, nCut) {
  let k = nCut;
  let over = false;
  for (let v = a; v < b; v++) {
    const sv = s[v - a];
    if ((sign < 0 && sv <= 0.0) || (sign > 0 && sv >= 0.0)) {
      k++;
      if (sv === 0.0 && cnt[v] + 1 > VERTEX_PLANES) over = true;
    }
  }
  return over || k > CELL_VERTICES;
}

/** Write one child at `at`: the kept vertices of side `sign` in order (those on the plane gain id kId),
 * then the nCut cut vertices stored at b. Returns the end (cells._write_side). */
function writeSide(r, a, b, sign, at, kId, nCut) {
  const { px, ids, cnt, s } = r;
  const P = VERTEX_PLANES;
  let w = at;
  for (let v = a; v < b; v++) {
    const sv = s[v - a];
    if ((sign < 0 && sv <= 0.0) || (sign > 0 && sv >= 0.0)) {
      px[3 * w] = px[3 * v];
      px[3 * w + 1] = px[3 * v + 1];
      px[3 * w + 2] = px[3 * v + 2];
      let c = cnt[v];
      for (let p = 0; p < c; p++) ids[P * w + p] = ids[P * v + p];
      if (sv === 0.0) ids[P * w + c++] = kId;
      cnt[w] = c;
      w++;
    }
  }
  moveCells(r, b, w, nCut);
  return w + nCut;
}

/** The children's boxes (at l3, r3): (box and n.u < off) and (box and n.u >= off), per axis, clamped to the box. */
function splitBox(n, off, lo, hi, o3, l3, r3, mins, maxs) {
  for (let k = 0; k < 3; k++) {
    lo[l3 + k] = lo[o3 + k];
    hi[l3 + k] = hi[o3 + k];
    lo[r3 + k] = lo[o3 + k];
    hi[r3 + k] = hi[o3 + k];
  }
  for (let k = 0; k < 3; k++) {
    const nk = n[k];
    if (nk === 0.0) continue;
    const j = k === 0 ? 1 : 0;
    const l = k === 2 ? 1 : 2;
    let bl = (off - (mins[j] + mins[l])) / nk;
    let br = (off - (maxs[j] + maxs[l])) / nk;
    if (bl < lo[o3 + k]) bl = lo[o3 + k];
    if (bl > hi[o3 + k]) bl = hi[o3 + k];
    if (br < lo[o3 + k]) br = lo[o3 + k];
    if (br > hi[o3 + k]) br = hi[o3 + k];
    if (nk > 0.0) {
      hi[l3 + k] = bl;
      lo[r3 + k] = br;
    } else {
      lo[l3 + k] = bl;
      hi[r3 + k] = br;
    }
  }
}

function minPlaneBytes(nLeaves, coding) {
  const perBranch = coding >= ESCAPED_PLANES ? MIN_NORMAL_BITS + 1 : 2 * MIN_NORMAL_BITS;
  return Math.ceil((perBranch * (nLeaves - 1)) / 8);
}

/** The quantisation parameters opening a coding-1 to 4 stream: {extra, tol} (coding 4: quarter steps). */
function readParameters(data, end, lo, hi, name, coding) {
  if (end < 2) throw new FormatError(`${name}: truncated (no quantisation parameters)`);
  const byte = data[0];
  const extra = data[1];
  const steps = coding === HEMISPHERE_PLANES ? PRECISION_STEPS : 1;
  if (byte > MAX_PRECISION * steps || extra > MAX_NORMAL_EXTRA) {
    throw new FormatError(`${name}: invalid quantisation parameters (precision byte ${byte}, normal extra ${extra})`);
  }
  for (let k = 0; k < 3; k++) {
    if (!(Math.abs(lo[k]) <= MAX_FRAME && Math.abs(hi[k]) <= MAX_FRAME)) {
      throw new FormatError(`${name}: bounds too far from the frame for quantised planes`);
    }
  }
  let longest = 0.0;
  for (let k = 0; k < 3; k++) if (hi[k] - lo[k] > longest) longest = hi[k] - lo[k];
  // quantized.tolerance: a power-of-two multiple, then (coding 4) one rounding by the quarter step
  const whole = steps > 1 ? byte >> 2 : byte;
  const fraction = steps > 1 ? STEP_FRACTIONS[byte & 3] : 1.0;
  return { extra, tol: (longest / 2 ** whole) * fraction };
}

/** Coding 1, 2 or 3's inflated stream data[0, end): parameters, then per tree counts, structure, planes. */
function decodeQuantizedBlocks(data, end, nTrees, kind, lo, hi, name, coding) {
  const { extra, tol } = readParameters(data, end, lo, hi, name, coding);
  let pos = 2;
  const trees = [];
  for (let t = 0; t < nTrees; t++) {
    const got = decodeQuantizedTree(data, pos, end, kind, lo, hi, tol, extra, coding, null, name);
    trees.push(got.tree);
    pos = got.pos;
  }
  if (pos !== end) throw new FormatError(`${name}: ${end - pos} unexpected trailing bytes`);
  return trees;
}

/** One tree block of a coding-1/2/3 stream at pos: {tree, pos after}; its coded planes join `table`. */
function decodeQuantizedTree(data, pos, end, kind, lo, hi, tol, extra, coding, table, name) {
  const view = new DataView(data.buffer, data.byteOffset, data.length);
  if (pos + 4 > end) throw new FormatError(`${name}: truncated (tree header past the end)`);
  const nLeaves = view.getUint32(pos, true);
  pos += 4;
  if (nLeaves < 1 || nLeaves > MAX_LEAVES) throw new FormatError(`${name}: invalid leaf count ${nLeaves}`);
  const sb = structureBytes(nLeaves, kind);
  const vectorBytes = kind === NORMALS ? 12 * nLeaves : 0;
  if (pos + sb + 4 + minPlaneBytes(nLeaves, coding) + vectorBytes > end) {
    throw new FormatError(`${name}: header says ${nLeaves} leaves but the file is too short`);
  }
  const decoded = decodeStructure(data.subarray(pos, pos + sb), nLeaves, kind === OCCUPANCY);
  pos += sb;
  if (decoded.status !== 0) throw new FormatError(`${name}: malformed tree structure (code ${decoded.status})`);
  const { next, depth } = decoded;
  const got = readPlanes(data, pos, end - vectorBytes, nLeaves - 1, next, lo, hi, tol, extra, coding, null, null,
    table, name);
  pos = got.pos;
  if (kind === NORMALS) pos = readLeafVectors(view, pos, next, got.planes, name);
  return { tree: { nLeaves, nNodes: next.length, depth, planes: got.planes, next }, pos };
}

/** A plane stream (its size first) at pos within data[0, end) coding the nCoded branches that are not known. */
function readPlanes(data, pos, end, nCoded, next, lo, hi, tol, extra, coding, known, kplanes, table, name) {
  const view = new DataView(data.buffer, data.byteOffset, data.length);
  if (pos + 4 > end) throw new FormatError(`${name}: truncated (plane stream size past the end)`);
  const planeBytes = view.getUint32(pos, true);
  pos += 4;
  if (planeBytes < minPlaneBytes(nCoded + 1, coding) || pos + planeBytes > end) {
    throw new FormatError(`${name}: invalid plane stream size ${planeBytes} for ${nCoded} planes`);
  }
  const got = decodePlanes(data.subarray(pos, pos + planeBytes), next, lo, hi, tol, extra, coding, known, kplanes,
    table);
  if (got.status !== 0) throw new FormatError(`${name}: malformed plane stream (code ${got.status})`);
  const nNodes = next.length;
  const planes = new Float32Array(4 * nNodes);
  for (let i = 0; i < nNodes; i++) {
    if (next[i] < 0) continue;
    planes.set(got.normal.subarray(3 * i, 3 * i + 3), 4 * i);
    planes[4 * i + 3] = got.offset[i];
  }
  return { planes, pos: pos + planeBytes };
}

async function inflate(bytes, limit, format = "deflate") {
  // at most `limit` bytes come out: a lying size cannot make the reader allocate more
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream(format));
  const reader = stream.getReader();
  const out = new Uint8Array(limit);
  let got = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (got + value.length > limit) {
      await reader.cancel();
      return null;
    }
    out.set(value, got);
    got += value.length;
  }
  return out.subarray(0, got);
}

/** 2 ** e for an integer e (exact, without Math.pow; Infinity above the float64 range). */
function pow2(e) {
  if (e > 1023) return Infinity;
  if (e < -1022) return pow2(e + 64) * 2 ** -64; // a subnormal power of two: exact
  const v = new DataView(new ArrayBuffer(8));
  v.setUint16(0, (e + 1023) << 4);
  return v.getFloat64(0);
}

/**
 * The frame trees are built in (shapetree.tree.edits.bounds_frame), what a compact header stands for:
 * {origin: Float64Array(3), scale} with the origin at the centre of bounds ([min xyz, max xyz]) and the
 * scale the power of two 2^e with 2^(e-1) <= h < 2^e, h half the longest side; null if h is not > 0.
 */
export function boundsFrame(bounds) {
  const origin = new Float64Array(3);
  let half = -Infinity;
  for (let k = 0; k < 3; k++) {
    origin[k] = bounds[k] / 2 + bounds[3 + k] / 2; // halves first: no overflow near the float64 limit
    const h = bounds[3 + k] / 2 - bounds[k] / 2;
    if (h > half || Number.isNaN(h)) half = h;
  }
  if (!(Number.isFinite(half) && half > 0)) return null;
  const v = new DataView(new ArrayBuffer(8));
  v.setFloat64(0, half);
  let biased = v.getUint16(0) >> 4; // the sign bit is 0
  let shift = 0;
  if (biased === 0) { // subnormal: scaled up exactly
    v.setFloat64(0, half * 2 ** 64);
    biased = v.getUint16(0) >> 4;
    shift = 64;
  }
  return { origin, scale: pow2(biased - 1022 - shift) }; // half = 1.m * 2^(biased - 1023)
}

/** The byte count and layout of a v2 header, by its flags byte (stree_v2.header_layout). */
function headerLayout(data, name) {
  const flags = data[7];
  if (flags & ~FLAGS) throw new FormatError(`${name}: unknown flags 0x${flags.toString(16)}`);
  const compact = (flags & COMPACT) !== 0;
  return { compact, bytes: compact ? COMPACT_HEADER_BYTES : HEADER2_BYTES };
}

/** Every field of a v2 header but the checksum (stree_v2.parse_header; data: at least the header). */
function parseHeader2(data, name) {
  const view = new DataView(data.buffer, data.byteOffset, data.length);
  if (String.fromCharCode(...data.subarray(0, 4)) !== "STRE" || data[4] !== 2) {
    throw new FormatError(`${name}: not a .stree v2 file`);
  }
  const { compact, bytes } = headerLayout(data, name);
  const kind = data[5];
  const coding = data[6];
  const flags = data[7];
  const nTrees = view.getUint16(8, true);
  const at = compact ? 10 : 12; // the bounds
  const reserved = compact ? 0 : view.getUint16(10, true);
  const bounds = new Float64Array(6);
  for (let k = 0; k < 6; k++) bounds[k] = view.getFloat64(at + 8 * k, true);
  if (!(kind in KIND_NAMES)) throw new FormatError(`${name}: unknown tree kind ${kind}`);
  checkHeader(name, nTrees, kind, bounds);
  if (coding !== FLOAT32_PLANES && !(coding >= QUANTIZED_PLANES && coding <= HEMISPHERE_PLANES)) {
    throw new FormatError(`${name}: unknown plane coding ${coding}`);
  }
  if (reserved) throw new FormatError(`${name}: reserved field ${reserved} is not 0`);
  let origin;
  let scale;
  if (compact) {
    const frame = boundsFrame(bounds);
    if (frame === null) throw new FormatError(`${name}: invalid frame (bounds without extent)`);
    ({ origin, scale } = frame);
  } else {
    origin = new Float64Array(3);
    for (let k = 0; k < 3; k++) origin[k] = view.getFloat64(60 + 8 * k, true);
    scale = view.getFloat64(84, true);
  }
  if (!(origin.every(Number.isFinite) && Number.isFinite(scale) && scale > 0)) {
    throw new FormatError(`${name}: invalid frame (origin [${Array.from(origin, pyFloat).join(", ")}], scale ${pyFloat(scale)})`);
  }
  return { kind, coding, flags, nTrees, bounds, origin, scale, compact, headerBytes: bytes,
    rawSize: view.getUint32(bytes - 8, true), packedSize: view.getUint32(bytes - 4, true) };
}

function checkRawSize(h, name) {
  if (h.rawSize > MAX_RAW || h.rawSize > MAX_RATIO * h.packedSize + 64) {
    throw new FormatError(`${name}: implausible unpacked size ${h.rawSize} for ${h.packedSize} packed bytes`);
  }
}

async function decodeV2(data, name) {
  const size = data.length;
  const view = new DataView(data.buffer, data.byteOffset, size);
  const tooShort = () => new FormatError(`${name}: too short to be a .stree v2 file (${size} bytes)`);
  if (size < COMPACT_HEADER_BYTES + 4) throw tooShort();
  if (crc32(data.subarray(0, size - 4)) !== view.getUint32(size - 4, true)) {
    throw new FormatError(`${name}: checksum mismatch (file is corrupted or truncated)`);
  }
  if (size < headerLayout(data, name).bytes + 4) throw tooShort();
  const h = parseHeader2(data, name);
  const { kind, coding, nTrees, bounds, origin, scale, rawSize, packedSize, headerBytes } = h;
  if (h.flags & PROGRESSIVE) {
    throw new FormatError(`${name}: a progressive file (flags 0x${h.flags.toString(16)}): read it with formats.progressive`);
  }
  if (headerBytes + packedSize + 4 !== size) {
    throw new FormatError(`${name}: header says ${packedSize} packed bytes, the file holds ${size - headerBytes - 4}`);
  }
  checkRawSize(h, name);
  let raw;
  try {
    raw = await inflate(data.subarray(headerBytes, headerBytes + packedSize), rawSize + 1,
      h.compact ? "deflate-raw" : "deflate");
  } catch (err) {
    throw new FormatError(`${name}: corrupted tree data (${err.message})`);
  }
  if (raw === null || raw.length !== rawSize) {
    throw new FormatError(`${name}: tree data does not match the header's size ${rawSize}`);
  }
  let trees;
  if (coding === FLOAT32_PLANES) {
    trees = decodeBlocks(raw, 0, rawSize, nTrees, kind, name);
  } else {
    const lo = new Float64Array(3);
    const hi = new Float64Array(3);
    for (let k = 0; k < 3; k++) {
      lo[k] = (bounds[k] - origin[k]) / scale;
      hi[k] = (bounds[3 + k] - origin[k]) / scale;
    }
    trees = decodeQuantizedBlocks(raw, rawSize, nTrees, kind, lo, hi, name, coding);
  }
  return { kind, bounds, trees, origin, scale };
}

// ---- progressive files (flag 1): every step mirrors shapetree/formats/progressive.py ----

const SLOT = 0;
const NEW = 1;

const bitAt = (bits, b) => (bits[b >> 3] >> (b & 7)) & 1;

function padded(bits, b) {
  if (((b + 7) >> 3) !== bits.length) return false;
  for (; b < bits.length * 8; b++) if (bitAt(bits, b)) return false;
  return true;
}

/** A level's structure from its insert, grow and shape streams and the old level (progressive.decode_delta). */
function decodeDelta(ins, grow, shape, nLeaves, old) {
  const n = 2 * nLeaves - 1;
  const next = new Int32Array(n).fill(LEAF_OUT);
  const isBranch = new Uint8Array(n);
  const oldOf = new Int32Array(n).fill(-1);
  const task = new Int32Array(n + 2);
  const olds = new Int32Array(n + 2);
  const parent = new Int32Array(n + 2);
  const ti = ins.length * 8;
  const tg = grow.length * 8;
  const ts = shape.length * 8;
  let bi = 0;
  let bg = 0;
  let bs = 0;
  let count = 0;
  let leaves = 0;
  task[0] = SLOT;
  olds[0] = 0;
  parent[0] = -1;
  let sp = 1;
  const push = (t, o, p) => {
    task[sp] = t;
    olds[sp] = o;
    parent[sp] = p;
    sp++;
  };
  while (sp > 0) {
    sp--;
    const t = task[sp];
    const o = olds[sp];
    const p = parent[sp];
    if (count >= n) return { status: -2 };
    const k = count++;
    if (p >= 0 && k !== p + 1) next[p] = k; // a left child is the node after its parent
    let branch = false;
    if (t === SLOT) {
      if (bi >= ti) return { status: -1 };
      if (bitAt(ins, bi++)) { // a new branch above the old node o
        if (bs >= ts) return { status: -1 };
        isBranch[k] = 1;
        if (sp + 2 > n + 2) return { status: -2 };
        if (bitAt(shape, bs++) === 0) {
          push(NEW, -1, k);
          push(SLOT, o, k);
        } else {
          push(SLOT, o, k);
          push(NEW, -1, k);
        }
        continue;
      }
      oldOf[k] = o;
      if (old.next[o] >= 0) {
        isBranch[k] = 1;
        if (sp + 2 > n + 2) return { status: -2 };
        push(SLOT, old.next[o], k);
        push(SLOT, o + 1, k);
        continue;
      }
      if (bg >= tg) return { status: -1 };
      if (bitAt(grow, bg++)) {
        branch = true;
      } else {
        next[k] = old.next[o];
        leaves++;
      }
    } else {
      if (bs >= ts) return { status: -1 };
      if (bitAt(shape, bs++)) {
        if (bs >= ts) return { status: -1 };
        next[k] = bitAt(shape, bs++) ? LEAF_IN : LEAF_OUT;
        leaves++;
      } else {
        branch = true;
      }
    }
    if (branch) {
      isBranch[k] = 1;
      if (sp + 2 > n + 2) return { status: -2 };
      push(NEW, -1, k);
      push(NEW, -1, k);
    }
  }
  if (count !== n || leaves !== nLeaves) return { status: -3 };
  if (!(padded(ins, bi) && padded(grow, bg) && padded(shape, bs))) return { status: -4 };
  for (let k = 0; k < n; k++) if (isBranch[k] && next[k] < 0) return { status: -3 };
  const depthOf = new Int32Array(n);
  let depth = 0;
  for (let k = 0; k < n; k++) {
    if (next[k] >= 0) {
      depthOf[k + 1] = depthOf[k] + 1;
      depthOf[next[k]] = depthOf[k] + 1;
    } else if (depthOf[k] > depth) {
      depth = depthOf[k];
    }
  }
  return { status: 0, next, oldOf, depth };
}

/** Level i >= 1 from its inflated chunk raw[0, end) and level i - 1 (progressive._read_delta). */
function decodeLevel(raw, end, old, nLeaves, lo, hi, tol, extra, coding, table, name) {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.length);
  const added = nLeaves - old.nLeaves;
  let pos = 0;
  const streams = [];
  for (const what of ["insert", "grow", "shape"]) {
    if (pos + 4 > end) throw new FormatError(`${name}: truncated (${what} stream size past the end)`);
    const size = view.getUint32(pos, true);
    if (pos + 4 + size > end) throw new FormatError(`${name}: invalid ${what} stream size ${size}`);
    streams.push(raw.subarray(pos + 4, pos + 4 + size));
    pos += 4 + size;
  }
  if (pos + 4 + minPlaneBytes(added + 1, coding) > end || 8 * streams[2].length < added) {
    throw new FormatError(`${name}: level streams too short for ${added} new leaves`);
  }
  const d = decodeDelta(streams[0], streams[1], streams[2], nLeaves, old);
  if (d.status !== 0) throw new FormatError(`${name}: malformed level structure (code ${d.status})`);
  const n = d.next.length;
  const known = new Uint8Array(n);
  const kplanes = new Float32Array(4 * n);
  for (let k = 0; k < n; k++) {
    const o = d.oldOf[k];
    if (o >= 0 && d.next[k] >= 0 && old.next[o] >= 0) {
      known[k] = 1;
      kplanes.set(old.planes.subarray(4 * o, 4 * o + 4), 4 * k);
    }
  }
  const got = readPlanes(raw, pos, end, added, d.next, lo, hi, tol, extra, coding, known, kplanes, table, name);
  return { tree: { nLeaves, nNodes: n, depth: d.depth, planes: got.planes, next: d.next }, pos: got.pos };
}

/**
 * A progressive .stree file read as its bytes arrive: push() bytes, then levels() decodes every level
 * whose chunk is complete (each chunk's CRC checked first; the header's own CRC and every table
 * field before anything else), finish() when the bytes end. `size`: the file's size when known (else
 * the header's). Each level is a file object like decodeTrees' (one tree), with `level` (its index)
 * and `levels` ([{leaves, bytes}], the bytes needed to show each level).
 */
export class LevelReader {
  constructor(name = "<bytes>", size = null) {
    this.name = name;
    this.size = size;
    this.data = new Uint8Array(0);
    this.length = 0;
    this.table = null;
    this.decoded = [];
    this.planeTable = planeTable(0);
  }

  push(bytes) {
    if (this.length + bytes.length > this.data.length) {
      const grown = new Uint8Array(Math.max(2 * this.data.length, this.length + bytes.length, 1024));
      grown.set(this.data.subarray(0, this.length));
      this.data = grown;
    }
    this.data.set(bytes, this.length);
    this.length += bytes.length;
  }

  get bytes() {
    return this.data.subarray(0, this.length);
  }

  /** The header and level table, once their bytes are there (null before; progressive.read_table's checks). */
  readTable(final) {
    if (this.table !== null) return this.table;
    const data = this.bytes;
    const name = this.name;
    const view = new DataView(data.buffer, data.byteOffset, data.length);
    if (data.length < PREFIX_BYTES) {
      if (!final) return null;
      throw new FormatError(`${name}: truncated (progressive header past the end)`);
    }
    const layout = headerLayout(data, name);
    const countBytes = layout.compact ? 1 : 4;
    const first = layout.bytes + countBytes; // the table's first row
    const claimed = data.length >= layout.bytes ? layout.bytes + 4 + view.getUint32(layout.bytes - 4, true) : null;
    const size = this.size ?? (final ? data.length : claimed);
    if (data.length < first && !final) return null;
    if (data.length < first || size < first + 4) {
      throw new FormatError(`${name}: truncated (progressive header past the end)`);
    }
    const n = layout.compact ? data[layout.bytes] : view.getUint32(layout.bytes, true);
    if (!(n >= 1 && n <= MAX_LEVELS)) throw new FormatError(`${name}: invalid level count ${n}`);
    let rows;
    let tableEnd;
    if (layout.compact) {
      const got = compactRows(data, first, n, final, name);
      if (got === null) return null;
      ({ rows, tableEnd } = got);
    } else {
      tableEnd = first + LEVEL_BYTES * n;
      if (data.length < tableEnd + 4) {
        if (!final) return null;
        throw new FormatError(`${name}: truncated (level table past the end)`);
      }
      rows = [];
      for (let i = 0; i < n; i++) {
        const at = first + LEVEL_BYTES * i;
        rows.push([view.getUint32(at, true), view.getUint32(at + 4, true), view.getUint32(at + 8, true),
          view.getUint32(at + 12, true)]);
      }
    }
    if (crc32(data.subarray(0, tableEnd)) !== view.getUint32(tableEnd, true)) {
      throw new FormatError(`${name}: header checksum mismatch (file is corrupted)`);
    }
    const h = parseHeader2(data, name);
    if (!(h.flags & PROGRESSIVE) || (h.coding < QUANTIZED_PLANES || h.coding > HEMISPHERE_PLANES) || h.kind !== OCCUPANCY) {
      throw new FormatError(`${name}: a progressive file holds one occupancy tree with quantised planes`);
    }
    if (h.headerBytes + h.packedSize + 4 !== size) {
      throw new FormatError(`${name}: header says ${h.packedSize} packed bytes, the file holds ${size - h.headerBytes - 4}`);
    }
    checkRawSize(h, name);
    const stream = h.packedSize - (tableEnd + 4 - h.headerBytes);
    const levels = [];
    let leaves = 0;
    let pend = 0;
    let rend = 0;
    for (let i = 0; i < n; i++) {
      let count;
      let pe;
      let re;
      let crc;
      if (layout.compact) {
        const row = rows[i];
        if (row.includes(null)) {
          throw new FormatError(`${name}: invalid level table (level ${i}: a number not a u32 in the fewest bytes)`);
        }
        [count, pe, re, crc] = [leaves + row[0], pend + row[1], rend + row[2], row[3]];
      } else {
        [count, pe, re, crc] = rows[i];
      }
      const raw = re - rend;
      const added = count - leaves;
      if (count <= leaves || count > MAX_LEAVES || pe <= pend || re <= rend || raw > MAX_RATIO * (pe - pend) + 64) {
        throw new FormatError(`${name}: invalid level table (level ${i}: ${count} leaves, ends ${pe} / ${re})`);
      }
      if (8 * raw < 3 * (added - (i === 0 ? 1 : 0))) {
        throw new FormatError(`${name}: level ${i} claims ${count} leaves in ${raw} bytes`);
      }
      levels.push({ leaves: count, packedEnd: pe, rawEnd: re, crc, bytes: tableEnd + 4 + pe + (i === n - 1 ? 4 : 0) });
      leaves = count;
      pend = pe;
      rend = re;
    }
    if (pend !== stream || rend !== h.rawSize) {
      throw new FormatError(`${name}: level table ends at ${pend} / ${rend}, the stream holds ${stream} / ${h.rawSize}`);
    }
    const lo = new Float64Array(3);
    const hi = new Float64Array(3);
    for (let k = 0; k < 3; k++) {
      lo[k] = (h.bounds[k] - h.origin[k]) / h.scale;
      hi[k] = (h.bounds[3 + k] - h.origin[k]) / h.scale;
    }
    this.table = { h, levels, start: tableEnd + 4, lo, hi };
    return this.table;
  }

  /** Decode the levels whose bytes are complete, up to level `upto` (default: all); returns the new ones. */
  async levels(final = false, upto = Infinity) {
    const t = this.readTable(final);
    if (t === null) return [];
    const { h, levels, start, lo, hi } = t;
    const name = this.name;
    const data = this.bytes;
    const last = levels.length - 1;
    const out = [];
    while (this.decoded.length < levels.length && this.decoded.length <= upto) {
      const i = this.decoded.length;
      const lv = levels[i];
      if (i === last) {
        if (data.length < lv.bytes && !final) break;
        const size = data.length;
        if (size < 4 || crc32(data.subarray(0, size - 4)) !== new DataView(data.buffer, data.byteOffset).getUint32(size - 4, true) ||
            size !== start + lv.packedEnd + 4) {
          throw new FormatError(`${name}: checksum mismatch (file is corrupted or truncated)`);
        }
      }
      const pend = i === 0 ? 0 : levels[i - 1].packedEnd;
      if (data.length < start + lv.packedEnd) {
        if (!final) break;
        throw new FormatError(`${name}: truncated (level ${i} past the end)`);
      }
      if (crc32(data.subarray(start + pend, start + lv.packedEnd)) !== lv.crc) {
        throw new FormatError(`${name}: level ${i} checksum mismatch (file is corrupted)`);
      }
      const size = lv.rawEnd - (i === 0 ? 0 : levels[i - 1].rawEnd);
      const raw = await this.inflateLevel(i, size, name);
      const table = this.planeTable;
      if (table.offset.length < lv.leaves - 1) { // room for every coded plane of this level
        const grown = planeTable(lv.leaves - 1);
        grown.normal.set(table.normal);
        grown.offset.set(table.offset);
        grown.size = table.size;
        this.planeTable = grown;
      }
      let got;
      if (i === 0) {
        const { extra, tol } = readParameters(raw, size, lo, hi, name, h.coding);
        this.params = { extra, tol };
        got = decodeQuantizedTree(raw, 2, size, OCCUPANCY, lo, hi, tol, extra, h.coding, this.planeTable, name);
        if (got.tree.nLeaves !== lv.leaves) {
          throw new FormatError(`${name}: level 0 holds ${got.tree.nLeaves} leaves, the table says ${lv.leaves}`);
        }
      } else {
        const { extra, tol } = this.params;
        got = decodeLevel(raw, size, this.decoded[i - 1].trees[0], lv.leaves, lo, hi, tol, extra, h.coding,
          this.planeTable, name);
      }
      if (got.pos !== size) throw new FormatError(`${name}: ${size - got.pos} unexpected trailing bytes in level ${i}`);
      const file = { kind: OCCUPANCY, bounds: h.bounds, origin: h.origin, scale: h.scale, trees: [got.tree], level: i,
        levels: levels.map((l) => ({ leaves: l.leaves, bytes: l.bytes })) };
      this.decoded.push(file);
      out.push(file);
    }
    return out;
  }

  /** Level i's inflated bytes: the stream up to its chunk, as raw deflate made complete (a zlib stream's
   * header checked and dropped; a sync-flushed prefix closed by an empty final block, the last chunk's
   * Adler-32 checked by hand; a compact file's stream is raw deflate already). */
  async inflateLevel(i, size, name) {
    const { levels, start, h } = this.table;
    const stream = this.bytes.subarray(start, start + levels[i].packedEnd);
    const last = i === levels.length - 1;
    const wrap = h.compact ? 0 : 2; // the zlib header's bytes
    let raw = null;
    if (!h.compact) {
      const cmf = stream[0];
      const flg = stream[1];
      if (!(stream.length >= 2 && (cmf & 0x0f) === 8 && (cmf >> 4) <= 7 && !(flg & 0x20) && (cmf * 256 + flg) % 31 === 0)) {
        throw new FormatError(`${name}: corrupted tree data in level ${i} (incorrect header check)`);
      }
    }
    let body;
    if (last) {
      body = h.compact ? stream : stream.subarray(2, Math.max(stream.length - 4, 2));
    } else {
      body = new Uint8Array(stream.length - wrap + 2);
      body.set(stream.subarray(wrap));
      body[body.length - 2] = 0x03; // an empty final block with fixed codes
      body[body.length - 1] = 0x00;
    }
    try {
      raw = await inflate(body, this.table.levels[i].rawEnd + 1, "deflate-raw"); // a complete stream: it ends
    } catch (err) {
      throw new FormatError(`${name}: corrupted tree data in level ${i} (${err.message})`);
    }
    const from = i === 0 ? 0 : levels[i - 1].rawEnd;
    if (raw !== null && last && !h.compact && stream.length >= 6) {
      const n = stream.length;
      const stored = ((stream[n - 4] << 24) | (stream[n - 3] << 16) | (stream[n - 2] << 8) | stream[n - 1]) >>> 0;
      if (adler32(raw) !== stored) throw new FormatError(`${name}: corrupted tree data in level ${i} (incorrect data check)`);
    }
    if (raw === null || raw.length !== levels[i].rawEnd) {
      throw new FormatError(`${name}: level ${i} does not match the table's size ${size}`);
    }
    return raw.subarray(from);
  }
}

/**
 * The n rows of a compact level table at data[first] (progressive._compact_rows): {rows: [new leaves,
 * packed size, raw size (null unless a u32 in the fewest bytes), CRC-32], tableEnd: where the header's
 * checksum is}; null while its bytes are still to come. Only the numbers' lengths are checked here.
 */
function compactRows(data, first, n, final, name) {
  let least = first + MIN_COMPACT_ROW * n + 4; // the table and the checksum take at least this much
  const short = () => {
    if (!final) return true;
    throw new FormatError(`${name}: truncated (level table past the end)`);
  };
  if (data.length < least && short()) return null;
  const view = new DataView(data.buffer, data.byteOffset, data.length);
  const rows = [];
  let pos = first;
  for (let i = 0; i < n; i++) {
    const row = [];
    for (let k = 0; k < 3; k++) {
      const start = pos;
      while (data[pos] & 0x80) {
        pos += 1;
        least += 1;
        if (pos - start === MAX_NUMBER_BYTES) {
          throw new FormatError(`${name}: invalid level table (level ${i}: a number of more than ${MAX_NUMBER_BYTES} bytes)`);
        }
        if (data.length < least && short()) return null;
      }
      pos += 1;
      let value = 0;
      for (let b = start; b < pos; b++) value += (data[b] & 0x7f) * 2 ** (7 * (b - start));
      row.push(value > 0xffffffff || (pos - start > 1 && data[pos - 1] === 0) ? null : value);
    }
    row.push(view.getUint32(pos, true));
    rows.push(row);
    pos += 4;
  }
  return { rows, tableEnd: pos };
}

/** Adler-32 (zlib's stream checksum) of a byte array. */
function adler32(bytes) {
  let a = 1;
  let b = 0;
  for (let i = 0; i < bytes.length; i++) {
    a = (a + bytes[i]) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** The index of the largest level with at most maxLeaves leaves (the smallest if none; the last if null). */
export function pickLevel(levels, maxLeaves) {
  if (maxLeaves === null || maxLeaves === undefined) return levels.length - 1;
  let j = 0;
  levels.forEach((l, i) => { if (l.leaves <= maxLeaves) j = i; });
  return j;
}

async function decodeProgressive(data, name, maxLeaves) {
  const reader = new LevelReader(name, data.length);
  reader.push(data);
  const { levels } = reader.readTable(true);
  const j = pickLevel(levels, maxLeaves);
  if (j === levels.length - 1) {
    const size = data.length;
    if (crc32(data.subarray(0, size - 4)) !== new DataView(data.buffer, data.byteOffset).getUint32(size - 4, true)) {
      throw new FormatError(`${name}: checksum mismatch (file is corrupted or truncated)`);
    }
  }
  const got = await reader.levels(true, j);
  return got[got.length - 1];
}

/**
 * Parse and validate a .stree file (an ArrayBuffer), version 1 or 2. Resolves to
 * {kind, bounds: Float64Array(6) [min xyz, max xyz], origin: Float64Array(3), scale, trees: [Tree]}
 * where a Tree is {nLeaves, nNodes, depth, planes: Float32Array(4 n) (normal, offset per branch, in
 * the frame u = (x - origin) / scale; a normal-map leaf holds its vector there), next: Int32Array(n)}.
 * A progressive file resolves to its level with at most maxLeaves leaves (the largest; null: the full
 * tree), with `level` and `levels` as LevelReader gives them.
 */
export async function decodeTrees(buffer, name = "<bytes>", maxLeaves = null) {
  const data = new Uint8Array(buffer);
  if (isProgressive(data)) return decodeProgressive(data, name, maxLeaves);
  if (data.length >= 5 && String.fromCharCode(...data.subarray(0, 4)) === "STRE" && data[4] === 2) {
    return decodeV2(data, name);
  }
  return decodeV1(data, name);
}

/** The file's bounds in its trees' frame, where the viewer draws (a similarity: the image is the same). */
export function frameBounds(file) {
  return Float64Array.from(file.bounds, (v, k) => (v - file.origin[k % 3]) / file.scale);
}

/** Whether bytes (the first PREFIX_BYTES at least) start a progressive .stree file. */
export function isProgressive(data) {
  return data.length >= PREFIX_BYTES && data[0] === 0x53 && data[1] === 0x54 && data[2] === 0x52 && data[3] === 0x45 &&
    data[4] === 2 && (data[7] === PROGRESSIVE || data[7] === (PROGRESSIVE | COMPACT));
}
