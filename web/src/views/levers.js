// Views of the reduction levers in the dashboard's shell, fed by their own APIs: energy
// (/energy: sites, PV, Scope 2), packaging (/packaging: reusable box pool, drop-off stations) and
// reductions (/reductions: initiatives of the latest sealed run, industry claims; the target
// pathway of /dashboard/target on the stored emissions).
import { registerView } from '../shell.js';
import { api, ApiError } from '../api.js';
import { chart } from '../charts.js';
import { table } from '../table.js';
import { int, num, pct, tonnes, escapeHtml } from '../format.js';

function kpis(main, items) {
  const head = document.createElement('div');
  head.className = 'kpis';
  head.innerHTML = items.map(([l, v, n]) => `<div class="kpi"><div class="label">${escapeHtml(l)}</div><div class="value">${v}</div><div class="note">${escapeHtml(n || '')}</div></div>`).join('');
  main.appendChild(head);
}

function note(main, html, cls = 'empty') {
  const box = document.createElement('div');
  box.className = `card ${cls}`;
  box.innerHTML = html;
  main.appendChild(box);
  return box;
}

const kwh = (v) => (v == null ? '–' : `${int(v)} kWh`);
const bar = (title, name, labels, series, unit) => ({
  title, name,
  option: {
    tooltip: { trigger: 'axis' }, legend: { top: 0 }, grid: { left: 70, right: 20, top: 30, bottom: 40 },
    xAxis: { type: 'category', data: labels }, yAxis: { type: 'value', name: unit },
    series,
  },
});

registerView({
  id: 'energy',
  title: 'Energy (sites, PV, Scope 2)',
  filters: false,
  async render(main, { params }) {
    const sites = (await api('/energy/sites')).data;
    const all = (await api('/energy/scope2')).data;
    const years = [...new Set(all.map((r) => String(r.period).slice(0, 4)))].sort();
    const year = params.year || years[years.length - 1];
    const bar2 = document.createElement('div');
    bar2.className = 'toolbar';
    bar2.innerHTML = `<label>year <select name="year">${years.map((y) => `<option ${y === year ? 'selected' : ''}>${y}</option>`).join('')}</select></label>
      <span class="muted">${int(sites.length)} sites · Scope 2 by the location- and market-based methods (GHG Protocol Scope 2 Guidance)</span>`;
    main.appendChild(bar2);
    bar2.querySelector('select').onchange = (e) => { window.location.hash = `#/energy?year=${e.target.value}`; };
    if (!sites.length || !year) {
      note(main, '<h3>No energy sites for this tenant</h3><p class="muted">Sites and their hourly meters come in through <code>PUT /energy/sites</code> and <code>PUT /energy/sites/{id}/meters</code> (docs/energy.md); their Scope 2, PV and hub intensities then show here.</p>');
      return;
    }
    const d = await api('/energy/dashboard', { params: { year } });
    const sum = (k) => d.sites.reduce((s, r) => s + (r[k] || 0), 0);
    const use = sum('consumption_kwh');
    kpis(main, [
      ['sites', int(d.sites.length), `year ${year}`],
      ['electricity used', `${int(use / 1000)} MWh`, 'metered consumption'],
      ['PV generated', `${int(sum('pv_kwh') / 1000)} MWh`, `${pct(use ? Math.min(sum('pv_kwh') / use, 1) : null)} of use`],
      ['grid import', `${int(sum('grid_import_kwh') / 1000)} MWh`, ''],
      ['Scope 2 location', tonnes(sum('scope2_location_kg')), 'CO2'],
      ['Scope 2 market', tonnes(sum('scope2_market_kg')), 'CO2, with certificates'],
    ]);
    const months = [...new Set(d.monthly.map((r) => r.period))].sort();
    const monthSum = (k) => months.map((m) => d.monthly.filter((r) => r.period === m).reduce((s, r) => s + (r[k] || 0), 0) / 1000);
    chart(main, bar('Scope 2 per month, all sites', 'energy-scope2', months, [
      { type: 'bar', name: 'location-based', data: monthSum('scope2_location_kg'), itemStyle: { color: '#6b756f' } },
      { type: 'bar', name: 'market-based', data: monthSum('scope2_market_kg'), itemStyle: { color: '#2e7d5b' } },
    ], 't CO2'));
    table(main, {
      title: 'Sites', name: 'energy-sites',
      columns: [
        { key: 'site_id', label: 'site' }, { key: 'consumption_kwh', label: 'use', align: 'num', format: kwh },
        { key: 'pv_kwh', label: 'PV', align: 'num', format: kwh }, { key: 'pv_share', label: 'PV share', align: 'num', format: (v) => pct(v) },
        { key: 'night_share', label: 'night share', align: 'num', format: (v) => pct(v) },
        { key: 'scope2_location_kg', label: 'Scope 2 location', align: 'num', format: tonnes },
        { key: 'scope2_market_kg', label: 'Scope 2 market', align: 'num', format: tonnes },
        { key: 'kwh_per_t', label: 'kWh / t', align: 'num', format: (v) => num(v, 2) },
        { key: 'location_kg_per_t', label: 'kg CO2 / t', align: 'num', format: (v) => num(v, 3) },
      ],
      rows: d.sites,
    });
  },
});

