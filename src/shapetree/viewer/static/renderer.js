// The WebGL2 side: trees as textures, the ray-casting shader (shaders/trace.frag), the heatmap pass.
// Node i of a tree lives at texel (i % 4096, i / 4096) of two textures: RGBA32F, a branch's plane
// or a leaf's (+inf, value); R32I, a branch's right child (its left child is i + 1).

import { projection, cameraLight } from "./camera.js";
import { infernoLut } from "./colormap.js";
import { LEAF_IN, NORMALS, OCCUPANCY } from "./stree.js";
import { startGrid } from "./startgrid.js";

const TEX_SHIFT = 12;
const TEX_WIDTH = 1 << TEX_SHIFT;
const MAX_STACK = 512; // deeper trees are refused: a shader's local arrays must stay small
const MAX_NORMAL_TREES = 64;
const UPLOAD_UNIT = 7;
const GRID_UNIT = 4;
// start-node grid of the normal map's lookups: cells per axis (a power of two), fewer for many trees
const GRID_RES = 64;
const GRID_CELLS = 1 << 20; // all trees together
// The Python renderer's Material(): base colour, ambient, diffuse, specular, shininess, gamma.
const MATERIAL = { color: [0.8, 0.72, 0.62], ambient: 0.12, diffuse: 0.78, specular: 0.22, shininess: 40, gamma: 2.2 };

export class ViewerError extends Error {}

async function fetchText(name) {
  const url = new URL(`./shaders/${name}`, import.meta.url);
  const response = await fetch(url);
  if (!response.ok) throw new ViewerError(`cannot load the shader ${name} (HTTP ${response.status})`);
  return response.text();
}

/** Shader sources, fetched once. */
export async function loadShaders() {
  const [vert, trace, heat] = await Promise.all(["fullscreen.vert", "trace.frag", "heat.frag"].map(fetchText));
  return { vert, trace, heat };
}

export class TreeRenderer {
  /** canvas: an HTMLCanvasElement; sources: from loadShaders(). */
  constructor(canvas, sources) {
    const gl = canvas.getContext("webgl2", {
      alpha: true, premultipliedAlpha: false, antialias: false, depth: false, stencil: false,
      preserveDrawingBuffer: true, powerPreference: "high-performance",
    });
    if (!gl) throw new ViewerError("this browser cannot run WebGL2, which the viewer needs");
    this.gl = gl;
    this.canvas = canvas;
    this.sources = sources;
    this.programs = new Map();
    this.tree = null;
    this.normals = null;
    this.maxRows = gl.getParameter(gl.MAX_TEXTURE_SIZE);
    this.max3d = gl.getParameter(gl.MAX_3D_TEXTURE_SIZE);
    this.lut = this.texture(gl.RGBA8, 256, 1, gl.RGBA, gl.UNSIGNED_BYTE, infernoLut());
    this.costTarget = null;
    this.vao = gl.createVertexArray();
    this.lastCost = null;
    this.normalGrid = null; // see normalStartGrid
    /** Whether the normal map's lookups start from the start-node grid (the image is the same). */
    this.startGrid = true;
  }

  /** Start nodes of the normal-map trees over the occupancy tree's box: {texture (R32I res x res x
   * (res n), the trees stacked along z), res}, built when the trees or the box change. */
  normalStartGrid() {
    const g = this.normalGrid;
    if (g && g.normals === this.normals && g.bounds === this.bounds) return g;
    if (g) this.gl.deleteTexture(g.texture);
    const b = this.bounds;
    const count = this.normalTrees.length;
    let res = GRID_RES;
    while (res > 4 && (res ** 3 * count > GRID_CELLS || res * count > this.max3d)) res /= 2;
    const n = res ** 3;
    const data = new Int32Array(n * count);
    this.normalTrees.forEach((t, k) => {
      const cells = startGrid(t, [b[0], b[1], b[2]], [b[3], b[4], b[5]], res);
      const root = this.normals.roots[k];
      for (let c = 0; c < n; c++) data[k * n + c] = cells[c] + root;
    });
    const gl = this.gl;
    const texture = gl.createTexture();
    gl.activeTexture(gl.TEXTURE0 + UPLOAD_UNIT);
    gl.bindTexture(gl.TEXTURE_3D, texture);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
    gl.texImage3D(gl.TEXTURE_3D, 0, gl.R32I, res, res, res * count, 0, gl.RED_INTEGER, gl.INT, data);
    for (const p of [gl.TEXTURE_MIN_FILTER, gl.TEXTURE_MAG_FILTER]) gl.texParameteri(gl.TEXTURE_3D, p, gl.NEAREST);
    for (const p of [gl.TEXTURE_WRAP_S, gl.TEXTURE_WRAP_T, gl.TEXTURE_WRAP_R]) {
      gl.texParameteri(gl.TEXTURE_3D, p, gl.CLAMP_TO_EDGE);
    }
    this.normalGrid = { texture, res, normals: this.normals, bounds: this.bounds };
    return this.normalGrid;
  }

