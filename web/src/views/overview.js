import { registerView, go, parseHash } from '../shell.js';
import { api } from '../api.js';
import { chart } from '../charts.js';
import { table } from '../table.js';
import { tonnes, grams, pct, int, delta, escapeHtml, modeColour, cssColour, kg } from '../format.js';

function kpi(label, value, note, change) {
  const ch = change == null ? '' : `<span class="${change > 0 ? 'up' : 'down'}">${change > 0 ? '+' : ''}${(change * 100).toFixed(1)} % vs a year before</span>`;
  return `<div class="kpi"><div class="label">${escapeHtml(label)}</div><div class="value">${value}</div><div class="note">${note || ''} ${ch}</div></div>`;
}

registerView({
  id: 'overview',
  title: 'Overview',
  async render(main, { params, filters }) {
    const granularity = params.granularity || 'day';
    const data = await api('/dashboard/overview', { params: { ...filters, granularity } });
    const t = data.totals;
    const y = data.year_before;
    const cards = document.createElement('div');
    cards.className = 'kpis';
    cards.innerHTML = [
      kpi('WTW emissions', tonnes(t.co2e_wtw_kg), `band ${tonnes(t.co2e_wtw_low_kg)} – ${tonnes(t.co2e_wtw_high_kg)}`, y && delta(t.co2e_wtw_kg, y.co2e_wtw_kg)),
      kpi('TTW', tonnes(t.co2e_ttw_kg), 'tank-to-wheel'),
      kpi('WTT', tonnes(t.co2e_wtt_kg), 'well-to-tank'),
      kpi('per parcel', grams(t.co2e_wtw_kg_per_shipment, 'CO2e'), `${int(t.shipment_count)} parcels`, y && delta(t.co2e_wtw_kg_per_shipment, y.co2e_wtw_kg_per_shipment)),
      kpi('per tonne-km', grams(t.intensity_wtw_kg_per_tkm, 'CO2e/tkm'), 'transport only', y && delta(t.intensity_wtw_kg_per_tkm, y.intensity_wtw_kg_per_tkm)),
      kpi('primary data', pct(t.primary_data_share), `default method ${pct(t.default_method_share)}`),
      kpi('hubs', tonnes(t.hub_co2e_wtw_kg), `${pct(t.co2e_wtw_kg ? t.hub_co2e_wtw_kg / t.co2e_wtw_kg : null)} of WTW`),
    ].join('');
    main.appendChild(cards);
    const bar = document.createElement('div');
    bar.className = 'toolbar';
    bar.innerHTML = `<span class="muted">${data.period.first_day ? `${data.period.first_day} – ${data.period.last_day}` : 'no data in this selection'}${y ? '' : ' · pick from/to to compare with a year before'}</span>
      <span class="spacer"></span>trend by ${['day', 'week', 'month'].map((g) => `<button type="button" data-g="${g}" class="${g === granularity ? 'active' : ''}">${g}</button>`).join('')}`;
    bar.querySelectorAll('button').forEach((b) => { b.onclick = () => { const h = parseHash(); go(h.id, h.arg, { ...h.params, granularity: b.dataset.g }); }; });
    main.appendChild(bar);
    const grid = document.createElement('div');
    grid.className = 'grid2';
    main.appendChild(grid);
    const periods = data.trend.map((r) => r.period);
    chart(grid, {
      title: `WTW by ${granularity} against the same period a year before`,
      name: 'trend',
      option: {
        tooltip: { trigger: 'axis' },
        legend: { top: 0 },
        grid: { left: 60, right: 20, top: 40, bottom: 40 },
        xAxis: { type: 'category', data: periods },
        yAxis: { type: 'value', name: 't CO2e' },
        series: [
          { name: 'WTW', type: 'bar', data: data.trend.map((r) => (r.co2e_wtw_kg ?? 0) / 1000), itemStyle: { color: '#2e7d5b' } },
          { name: 'a year before', type: 'line', data: data.trend.map((r) => (r.prior_co2e_wtw_kg ?? 0) / 1000), itemStyle: { color: '#9e9e9e' } },
          { name: 'band low', type: 'line', data: data.trend.map((r) => (r.co2e_wtw_low_kg ?? 0) / 1000), lineStyle: { type: 'dashed', width: 1 }, symbol: 'none', itemStyle: { color: '#8fbf9f' } },
          { name: 'band high', type: 'line', data: data.trend.map((r) => (r.co2e_wtw_high_kg ?? 0) / 1000), lineStyle: { type: 'dashed', width: 1 }, symbol: 'none', itemStyle: { color: '#8fbf9f' } },
        ],
      },
    });
    chart(grid, {
      title: 'WTW by mode (TTW and WTT)',
      name: 'modes',
      option: {
        tooltip: { trigger: 'axis' },
        legend: { top: 0 },
        grid: { left: 60, right: 20, top: 40, bottom: 40 },
        xAxis: { type: 'category', data: data.by_mode.map((r) => r.mode) },
        yAxis: { type: 'value', name: 't CO2e' },
        series: [
          { name: 'TTW', type: 'bar', stack: 'w', itemStyle: { color: '#2e7d5b' }, data: data.by_mode.map((r) => ({ value: r.co2e_ttw_kg / 1000, itemStyle: { color: cssColour(modeColour(r.mode)) } })) },
          { name: 'WTT', type: 'bar', stack: 'w', data: data.by_mode.map((r) => r.co2e_wtt_kg / 1000), itemStyle: { color: '#c8d6cf' } },
        ],
      },
    });
    table(main, {
      title: `Trend by ${granularity}`,
      name: `trend-${granularity}`,
      columns: [
        { key: 'period', label: granularity },
        { key: 'shipment_count', label: 'parcels', align: 'num', format: int },
        { key: 'co2e_wtw_kg', label: 'WTW kg', align: 'num', format: (v) => kg(v) },
        { key: 'co2e_wtw_kg_per_shipment', label: 'g / parcel', align: 'num', format: (v) => (v == null ? '–' : (v * 1000).toFixed(1)) },
        { key: 'intensity_wtw_kg_per_tkm', label: 'g / tkm', align: 'num', format: (v) => (v == null ? '–' : (v * 1000).toFixed(1)) },
        { key: 'primary_data_share', label: 'primary', align: 'num', format: (v) => pct(v) },
        { key: 'prior_co2e_wtw_kg', label: 'WTW a year before kg', align: 'num', format: (v) => kg(v) },
      ],
      rows: data.trend,
    });
  },
});
