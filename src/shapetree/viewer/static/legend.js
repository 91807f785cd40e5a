// The heatmap's colour bar, drawn where the Python renderer's _draw_legend puts it: a vertical bar
// of the colour map on the right edge, outlined in white, labelled 0, vmax / 2 and vmax.

// np.round: halves go to the even neighbour
function roundHalfEven(x) {
  const f = Math.floor(x);
  const r = x - f;
  return r > 0.5 || (r === 0.5 && f % 2 === 1) ? f + 1 : f;
}

/** Draw the legend into a 2D context of a w x h canvas; lut: (256 * 4) RGBA bytes. */
export function drawLegend(ctx, w, h, lut, vmax) {
  ctx.clearRect(0, 0, w, h);
  if (h < 48 || w < 64) return;
  const barW = Math.max(6, Math.floor(w / 48));
  const top = Math.floor(h / 8);
  const bottom = h - Math.floor(h / 8);
  const x0 = w - barW - Math.max(4, Math.floor(w / 64));
  const rows = bottom - top;
  for (let r = 0; r < rows; r++) {
    const k = roundHalfEven(rows > 1 ? 255 - (255 * r) / (rows - 1) : 255);
    ctx.fillStyle = `rgb(${lut[4 * k]}, ${lut[4 * k + 1]}, ${lut[4 * k + 2]})`;
    ctx.fillRect(x0, top + r, barW, 1);
  }
  ctx.strokeStyle = "#fff";
  ctx.lineWidth = 1;
  ctx.strokeRect(x0 - 0.5, top - 0.5, barW + 1, rows + 1);
  ctx.fillStyle = "#fff";
  ctx.font = "11px sans-serif";
  ctx.textBaseline = "top";
  for (const frac of [0, 0.5, 1]) {
    const y = bottom - frac * rows;
    const label = frac === 0.5 ? (frac * vmax).toFixed(1) : (frac * vmax).toFixed(0);
    ctx.fillText(label, x0 - ctx.measureText(label).width - 4, y - 6);
  }
  const title = "cells/ray";
  ctx.fillText(title, Math.max(0, w - ctx.measureText(title).width - 4), Math.max(0, top - 16));
}
