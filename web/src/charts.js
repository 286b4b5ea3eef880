// ECharts on a canvas, with PNG and SVG export (SVG: the same option rendered by ECharts' SVG
// renderer in a detached element).
import * as echarts from 'echarts';
import { download } from './table.js';
import { escapeHtml } from './format.js';

const charts = new Set();
// a chart follows its box (cards change width as siblings are added and the window resizes)
const watcher = new ResizeObserver((entries) => entries.forEach((e) => e.target.chartInstance?.resize()));

export function disposeCharts() { watcher.disconnect(); charts.forEach((c) => c.dispose()); charts.clear(); }

export function chart(container, { title, option, name = 'chart', height = 320 }) {
  const box = document.createElement('div');
  box.className = 'card chart-card';
  box.innerHTML = `<div class="card-head"><h3>${escapeHtml(title || '')}</h3>
    <button class="png" type="button">PNG</button><button class="svg" type="button">SVG</button></div>
    <div class="chart" style="height:${height}px"></div>`;
  container.appendChild(box);
  const el = box.querySelector('.chart');
  const full = { animation: false, textStyle: { fontFamily: 'system-ui, "Noto Sans CJK SC", sans-serif' }, ...option };
  const instance = echarts.init(el, null, { renderer: 'canvas' });
  instance.setOption(full);
  charts.add(instance);
  el.chartInstance = instance;
  watcher.observe(el);
  box.querySelector('.png').onclick = () => {
    const url = instance.getDataURL({ type: 'png', pixelRatio: 2, backgroundColor: '#fff' });
    fetch(url).then((r) => r.blob()).then((b) => download(`${name}.png`, b));
  };
  box.querySelector('.svg').onclick = () => {
    const tmp = document.createElement('div');
    tmp.style.cssText = `position:absolute;left:-10000px;width:${el.clientWidth}px;height:${el.clientHeight}px`;
    document.body.appendChild(tmp);
    const svg = echarts.init(tmp, null, { renderer: 'svg' });
    svg.setOption(full);
    const text = svg.renderToSVGString();
    svg.dispose();
    tmp.remove();
    download(`${name}.svg`, text, 'image/svg+xml');
  };
  box.chart = instance;
  return box;
}
