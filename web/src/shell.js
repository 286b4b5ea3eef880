// The dashboard shell: a registry of views (later capabilities add theirs with registerView),
// hash routes that carry the filters (#/view?from=...&mode=...), so every URL can be shared.
export const views = [];

// view: { id, title, group?, filters?: boolean, render(main, ctx) -> optional cleanup() }
export function registerView(view) { views.push(view); }

export const FILTER_KEYS = ['from', 'to', 'mode', 'carrier', 'lane', 'customer'];

export function parseHash() {
  const raw = window.location.hash.replace(/^#\/?/, '');
  const [path, query] = raw.split('?');
  const parts = (path || 'overview').split('/');
  const params = Object.fromEntries(new URLSearchParams(query || ''));
  return { id: parts[0] || 'overview', arg: parts.slice(1).join('/') || null, params };
}

export function hashFor(id, arg, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const qs = q.toString();
  return `#/${id}${arg ? `/${encodeURIComponent(arg)}` : ''}${qs ? `?${qs}` : ''}`;
}

export function go(id, arg, params) { window.location.hash = hashFor(id, arg, params); }

// the filters of the current URL, as API query parameters
export function filterParams(params) {
  const out = {};
  for (const k of FILTER_KEYS) if (params[k]) out[k] = params[k];
  return out;
}
