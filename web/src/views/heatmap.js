import { registerView } from '../shell.js';
import { api } from '../api.js';
import { mapCard } from '../map.js';
import { H3HexagonLayer } from '@deck.gl/geo-layers';
import { ColumnLayer } from '@deck.gl/layers';
import { cellToLatLng, cellToBoundary, cellToParent, getResolution } from 'h3-js';
import { kg, escapeHtml } from '../format.js';

// colour ramp (viridis-like, low to high) on log10 of kg CO2e
const RAMP = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
function colour(value, lo, hi) {
  if (!(value > 0)) return [0, 0, 0, 0];
  const t = Math.min(1, Math.max(0, (Math.log10(value) - lo) / Math.max(hi - lo, 1e-9)));
  const x = t * (RAMP.length - 1);
  const i = Math.min(Math.floor(x), RAMP.length - 2);
  const f = x - i;
  return [0, 1, 2].map((k) => Math.round(RAMP[i][k] + (RAMP[i + 1][k] - RAMP[i][k]) * f)).concat([190]);
}
function range(cells) {
  const logs = cells.map((c) => Math.log10(c.co2e_wtw_kg)).filter(Number.isFinite).sort((a, b) => a - b);
  if (!logs.length) return [0, 1];
  return [logs[Math.floor(logs.length * 0.02)], logs[Math.floor(logs.length * 0.995)] ?? logs[logs.length - 1]];
}

// The cells as binary attributes of one instanced layer: a centre (lon, lat) and a colour per
// cell in two typed arrays, one hexagon shape for all (the cells of one resolution differ little
// in shape over a country). Drawing 100k cells then uploads two buffers, with no accessor call
// per cell and no per-cell polygon; a frame costs one instanced draw.
function binaryCells(cells, lo, hi) {
  const n = cells.length;
  const positions = new Float32Array(n * 2);
  const colours = new Uint8Array(n * 4);
  for (let i = 0; i < n; i += 1) {
    const [lat, lon] = cellToLatLng(cells[i].h3);
    positions[2 * i] = lon;
    positions[2 * i + 1] = lat;
    colours.set(colour(cells[i].co2e_wtw_kg, lo, hi), 4 * i);
  }
  return { length: n, attributes: { getPosition: { value: positions, size: 2 }, getFillColor: { value: colours, size: 4 } } };
}

// Level of detail: a cell drawn smaller than a few pixels is not seen, only paid for (every
// instance costs vertex work each frame). Cells are drawn at the finest resolution whose edge
// spans MIN_EDGE_PX on screen at the map's zoom, each the sum of the cells inside it (sums are
// kept: the drawn cells hold the same kg CO2e); zooming in draws the cells themselves.
// H3 average hexagon edge per resolution, km (https://h3geo.org/docs/core-library/restable)
const H3_EDGE_KM = [1281.256011, 483.0568391, 182.5129565, 68.97922179, 26.07175968, 9.85409099, 3.724532667, 1.406475763, 0.53141401, 0.200786148, 0.075863783];
const MIN_EDGE_PX = 2;
const EARTH_CIRCUMFERENCE_M = 40075016.686; // WGS84 equator
function displayResolution(map, dataRes) {
  const lat = map.getCenter().lat;
  const metresPerPx = (EARTH_CIRCUMFERENCE_M * Math.cos((lat * Math.PI) / 180)) / (512 * 2 ** map.getZoom());
  for (let r = dataRes; r > 0; r -= 1) if ((H3_EDGE_KM[r] * 1000) / metresPerPx >= MIN_EDGE_PX) return r;
  return 0;
}
function aggregate(cells, res) {
  if (!cells.length || getResolution(cells[0].h3) <= res) return cells;
  const sums = new Map();
  for (const c of cells) {
    const p = cellToParent(c.h3, res);
    sums.set(p, (sums.get(p) || 0) + c.co2e_wtw_kg);
  }
  return Array.from(sums, ([h3, co2e]) => ({ h3, co2e_wtw_kg: co2e }));
}

// the hexagon of a cell as offsets in metres from its centre (local equirectangular: a cell is
// at most tens of km across), shrunk by `coverage` so neighbours keep a hairline between them
const M_PER_DEG_LAT = 110574; // WGS84 mean, metres per degree of latitude
const M_PER_DEG_LON_EQ = 111320; // metres per degree of longitude at the equator
function hexagonShape(h3, coverage) {
  const [clat, clon] = cellToLatLng(h3);
  const k = Math.cos((clat * Math.PI) / 180);
  return cellToBoundary(h3).map(([lat, lon]) => [
    (lon - clon) * M_PER_DEG_LON_EQ * k * coverage,
    (lat - clat) * M_PER_DEG_LAT * coverage,
  ]);
}

