import { registerView } from '../shell.js';
import { api } from '../api.js';
import { chart } from '../charts.js';
import { table } from '../table.js';
import { int, num } from '../format.js';

const yuan = (fen) => (fen == null ? '–' : `¥${(fen / 100).toFixed(2)}`);

registerView({
  id: 'points',
  title: 'Points campaign',
  filters: false,
  async render(main) {
    const p = await api('/dashboard/points');
    const t = p.totals;
    const head = document.createElement('div');
    head.className = 'kpis';
    head.innerHTML = [
      ['participants', int(t.participants), 'consumers with an award'],
      ['green actions', int(t.green_activities), ''],
      ['avoided', `${num(t.co2e_avoided_t, 3)} t`, 'CO2e'],
      ['points issued', int(t.points_issued), ''],
      ['subsidy', yuan(t.subsidy_collected_fen), `green fund ${yuan(t.subsidy_to_green_fund_fen)} · consumers ${yuan(t.subsidy_to_consumers_fen)}`],
      ['mangrove funded', `${int(t.mangrove_m2_funded)} m²`, 'redeemed'],
    ].map(([l, v, n]) => `<div class="kpi"><div class="label">${l}</div><div class="value">${v}</div><div class="note">${n}</div></div>`).join('');
    main.appendChild(head);
    if (p.by_campaign_action.length) {
      chart(main, {
        title: 't CO2e avoided by action', name: 'points-actions',
        option: { tooltip: { trigger: 'axis' }, grid: { left: 60, right: 20, top: 20, bottom: 40 }, xAxis: { type: 'category', data: p.by_campaign_action.map((r) => `${r.campaign} · ${r.action}`) }, yAxis: { type: 'value', name: 't' }, series: [{ type: 'bar', data: p.by_campaign_action.map((r) => Number(r.co2e_avoided_t)), itemStyle: { color: '#2e7d5b' } }] },
      });
    }
    table(main, {
      title: 'By campaign and action', name: 'points',
      columns: [
        { key: 'campaign' }, { key: 'action' }, { key: 'users', label: 'participants', align: 'num', format: int },
        { key: 'green_activities', label: 'actions', align: 'num', format: int }, { key: 'co2e_avoided_t', label: 't avoided', align: 'num' },
        { key: 'points_co2e', label: 'points (CO2e)', align: 'num', format: int }, { key: 'points_cofund', label: 'points (co-funded)', align: 'num', format: int },
        { key: 'subsidy_collected_fen', label: 'subsidy', align: 'num', format: yuan }, { key: 'subsidy_to_green_fund_fen', label: 'to green fund', align: 'num', format: yuan },
        { key: 'subsidy_to_consumers_fen', label: 'to consumers', align: 'num', format: yuan },
      ],
      rows: p.by_campaign_action,
    });
    table(main, { title: 'Funds and inventory', name: 'points-funds', columns: [{ key: 'account' }, { key: 'unit' }, { key: 'balance', align: 'num', format: int }], rows: p.funds });
  },
});
