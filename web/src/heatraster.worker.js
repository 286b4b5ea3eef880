// The heat map's raster, painted off the main thread: the H3 cells of the level of detail that lie
// in (a margin around) the viewport, filled as polygons (a scanline fill in plain JS, no canvas or
// GPU) into an RGBA image in Web Mercator at the map's zoom, handed to the page as one ImageBitmap
// that the page shows over the map (src/views/heatmap.js). A frame of the map then costs one image
// whatever the number of cells; the cells are painted again only when the data, the level of
// detail, the zoom or a view beyond the margin asks for it.
//
// Messages in: { type: 'cells', version, h3: string[], values: Float64Array } (the data), then
// { type: 'render', version, id, res, cover: [x0, y0, x1, y1], pxPerWorld, maxPixels, maxSide }
// (the area to paint in world coordinates, 0-1, and the pixels per world unit at the map's zoom).
// Out: { type: 'raster', id, version, res, bitmap | null, rect, drawnCells, drawnCo2e, ... }.
import { cellToBoundary, cellToLatLng } from 'h3-js';
import { CELL_ALPHA, cellKey, logRange, rampRgb, scaleT, worldX, worldY, H3_EDGE_KM, EARTH_CIRCUMFERENCE_M } from './heatscale.js';

const MAX_VERTS = 10; // an H3 cell boundary has at most 10 vertices (distorted cells of class III)
const HAIRLINE_MIN_PX = 8; // cells at least this wide (flat side to flat side) keep a hairline
// the ramp in 256 steps as 32-bit pixels at the cells' opacity (RGBA bytes in memory, so ABGR
// as a little-endian number)
const PALETTE = Uint32Array.from({ length: 256 }, (_, b) => {
  const [r, g, bl] = rampRgb(b / 255);
  return ((CELL_ALPHA << 24) | (bl << 16) | (g << 8) | r) >>> 0;
});

let data = null; // { version, res, lo: Uint32Array, hi: Uint32Array, values: Float64Array }
let levels = new Map(); // res -> level (the data summed into that resolution's cells)

// An H3 index as two 32-bit halves (hex string: the high bits first).
function splitIndex(h3, i, lo, hi) {
  const n = h3.length;
  lo[i] = parseInt(n > 8 ? h3.slice(n - 8) : h3, 16);
  hi[i] = n > 8 ? parseInt(h3.slice(0, n - 8), 16) : 0;
}

// The parent of a cell at resolution r, on the index's bits (H3 index layout: resolution in
// bits 52-55, then 15 digits of 3 bits from bit 44 down; a parent's unused digits are all 7):
// the same as h3-js cellToParent, without a call per cell.
function parentInto(lo, hi, r, out) {
  const unused = 45 - 3 * r;
  let l = lo;
  let h = hi;
  if (unused >= 32) { l = 0xffffffff; h |= (1 << (unused - 32)) - 1; } else { l = (l | ((2 ** unused) - 1)) >>> 0; }
  out[0] = l >>> 0;
  out[1] = ((h & ~(0xf << 20)) | (r << 20)) >>> 0;
}

