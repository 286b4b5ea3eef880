import { registerView, go, parseHash } from '../shell.js';
import { api } from '../api.js';
import { mapCard } from '../map.js';
import { table } from '../table.js';
import { ArcLayer, ScatterplotLayer } from '@deck.gl/layers';
import { int, kg, escapeHtml, modeColour, cssColour } from '../format.js';

registerView({
  id: 'map',
  title: 'Lanes & hubs map',
  async render(main, { params, filters }) {
    const [lanes, hubs] = await Promise.all([
      api('/dashboard/map/lanes', { params: { ...filters, limit: 3000 } }),
      api('/dashboard/map/hubs', { params: filters }),
    ]);
    const layout = document.createElement('div');
    layout.className = 'map-layout';
    main.appendChild(layout);
    const side = document.createElement('div');
    side.className = 'side';
    const m = await mapCard(layout, { title: `${lanes.length} lanes (arcs by WTW, coloured by mode) and ${hubs.length} hubs`, name: 'lanes-map' });
    layout.appendChild(side);
    const maxW = Math.max(...lanes.map((l) => l.co2e_wtw_kg), 1);
    const maxH = Math.max(...hubs.map((h) => h.co2e_wtw_kg), 1);
    const modes = [...new Set(lanes.map((l) => l.mode))];
    m.legend(modes.map((mo) => `<span class="swatch" style="background:${cssColour(modeColour(mo))}"></span>${escapeHtml(mo)}`).join(' ') + ' <span class="swatch round"></span>hub');
    const showLane = async (lane) => {
      const leg = `${lane.origin}>${lane.destination}>${lane.mode}`;
      const h = parseHash();
      history.replaceState(null, '', `#/map?${new URLSearchParams({ ...h.params, leg }).toString()}`);
      const got = await api('/dashboard/shipments', { params: { ...filters, leg, limit: 200 } });
      side.innerHTML = `<div class="card lane-card"><h3>${escapeHtml(lane.origin_name)} ${escapeHtml(lane.origin_name_zh || '')} → ${escapeHtml(lane.destination_name)} ${escapeHtml(lane.destination_name_zh || '')} (${escapeHtml(lane.mode)})</h3>
        <p>${kg(lane.co2e_wtw_kg)} WTW · ${int(lane.shipment_count)} parcels · ${int(lane.transport_activity_tkm)} tkm</p></div>`;
      table(side, {
        title: `${got.total} shipments on this lane`,
        name: `lane-${lane.origin}-${lane.destination}-${lane.mode}`,
        columns: [
          { key: 'shipment_id', label: 'waybill' },
          { key: 'origin', label: 'from' },
          { key: 'destination', label: 'to' },
          { key: 'modes', label: 'modes' },
          { key: 'co2e_wtw_kg', label: 'WTW kg', align: 'num', format: (v) => kg(v, 3) },
        ],
        rows: got.shipments,
        onRow: (r) => go('trace', r.shipment_id, filters),
      });
    };
    m.setLayers([
      new ArcLayer({
        id: 'lanes', data: lanes, pickable: true,
        getSourcePosition: (d) => [d.o_lon, d.o_lat],
        getTargetPosition: (d) => [d.d_lon, d.d_lat],
        getSourceColor: (d) => [...modeColour(d.mode), 200],
        getTargetColor: (d) => [...modeColour(d.mode), 200],
        getWidth: (d) => 0.5 + 9 * Math.sqrt(d.co2e_wtw_kg / maxW),
        getHeight: 0, // seen from above: a flat arc is the straight lane
        onClick: (info) => info.object && showLane(info.object),
        onHover: (info) => m.showTooltip(info, info.object && `<b>${escapeHtml(info.object.origin_name)} ${escapeHtml(info.object.origin_name_zh || '')} → ${escapeHtml(info.object.destination_name)} ${escapeHtml(info.object.destination_name_zh || '')}</b><br>${escapeHtml(info.object.mode)} · ${kg(info.object.co2e_wtw_kg)} WTW<br>${int(info.object.shipment_count)} parcels`),
      }),
      new ScatterplotLayer({
        id: 'hubs', data: hubs, pickable: true, stroked: true, radiusUnits: 'pixels',
        getPosition: (d) => [d.lon, d.lat],
        getRadius: (d) => 3 + 22 * Math.sqrt(d.co2e_wtw_kg / maxH),
        getFillColor: [60, 60, 60, 120], getLineColor: [30, 30, 30, 220], lineWidthMinPixels: 1,
        onHover: (info) => m.showTooltip(info, info.object && `<b>${escapeHtml(info.object.hub)}</b> · ${escapeHtml(info.object.name)}<br>${kg(info.object.co2e_wtw_kg)} WTW · ${int(info.object.shipment_count)} parcels`),
      }),
    ]);
    m.box.dataset.lanes = String(lanes.length);
    // what the browser tests (and an embedding page) use: the lanes drawn and where they are
    window.greenstream = { ...window.greenstream, lanes, showLane, project: (lon, lat) => m.map.project([lon, lat]), mapCanvas: () => m.map.getCanvas() };
    await m.ready;
    if (params.leg) {
      const [o, d, mode] = params.leg.split('>');
      const lane = lanes.find((l) => l.origin === o && l.destination === d && l.mode === mode);
      if (lane) await showLane(lane);
    } else {
      side.innerHTML = '<div class="card muted">Click a lane to list its shipments.</div>';
    }
  },
});
