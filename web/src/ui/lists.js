// The overview's lists (one card per question, tabs for its variants) and the full breakdown panel.
import { apiPath, usePaged } from '../api.js';
import { formatNumber } from '../format.js';
import { rangeLabel, rangeParams } from '../ranges.js';
import { buildUrl, parentOf } from '../url.js';
import { ErrorBox, Loading, MoreButton, Panel, html } from './common.js';

// Row metrics per dimension, in the API's order (the first one ranks the rows), PRODUCT.md §11.
const ALL = ['visitors', 'sessions', 'pageviews', 'events'];
const SESSION_ONLY = ['sessions', 'pageviews', 'events'];
export const DIMENSIONS = {
  page: { label: 'Top pages', value: 'Page', metrics: ['pageviews'] },
  entry_page: { label: 'Entry pages', value: 'Entry page', metrics: SESSION_ONLY },
  exit_page: { label: 'Exit pages', value: 'Exit page', metrics: SESSION_ONLY },
  source: { label: 'Sources', value: 'Source', metrics: ALL },
  referrer: { label: 'Referrers', value: 'Referrer', metrics: SESSION_ONLY },
  utm_source: { label: 'UTM sources', value: 'utm_source', metrics: ALL },
  utm_medium: { label: 'UTM mediums', value: 'utm_medium', metrics: ALL },
  utm_campaign: { label: 'UTM campaigns', value: 'utm_campaign', metrics: SESSION_ONLY },
  utm_term: { label: 'UTM terms', value: 'utm_term', metrics: SESSION_ONLY },
  utm_content: { label: 'UTM contents', value: 'utm_content', metrics: SESSION_ONLY },
  country: { label: 'Countries', value: 'Country', metrics: ALL },
  city: { label: 'Cities', value: 'City', metrics: SESSION_ONLY },
  device_type: { label: 'Devices', value: 'Device', metrics: ALL },
  browser: { label: 'Browsers', value: 'Browser', metrics: ALL },
  os: { label: 'Operating systems', value: 'OS', metrics: ALL },
  event_name: { label: 'Custom events', value: 'Event', metrics: ['visitors', 'events'] },
};
const METRIC_LABELS = { visitors: 'Visitors', sessions: 'Sessions', pageviews: 'Pageviews', events: 'Events' };

// The overview's cards. Top pages and countries come with GET /api/stats; the others are one
// GET /api/breakdown each, for the tab on show only.
export const CARDS = [
  { id: 'sources', title: 'Sources', tabs: ['source'] },
  { id: 'pages', title: 'Pages', tabs: ['page', 'entry_page', 'exit_page'] },
  { id: 'countries', title: 'Countries', tabs: ['country'] },
  { id: 'devices', title: 'Devices', tabs: ['device_type', 'browser', 'os'] },
  { id: 'events', title: 'Custom events', tabs: ['event_name'] },
];
export const FROM_STATS = {
  page: (stats) => stats.top_pages.map((r) => ({ value: r.page, pageviews: r.views })),
  country: (stats) => stats.countries.map((r) => ({ value: r.country, visitors: r.visitors })),
};
export const CARD_LIMIT = 10;
export const PANEL_LIMIT = 100;

export function breakdownPath(state, dimension, limit) {
  return apiPath('/api/breakdown', { siteId: state.site, ...rangeParams(state, { compare: false }), dimension, limit });
}

function cardMetrics(dimension) {
  const { metrics } = DIMENSIONS[dimension];
  return FROM_STATS[dimension] ? metrics.slice(0, 1) : metrics.slice(0, dimension === 'event_name' ? 2 : 1);
}

function RowsTable({ dimension, rows, metrics, caption }) {
  const top = Math.max(1, ...rows.map((r) => r[metrics[0]] ?? 0));
  return html`<table class="rows" data-dimension=${dimension}>
    <caption class="sr-only">${caption}</caption>
    <thead><tr>
      <th scope="col">${DIMENSIONS[dimension].value}</th>
      ${metrics.map((m) => html`<th scope="col" class="num">${METRIC_LABELS[m]}</th>`)}
    </tr></thead>
    <tbody>
      ${rows.map((row) => html`<tr>
        <th scope="row" class="bar-cell" style=${`--w:${((row[metrics[0]] ?? 0) / top) * 100}%`}><span>${row.value}</span></th>
        ${metrics.map((m) => html`<td class="num" data-metric=${m}>${formatNumber(row[m])}</td>`)}
      </tr>`)}
    </tbody>
  </table>`;
}

// `result` is {data: rows | null, error} for the tab on show.
export function ListCard({ card, state, tab, onTab, result }) {
  const dimension = tab;
  const metrics = cardMetrics(dimension);
  const href = buildUrl({ ...state, route: 'breakdown', dimension });
  const headingId = `card-${card.id}`;
  const rows = result.data;
  return html`<section class="card list-card" aria-labelledby=${headingId} data-card=${card.id} data-dimension=${dimension}>
    <header class="card-head">
      <h2 id=${headingId}>${card.title}</h2>
      ${card.tabs.length > 1 && html`<div class="tabs" role="group" aria-label=${`${card.title}: show`}>
        ${card.tabs.map((t) => html`<button type="button" class="tab" aria-pressed=${t === tab ? 'true' : 'false'}
          onClick=${() => onTab(card.id, t)}>${DIMENSIONS[t].label}</button>`)}
      </div>`}
    </header>
    ${result.error ? html`<${ErrorBox} error=${result.error} />`
      : !rows ? html`<${Loading} />`
      : rows.length === 0 ? html`<p class="empty">Nothing in this range.</p>`
      : html`<${RowsTable} dimension=${dimension} rows=${rows} metrics=${metrics} caption=${DIMENSIONS[dimension].label} />`}
    <footer class="card-foot"><a href=${href}>All ${DIMENSIONS[dimension].label.toLowerCase()} →</a></footer>
  </section>`;
}

export function BreakdownView({ state }) {
  const { dimension } = state;
  const info = DIMENSIONS[dimension];
  const paged = usePaged(state.site ? breakdownPath(state, dimension, PANEL_LIMIT) : null, 'rows');
  const parentUrl = buildUrl(parentOf(state));
  return html`<${Panel} title=${info.label} subtitle=${rangeLabel(state)} parentUrl=${parentUrl} label=${`${info.label} breakdown`}>
    ${paged.error ? html`<${ErrorBox} error=${paged.error} />`
      : paged.loading ? html`<${Loading} />`
      : paged.rows.length === 0 ? html`<p class="empty">Nothing in this range.</p>`
      : html`<div class="scroll"><${RowsTable} dimension=${dimension} rows=${paged.rows} metrics=${info.metrics} caption=${info.label} /></div>
        <p class="muted count">${formatNumber(paged.rows.length)} rows shown</p>
        <${MoreButton} paged=${paged} />`}
  <//>`;
}
