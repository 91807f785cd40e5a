// The .stree file format, versions 1 and 2 (docs/format.md), read in the browser with the same
// checks, in the same order, as shapetree's Python reader: a bad file is one FormatError line, never
// a tree. Version 2's blocks are inflated with the browser's own DecompressionStream("deflate").

export const OCCUPANCY = 0;
export const NORMALS = 1;
export const KIND_NAMES = { [OCCUPANCY]: "occupancy", [NORMALS]: "normals" };
const HEADER_BYTES = 56; // v1: magic, version, kind, n_trees (u16), 6 x f64 bounds
// v2: magic, version, kind, coding, flags, n_trees (u16), reserved (u16), 6 x f64 bounds,
// 3 x f64 origin, f64 scale, raw size (u32), packed size (u32)
const HEADER2_BYTES = 100;
const MAX_RAW = 2 ** 31;
const MAX_RATIO = 1100;
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
  return trees;
}

async function inflate(bytes, limit) {
  // at most `limit` bytes come out: a lying size cannot make the reader allocate more
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
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

async function decodeV2(data, name) {
  const size = data.length;
  const view = new DataView(data.buffer, data.byteOffset, size);
  if (size < HEADER2_BYTES + 4) throw new FormatError(`${name}: too short to be a .stree v2 file (${size} bytes)`);
  if (crc32(data.subarray(0, size - 4)) !== view.getUint32(size - 4, true)) {
    throw new FormatError(`${name}: checksum mismatch (file is corrupted or truncated)`);
  }
  const kind = data[5];
  if (!(kind in KIND_NAMES)) throw new FormatError(`${name}: unknown tree kind ${kind}`);
  const coding = data[6];
  const flags = data[7];
  const nTrees = view.getUint16(8, true);
  const reserved = view.getUint16(10, true);
  const bounds = new Float64Array(6);
  for (let k = 0; k < 6; k++) bounds[k] = view.getFloat64(12 + 8 * k, true);
  checkHeader(name, nTrees, kind, bounds);
  if (coding !== 0) throw new FormatError(`${name}: unknown plane coding ${coding}`);
  if (flags || reserved) {
    throw new FormatError(`${name}: unknown flags 0x${flags.toString(16)} / reserved field ${reserved}`);
  }
  const origin = new Float64Array(3);
  for (let k = 0; k < 3; k++) origin[k] = view.getFloat64(60 + 8 * k, true);
  const scale = view.getFloat64(84, true);
  if (!(origin.every(Number.isFinite) && Number.isFinite(scale) && scale > 0)) {
    throw new FormatError(`${name}: invalid frame (origin [${Array.from(origin, pyFloat).join(", ")}], scale ${pyFloat(scale)})`);
  }
  const rawSize = view.getUint32(92, true);
  const packedSize = view.getUint32(96, true);
  if (HEADER2_BYTES + packedSize + 4 !== size) {
    throw new FormatError(`${name}: header says ${packedSize} packed bytes, the file holds ${size - HEADER2_BYTES - 4}`);
  }
  if (rawSize > MAX_RAW || rawSize > MAX_RATIO * packedSize + 64) {
    throw new FormatError(`${name}: implausible unpacked size ${rawSize} for ${packedSize} packed bytes`);
  }
  let raw;
  try {
    raw = await inflate(data.subarray(HEADER2_BYTES, HEADER2_BYTES + packedSize), rawSize + 1);
  } catch (err) {
    throw new FormatError(`${name}: corrupted tree data (${err.message})`);
  }
  if (raw === null || raw.length !== rawSize) {
    throw new FormatError(`${name}: tree data does not match the header's size ${rawSize}`);
  }
  const trees = decodeBlocks(raw, 0, rawSize, nTrees, kind, name);
  return { kind, bounds, trees, origin, scale };
}

/**
 * Parse and validate a .stree file (an ArrayBuffer), version 1 or 2. Resolves to
 * {kind, bounds: Float64Array(6) [min xyz, max xyz], origin: Float64Array(3), scale, trees: [Tree]}
 * where a Tree is {nLeaves, nNodes, depth, planes: Float32Array(4 n) (normal, offset per branch, in
 * the frame u = (x - origin) / scale; a normal-map leaf holds its vector there), next: Int32Array(n)}.
 */
export async function decodeTrees(buffer, name = "<bytes>") {
  const data = new Uint8Array(buffer);
  if (data.length >= 5 && String.fromCharCode(...data.subarray(0, 4)) === "STRE" && data[4] === 2) {
    return decodeV2(data, name);
  }
  return decodeV1(data, name);
}

/** The file's bounds in its trees' frame, where the viewer draws (a similarity: the image is the same). */
export function frameBounds(file) {
  return Float64Array.from(file.bounds, (v, k) => (v - file.origin[k % 3]) / file.scale);
}
