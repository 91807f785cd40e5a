// The .stree file format, version 1 (docs/format.md), read in the browser with the same checks, in
// the same order, as shapetree's Python reader: a bad file is one FormatError line, never a tree.

export const OCCUPANCY = 0;
export const NORMALS = 1;
export const KIND_NAMES = { [OCCUPANCY]: "occupancy", [NORMALS]: "normals" };
const VERSION = 1;
const HEADER_BYTES = 56; // magic, version, kind, n_trees (u16), 6 x f64 bounds
const MAX_LEAVES = 2 ** 28;

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

/**
 * Parse and validate a .stree file (an ArrayBuffer). Returns
 * {kind, bounds: Float64Array(6) [min xyz, max xyz], trees: [Tree]} where a Tree is
 * {nLeaves, nNodes, depth, planes: Float32Array(4 n) (normal, offset per branch; a normal-map leaf
 * holds its vector there), next: Int32Array(n)}.
 */
export function decodeTrees(buffer, name = "<bytes>") {
  const data = new Uint8Array(buffer);
  const size = data.length;
  const view = new DataView(data.buffer, data.byteOffset, size);
  if (size < HEADER_BYTES + 4) throw new FormatError(`${name}: too short to be a .stree file (${size} bytes)`);
  const magic = data.subarray(0, 4);
  if (String.fromCharCode(...magic) !== "STRE") {
    throw new FormatError(`${name}: not a .stree file (bad magic ${printable(magic)})`);
  }
  const version = data[4];
  if (version !== VERSION) {
    throw new FormatError(`${name}: unsupported .stree version ${version} (this reader knows ${VERSION})`);
  }
  const kind = data[5];
  if (!(kind in KIND_NAMES)) throw new FormatError(`${name}: unknown tree kind ${kind}`);
  if (crc32(data.subarray(0, size - 4)) !== view.getUint32(size - 4, true)) {
    throw new FormatError(`${name}: checksum mismatch (file is corrupted or truncated)`);
  }
  const nTrees = view.getUint16(6, true);
  const bounds = new Float64Array(6);
  for (let k = 0; k < 6; k++) bounds[k] = view.getFloat64(8 + 8 * k, true);
  if (!bounds.every(Number.isFinite) || bounds[0] > bounds[3] || bounds[1] > bounds[4] || bounds[2] > bounds[5]) {
    const row = (r) => Array.from(r, pyFloat).join(", ");
    throw new FormatError(`${name}: invalid bounds [[${row(bounds.subarray(0, 3))}], [${row(bounds.subarray(3))}]]`);
  }
  if (nTrees < 1 || (kind === OCCUPANCY && nTrees !== 1)) {
    throw new FormatError(`${name}: invalid tree count ${nTrees} for a ${KIND_NAMES[kind]} file`);
  }
  let pos = HEADER_BYTES;
  const end = size - 4;
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
    if (kind === NORMALS) {
      for (let i = 0; i < nNodes; i++) {
        if (next[i] >= 0) continue;
        for (let c = 0; c < 3; c++) {
          const v = view.getFloat32(pos, true);
          pos += 4;
          if (!Number.isFinite(v)) throw new FormatError(`${name}: non-finite leaf values`);
          planes[4 * i + c] = v;
        }
      }
    }
    trees.push({ nLeaves, nNodes, depth, planes, next });
  }
  if (pos !== end) throw new FormatError(`${name}: ${end - pos} unexpected trailing bytes`);
  return { kind, bounds, trees };
}
