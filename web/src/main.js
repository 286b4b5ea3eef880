import './style.css';
import { api, ApiError, setCsrf } from './api.js';
import { views, parseHash, hashFor, go, FILTER_KEYS, filterParams } from './shell.js';
import { disposeCharts } from './charts.js';
import { disposeMaps } from './map.js';
import { escapeHtml } from './format.js';
import './views/overview.js';
import './views/breakdown.js';
import './views/lanes.js';
import './views/heatmap.js';
import './views/trace.js';
import './views/quality.js';
import './views/points.js';
import './views/railshift.js';
import './views/levers.js';

const state = { me: null, options: null, cleanup: null };

function renderNav(current) {
  const nav = document.getElementById('nav');
  const { params } = parseHash();
  const keep = filterParams(params);
  nav.innerHTML = views.map((v) => `<a href="${hashFor(v.id, v.defaultArg || null, keep)}" class="${v.id === current ? 'active' : ''}" data-view="${v.id}">${escapeHtml(v.title)}</a>`).join('');
}

function renderFilters(view, params) {
  const box = document.getElementById('filters');
  if (view.filters === false || !state.options) { box.innerHTML = ''; return; }
  const o = state.options;
  const select = (key, label, values) => `<label>${label}<select name="${key}"><option value="">all</option>${values.map((v) => `<option ${params[key] === v ? 'selected' : ''}>${escapeHtml(v)}</option>`).join('')}</select></label>`;
  box.innerHTML = `<form id="filter-form">
    <label>from<input type="date" name="from" value="${escapeHtml(params.from || '')}" min="${o.first_day || ''}" max="${o.last_day || ''}"></label>
    <label>to<input type="date" name="to" value="${escapeHtml(params.to || '')}" min="${o.first_day || ''}" max="${o.last_day || ''}"></label>
    ${select('mode', 'mode', o.modes)}
    ${select('carrier', 'carrier', o.carriers)}
    <label>lane<input name="lane" list="lanes" placeholder="ORIGIN>DESTINATION" value="${escapeHtml(params.lane || '')}"><datalist id="lanes">${o.lanes.map((l) => `<option value="${escapeHtml(l)}">`).join('')}</datalist></label>
    ${select('customer', 'customer', o.customers)}
    <button type="submit">apply</button><button type="button" id="clear-filters">clear</button>
    <span class="muted">days in ${escapeHtml(o.time_zone)}</span>
  </form>`;
  const form = box.querySelector('form');
  form.onsubmit = (e) => {
    e.preventDefault();
    const next = { ...params };
    for (const k of FILTER_KEYS) next[k] = form.elements[k].value || undefined;
    const { id, arg } = parseHash();
    go(id, arg, next);
  };
  box.querySelector('#clear-filters').onclick = () => {
    const { id, arg } = parseHash();
    const next = { ...params };
    for (const k of FILTER_KEYS) delete next[k];
    go(id, arg, next);
  };
}

function renderLogin(message) {
  document.getElementById('nav').innerHTML = '';
  document.getElementById('filters').innerHTML = '';
  const main = document.getElementById('view');
  main.innerHTML = `<div class="card login"><h2>Sign in</h2>
    <form id="login"><label>tenant<input name="tenant" required></label>
    <label>user<input name="username" autocomplete="username" required></label>
    <label>password<input name="password" type="password" autocomplete="current-password" required></label>
    <button type="submit">sign in</button><p class="error">${escapeHtml(message || '')}</p></form></div>`;
  main.querySelector('form').onsubmit = async (e) => {
    e.preventDefault();
    const f = e.target.elements;
    try {
      const me = await api('/session', { method: 'POST', body: { tenant: f.tenant.value, username: f.username.value, password: f.password.value } });
      setCsrf(me.csrf_token);
      state.me = me;
      await start();
    } catch (err) {
      renderLogin(err instanceof ApiError ? err.message : String(err));
    }
  };
}

function renderWho() {
  const me = state.me;
  document.getElementById('tenant').textContent = me ? `tenant ${me.tenant}` : '';
  const who = document.getElementById('who');
  if (!me) { who.innerHTML = ''; return; }
  who.innerHTML = me.demo ? '<span class="badge">demo · viewer</span>'
    : `${escapeHtml(me.username)} <span class="badge">${escapeHtml(me.role)}</span> <button id="sign-out" type="button">sign out</button>`;
  const out = document.getElementById('sign-out');
  if (out) out.onclick = async () => { await api('/session', { method: 'DELETE' }); state.me = null; setCsrf(null); renderLogin(); };
}

async function route() {
  if (!state.me) return;
  const { id, arg, params } = parseHash();
  const view = views.find((v) => v.id === id) || views[0];
  if (state.cleanup) { try { state.cleanup(); } catch (e) { /* a view's timers only */ } }
  state.cleanup = null;
  disposeCharts();
  disposeMaps();
  renderNav(view.id);
  renderFilters(view, params);
  const main = document.getElementById('view');
  main.innerHTML = '';
  main.dataset.view = view.id;
  main.dataset.state = 'loading';
  try {
    state.cleanup = await view.render(main, { arg, params, filters: filterParams(params), options: state.options, me: state.me });
    main.dataset.state = 'ready';
  } catch (err) {
    main.dataset.state = 'error';
    const box = document.createElement('div');
    box.className = 'card error';
    box.textContent = err instanceof ApiError ? `${err.status}: ${err.message}` : String(err);
    main.appendChild(box);
    if (err instanceof ApiError && (err.status === 401 || err.status === 403) && !state.me?.demo) { state.me = null; renderLogin(err.message); }
  }
}

async function start() {
  renderWho();
  state.options = await api('/dashboard/options');
  if (!state.listening) { window.addEventListener('hashchange', route); state.listening = true; }
  await route();
}

async function boot() {
  try {
    state.me = await api('/session');
    setCsrf(state.me.csrf_token);
  } catch (err) {
    renderLogin();
    return;
  }
  await start();
}

boot();
