import { registerView, go, parseHash } from '../shell.js';
import { api } from '../api.js';
import { chart } from '../charts.js';
import { table } from '../table.js';
import { int, kg, pct, escapeHtml } from '../format.js';

const BY = [
  ['mode', 'mode'], ['method', 'method'], ['carrier', 'carrier (TOC / operator)'], ['lane', 'lane'],
  ['hub', 'hub'], ['customer', 'customer'],
];

registerView({
  id: 'breakdown',
  title: 'Breakdowns',
  defaultArg: 'mode',
  async render(main, { arg, filters }) {
    const by = BY.some(([k]) => k === arg) ? arg : 'mode';
    const tabs = document.createElement('div');
    tabs.className = 'toolbar';
    tabs.innerHTML = 'by ' + BY.map(([k, label]) => `<button type="button" data-by="${k}" class="${k === by ? 'active' : ''}">${escapeHtml(label)}</button>`).join('');
    tabs.querySelectorAll('button').forEach((b) => { b.onclick = () => { const h = parseHash(); go('breakdown', b.dataset.by, h.params); }; });
    main.appendChild(tabs);
    const rows = await api(`/dashboard/breakdown/${by}`, { params: { ...filters, limit: 500 } });
    const label = (r) => (by === 'hub' ? `${r.hub} @ ${r.location}` : String(r[by]));
    const top = rows.slice(0, 20);
    chart(main, {
      title: `WTW by ${by} (largest ${top.length})`,
      name: `breakdown-${by}`,
      height: Math.max(260, 24 * top.length + 60),
      option: {
        tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
        legend: { top: 0 },
        grid: { left: 220, right: 30, top: 30, bottom: 30 },
        yAxis: { type: 'category', data: top.map(label).reverse(), axisLabel: { width: 200, overflow: 'truncate' } },
        xAxis: { type: 'value', name: 'kg CO2e' },
        series: [
          { name: 'TTW', type: 'bar', stack: 'w', data: top.map((r) => r.co2e_ttw_kg).reverse(), itemStyle: { color: '#2e7d5b' } },
          { name: 'WTT', type: 'bar', stack: 'w', data: top.map((r) => r.co2e_wtt_kg).reverse(), itemStyle: { color: '#a5c9b5' } },
        ],
      },
    });
    const keyCols = by === 'hub'
      ? [{ key: 'hub', label: 'hub' }, { key: 'location', label: 'place' }]
      : [{ key: by, label: by }];
    table(main, {
      title: `Figures by ${by}`,
      name: `breakdown-${by}`,
      columns: [
        ...keyCols,
        { key: 'shipment_count', label: 'parcels', align: 'num', format: int },
        { key: 'co2e_wtw_kg', label: 'WTW kg', align: 'num', format: (v) => kg(v) },
        { key: 'co2e_ttw_kg', label: 'TTW kg', align: 'num', format: (v) => kg(v) },
        { key: 'co2e_wtt_kg', label: 'WTT kg', align: 'num', format: (v) => kg(v) },
        { key: 'co2e_wtw_low_kg', label: 'band low kg', align: 'num', format: (v) => kg(v) },
        { key: 'co2e_wtw_high_kg', label: 'band high kg', align: 'num', format: (v) => kg(v) },
        { key: 'transport_activity_tkm', label: 'tkm', align: 'num', format: int },
        { key: 'co2e_wtw_kg_per_shipment', label: 'g / parcel', align: 'num', format: (v) => (v * 1000).toFixed(1) },
        { key: 'intensity_wtw_kg_per_tkm', label: 'g / tkm', align: 'num', format: (v) => (v * 1000).toFixed(1) },
        { key: 'primary_data_share', label: 'primary', align: 'num', format: (v) => pct(v) },
      ],
      rows,
      onRow: by === 'lane' || by === 'mode' || by === 'carrier' || by === 'customer'
        ? (r) => { const h = parseHash(); go('overview', null, { ...h.params, [by]: r[by] }); }
        : undefined,
    });
  },
});
