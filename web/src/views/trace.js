import { registerView, go } from '../shell.js';
import { api } from '../api.js';
import { mapCard } from '../map.js';
import { table } from '../table.js';
import { ArcLayer, ScatterplotLayer } from '@deck.gl/layers';
import { kg, num, escapeHtml, modeColour } from '../format.js';

function sheetHtml(sheet) {
  const els = sheet.elements || sheet.tces || [];
  const rows = els.map((e) => {
    const steps = (e.steps || []).map((s) => `<li><b>${escapeHtml(s.step || s.name || '')}</b> ${escapeHtml(s.text || s.description || '')} ${s.value != null ? `= <code>${escapeHtml(s.value)}</code>` : ''} ${s.unit ? escapeHtml(s.unit) : ''} ${s.clause ? `<span class="muted">(${escapeHtml(s.clause)})</span>` : ''}</li>`).join('');
    return `<details><summary>${escapeHtml(e.tce_id || '')} · ${escapeHtml(e.mode || e.hub_type || '')} · ${kg(e.co2e_wtw_kg, 4)}</summary><ul>${steps}</ul><pre>${escapeHtml(JSON.stringify(e, null, 1))}</pre></details>`;
  }).join('');
  return `<div class="card sheet"><h3>Calculation sheet</h3>${rows || `<pre>${escapeHtml(JSON.stringify(sheet, null, 1))}</pre>`}</div>`;
}

registerView({
  id: 'trace',
  title: 'Waybill trace',
  filters: false,
  async render(main, { arg, filters }) {
    const search = document.createElement('div');
    search.className = 'card';
    search.innerHTML = `<form id="waybill-search" class="toolbar"><label>waybill <input name="q" value="${escapeHtml(arg || '')}" placeholder="e.g. P00000001" autocomplete="off"></label><button type="submit">search</button><span class="hits"></span></form>`;
    main.appendChild(search);
    const form = search.querySelector('form');
    const hits = search.querySelector('.hits');
    form.onsubmit = async (e) => {
      e.preventDefault();
      const q = form.elements.q.value.trim();
      if (!q) return;
      const found = await api('/dashboard/search', { params: { q, limit: 10 } });
      const exact = found.find((f) => f.shipment_id === q);
      if (exact || found.length === 1) { go('trace', (exact || found[0]).shipment_id, filters); return; }
      hits.innerHTML = found.length ? found.map((f) => `<a href="#/trace/${encodeURIComponent(f.shipment_id)}">${escapeHtml(f.shipment_id)}</a>`).join(' ') : 'no waybill starts with that';
    };
    if (!arg) return;
    const data = await api(`/dashboard/waybills/${encodeURIComponent(arg)}`);
    const s = data.shipment;
    const head = document.createElement('div');
    head.className = 'card trace-head';
    head.innerHTML = `<h2>${escapeHtml(s.shipment_id)}</h2><p>${escapeHtml(s.origin)} → ${escapeHtml(s.destination)} · ${num(s.mass_kg, 3)} kg ·
      <b>${kg(s.co2e_wtw_kg, 4)} WTW</b> (TTW ${kg(s.co2e_ttw_kg, 4)}, WTT ${kg(s.co2e_wtt_kg, 4)}; band ${kg(s.co2e_wtw_low_kg, 4)} – ${kg(s.co2e_wtw_high_kg, 4)}) ·
      primary data ${(s.primary_data_share * 100).toFixed(1)} % · sealed in batch #${s.audit_seq}</p>`;
    main.appendChild(head);
    const els = data.elements;
    const legs = els.filter((e) => e.kind === 'transport' && e.origin_lat != null && e.destination_lat != null);
    const stops = els.filter((e) => e.kind === 'hub' && e.origin_lat != null);
    const lons = [...legs.flatMap((l) => [l.origin_lon, l.destination_lon]), ...stops.map((x) => x.origin_lon)];
    const lats = [...legs.flatMap((l) => [l.origin_lat, l.destination_lat]), ...stops.map((x) => x.origin_lat)];
    const center = lons.length ? [(Math.min(...lons) + Math.max(...lons)) / 2, (Math.min(...lats) + Math.max(...lats)) / 2] : [108, 33];
    const m = await mapCard(main, { title: 'Legs (coloured by mode) and transfers', name: `trace-${s.shipment_id}`, height: 420, center, zoom: 4 });
    m.setLayers([
      new ArcLayer({
        id: 'legs', data: legs, pickable: true, getWidth: 4, getHeight: 0.2,
        getSourcePosition: (d) => [d.origin_lon, d.origin_lat], getTargetPosition: (d) => [d.destination_lon, d.destination_lat],
        getSourceColor: (d) => [...modeColour(d.mode), 230], getTargetColor: (d) => [...modeColour(d.mode), 230],
        onHover: (info) => m.showTooltip(info, info.object && `${escapeHtml(info.object.mode)}: ${escapeHtml(info.object.origin_name)} ${escapeHtml(info.object.origin_name_zh || '')} → ${escapeHtml(info.object.destination_name)} ${escapeHtml(info.object.destination_name_zh || '')}<br>${kg(info.object.co2e_wtw_kg, 4)}`),
      }),
      new ScatterplotLayer({
        id: 'stops', data: stops, pickable: true, radiusUnits: 'pixels', getRadius: 7,
        getPosition: (d) => [d.origin_lon, d.origin_lat], getFillColor: [40, 40, 40, 200],
        onHover: (info) => m.showTooltip(info, info.object && `${escapeHtml(info.object.hub_type || 'hub')} ${escapeHtml(info.object.origin_name || '')}<br>${kg(info.object.co2e_wtw_kg, 4)}`),
      }),
    ]);
    table(main, {
      title: 'Chain elements',
      name: `trace-${s.shipment_id}`,
      columns: [
        { key: 'seq', label: '#', align: 'num' },
        { key: 'kind', label: 'element' },
        { key: 'mode', label: 'mode / hub', format: (v, r) => escapeHtml(v || r.hub_type || '') },
        { key: 'origin_name', label: 'from / at', format: (v, r) => escapeHtml([v || r.origin || '', r.origin_name_zh || ''].join(' ').trim()) },
        { key: 'destination_name', label: 'to', format: (v, r) => escapeHtml([v || r.destination || '', r.destination_name_zh || ''].join(' ').trim()) },
        { key: 'departure_at', label: 'departs' },
        { key: 'arrival_at', label: 'arrives' },
        { key: 'distance_used_km', label: 'km', align: 'num', format: (v) => num(v, 1) },
        { key: 'transport_activity_tkm', label: 'tkm', align: 'num', format: (v) => num(v, 4) },
        { key: 'method', label: 'method' },
        { key: 'co2e_wtw_kg', label: 'WTW kg', align: 'num', format: (v) => num(v, 5) },
        { key: 'co2e_ttw_kg', label: 'TTW kg', align: 'num', format: (v) => num(v, 5) },
        { key: 'factor_id', label: 'factor' },
      ],
      rows: els,
    });
    const sheet = document.createElement('div');
    sheet.innerHTML = sheetHtml(data.sheet);
    main.appendChild(sheet);
  },
});
