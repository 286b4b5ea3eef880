import { registerView } from '../shell.js';
import { api } from '../api.js';
import { mapCard } from '../map.js';
import { H3HexagonLayer } from '@deck.gl/geo-layers';
import { getResolution, h3IndexToSplitLong, latLngToCell } from 'h3-js';
import { kg, escapeHtml } from '../format.js';
import { EARTH_CIRCUMFERENCE_M, H3_EDGE_KM, cellKey, colour, logRange, rampRgb, worldLat, worldLon, worldX, worldY } from '../heatscale.js';

// The heat map is a raster: a worker (src/heatraster.worker.js) paints the cells around the view
// into an image in Web Mercator at the map's zoom, shown in a canvas element over the map's
// canvas that follows the map with a CSS transform (a translation, and a scale while a zoom waits
// for the next painting), as tiled web maps move their tiles. A frame of a moving map then costs
// the browser's compositing of one image, whatever the number of cells, and no WebGL work (a
// textured quad over the whole map would be paid per pixel, every frame, by a software WebGL
// renderer); the cells are painted again, off the main thread, when the data, the zoom or a view
// beyond the painted margin asks for it. The map is kept flat (no rotation, no pitch) so that a
// translation and a scale place the image exactly. A tooltip finds the cell under the pointer on
// the CPU (h3-js latLngToCell at the drawn resolution, then a hash lookup). The live telemetry
// cells, a few hundred, are a deck.gl layer over it.

// Level of detail: a cell drawn smaller than a few pixels is not seen. Cells are drawn at the
// finest resolution whose edge spans MIN_EDGE_PX on screen at the map's zoom, each the sum of
// the cells inside it (sums are kept: the drawn cells hold the same kg CO2e); zooming in draws
// the cells themselves.
const MIN_EDGE_PX = 2;
function displayResolution(map, dataRes) {
  const lat = map.getCenter().lat;
  const metresPerPx = (EARTH_CIRCUMFERENCE_M * Math.cos((lat * Math.PI) / 180)) / (512 * 2 ** map.getZoom());
  for (let r = dataRes; r > 0; r -= 1) if ((H3_EDGE_KM[r] * 1000) / metresPerPx >= MIN_EDGE_PX) return r;
  return 0;
}
// the raster covers the view and half of its size again on each side, so a pan of up to half
// a view needs no new painting; at most MAX_RASTER_PIXELS and 8192 pixels a side (a very large
// screen is painted coarser)
const MAX_RASTER_PIXELS = 16e6;

// The worker that paints the raster, one request at a time: a request made while one is being
// painted waits, and only the latest waiting one is painted.
class HeatRaster {
  constructor(onRaster) {
    this.worker = new Worker(new URL('../heatraster.worker.js', import.meta.url), { type: 'module' });
    this.worker.onmessage = ({ data }) => this.done(data);
    this.onRaster = onRaster;
    this.version = 0;
    this.nextId = 0;
    this.busy = null;
    this.queued = null;
    this.idle = [];
  }

  setCells(cells) {
    this.version += 1;
    const values = Float64Array.from(cells, (c) => c.co2e_wtw_kg);
    this.worker.postMessage({ type: 'cells', version: this.version, h3: cells.map((c) => c.h3), values }, [values.buffer]);
  }

  render(request) {
    const req = { ...request, type: 'render', version: this.version, id: (this.nextId += 1) };
    if (this.busy) this.queued = req; else this.send(req);
    return req;
  }

  send(req) { this.busy = req; this.worker.postMessage(req); }

  done(out) {
    this.busy = null;
    const next = this.queued;
    this.queued = null;
    if (next) this.send({ ...next, version: this.version });
    if (!out.stale && out.version === this.version) this.onRaster(out); else out.bitmap?.close();
    if (!this.busy) { this.idle.forEach((resolve) => resolve()); this.idle = []; }
  }

  // resolves when no request is being painted or waiting
  whenIdle() { return this.busy ? new Promise((resolve) => this.idle.push(resolve)) : Promise.resolve(); }

  dispose() { this.worker.terminate(); }
}