function level(res) {
  let lv = levels.get(res);
  if (lv) return lv;
  let lo = data.lo;
  let hi = data.hi;
  let values = data.values;
  if (res < data.res) {
    // each cell of the level is the sum of the data's cells inside it
    const index = new Map();
    const nLo = [];
    const nHi = [];
    const sums = [];
    const p = new Uint32Array(2);
    for (let i = 0; i < data.values.length; i += 1) {
      parentInto(data.lo[i], data.hi[i], res, p);
      const k = cellKey(p[0], p[1]);
      const j = index.get(k);
      if (j === undefined) { index.set(k, sums.length); nLo.push(p[0]); nHi.push(p[1]); sums.push(data.values[i]); } else sums[j] += data.values[i];
    }
    lo = Uint32Array.from(nLo);
    hi = Uint32Array.from(nHi);
    values = Float64Array.from(sums);
  }
  const n = values.length;
  const [logLo, logHi] = logRange(values);
  const bucket = new Int16Array(n);
  const cx = new Float64Array(n);
  const cy = new Float64Array(n);
  let x0 = Infinity; let y0 = Infinity; let x1 = -Infinity; let y1 = -Infinity; let maxAbsLat = 0;
  let total = 0;
  for (let i = 0; i < n; i += 1) {
    const t = scaleT(values[i], logLo, logHi);
    bucket[i] = t < 0 ? -1 : Math.round(t * 255);
    total += values[i];
    const [lat, lon] = cellToLatLng([lo[i], hi[i]]);
    cx[i] = worldX(lon);
    cy[i] = worldY(lat);
    x0 = Math.min(x0, cx[i]); x1 = Math.max(x1, cx[i]); y0 = Math.min(y0, cy[i]); y1 = Math.max(y1, cy[i]);
    maxAbsLat = Math.max(maxAbsLat, Math.abs(lat));
  }
  // the average edge in world units at the data's highest latitude; a cell reaches less than two
  // of them from its centre (a hexagon reaches one edge; H3 cells differ in size by under 2x)
  const edgeWorld = (H3_EDGE_KM[res] * 1000) / (EARTH_CIRCUMFERENCE_M * Math.cos((Math.min(maxAbsLat, 85) * Math.PI) / 180));
  const reach = 2 * edgeWorld;
  lv = {
    res, n, lo, hi, values, logLo, logHi, bucket, cx, cy, total, reach, edgeWorld,
    bbox: [x0 - reach, y0 - reach, x1 + reach, y1 + reach],
    verts: new Float64Array(n * MAX_VERTS * 2), nVerts: new Uint8Array(n), // boundaries, filled when first drawn
    sent: false,
  };
  levels.set(res, lv);
  return lv;
}

// the boundary of cell i in world coordinates (computed once per level, when first painted)
function boundary(lv, i) {
  if (lv.nVerts[i]) return lv.nVerts[i];
  const b = cellToBoundary([lv.lo[i], lv.hi[i]]);
  const lon0 = lv.cx[i] * 360 - 180;
  const m = Math.min(b.length, MAX_VERTS);
  for (let k = 0; k < m; k += 1) {
    let lon = b[k][1];
    if (lon - lon0 > 180) lon -= 360; else if (lon0 - lon > 180) lon += 360; // a cell across 180 deg
    lv.verts[(i * MAX_VERTS + k) * 2] = worldX(lon);
    lv.verts[(i * MAX_VERTS + k) * 2 + 1] = worldY(b[k][0]);
  }
  lv.nVerts[i] = m;
  return m;
}

// Fills a polygon (n vertices in pixels, xy pairs in pts) into a width x height RGBA raster seen as
// 32-bit pixels: every pixel whose centre is inside (even-odd), so two cells that share an edge
// share no pixel and leave none between them.
const crossings = new Float64Array(MAX_VERTS);
function fillPolygon(pts, n, pixels, width, height, rgba) {
  let top = Infinity;
  let bottom = -Infinity;
  for (let v = 0; v < n; v += 1) { top = Math.min(top, pts[2 * v + 1]); bottom = Math.max(bottom, pts[2 * v + 1]); }
  const yFirst = Math.max(0, Math.ceil(top - 0.5));
  const yLast = Math.min(height, Math.ceil(bottom - 0.5));
  for (let y = yFirst; y < yLast; y += 1) {
    const yc = y + 0.5;
    let k = 0;
    for (let v = 0, w = n - 1; v < n; w = v, v += 1) {
      const ya = pts[2 * w + 1];
      const yb = pts[2 * v + 1];
      if ((ya <= yc) !== (yb <= yc)) {
        const x = pts[2 * w] + ((yc - ya) * (pts[2 * v] - pts[2 * w])) / (yb - ya);
        let j = k;
        while (j > 0 && crossings[j - 1] > x) { crossings[j] = crossings[j - 1]; j -= 1; }
        crossings[j] = x;
        k += 1;
      }
    }
    const row = y * width;
    for (let j = 0; j + 1 < k; j += 2) {
      const xa = Math.max(0, Math.ceil(crossings[j] - 0.5));
      const xb = Math.min(width, Math.ceil(crossings[j + 1] - 0.5));
      if (xb > xa) pixels.fill(rgba, row + xa, row + xb);
    }
  }
}

