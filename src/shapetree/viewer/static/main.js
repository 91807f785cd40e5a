// The viewer page: loading trees (gallery, ?model=&normals=, drag-and-drop, file picker), the
// orbit/zoom/pan camera, the toggles, levels of detail, the readout, PNG export, and
// window.shapetreeViewer, the handle tests and benchmarks drive it by.

import { DEFAULT_ORBIT, orbitCamera } from "./camera.js";
import { infernoLut } from "./colormap.js";
import { drawLegend } from "./legend.js";
import { expansionOrder, truncateTree } from "./lod.js";
import { TreeRenderer, ViewerError, loadShaders } from "./renderer.js";
import {
  FormatError, KIND_NAMES, LevelReader, NORMALS, OCCUPANCY, decodeTrees, frameBounds, isProgressive, pickLevel,
} from "./stree.js";

const $ = (id) => document.getElementById(id);
const canvas = $("view");
const overlay = $("overlay");
const stage = $("stage");
const params = new URLSearchParams(location.search);
const LUT = infernoLut();
const MAX_PIXELS = 3840 * 2160;

const state = {
  orbit: { ...DEFAULT_ORBIT, up: params.get("up") || DEFAULT_ORBIT.up },
  normalMap: true,
  heatmap: false,
  model: null, // {name, kind, bounds, trees: [tree]} from stree.js
  normals: null,
  lod: null, // the expansion order, computed on first use
  levels: null, // a progressive file's levels: [{leaves, bytes, file (once its bytes have arrived)}]
  shown: [], // the leaf counts shown, in order, as a file streams in (tests read it)
  leaves: 0,
  fixedSize: null,
  lastFrame: null,
  error: null,
  loading: Promise.resolve(), // the latest load from the gallery, a drop or the file picker
};
let renderer = null;
let scheduled = false;

function showMessage(text, isError) {
  const box = $("message");
  box.textContent = text;
  box.classList.toggle("error", !!isError);
  box.hidden = !text;
  state.error = isError ? text : null;
}

function describe(err) {
  if (err instanceof FormatError || err instanceof ViewerError) return err.message;
  return `unexpected error: ${err && err.message ? err.message : err}`;
}

// -- loading ------------------------------------------------------------------------------------
async function fetchOk(url) {
  let response;
  try {
    response = await fetch(url);
  } catch (err) {
    throw new ViewerError(`${url}: cannot be fetched (${err.message})`);
  }
  if (!response.ok) throw new ViewerError(`${url}: HTTP ${response.status} ${response.statusText}`.trim());
  return response;
}

async function fetchBytes(url) {
  return (await fetchOk(url)).arrayBuffer();
}

async function parse(bytes, name, kind) {
  const data = new Uint8Array(bytes);
  if (!isProgressive(data)) return framed(await decodeTrees(bytes, name), name, kind);
  const reader = new LevelReader(name, data.length); // a whole progressive file: every level
  reader.push(data);
  const all = (await reader.levels(true)).map((f) => framed(f, name, kind));
  const file = all[all.length - 1];
  file.allLevels = all;
  return file;
}

function framed(file, name, kind) {
  file.name = name;
  // the viewer draws in the trees' frame, u = (x - origin) / scale: a similarity, so the picture
  // (and the orbit camera, which is built from the bounds) is the same as in absolute coordinates
  file.absoluteBounds = file.bounds;
  file.bounds = frameBounds(file);
  if (kind !== undefined && file.kind !== kind) {
    throw new FormatError(`${name}: holds a ${KIND_NAMES[file.kind]} tree, a ${KIND_NAMES[kind]} tree is needed`);
  }
  return file;
}

/**
 * Fetch an occupancy tree. A progressive file is read as its bytes arrive: onLevel(file) is called with
 * each level as soon as its chunk is complete, coarse first (the first call shows it). Resolves to
 * the finest level (or the flat file's tree).
 */