  texture(internal, width, height, format, type, data) {
    const gl = this.gl;
    const tex = gl.createTexture();
    gl.activeTexture(gl.TEXTURE0 + UPLOAD_UNIT); // never disturb the units a draw has bound
    gl.bindTexture(gl.TEXTURE_2D, tex);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
    gl.texImage2D(gl.TEXTURE_2D, 0, internal, width, height, 0, format, type, data);
    for (const p of [gl.TEXTURE_MIN_FILTER, gl.TEXTURE_MAG_FILTER]) gl.texParameteri(gl.TEXTURE_2D, p, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    return tex;
  }

  /** Upload one or more trees back to back: {planes, next} textures and each tree's root id. */
  upload(trees, kind) {
    const gl = this.gl;
    const nNodes = trees.reduce((s, t) => s + t.nNodes, 0);
    const rows = Math.ceil(nNodes / TEX_WIDTH);
    if (rows > this.maxRows) {
      throw new ViewerError(`the tree has ${nNodes} nodes, more than this GPU's textures hold `
        + `(${TEX_WIDTH * this.maxRows})`);
    }
    const planes = new Float32Array(4 * TEX_WIDTH * rows);
    const next = new Int32Array(TEX_WIDTH * rows);
    const roots = [];
    let base = 0;
    for (const t of trees) {
      roots.push(base);
      for (let i = 0; i < t.nNodes; i++) {
        const k = 4 * (base + i);
        if (t.next[i] >= 0) {
          planes.set(t.planes.subarray(4 * i, 4 * i + 4), k);
          next[base + i] = t.next[i] + base;
        } else {
          // a leaf: +inf (never a plane coefficient) then its value: inside (occupancy), or its vector
          planes[k] = Infinity;
          if (kind === OCCUPANCY) planes[k + 1] = t.next[i] === LEAF_IN ? 1 : 0;
          else planes.set(t.planes.subarray(4 * i, 4 * i + 3), k + 1);
          next[base + i] = t.next[i];
        }
      }
      base += t.nNodes;
    }
    return {
      planes: this.texture(gl.RGBA32F, TEX_WIDTH, rows, gl.RGBA, gl.FLOAT, planes),
      next: this.texture(gl.R32I, TEX_WIDTH, rows, gl.RED_INTEGER, gl.INT, next),
      roots,
      depth: Math.max(...trees.map((t) => t.depth)),
    };
  }

  release(textures) {
    if (!textures) return;
    this.gl.deleteTexture(textures.planes);
    this.gl.deleteTexture(textures.next);
  }

  /** Show an occupancy tree (stree.js form) in bounds (Float64Array(6)). */
  setTree(tree, bounds) {
    if (tree.depth + 1 > MAX_STACK) {
      throw new ViewerError(`the tree is ${tree.depth} levels deep; the viewer's shader handles at most `
        + `${MAX_STACK - 1}`);
    }
    const textures = this.upload([tree], OCCUPANCY);
    this.release(this.tree);
    this.tree = textures;
    this.bounds = bounds;
  }

  /** Normal-map trees (an array of stree.js trees) for shading, with their filter radius; null: none. */
  setNormals(trees, radius) {
    if (trees && trees.length > MAX_NORMAL_TREES) {
      throw new ViewerError(`the normal map has ${trees.length} trees; the viewer handles at most ${MAX_NORMAL_TREES}`);
    }
    const textures = trees ? this.upload(trees, NORMALS) : null;
    this.release(this.normals);
    this.normals = textures;
    this.normalTrees = trees;
    if (!trees && this.normalGrid) {
      this.gl.deleteTexture(this.normalGrid.texture);
      this.normalGrid = null;
    }
    this.normalRadius = radius;
  }

  program(kind, defines) {
    const key = `${kind} ${JSON.stringify(defines)}`;
    if (this.programs.has(key)) return this.programs.get(key);
    const gl = this.gl;
    const header = "#version 300 es\n" + Object.entries(defines).map(([k, v]) => `#define ${k} ${v}\n`).join("");
    const compile = (type, source) => {
      const shader = gl.createShader(type);
      gl.shaderSource(shader, source);
      gl.compileShader(shader);
      if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) {
        throw new ViewerError(`shader does not compile: ${gl.getShaderInfoLog(shader)}`);
      }
      return shader;
    };
    const prog = gl.createProgram();
    gl.attachShader(prog, compile(gl.VERTEX_SHADER, this.sources.vert));
    gl.attachShader(prog, compile(gl.FRAGMENT_SHADER, header + this.sources[kind]));
    gl.linkProgram(prog);
    if (!gl.getProgramParameter(prog, gl.LINK_STATUS)) {
      throw new ViewerError(`shader does not link: ${gl.getProgramInfoLog(prog)}`);
    }
    const uniforms = {};
    const n = gl.getProgramParameter(prog, gl.ACTIVE_UNIFORMS);
    for (let i = 0; i < n; i++) {
      const name = gl.getActiveUniform(prog, i).name.replace(/\[0\]$/, "");
      uniforms[name] = gl.getUniformLocation(prog, name);
    }
    const entry = { prog, uniforms };
    this.programs.set(key, entry);
    return entry;
  }

