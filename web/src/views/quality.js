import { registerView } from '../shell.js';
import { api } from '../api.js';
import { chart } from '../charts.js';
import { table } from '../table.js';
import { int, kg, pct } from '../format.js';

registerView({
  id: 'quality',
  title: 'Data quality',
  async render(main, { filters }) {
    const q = await api('/dashboard/quality', { params: filters });
    const head = document.createElement('div');
    head.className = 'kpis';
    head.innerHTML = `<div class="kpi"><div class="label">primary data</div><div class="value">${pct(q.primary_data_share)}</div><div class="note">of WTW</div></div>
      <div class="kpi"><div class="label">default method</div><div class="value">${pct(q.default_method_share)}</div><div class="note">of WTW</div></div>
      <div class="kpi"><div class="label">elements with warnings</div><div class="value">${int(q.warned_tce_count)}</div><div class="note">of ${int(q.tce_count)}</div></div>
      <div class="kpi"><div class="label">quarantined telemetry</div><div class="value">${int(q.quarantine.reduce((s, r) => s + r.records, 0))}</div><div class="note">records</div></div>`;
    main.appendChild(head);
    const grid = document.createElement('div');
    grid.className = 'grid2';
    main.appendChild(grid);
    chart(grid, {
      title: 'WTW by method', name: 'methods',
      option: { tooltip: { trigger: 'item' }, series: [{ type: 'pie', radius: ['35%', '70%'], data: q.by_method.map((r) => ({ name: r.method, value: r.co2e_wtw_kg })) }] },
    });
    chart(grid, {
      title: 'Primary-data share by mode', name: 'primary-by-mode',
      option: { tooltip: { trigger: 'axis' }, grid: { left: 50, right: 20, top: 20, bottom: 30 }, xAxis: { type: 'category', data: q.by_mode.map((r) => r.mode) }, yAxis: { type: 'value', max: 100, name: '%' }, series: [{ type: 'bar', data: q.by_mode.map((r) => r.primary_data_share * 100), itemStyle: { color: '#2e7d5b' } }] },
    });
    table(main, {
      title: 'Warnings by kind', name: 'warnings',
      columns: [{ key: 'kind', label: 'warning' }, { key: 'tce_count', label: 'elements', align: 'num', format: int }, { key: 'co2e_wtw_kg', label: 'WTW kg concerned', align: 'num', format: (v) => kg(v) }],
      rows: q.warnings_by_kind,
    });
    table(main, {
      title: 'Default-method share by carrier', name: 'default-by-carrier',
      columns: [{ key: 'carrier', label: 'carrier' }, { key: 'tce_count', label: 'elements', align: 'num', format: int }, { key: 'co2e_wtw_kg', label: 'WTW kg', align: 'num', format: (v) => kg(v) }, { key: 'default_method_share', label: 'default', align: 'num', format: (v) => pct(v) }, { key: 'primary_data_share', label: 'primary', align: 'num', format: (v) => pct(v) }],
      rows: q.default_share_by_carrier,
    });
    table(main, {
      title: 'Quarantined telemetry by reason', name: 'quarantine',
      columns: [{ key: 'reason_code', label: 'reason' }, { key: 'record_type', label: 'type' }, { key: 'records', label: 'records', align: 'num', format: int }, { key: 'last_ts', label: 'latest record' }],
      rows: q.quarantine,
    });
  },
});