// kg with two significant digits below 100 (the scale's ends: 0.012 kg, 3.4 kg, 287,156 kg)
function kgShort(value) { return value >= 100 ? kg(value, 0) : `${Number(value.toPrecision(2))} kg`; }
function rampCss() {
  return `linear-gradient(to right, ${[0, 0.25, 0.5, 0.75, 1].map((t) => `rgb(${rampRgb(t).join(',')})`).join(', ')})`;
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
    // flat: the image is placed by a translation and a scale
    m.map.dragRotate.disable();
    m.map.keyboard.disableRotation();
    m.map.touchZoomRotate.disableRotation();
    m.map.touchPitch.disable();
    m.map.setMaxPitch(0);
    const span = bar.querySelector('[name=span]');
    const slider = bar.querySelector('[name=t]');
    const when = bar.querySelector('.when');
    const liveBox = bar.querySelector('[name=live]');
    const liveState = bar.querySelector('.live-state');
    let cells = all.cells;
    let dataRes = 0;
    let total = 0;
    let liveCells = [];
    let shown = null; // the raster on the map: { res, rect, width, height, drawnCells, drawnCo2e, logLo, logHi, ... }
    let wanted = null; // the last view asked of the worker: { res, zoom, cover }
    const lookups = new Map(); // res -> the drawn cells' keys and kg, for tooltips

    const legend = () => {
      const scale = shown && shown.drawnCells ? ` · <span class="ramp" style="background:${rampCss()}"></span> ${kgShort(10 ** shown.logLo)} – ${kgShort(10 ** shown.logHi)} a cell` : '';
      m.legend(`${cells.length.toLocaleString('en-US')} cells${shown && shown.res !== dataRes ? ` (drawn at resolution ${shown.res} for this zoom)` : ''} · ${kg(total, 0)}${scale}${liveCells.length ? ` · live ${liveCells.length} cells` : ''}`);
    };
    // the painted image, over the map's canvas and under deck.gl's (the live cells)
    const heat = document.createElement('canvas');
    heat.className = 'heat-raster';
    heat.hidden = true;
    m.map.getCanvasContainer().appendChild(heat);
    const heatContext = heat.getContext('bitmaprenderer');
    // where the image is on the map now: its corners projected, as a translation and a scale
    let placed = '';
    const place = () => {
      if (!shown || !shown.rect) { heat.hidden = true; return; }
      const [x0, y0, x1, y1] = shown.rect;
      const a = m.map.project([worldLon(x0), worldLat(y0)]);
      const b = m.map.project([worldLon(x1), worldLat(y1)]);
      const sx = (b.x - a.x) / shown.width;
      const sy = (b.y - a.y) / shown.height;
      // at the zoom it was painted for, whole pixels: the image's pixels are the screen's
      const exact = Math.abs(sx * (window.devicePixelRatio || 1) - 1) < 1e-6;
      const tx = exact ? Math.round(a.x) : a.x;
      const ty = exact ? Math.round(a.y) : a.y;
      const transform = `translate(${tx}px, ${ty}px) scale(${sx}, ${sy})`;
      if (transform !== placed) { heat.style.transform = transform; placed = transform; }
      heat.hidden = false;
    };
    m.map.on('render', place);
    const drawLayers = () => {
      const layers = [];
      if (liveCells.length) {
        const [llo, lhi] = logRange(liveCells.map((c) => c.co2e_wtw_kg));
        layers.push(new H3HexagonLayer({
          id: 'live', data: liveCells, pickable: true, filled: true, stroked: true, extruded: false,
          getHexagon: (d) => d.h3, lineWidthMinPixels: 1,
          getLineColor: [220, 30, 30, 255],
          getFillColor: (d) => { const c = colour(d.co2e_wtw_kg, llo, lhi); return [255, 80 + c[1] / 2, 40, 170]; },
        }));
      }
      m.setLayers(layers);
      m.box.dataset.liveCells = String(liveCells.length);
      m.box.dataset.liveCo2e = String(liveCells.reduce((sum, c) => sum + c.co2e_wtw_kg, 0));
      legend();
    };
    const raster = new HeatRaster((out) => {
      performance.mark('heatmap:raster-start');
      if (out.lo) lookups.set(out.res, { lo: out.lo, hi: out.hi, values: out.values, index: null });
      shown = out;
      // the new image and its place in the same task: they show together
      if (out.bitmap) {
        heat.width = out.width; // the element's size in pixels: the image's
        heat.height = out.height;
        heatContext.transferFromImageBitmap(out.bitmap);
      }
      place();
      legend();
      Object.assign(m.box.dataset, {
        drawnCells: String(out.drawnCells), drawnResolution: String(out.res), drawnCo2e: String(out.drawnCo2e),
        rasterCells: String(out.rasteredCells), rasterMs: String(Math.round(out.renderMs)),
        rasterSize: out.bitmap ? `${out.width}x${out.height}` : '0x0',
      });
      performance.measure('heatmap:raster-update', 'heatmap:raster-start');
    });

    // the view as the worker needs it: world coordinates (0-1) of the view and of the area to
    // paint (the view and its margin), and the raster's pixels per world unit at this zoom
    const request = () => {
      const map = m.map;
      const b = map.getBounds();
      const view = [worldX(b.getWest()), worldY(b.getNorth()), worldX(b.getEast()), worldY(b.getSouth())];
      const mx = (view[2] - view[0]) / 2;
      const my = (view[3] - view[1]) / 2;
      const cover = [view[0] - mx, view[1] - my, view[2] + mx, view[3] + my];
      const zoom = map.getZoom();
      const res = cells.length ? displayResolution(map, dataRes) : 0;
      wanted = { res, zoom, view, cover };
      raster.render({ res, cover, pxPerWorld: 512 * 2 ** zoom * (window.devicePixelRatio || 1), maxPixels: MAX_RASTER_PIXELS, maxSide: 8192 });
    };
    // after a move: paint again if the zoom changed or the view left the painted area (the same
    // request as the one in flight or waiting is not made twice)
    const moved = () => {
      if (!cells.length) return;
      if (!wanted) { request(); return; }
      const b = m.map.getBounds();
      const [x0, y0, x1, y1] = wanted.cover;
      const inside = worldX(b.getWest()) >= x0 && worldX(b.getEast()) <= x1 && worldY(b.getNorth()) >= y0 && worldY(b.getSouth()) <= y1;
      if (!inside || Math.abs(m.map.getZoom() - wanted.zoom) > 1e-6) request();
    };
    const setData = (next) => {
      performance.mark('heatmap:set-start');
      cells = next;
      dataRes = cells.length ? getResolution(cells[0].h3) : 0;
      total = cells.reduce((sum, c) => sum + c.co2e_wtw_kg, 0);
      lookups.clear();
      m.box.dataset.cells = String(cells.length);
      raster.setCells(cells);
      request();
      performance.measure('heatmap:set-cells', 'heatmap:set-start');
      return raster.whenIdle();
    };
    // the drawn cell under a point (lon, lat): its index, resolution and kg CO2e (the sum of the
    // data's cells inside it), or null
    const cellAt = (lon, lat) => {
      const lk = shown && lookups.get(shown.res);
      if (!lk) return null;
      if (!lk.index) {
        lk.index = new Map();
        for (let i = 0; i < lk.values.length; i += 1) lk.index.set(cellKey(lk.lo[i], lk.hi[i]), i);
      }
      const h3 = latLngToCell(lat, lon, shown.res);
      const [lo, hi] = h3IndexToSplitLong(h3);
      const i = lk.index.get(cellKey(lo, hi));
      return i === undefined ? null : { h3, res: shown.res, co2e_wtw_kg: lk.values[i] };
    };
    m.map.on('mousemove', (e) => {
      const { x, y } = e.point;
      const live = liveCells.length ? m.overlay.pickObject({ x, y, radius: 2, layerIds: ['live'] }) : null;
      if (live && live.object) {
        const d = live.object;
        m.showTooltip({ ...live, x, y }, `live ${escapeHtml(d.h3)}<br>${kg(d.co2e_wtw_kg, 3)} CO2e · ${d.gps_fixes} GPS fixes`);
        return;
      }
      const d = cellAt(e.lngLat.lng, e.lngLat.lat);
      m.showTooltip(d && { object: d, x, y }, d && `${escapeHtml(d.h3)} (resolution ${d.res})<br>${kg(d.co2e_wtw_kg, 3)} CO2e WTW`, d && { h3: d.h3, co2e: String(d.co2e_wtw_kg) });
    });
    m.map.on('mouseout', () => m.showTooltip(null));
    // once the map has drawn the moved view and is idle: the painting does not compete with the
    // frames of a pan or zoom under way
    m.map.on('idle', moved);
    m.map.on('resize', request);

    const load = async () => {
      const h = Number(span.value);
      if (!h || !hours.length) { when.textContent = 'whole selection'; setData(all.cells); return; }
      const start = new Date(hours[Number(slider.value)].hour);
      const end = new Date(start.getTime() + h * 3600e3);
      when.textContent = `${start.toISOString().slice(0, 16)}Z + ${h} h`;
      const got = await api('/dashboard/heatmap', { params: { ...filters, resolution, start: start.toISOString(), end: end.toISOString() } });
      setData(got.cells);
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
      drawLayers();
    };
    liveBox.onchange = () => {
      if (liveBox.checked) { pollLive(); liveTimer = setInterval(pollLive, 3000); } else { clearInterval(liveTimer); liveTimer = null; liveCells = []; drawLayers(); }
    };
    if (params.live === '1') { liveBox.checked = true; liveBox.onchange(); }
    // the browser tests draw a given set of cells (resolved once painted and on the map), wait
    // for the raster to catch up with the view (asking for the painting the map's idle event
    // would ask for), and read a value's colour on the scale
    window.greenstream = {
      ...window.greenstream, map: m.map,
      heatCells: (c) => setData(c),
      heatIdle: () => { moved(); return raster.whenIdle(); },
      heatColour: (value) => (shown ? colour(value, shown.logLo, shown.logHi) : null),
    };
    setData(cells);
    await m.ready;
    if (hours.length) { span.value = '0'; }
    return () => { clearInterval(playing); clearInterval(liveTimer); raster.dispose(); };
  },
});
