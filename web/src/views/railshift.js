import { registerView } from '../shell.js';
import { api } from '../api.js';
import { chart } from '../charts.js';
import { table } from '../table.js';
import { int, kg, num } from '../format.js';

registerView({
  id: 'rail-shift',
  title: 'Rail shift',
  async render(main, { filters }) {
    const r = await api('/dashboard/rail-shift', { params: { ...filters, lanes: 15 } });
    const head = document.createElement('div');
    head.className = 'kpis';
    head.innerHTML = `<div class="kpi"><div class="label">road WTW on these lanes</div><div class="value">${kg(r.totals.road_co2e_wtw_kg, 0)}</div><div class="note">largest ${r.lanes.length} road lanes ≥ 500 km; the lever's lanes carry ${(r.candidate_share * 100).toFixed(0)} % of this selection's road WTW</div></div>
      <div class="kpi"><div class="label">saving by the routing lever</div><div class="value">${kg(r.totals.saving_co2e_wtw_kg, 0)}</div><div class="note">recommended routes against all-road</div></div>`;
    main.appendChild(head);
    const lanes = r.lanes;
    chart(main, {
      title: 'Road WTW and the saving of the recommended route', name: 'rail-shift', height: Math.max(260, 26 * lanes.length + 60),
      option: {
        tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } }, legend: { top: 0 },
        grid: { left: 200, right: 30, top: 30, bottom: 30 },
        yAxis: { type: 'category', data: lanes.map((l) => `${l.origin_name} → ${l.destination_name}`).reverse() },
        xAxis: { type: 'value', name: 'kg CO2e' },
        series: [
          { name: 'road WTW', type: 'bar', data: lanes.map((l) => l.road_co2e_wtw_kg).reverse(), itemStyle: { color: '#e67e22' } },
          { name: 'saving', type: 'bar', data: lanes.map((l) => l.saving_co2e_wtw_kg).reverse(), itemStyle: { color: '#27ae60' } },
        ],
      },
    });
    table(main, {
      title: 'Lanes', name: 'rail-shift',
      columns: [
        { key: 'origin_name', label: 'from' }, { key: 'destination_name', label: 'to' },
        { key: 'shipment_count', label: 'parcels', align: 'num', format: int }, { key: 'mass_kg', label: 'mass kg', align: 'num', format: (v) => num(v, 1) },
        { key: 'road_co2e_wtw_kg', label: 'road WTW kg', align: 'num', format: (v) => kg(v) },
        { key: 'modes', label: 'recommended' }, { key: 'co2e_saved_vs_road_pct', label: 'saving %', align: 'num', format: (v) => num(v, 1) },
        { key: 'saving_co2e_wtw_kg', label: 'saving kg', align: 'num', format: (v) => kg(v) }, { key: 'rule', label: 'why' },
      ],
      rows: lanes,
    });
  },
});