async function streamModel(url, onLevel) {
  const response = await fetchOk(url);
  if (!response.body) return parse(await response.arrayBuffer(), url, OCCUPANCY);
  const length = Number(response.headers.get("Content-Length")) || null;
  const reader = new LevelReader(url, length);
  const body = response.body.getReader();
  let progressive = null;
  let last = null;
  for (;;) {
    const { done, value } = await body.read();
    if (value) reader.push(value);
    if (progressive === null && (reader.length >= 8 || done)) progressive = isProgressive(reader.bytes);
    if (progressive) {
      for (const level of await reader.levels(done)) {
        last = framed(level, url, OCCUPANCY);
        onLevel(last);
      }
    }
    if (done) break;
  }
  return progressive ? last : parse(reader.bytes.slice().buffer, url, OCCUPANCY);
}
/** A normal map is looked up in the occupancy tree's frame: both files must share it. */
function checkFrames(model, normals) {
  if (!model || !normals) return;
  const same = model.scale === normals.scale && model.origin.every((v, k) => v === normals.origin[k]);
  if (!same) {
    throw new ViewerError(`${normals.name}: a normal map fitted on other bounds than ${model.name}'s ` +
      "(fit it with `shapetree normals TREE MESH`)");
  }
}

function normalRadius(file) {
  // filter_radius: 0.4 x the bounds diagonal over the square root of the leaf count
  const b = file.bounds;
  const diagonal = Math.hypot(b[3] - b[0], b[4] - b[1], b[5] - b[2]);
  return (0.4 * diagonal) / Math.sqrt(file.trees.reduce((s, t) => s + t.nLeaves, 0));
}

function useModel(file) {
  renderer.setTree(file.trees[0], file.bounds);
  state.model = file;
  state.lod = null;
  state.leaves = file.trees[0].nLeaves;
  state.levels = file.levels ? file.levels.map((l) => ({ ...l, file: null })) : null;
  if (state.levels) for (const f of file.allLevels || [file]) state.levels[f.level].file = f;
  state.shown = [state.leaves];
  fillLod();
}

/** A finer level of the progressive file being shown has arrived: show it (the view stays). */
function refineModel(file) {
  state.levels[file.level].file = file;
  const showingFinest = state.leaves === state.model.trees[0].nLeaves;
  state.model = file;
  if (showingFinest) {
    renderer.setTree(file.trees[0], file.bounds);
    state.leaves = file.trees[0].nLeaves;
    state.shown.push(state.leaves);
  }
  fillLod();
  requestRender();
}
function useNormals(file) {
  renderer.setNormals(file ? file.trees : null, file ? normalRadius(file) : 0);
  state.normals = file;
  $("normal-map").disabled = !file;
}

/** Show the occupancy tree at modelUrl (and the normal map at normalsUrl, if given); a progressive
 * file shows its coarsest level as soon as it has arrived and refines as the rest arrives. */
async function loadUrls(modelUrl, normalsUrl) {
  showMessage(`loading ${modelUrl}…`, false);
  try {
    const n = normalsUrl ? fetchBytes(normalsUrl) : null;
    if (n) n.catch(() => {}); // awaited below, after the model
    let first = true;
    const model = await streamModel(modelUrl, (level) => {
      if (first) {
        useModel(level);
        first = false;
      } else {
        refineModel(level);
      }
      const total = level.levels[level.levels.length - 1].leaves;
      if (level.trees[0].nLeaves < total) showMessage(`loading ${modelUrl}… ${level.trees[0].nLeaves} of ${total} leaves`, false);
      requestRender();
    });
    const normals = n ? await parse(await n, normalsUrl, NORMALS) : null;
    checkFrames(model, normals);
    if (first) useModel(model);
    useNormals(normals);
    showMessage("", false);
  } catch (err) {
    showMessage(describe(err), true);
  }
  requestRender();
}