registerView({
  id: 'packaging',
  title: 'Packaging',
  filters: false,
  async render(main, { params }) {
    const kind = params.kind === 'coldchain' ? 'coldchain' : 'express';
    const bar2 = document.createElement('div');
    bar2.className = 'toolbar';
    bar2.innerHTML = `<label>pool <select name="kind"><option ${kind === 'express' ? 'selected' : ''}>express</option><option ${kind === 'coldchain' ? 'selected' : ''}>coldchain</option></select></label>
      <span class="muted">reusable boxes from the tenant's captured EPCIS events; stations' drop-offs, reuse and pulping</span>`;
    main.appendChild(bar2);
    bar2.querySelector('select').onchange = (e) => { window.location.hash = `#/packaging?kind=${e.target.value}`; };
    const [pool, st] = await Promise.all([api('/packaging/pool', { params: { kind } }), api('/packaging/stations')]);
    const numbers = Object.entries(pool).filter(([, v]) => typeof v === 'number');
    if (numbers.length) {
      table(main, {
        title: `The ${kind} pool`, name: 'packaging-pool',
        // counts as integers, rates and shares as percentages, the rest (kg, CNY, uses) to 4 digits
        columns: [{ key: 'figure' }, { key: 'value', align: 'num', format: (v, row) => (/_(rate|share)$/.test(row.figure) ? pct(v, 2) : Number.isInteger(v) ? int(v) : num(v, 4)) }],
        rows: numbers.map(([figure, value]) => ({ figure, value })),
      });
    }
    const days = st.days || [];
    if (!days.length) {
      note(main, '<h3>No station events for this tenant</h3><p class="muted">Carton drop-offs, reuse and pulping arrive as EPCIS events (<code>POST /epcis/capture</code>, docs/packaging.md); each station\'s days and the CO2e they avoid show here.</p>');
      return;
    }
    const keys = Object.keys(days[0]);
    const avoided = keys.find((k) => k.startsWith('co2e') && k.endsWith('_kg'));
    const dayKey = keys.find((k) => k === 'day' || k === 'date') || keys[0];
    if (avoided) {
      const labels = [...new Set(days.map((r) => String(r[dayKey])))].sort();
      chart(main, bar('CO2e avoided by the stations per day', 'packaging-avoided', labels, [
        { type: 'bar', name: avoided, data: labels.map((l) => days.filter((r) => String(r[dayKey]) === l).reduce((s, r) => s + (r[avoided] || 0), 0)), itemStyle: { color: '#2e7d5b' } },
      ], 'kg CO2e'));
    }
    table(main, { title: 'Stations by day', name: 'packaging-stations', columns: keys.map((k) => ({ key: k, align: typeof days[0][k] === 'number' ? 'num' : '' })), rows: days });
  },
});