async function render({ id, version, res, cover, pxPerWorld, maxPixels, maxSide }) {
  const t0 = performance.now();
  const lv = level(res);
  const base = { type: 'raster', id, version, res, drawnCells: lv.n, drawnCo2e: lv.total, logLo: lv.logLo, logHi: lv.logHi };
  // the level's cells as (index halves, kg) once per level, for the page's tooltips
  if (!lv.sent) { base.lo = lv.lo.slice(); base.hi = lv.hi.slice(); base.values = lv.values.slice(); lv.sent = true; }
  // the area asked for, clipped to where cells are
  const r = [Math.max(cover[0], lv.bbox[0]), Math.max(cover[1], lv.bbox[1]), Math.min(cover[2], lv.bbox[2]), Math.min(cover[3], lv.bbox[3])];
  if (!(r[2] > r[0] && r[3] > r[1]) || !lv.n) return { ...base, bitmap: null, rect: null, rasteredCells: 0, renderMs: performance.now() - t0 };
  // pixels at the map's zoom, fewer if the area is larger than maxPixels or maxSide (a very large
  // screen)
  let scale = pxPerWorld;
  const area = (r[2] - r[0]) * (r[3] - r[1]) * scale * scale;
  if (area > maxPixels) scale *= Math.sqrt(maxPixels / area);
  scale = Math.min(scale, maxSide / (r[2] - r[0]), maxSide / (r[3] - r[1]));
  const x0 = Math.floor(r[0] * scale) / scale;
  const y0 = Math.floor(r[1] * scale) / scale;
  const width = Math.max(1, Math.ceil((r[2] - x0) * scale));
  const height = Math.max(1, Math.ceil((r[3] - y0) * scale));
  const rect = [x0, y0, x0 + width / scale, y0 + height / scale];
  // cells wider than HAIRLINE_MIN_PX are drawn 1 px smaller than they are, so a 1 px hairline
  // of the basemap separates neighbours (apothem: the centre-to-edge distance, sqrt(3)/2 edge)
  const apothemPx = ((Math.sqrt(3) / 2) * lv.edgeWorld * scale);
  const shrink = apothemPx * 2 >= HAIRLINE_MIN_PX ? 1 - 0.5 / apothemPx : 1;
  const pixels = new Uint32Array(width * height);
  const pts = new Float64Array(MAX_VERTS * 2);
  let painted = 0;
  for (let i = 0; i < lv.n; i += 1) {
    if (lv.bucket[i] < 0) continue;
    const cxi = lv.cx[i];
    const cyi = lv.cy[i];
    if (cxi + lv.reach < rect[0] || cxi - lv.reach > rect[2] || cyi + lv.reach < rect[1] || cyi - lv.reach > rect[3]) continue;
    const m = boundary(lv, i);
    const o = i * MAX_VERTS * 2;
    for (let v = 0; v < 2 * m; v += 2) {
      pts[v] = (cxi + (lv.verts[o + v] - cxi) * shrink - x0) * scale;
      pts[v + 1] = (cyi + (lv.verts[o + v + 1] - cyi) * shrink - y0) * scale;
    }
    fillPolygon(pts, m, pixels, width, height, PALETTE[lv.bucket[i]]);
    painted += 1;
  }
  const bitmap = await createImageBitmap(new ImageData(new Uint8ClampedArray(pixels.buffer), width, height));
  return { ...base, bitmap, rect, width, height, rasteredCells: painted, renderMs: performance.now() - t0 };
}

self.onmessage = async ({ data: msg }) => {
  if (msg.type === 'cells') {
    const n = msg.values.length;
    const lo = new Uint32Array(n);
    const hi = new Uint32Array(n);
    for (let i = 0; i < n; i += 1) splitIndex(msg.h3[i], i, lo, hi);
    const res = n ? (hi[0] >>> 20) & 0xf : 0;
    data = { version: msg.version, res, lo, hi, values: msg.values };
    levels = new Map();
  } else if (msg.type === 'render') {
    if (!data || data.version !== msg.version) { self.postMessage({ type: 'raster', id: msg.id, version: msg.version, stale: true }); return; }
    const out = await render(msg);
    const transfer = [out.bitmap, out.lo?.buffer, out.hi?.buffer, out.values?.buffer].filter(Boolean);
    self.postMessage(out, transfer);
  }
};