/** Open local files: an occupancy tree and/or a normal map, told apart by their kind. */
async function loadFiles(files) {
  try {
    const parsed = await Promise.all(Array.from(files, async (f) => await parse(await f.arrayBuffer(), f.name)));
    const models = parsed.filter((p) => p.kind === OCCUPANCY);
    const maps = parsed.filter((p) => p.kind === NORMALS);
    if (models.length > 1 || maps.length > 1) {
      throw new ViewerError("drop one occupancy tree and at most one normal map at a time");
    }
    if (models.length === 0 && !state.model) {
      throw new ViewerError(`${maps[0].name} is a normal map; open an occupancy tree with it`);
    }
    checkFrames(models.length ? models[0] : state.model, maps.length ? maps[0] : null);
    if (models.length) useModel(models[0]);
    if (maps.length || models.length) useNormals(maps.length ? maps[0] : null);
    $("gallery").value = "";
    showMessage("", false);
  } catch (err) {
    showMessage(describe(err), true);
  }
  requestRender();
}

async function loadGallery() {
  let entries = [];
  try {
    const response = await fetch("trees.json");
    if (response.ok) entries = await response.json();
  } catch {
    entries = [];
  }
  const select = $("gallery");
  select.replaceChildren(new Option("(local file)", ""));
  for (const [i, e] of entries.entries()) select.add(new Option(e.name, String(i)));
  $("gallery-box").hidden = entries.length === 0;
  select.onchange = () => {
    const e = entries[Number(select.value)];
    if (select.value !== "" && e) state.loading = loadUrls(e.model, e.normals);
  };
  return entries;
}

// -- levels of detail ---------------------------------------------------------------------------
function fillLod() {
  const select = $("lod");
  select.replaceChildren();
  if (state.levels) { // a progressive file: its own levels (those still on their way are disabled)
    for (const l of state.levels) {
      const option = new Option(`${l.leaves} leaves`, String(l.leaves));
      option.disabled = !l.file;
      select.add(option);
    }
    select.value = String(state.leaves);
    return;
  }
  const total = state.model.trees[0].nLeaves;
  for (let b = 16; b < total; b *= 4) select.add(new Option(`${b} leaves`, String(b)));
  select.add(new Option(`all ${total} leaves`, String(total)));
  select.value = String(total);
}

function setLevel(leaves) {
  if (state.levels) { // the largest level that has arrived within the budget
    const arrived = state.levels.filter((l) => l.file);
    const level = arrived[pickLevel(arrived, leaves)];
    renderer.setTree(level.file.trees[0], state.model.bounds);
    state.leaves = level.leaves;
    $("lod").value = String(level.leaves);
    requestRender();
    return;
  }
  const full = state.model.trees[0];
  const n = Math.max(1, Math.min(Math.round(leaves), full.nLeaves));
  if (n < full.nLeaves && !state.lod) state.lod = expansionOrder(full, state.model.bounds);
  renderer.setTree(n < full.nLeaves ? truncateTree(full, state.lod, n) : full, state.model.bounds);
  state.leaves = n;
  if ([...$("lod").options].some((o) => o.value === String(n))) $("lod").value = String(n);
  requestRender();
}

// -- drawing ------------------------------------------------------------------------------------
function fitCanvas() {
  let w;
  let h;
  if (state.fixedSize) {
    [w, h] = state.fixedSize;
  } else {
    const dpr = window.devicePixelRatio || 1;
    w = Math.max(1, Math.round(stage.clientWidth * dpr));
    h = Math.max(1, Math.round(stage.clientHeight * dpr));
    const over = Math.sqrt((w * h) / MAX_PIXELS);
    if (over > 1) [w, h] = [Math.floor(w / over), Math.floor(h / over)];
  }
  for (const c of [canvas, overlay]) {
    if (c.width !== w || c.height !== h) [c.width, c.height] = [w, h];
    const dpr = state.fixedSize ? 1 : window.devicePixelRatio || 1;
    c.style.width = `${w / dpr}px`;
    c.style.height = `${h / dpr}px`;
  }
}

