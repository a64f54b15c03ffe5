// Visitors and pageviews over time (uPlot, canvas). With a comparison, the previous period's
// values are drawn dashed under the same x positions (bucket n against bucket n).
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useLayoutEffect, useRef } from 'preact/hooks';
import { formatNumber } from '../format.js';
import { html } from './common.js';

const SERIES = [
  ['unique_visitors', 'Visitors', '--chart-1'],
  ['pageviews', 'Pageviews', '--chart-2'],
];

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function chartData(ts) {
  const x = ts.points.map((p) => Date.parse(p.start) / 1000);
  const series = SERIES.map(([key]) => ts.points.map((p) => p[key]));
  const previous = ts.comparison
    ? SERIES.map(([key]) => ts.points.map((_, i) => ts.comparison.points[i]?.[key] ?? null))
    : [];
  return [x, ...series, ...previous];
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

// The API's bucket labels are already local to the site ("2026-03-10", "2026-03-10T17:00").
export function shortLabel(label, interval) {
  const [date, time] = label.split('T');
  const [year, month, day] = date.split('-');
  const dayMonth = `${Number(day)} ${MONTHS[Number(month) - 1]}`;
  if (interval === 'month') return `${MONTHS[Number(month) - 1]} ${year}`;
  if (interval === 'hour' && time && time !== '00:00') return time;
  return dayMonth;
}

// At most one tick per ~70 px, on bucket starts.
function ticks(x, width) {
  const step = Math.max(1, Math.ceil(x.length / Math.max(2, Math.floor(width / 70))));
  return x.filter((_, i) => i % step === 0);
}

function options(ts, width, timeZone) {
  const axis = { stroke: cssVar('--muted'), grid: { stroke: cssVar('--grid'), width: 1 }, ticks: { stroke: cssVar('--grid') } };
  const xs = ts.points.map((p) => Date.parse(p.start) / 1000);
  const xAxis = {
    ...axis,
    splits: (u) => ticks(xs, u.width),
    values: (_, splits) => splits.map((v) => shortLabel(labelAt(ts, v), ts.interval)),
  };
  const series = [{ label: ts.interval === 'hour' ? 'Hour' : 'Period', value: (_, v) => labelAt(ts, v) }];
  for (const [, label, color] of SERIES) {
    series.push({ label, stroke: cssVar(color), width: 2, value: (_, v) => formatNumber(v), points: { size: 5 } });
  }
  if (ts.comparison) {
    for (const [, label, color] of SERIES) {
      series.push({ label: `${label} (before)`, stroke: cssVar(color), width: 1.5, dash: [6, 4], alpha: 0.8, value: (_, v) => formatNumber(v) });
    }
  }
  return {
    width,
    height: 260,
    tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), timeZone),
    scales: { y: { range: (_, min, max) => [0, Math.max(4, Math.ceil(max * 1.1))] } },
    axes: [xAxis, { ...axis, size: 56, values: (_, ticks) => ticks.map((t) => formatNumber(t)) }],
    series,
    cursor: { drag: { x: false, y: false } },
    legend: { live: true },
  };
}

function labelAt(ts, seconds) {
  if (seconds == null) return '';
  const point = ts.points.find((p) => Date.parse(p.start) / 1000 === seconds);
  return point ? point.label : '';
}

export function Chart({ ts, timeZone, onDrawn }) {
  const box = useRef(null);
  // A layout effect: the chart is drawn in the same task as the rest of the view, not a frame later.
  useLayoutEffect(() => {
    const el = box.current;
    const plot = new uPlot(options(ts, el.clientWidth || 600, timeZone), chartData(ts), el);
    onDrawn?.();
    const observer = new ResizeObserver(() => plot.setSize({ width: el.clientWidth, height: 260 }));
    observer.observe(el);
    return () => {
      observer.disconnect();
      plot.destroy();
    };
  }, [ts, timeZone]);
  return html`<div class="chart" ref=${box} role="img" aria-label=${`Visitors and pageviews per ${ts.interval}, ${ts.points.length} points; the table below lists them`}></div>`;
}

// The same numbers as a table, for screen readers and anyone who wants the exact figures.
export function ChartTable({ ts }) {
  const previous = ts.comparison?.points ?? null;
  return html`<details class="chart-table">
    <summary>Show as table</summary>
    <div class="scroll">
      <table>
        <thead><tr>
          <th scope="col">${ts.interval === 'hour' ? 'Hour' : 'Period'}</th>
          ${SERIES.map(([, label]) => html`<th scope="col" class="num">${label}</th>`)}
          ${previous && SERIES.map(([, label]) => html`<th scope="col" class="num">${label} (before)</th>`)}
        </tr></thead>
        <tbody>
          ${ts.points.map((p, i) => html`<tr>
            <th scope="row">${p.label}</th>
            ${SERIES.map(([key]) => html`<td class="num" data-metric=${key}>${formatNumber(p[key])}</td>`)}
            ${previous && SERIES.map(([key]) => html`<td class="num">${formatNumber(previous[i]?.[key])}</td>`)}
          </tr>`)}
        </tbody>
      </table>
    </div>
  </details>`;
}