registerView({
  id: 'heatmap',
  title: 'Emissions heat map',
  async render(main, { params, filters }) {
    const resolution = Number(params.res || 5);
    const all = await api('/dashboard/heatmap', { params: { ...filters, resolution } });
    const hours = all.hours;
    const bar = document.createElement('div');
    bar.className = 'toolbar';
    bar.innerHTML = `<label>window <select name="span"><option value="0">whole selection</option><option value="1">1 hour</option><option value="24" selected>1 day</option><option value="168">1 week</option></select></label>
      <input type="range" name="t" min="0" max="${Math.max(hours.length - 1, 0)}" value="0" style="flex:1">
      <span class="when muted"></span>
      <button type="button" name="play">play</button>
      <label><input type="checkbox" name="live"> live telemetry (last hour)</label>
      <span class="live-state muted"></span>`;
    main.appendChild(bar);
    const m = await mapCard(main, { title: `kg CO2e WTW per H3 cell (resolution ${resolution} from the API), from the trips' allocated emissions`, name: 'heatmap', height: 600 });
    const span = bar.querySelector('[name=span]');
    const slider = bar.querySelector('[name=t]');
    const when = bar.querySelector('.when');
    const liveBox = bar.querySelector('[name=live]');
    const liveState = bar.querySelector('.live-state');
    let cells = all.cells;
    let liveCells = [];
    let [lo, hi] = range(cells);
    let binary = null;
    let shape = null;
    const draw = () => {
      const dataRes = cells.length ? getResolution(cells[0].h3) : 0;
      const res = cells.length ? displayResolution(m.map, dataRes) : 0;
      if (!binary || binary.cells !== cells || binary.res !== res) {
        const shown = aggregate(cells, res);
        const [slo, shi] = res === dataRes ? [lo, hi] : range(shown);
        binary = { cells, res, shown, data: binaryCells(shown, slo, shi) };
        shape = shown.length ? hexagonShape(shown[0].h3, 0.95) : null;
      }
      const shown = binary.shown;
      const layers = shape ? [new ColumnLayer({
        id: `heat-${res}`, data: binary.data, pickable: true, extruded: false, stroked: false, filled: true,
        diskResolution: 6, radius: 1, vertices: shape,
        onHover: (info) => {
          const d = info.index >= 0 ? shown[info.index] : null;
          m.showTooltip({ ...info, object: d }, d && `${escapeHtml(d.h3)} (resolution ${res})<br>${kg(d.co2e_wtw_kg, 3)} CO2e WTW`);
        },
      })] : [];
      if (liveCells.length) {
        const [llo, lhi] = range(liveCells);
        layers.push(new H3HexagonLayer({
          id: 'live', data: liveCells, pickable: true, filled: true, stroked: true, extruded: false,
          getHexagon: (d) => d.h3, lineWidthMinPixels: 1,
          getLineColor: [220, 30, 30, 255],
          getFillColor: (d) => { const c = colour(d.co2e_wtw_kg, llo, lhi); return [255, 80 + c[1] / 2, 40, 170]; },
          onHover: (info) => m.showTooltip(info, info.object && `live ${escapeHtml(info.object.h3)}<br>${kg(info.object.co2e_wtw_kg, 3)} CO2e · ${info.object.gps_fixes} GPS fixes`),
        }));
      }
      m.setLayers(layers);
      m.box.dataset.cells = String(cells.length);
      m.box.dataset.drawnCells = String(shown ? binary.shown.length : 0);
      m.box.dataset.drawnResolution = String(res);
      m.box.dataset.drawnCo2e = String(binary.shown.reduce((sum, c) => sum + c.co2e_wtw_kg, 0));
      m.box.dataset.liveCells = String(liveCells.length);
      m.box.dataset.liveCo2e = String(liveCells.reduce((sum, c) => sum + c.co2e_wtw_kg, 0));
      m.legend(`${cells.length.toLocaleString('en-US')} cells${res !== dataRes ? ` (drawn at resolution ${res} for this zoom)` : ''} · ${kg(cells.reduce((s, c) => s + c.co2e_wtw_kg, 0), 0)}${liveCells.length ? ` · live ${liveCells.length} cells` : ''}`);
    };
    const load = async () => {
      const h = Number(span.value);
      if (!h || !hours.length) { cells = all.cells; when.textContent = 'whole selection'; [lo, hi] = range(cells); draw(); return; }
      const start = new Date(hours[Number(slider.value)].hour);
      const end = new Date(start.getTime() + h * 3600e3);
      when.textContent = `${start.toISOString().slice(0, 16)}Z + ${h} h`;
      const got = await api('/dashboard/heatmap', { params: { ...filters, resolution, start: start.toISOString(), end: end.toISOString() } });
      cells = got.cells;
      draw();
    };
    span.onchange = load;
    slider.oninput = load;
    let playing = null;
    bar.querySelector('[name=play]').onclick = () => {
      if (playing) { clearInterval(playing); playing = null; return; }
      if (span.value === '0') span.value = '24';
      playing = setInterval(() => { slider.value = String((Number(slider.value) + 6) % Math.max(hours.length, 1)); load(); }, 800);
    };
    let liveTimer = null;
    const pollLive = async () => {
      const got = await api('/dashboard/heatmap/live', { params: { minutes: 60 } });
      liveCells = got.cells;
      liveState.textContent = got.note || `${got.records} records · last window ${got.last_window || '–'}`;
      draw();
    };
    liveBox.onchange = () => {
      if (liveBox.checked) { pollLive(); liveTimer = setInterval(pollLive, 3000); } else { clearInterval(liveTimer); liveTimer = null; liveCells = []; draw(); }
    };
    if (params.live === '1') { liveBox.checked = true; liveBox.onchange(); }
    // the browser tests draw a given set of cells and count frames
    window.greenstream = { ...window.greenstream, heatCells: (c) => { cells = c; [lo, hi] = range(cells); draw(); }, map: m.map };
    draw();
    // a zoom that changes the drawn resolution redraws (a pan keeps it)
    m.map.on('zoomend', () => {
      if (cells.length && displayResolution(m.map, getResolution(cells[0].h3)) !== binary?.res) draw();
    });
    await m.ready;
    if (hours.length) { span.value = '0'; }
    return () => { clearInterval(playing); clearInterval(liveTimer); };
  },
});