function renderNow() {
  scheduled = false;
  fitCanvas();
  if (!state.model) return null;
  const camera = orbitCamera(state.model.bounds, state.orbit);
  let frame;
  try {
    frame = renderer.draw(camera, { normalMap: state.normalMap, heatmap: state.heatmap });
  } catch (err) {
    showMessage(describe(err), true);
    return null;
  }
  const ctx = overlay.getContext("2d");
  if (state.heatmap) drawLegend(ctx, overlay.width, overlay.height, LUT, frame.vmax);
  else ctx.clearRect(0, 0, overlay.width, overlay.height);
  const total = state.model.trees[0].nLeaves;
  state.lastFrame = { ms: frame.ms, vmax: frame.vmax, leaves: state.leaves, totalLeaves: total };
  const map = state.normals && state.normalMap && !state.heatmap ? " · normal map" : "";
  $("readout").textContent = `${frame.ms.toFixed(1)} ms · ${state.leaves} of ${total} leaves · `
    + `${canvas.width}×${canvas.height}${map}`;
  return state.lastFrame;
}

function requestRender() {
  if (!scheduled) {
    scheduled = true;
    requestAnimationFrame(renderNow);
  }
}

// -- interaction --------------------------------------------------------------------------------
const pointers = new Map();
let gesture = null;

function panScale() {
  // world units per pixel at the target, in units of the bounding sphere's radius
  const o = state.orbit;
  const perRadius = o.orthographic ? 2 * o.margin
    : (2 * Math.tan((o.fov * Math.PI) / 360) * o.margin) / Math.sin((o.fov * Math.PI) / 360);
  return perRadius / canvas.clientHeight;
}

function pan(dx, dy) {
  const s = panScale();
  state.orbit.pan = [state.orbit.pan[0] - dx * s, state.orbit.pan[1] + dy * s];
}

function zoom(factor) {
  state.orbit.margin = Math.min(20, Math.max(0.05, state.orbit.margin * factor));
}

function twoFingers() {
  const [a, b] = [...pointers.values()];
  return { mid: [(a.x + b.x) / 2, (a.y + b.y) / 2], dist: Math.hypot(a.x - b.x, a.y - b.y) };
}

canvas.addEventListener("pointerdown", (e) => {
  canvas.setPointerCapture(e.pointerId);
  pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
  if (pointers.size === 2) gesture = { kind: "pinch", ...twoFingers() };
  else gesture = { kind: e.button === 2 || e.button === 1 || e.shiftKey ? "pan" : "orbit" };
});

canvas.addEventListener("pointermove", (e) => {
  const p = pointers.get(e.pointerId);
  if (!p || !gesture) return;
  const dx = e.clientX - p.x;
  const dy = e.clientY - p.y;
  p.x = e.clientX;
  p.y = e.clientY;
  if (gesture.kind === "pinch" && pointers.size === 2) {
    const now = twoFingers();
    if (now.dist > 0 && gesture.dist > 0) zoom(gesture.dist / now.dist);
    pan(now.mid[0] - gesture.mid[0], now.mid[1] - gesture.mid[1]);
    Object.assign(gesture, now);
  } else if (gesture.kind === "pan") {
    pan(dx, dy);
  } else if (gesture.kind === "orbit") {
    state.orbit.azimuth -= 0.4 * dx;
    state.orbit.elevation = Math.max(-89, Math.min(89, state.orbit.elevation + 0.4 * dy));
  }
  requestRender();
});

function pointerEnd(e) {
  pointers.delete(e.pointerId);
  gesture = pointers.size === 1 ? { kind: "orbit" } : null;
}
canvas.addEventListener("pointerup", pointerEnd);
canvas.addEventListener("pointercancel", pointerEnd);
canvas.addEventListener("contextmenu", (e) => e.preventDefault());
canvas.addEventListener("wheel", (e) => {
  e.preventDefault();
  zoom(Math.exp(e.deltaY * 0.0015));
  requestRender();
}, { passive: false });

function resetView() {
  state.orbit = { ...DEFAULT_ORBIT, up: state.orbit.up };
  requestRender();
}

function setMode(mode) {
  if (mode.normalMap !== undefined) state.normalMap = !!mode.normalMap;
  if (mode.heatmap !== undefined) state.heatmap = !!mode.heatmap;
  $("normal-map").checked = state.normalMap;
  $("heatmap").checked = state.heatmap;
  requestRender();
}

