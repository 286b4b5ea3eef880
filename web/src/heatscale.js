// The heat map's colour scale and geometry helpers, shared by the page and the raster worker
// (src/heatraster.worker.js): a viridis-like ramp on log10 of kg CO2e between the 2nd and the
// 99.5th percentile of the drawn cells, Web Mercator world coordinates, H3 edge lengths.

// colour ramp (viridis-like, low to high) on log10 of kg CO2e
export const RAMP = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
// the cells' opacity over the basemap (0-255)
export const CELL_ALPHA = 190;

// position 0-1 of a value on the scale, or -1 for no value (zero, negative, not a number)
export function scaleT(value, lo, hi) {
  if (!(value > 0)) return -1;
  return Math.min(1, Math.max(0, (Math.log10(value) - lo) / Math.max(hi - lo, 1e-9)));
}
export function rampRgb(t) {
  const x = t * (RAMP.length - 1);
  const i = Math.min(Math.floor(x), RAMP.length - 2);
  const f = x - i;
  return [0, 1, 2].map((k) => Math.round(RAMP[i][k] + (RAMP[i + 1][k] - RAMP[i][k]) * f));
}
// [r, g, b, a] of a value, transparent for no value
export function colour(value, lo, hi) {
  const t = scaleT(value, lo, hi);
  return t < 0 ? [0, 0, 0, 0] : rampRgb(t).concat([CELL_ALPHA]);
}
// [lo, hi] of log10(value) over positive values: 2nd and 99.5th percentiles
export function logRange(values) {
  const logs = Float64Array.from(values, (v) => Math.log10(v)).filter(Number.isFinite).sort();
  if (!logs.length) return [0, 1];
  return [logs[Math.floor(logs.length * 0.02)], logs[Math.floor(logs.length * 0.995)] ?? logs[logs.length - 1]];
}

// Web Mercator world coordinates, 0-1 from west to east and from north (85.05 deg) to south
export function worldX(lon) { return (lon + 180) / 360; }
export function worldY(lat) {
  const s = Math.sin((Math.max(-85.0511, Math.min(85.0511, lat)) * Math.PI) / 180);
  return 0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI);
}
export function worldLon(x) { return x * 360 - 180; }
export function worldLat(y) { return (Math.atan(Math.sinh(Math.PI * (1 - 2 * y))) * 180) / Math.PI; }

// H3 average hexagon edge per resolution, km (https://h3geo.org/docs/core-library/restable)
export const H3_EDGE_KM = [1281.256011, 483.0568391, 182.5129565, 68.97922179, 26.07175968, 9.85409099, 3.724532667, 1.406475763, 0.53141401, 0.200786148, 0.075863783, 0.028663897, 0.010830188, 0.004092010, 0.001546100, 0.000584169];
export const EARTH_CIRCUMFERENCE_M = 40075016.686; // WGS84 equator

// a key unique among the H3 cells of one resolution, from the index's two 32-bit halves: its base
// cell and digits (bits 0-51, exact in a double; the mode and resolution bits are left out)
export function cellKey(lo, hi) { return (hi & 0xfffff) * 4294967296 + lo; }