registerView({
  id: 'reductions',
  title: 'Reductions',
  async render(main, { params, filters, options }) {
    const first = Number((options.first_day || '').slice(0, 4)) || null;
    const last = Number((options.last_day || '').slice(0, 4)) || null;
    // an example target to start from (edit it): the base year is the first year with data
    const base = Number(params.base || first || 0);
    const goalYear = Number(params.target_year || (base ? base + 5 : 0));
    const cut = Number(params.cut || 30);
    const form = document.createElement('form');
    form.className = 'toolbar';
    form.innerHTML = `<strong>Target</strong>
      <label>base year <input name="base" type="number" value="${base || ''}" style="width:6em"></label>
      <label>target year <input name="target_year" type="number" value="${goalYear || ''}" style="width:6em"></label>
      <label>reduction <input name="cut" type="number" step="any" value="${cut}" style="width:5em"> %</label>
      <button type="submit">assess</button>
      <span class="muted">an example target to edit; assessed on the stored WTW per year${first && last ? ` (${first}-${last})` : ''}</span>`;
    main.appendChild(form);
    form.onsubmit = (e) => {
      e.preventDefault();
      const q = new URLSearchParams({ ...filters, base: form.elements.base.value, target_year: form.elements.target_year.value, cut: form.elements.cut.value });
      window.location.hash = `#/reductions?${q}`;
    };
    if (base && goalYear > base) {
      try {
        const t = await api('/dashboard/target', { params: { ...filters, base_year: base, target_year: goalYear, reduction_pct: cut } });
        kpis(main, [
          ['base', `${num(t.base_value, 1)} t`, `WTW ${t.base_year}`],
          ['target', `${num(t.target_value, 1)} t`, `${t.target_year} (−${num(cut, 1)} %)`],
          ['latest', `${num(t.latest_value, 1)} t`, `${t.latest_year}; pathway ${num(t.pathway_value_latest_year, 1)} t`],
          ['progress', pct(t.progress_share), t.on_track ? 'on track' : 'off track'],
          ['met at trend', t.projected_year_met == null ? '–' : String(Math.round(t.projected_year_met)), 'least-squares trend'],
        ]);
        const years = t.pathway.map((r) => String(r.year));
        const actual = Object.fromEntries(t.history.map((r) => [String(r.year), r.co2e_t]));
        chart(main, {
          title: 'Target pathway (linear) and stored emissions', name: 'target-pathway',
          option: {
            tooltip: { trigger: 'axis' }, legend: { top: 0 }, grid: { left: 70, right: 20, top: 30, bottom: 40 },
            xAxis: { type: 'category', data: years }, yAxis: { type: 'value', name: 't CO2e' },
            series: [
              { type: 'line', name: 'pathway', data: t.pathway.map((r) => r.pathway_value), itemStyle: { color: '#6b756f' }, lineStyle: { type: 'dashed' } },
              { type: 'bar', name: 'stored WTW', data: years.map((y) => actual[y] ?? null), itemStyle: { color: '#2e7d5b' } },
            ],
          },
        });
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        note(main, `<p class="error">${escapeHtml(err.message)}</p>`, 'error');
      }
    }
    const [runs, recs, claims] = await Promise.all([api('/reductions/runs'), api('/reductions/records'), api('/reductions/claims')]);
    const records = recs.records || [];
    if (records.length) {
      const byInit = {};
      for (const r of records) {
        const k = r.name || r.initiative_id;
        byInit[k] = (byInit[k] || 0) + (r.reduction_co2e_wtw_kg || 0);
      }
      chart(main, bar('Reductions by initiative (latest sealed run)', 'reductions-initiatives', Object.keys(byInit), [
        { type: 'bar', name: 'kg CO2e', data: Object.values(byInit), itemStyle: { color: '#2e7d5b' } },
      ], 'kg CO2e'));
      table(main, {
        title: 'Reductions per initiative and period (kg CO2e WTW, with the band)', name: 'reductions-records',
        columns: [
          { key: 'initiative_id', label: 'initiative' }, { key: 'name' }, { key: 'kind' }, { key: 'period' },
          { key: 'shipments', align: 'num', format: int },
          { key: 'reduction_co2e_wtw_kg', label: 'reduction', align: 'num', format: (v) => num(v, 1) },
          { key: 'reduction_low_co2e_wtw_kg', label: 'low', align: 'num', format: (v) => num(v, 1) },
          { key: 'reduction_high_co2e_wtw_kg', label: 'high', align: 'num', format: (v) => num(v, 1) },
        ],
        rows: records,
      });
    } else {
      note(main, `<h3>No sealed reduction run for this tenant</h3><p class="muted">${int((runs.runs || []).length)} runs. A run is computed and sealed from initiatives through <code>POST /reductions/runs</code> or <code>greenstream reductions</code> (docs/reductions.md); its reductions per initiative show here.</p>`);
    }
    const rows = claims.claims || [];
    if (rows.length) {
      table(main, { title: 'Industry claims against greenstream\'s factors', name: 'reductions-claims', columns: Object.keys(rows[0]).map((k) => ({ key: k, align: typeof rows[0][k] === 'number' ? 'num' : '' })), rows });
    }
  },
});