$("reset").onclick = resetView;
$("normal-map").onchange = (e) => setMode({ normalMap: e.target.checked });
$("heatmap").onchange = (e) => setMode({ heatmap: e.target.checked });
$("lod").onchange = (e) => setLevel(Number(e.target.value));
$("file").onchange = (e) => {
  state.loading = loadFiles(e.target.files);
};
$("save").onclick = savePng;
window.addEventListener("keydown", (e) => {
  if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement) return;
  if (e.key === "r") resetView();
  else if (e.key === "n" && state.normals) setMode({ normalMap: !state.normalMap });
  else if (e.key === "h") setMode({ heatmap: !state.heatmap });
});
window.addEventListener("resize", requestRender);
for (const type of ["dragenter", "dragover"]) {
  stage.addEventListener(type, (e) => {
    e.preventDefault();
    stage.classList.add("dropping");
  });
}
stage.addEventListener("dragleave", () => stage.classList.remove("dropping"));
stage.addEventListener("drop", (e) => {
  e.preventDefault();
  stage.classList.remove("dropping");
  if (e.dataTransfer && e.dataTransfer.files.length) state.loading = loadFiles(e.dataTransfer.files);
});

/** The view as one PNG (the heatmap's legend included). */
function composite() {
  const out = document.createElement("canvas");
  [out.width, out.height] = [canvas.width, canvas.height];
  const ctx = out.getContext("2d");
  ctx.drawImage(canvas, 0, 0);
  if (state.heatmap) ctx.drawImage(overlay, 0, 0);
  return out;
}

function savePng() {
  renderNow();
  composite().toBlob((blob) => {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `${(state.model ? state.model.name : "shapetree").split("/").pop().replace(/\.stree$/, "")}.png`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }, "image/png");
}

function base64(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

// -- start --------------------------------------------------------------------------------------
async function start() {
  try {
    renderer = new TreeRenderer(canvas, await loadShaders());
  } catch (err) {
    showMessage(describe(err), true);
    return;
  }
  const size = /^(\d+)x(\d+)$/.exec(params.get("size") || "");
  if (size) state.fixedSize = [Number(size[1]), Number(size[2])];
  const entries = await loadGallery();
  if (params.get("model")) {
    await loadUrls(params.get("model"), params.get("normals"));
  } else if (entries.length) {
    $("gallery").value = "0";
    await loadUrls(entries[0].model, entries[0].normals);
  } else {
    showMessage("drop a .stree file here, or open the page with ?model=URL", false);
  }
}

const ready = start();

window.shapetreeViewer = {
  ready,
  /** Resolves when the latest load (gallery, drop, file picker) has finished. */
  loaded: () => state.loading,
  /**
   * The camera orbit_camera(bounds, **orbit) builds in Python (plus pan: [x, y] in radii); what is
   * not given takes orbit_camera's default, the up axis stays.
   */
  setCamera(orbit) {
    state.orbit = { ...DEFAULT_ORBIT, up: state.orbit.up, ...orbit };
    requestRender();
  },
  getCamera: () => ({ ...state.orbit }),
  setSize(w, h) {
    state.fixedSize = w && h ? [w, h] : null;
    requestRender();
  },
  setMode,
  setLevel,
  resetView,
  loadUrls,
  /** Render one frame now, waiting for the GPU: {ms, vmax, leaves, totalLeaves}. */
  renderFrame: renderNow,
  status: () => ({ ...state.lastFrame, error: state.error, message: $("message").hidden ? "" : $("message").textContent,
    shown: [...state.shown], levels: state.levels ? state.levels.map((l) => l.leaves) : null }),
  /** The last frame's RGBA, rows from the top, base64 (with the legend when composite is true). */
  pixels(withLegend = false) {
    if (!withLegend) return base64(renderer.pixels());
    const out = composite();
    return base64(new Uint8Array(out.getContext("2d").getImageData(0, 0, out.width, out.height).data.buffer));
  },
  /** The last heatmap's cells per pixel (uint32 little-endian, rows from the top), base64. */
  costs() {
    const c = renderer.costs();
    return c ? base64(new Uint8Array(c.buffer)) : null;
  },
};
