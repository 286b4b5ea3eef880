import { registerView } from '../shell.js';
import { api } from '../api.js';
import { mapCard } from '../map.js';
import { H3HexagonLayer } from '@deck.gl/geo-layers';
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
    const draw = () => {
      const layers = [new H3HexagonLayer({
        id: 'heat', data: cells, pickable: true, filled: true, extruded: false, stroked: false,
        // one instanced hexagon shape for all cells (no per-cell polygon tessellation): 100k cells
        // upload as a few attribute buffers
        highPrecision: false, coverage: 0.95,
        getHexagon: (d) => d.h3,
        getFillColor: (d) => colour(d.co2e_wtw_kg, lo, hi),
        updateTriggers: { getFillColor: [lo, hi] },
        onHover: (info) => m.showTooltip(info, info.object && `${escapeHtml(info.object.h3)}<br>${kg(info.object.co2e_wtw_kg, 3)} CO2e WTW`),
      })];
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
      m.box.dataset.liveCells = String(liveCells.length);
      m.box.dataset.liveCo2e = String(liveCells.reduce((sum, c) => sum + c.co2e_wtw_kg, 0));
      m.legend(`${cells.length.toLocaleString('en-US')} cells · ${kg(cells.reduce((s, c) => s + c.co2e_wtw_kg, 0), 0)}${liveCells.length ? ` · live ${liveCells.length} cells` : ''}`);
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
    await m.ready;
    if (hours.length) { span.value = '0'; }
    return () => { clearInterval(playing); clearInterval(liveTimer); };
  },
});
