// Tables with sortable columns and CSV export (RFC 4180 quoting).
import { escapeHtml } from './format.js';

function csvCell(value) {
  const text = value == null ? '' : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(columns, rows) {
  const head = columns.map((c) => csvCell(c.key)).join(',');
  const body = rows.map((r) => columns.map((c) => csvCell(r[c.key])).join(','));
  return [head, ...body].join('\r\n') + '\r\n';
}

export function download(name, content, type) {
  const blob = content instanceof Blob ? content : new Blob([content], { type });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.appendChild(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

// columns: [{ key, label, format?(value, row), align? }]; onRow(row) makes rows clickable
export function table(container, { title, columns, rows, name = 'table', onRow, limit = 500 }) {
  const box = document.createElement('div');
  box.className = 'card table-card';
  let sortKey = null;
  let sortDesc = true;
  const render = () => {
    const sorted = sortKey == null ? rows : [...rows].sort((a, b) => {
      const x = a[sortKey]; const y = b[sortKey];
      const cmp = typeof x === 'number' && typeof y === 'number' ? x - y : String(x ?? '').localeCompare(String(y ?? ''));
      return sortDesc ? -cmp : cmp;
    });
    const shown = sorted.slice(0, limit);
    box.innerHTML = `
      <div class="card-head"><h3>${escapeHtml(title || '')}</h3>
        <span class="muted">${rows.length > limit ? `first ${limit} of ${rows.length}` : `${rows.length} rows`}</span>
        <button class="csv" type="button">CSV</button></div>
      <div class="scroll"><table><thead><tr>${columns.map((c) => `<th data-key="${escapeHtml(c.key)}" class="${c.align || ''}">${escapeHtml(c.label || c.key)}${sortKey === c.key ? (sortDesc ? ' ▾' : ' ▴') : ''}</th>`).join('')}</tr></thead>
      <tbody>${shown.map((r, i) => `<tr data-i="${i}" class="${onRow ? 'clickable' : ''}">${columns.map((c) => `<td class="${c.align || ''}">${c.format ? c.format(r[c.key], r) : escapeHtml(r[c.key])}</td>`).join('')}</tr>`).join('')}</tbody></table></div>`;
    box.querySelector('.csv').onclick = () => download(`${name}.csv`, toCsv(columns, sorted), 'text/csv');
    box.querySelectorAll('th').forEach((th) => {
      th.onclick = () => {
        const key = th.dataset.key;
        sortDesc = sortKey === key ? !sortDesc : true;
        sortKey = key;
        render();
      };
    });
    if (onRow) box.querySelectorAll('tbody tr').forEach((tr) => { tr.onclick = () => onRow(shown[Number(tr.dataset.i)]); });
  };
  render();
  container.appendChild(box);
  return box;
}