  bindTexture(unit, tex, location) {
    const gl = this.gl;
    gl.activeTexture(gl.TEXTURE0 + unit);
    gl.bindTexture(gl.TEXTURE_2D, tex);
    gl.uniform1i(location, unit);
  }

  costFramebuffer(w, h) {
    const gl = this.gl;
    if (this.costTarget && this.costTarget.w === w && this.costTarget.h === h) return this.costTarget;
    if (this.costTarget) {
      gl.deleteFramebuffer(this.costTarget.fbo);
      gl.deleteTexture(this.costTarget.tex);
    }
    const tex = this.texture(gl.R32UI, w, h, gl.RED_INTEGER, gl.UNSIGNED_INT, null);
    const fbo = gl.createFramebuffer();
    gl.bindFramebuffer(gl.FRAMEBUFFER, fbo);
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, tex, 0);
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    this.costTarget = { w, h, tex, fbo };
    return this.costTarget;
  }

  /**
   * Draw one frame of `camera` (camera.js) and wait for the GPU to finish it.
   * mode: {normalMap, heatmap}. Returns {ms, vmax (heatmap only)}.
   */
  draw(camera, mode) {
    const gl = this.gl;
    const w = this.canvas.width;
    const h = this.canvas.height;
    const start = performance.now();
    const useNormals = !!(mode.normalMap && this.normals && !mode.heatmap);
    const defines = {
      STACK_SIZE: this.tree.depth + 1, TEX_SHIFT, NORMAL_MAP: useNormals ? 1 : 0, COST: mode.heatmap ? 1 : 0,
    };
    const { prog, uniforms: u } = this.program("trace", defines);
    gl.useProgram(prog);
    gl.bindVertexArray(this.vao);
    const p = projection(camera);
    const light = cameraLight(camera);
    this.bindTexture(0, this.tree.planes, u.uPlanes);
    this.bindTexture(1, this.tree.next, u.uNext);
    gl.uniform3f(u.uLo, this.bounds[0], this.bounds[1], this.bounds[2]);
    gl.uniform3f(u.uHi, this.bounds[3], this.bounds[4], this.bounds[5]);
    gl.uniform3fv(u.uEye, p.eye);
    gl.uniform3fv(u.uRight, p.right);
    gl.uniform3fv(u.uUp, p.up);
    gl.uniform3fv(u.uForward, p.forward);
    gl.uniform1f(u.uHalf, p.half);
    gl.uniform1i(u.uOrtho, p.ortho ? 1 : 0);
    gl.uniform2f(u.uSize, w, h);
    if (!mode.heatmap) {
      gl.uniform3fv(u.uLight, light);
      gl.uniform3fv(u.uColor, MATERIAL.color);
      gl.uniform4f(u.uMaterial, MATERIAL.ambient, MATERIAL.diffuse, MATERIAL.specular, MATERIAL.shininess);
      gl.uniform1f(u.uInvGamma, 1 / MATERIAL.gamma);
    }
    if (useNormals) {
      this.bindTexture(2, this.normals.planes, u.uNPlanes);
      this.bindTexture(3, this.normals.next, u.uNNext);
      gl.uniform1iv(u.uNRoots, this.normals.roots);
      gl.uniform1i(u.uNCount, this.normals.roots.length);
      gl.uniform1f(u.uNRadius, this.normalRadius);
      const grid = this.normalStartGrid();
      gl.activeTexture(gl.TEXTURE0 + GRID_UNIT);
      gl.bindTexture(gl.TEXTURE_3D, grid.texture);
      gl.uniform1i(u.uNGrid, GRID_UNIT);
      gl.uniform1i(u.uNGridRes, this.startGrid ? grid.res : 0);
      const b = this.bounds;
      gl.uniform3f(u.uNGridCell, (b[3] - b[0]) / grid.res, (b[4] - b[1]) / grid.res, (b[5] - b[2]) / grid.res);
    }
    gl.viewport(0, 0, w, h);
    let vmax = null;
    if (mode.heatmap) {
      const target = this.costFramebuffer(w, h);
      gl.bindFramebuffer(gl.FRAMEBUFFER, target.fbo);
      gl.drawArrays(gl.TRIANGLES, 0, 3);
      const cost = new Uint32Array(4 * w * h);
      gl.readPixels(0, 0, w, h, gl.RGBA_INTEGER, gl.UNSIGNED_INT, cost);
      gl.bindFramebuffer(gl.FRAMEBUFFER, null);
      vmax = 1;
      for (let i = 0; i < cost.length; i += 4) if (cost[i] > vmax) vmax = cost[i];
      this.lastCost = { w, h, cost };
      const heat = this.program("heat", {});
      gl.useProgram(heat.prog);
      this.bindTexture(0, target.tex, heat.uniforms.uCost);
      this.bindTexture(1, this.lut, heat.uniforms.uLut);
      gl.uniform1ui(heat.uniforms.uVmax, vmax);
      gl.drawArrays(gl.TRIANGLES, 0, 3);
    } else {
      gl.clearColor(0, 0, 0, 0);
      gl.clear(gl.COLOR_BUFFER_BIT);
      gl.drawArrays(gl.TRIANGLES, 0, 3);
    }
    // reading a pixel waits for the frame to finish (Chromium's gl.finish does not)
    gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, new Uint8Array(4));
    return { ms: performance.now() - start, vmax };
  }

  /** The canvas's pixels, rows from the top: Uint8Array(4 w h) RGBA. */
  pixels() {
    const gl = this.gl;
    const w = this.canvas.width;
    const h = this.canvas.height;
    const raw = new Uint8Array(4 * w * h);
    gl.readPixels(0, 0, w, h, gl.RGBA, gl.UNSIGNED_BYTE, raw);
    return flipRows(raw, w, h, 4);
  }

  /** The last heatmap's cells per pixel, rows from the top: Uint32Array(w h), or null. */
  costs() {
    if (!this.lastCost) return null;
    const { w, h, cost } = this.lastCost;
    const out = new Uint32Array(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[(h - 1 - y) * w + x] = cost[4 * (y * w + x)];
    return out;
  }
}

function flipRows(raw, w, h, channels) {
  const out = new Uint8Array(raw.length);
  const row = w * channels;
  for (let y = 0; y < h; y++) out.set(raw.subarray(y * row, (y + 1) * row), (h - 1 - y) * row);
  return out;
}
