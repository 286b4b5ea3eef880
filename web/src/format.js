// Number formatting shared by every view (units in the labels, as in the API's names).
const nf = (digits) => new Intl.NumberFormat('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function tonnes(kg) { return kg == null ? '–' : `${nf(kg >= 100000 ? 0 : 1).format(kg / 1000)} t`; }
export function kg(value, digits = 1) { return value == null ? '–' : `${nf(digits).format(value)} kg`; }
export function grams(kgValue, unit) { return kgValue == null ? '–' : `${nf(1).format(kgValue * 1000)} g ${unit}`; }
export function pct(share, digits = 1) { return share == null ? '–' : `${nf(digits).format(share * 100)} %`; }
export function int(value) { return value == null ? '–' : nf(0).format(value); }
export function num(value, digits = 3) { return value == null ? '–' : nf(digits).format(value); }
export function delta(now, before) {
  if (before == null || !before) return null;
  return (now - before) / before;
}
export function escapeHtml(text) {
  return String(text ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}
export const MODE_COLOURS = {
  road: [230, 126, 34], rail: [39, 174, 96], sea: [41, 128, 185], inland_waterway: [22, 160, 133],
  air: [142, 68, 173], hub: [127, 140, 141],
};
export function modeColour(mode) { return MODE_COLOURS[mode] || [90, 90, 90]; }
export function cssColour(rgb) { return `rgb(${rgb.join(',')})`; }
