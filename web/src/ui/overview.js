// The overview: six numbers with their change, the chart, the lists and visitors now.
// Its calls: stats, timeseries, realtime, and one breakdown per card whose tab needs one, once the
// card is on screen (one above the fold at 1280 × 800: Sources), plus GET /api/me once per page load:
// five on a fresh load, at most six.
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { apiPath, request, useGet } from '../api.js';
import { formatChange, formatNumber, formatPeriod } from '../format.js';
import { allowedIntervals, effectiveInterval, rangeLabel, rangeParams } from '../ranges.js';
import { navigate } from '../router.js';
import { buildUrl } from '../url.js';
import { Chart, ChartTable } from './chart.js';
import { ErrorBox, Loading, html } from './common.js';
import { CARDS, FROM_STATS, ListCard, breakdownPath, CARD_LIMIT } from './lists.js';

const METRICS = [
  ['unique_visitors', 'Unique visitors'],
  ['sessions', 'Sessions'],
  ['pageviews', 'Pageviews'],
  ['total_events', 'Total events'],
  ['identified_visitors', 'Identified visitors', 'identified'],
  ['hot_leads', 'Hot leads', 'hot'],
];
export const DRAWN_MARK = 'ghost:overview-drawn';
const REALTIME_MS = 10_000;

// The tab each card shows: kept for the page's life (not in the URL, so a shared link costs the
// default calls only).
const tabs = Object.fromEntries(CARDS.map((c) => [c.id, c.tabs[0]]));

export function overviewPaths(state, onScreen = () => true) {
  return {
    stats: apiPath('/api/stats', { siteId: state.site, ...rangeParams(state) }),
    timeseries: apiPath('/api/timeseries', { siteId: state.site, ...rangeParams(state), interval: effectiveInterval(state) }),
    cards: CARDS.map((c) => (FROM_STATS[tabs[c.id]] || !onScreen(c.id) ? null : breakdownPath(state, tabs[c.id], CARD_LIMIT))),
  };
}

// The ids of the cards that have been on screen (a card below the fold asks for its list when the
// reader gets to it), looked at once the numbers and the chart above them have their height (`ready`).
// Without IntersectionObserver every card counts as seen.
function useSeenCards(grid, ready) {
  const [seen, setSeen] = useState(() => new Set(typeof IntersectionObserver === 'undefined' ? CARDS.map((c) => c.id) : []));
  useEffect(() => {
    if (!ready || typeof IntersectionObserver === 'undefined' || !grid.current) return undefined;
    const observer = new IntersectionObserver((entries) => {
      const shown = entries.filter((e) => e.isIntersecting).map((e) => e.target.dataset.card);
      if (shown.length) setSeen((s) => (shown.every((id) => s.has(id)) ? s : new Set([...s, ...shown])));
    });
    grid.current.querySelectorAll('[data-card]').forEach((el) => observer.observe(el));
    return () => observer.disconnect();
  }, [ready]);
  return seen;
}

function Tile({ metric, label, status, overview, comparison, state }) {
  const value = html`<span class="tile-value" data-metric=${metric}>${formatNumber(overview[metric])}</span>`;
  const change = comparison && formatChange(comparison.change?.[metric]);
  const body = html`<span class="tile-label">${label}</span>${value}
    ${change && html`<span class="change ${change.direction}" data-change=${metric} title=${`Before: ${formatNumber(comparison.overview?.[metric])}`}>
      <span aria-hidden="true">${{ up: '▲ ', down: '▼ ', flat: '', none: '' }[change.direction]}</span>${change.text}<span class="sr-only"> (${change.label})</span>
    </span>`}`;
  if (!status) return html`<li class="tile">${body}</li>`;
  return html`<li class="tile"><a class="tile-link" href=${buildUrl({ ...state, route: 'leads', status })}>${body}</a></li>`;
}

function Tiles({ stats, state, timeZone }) {
  const current = formatPeriod(stats.period, timeZone);
  const before = formatPeriod(stats.comparison?.period, timeZone);
  return html`${current && html`<p class="muted period" id="period">${current}${before && html` · compared with ${before}`}</p>`}
    <ul class="tiles" aria-label="Overview">
    ${METRICS.map(([metric, label, status]) => html`<${Tile} metric=${metric} label=${label} status=${status}
      overview=${stats.overview} comparison=${stats.comparison} state=${state} />`)}
  </ul>`;
}

function Realtime({ site }) {
  const [now, setNow] = useState(null);
  useEffect(() => {
    let live = true;
    let timer = null;
    const poll = async () => {
      clearTimeout(timer);
      if (!document.hidden) {
        try {
          const data = await request('GET', apiPath('/api/realtime', { siteId: site }));
          if (live) setNow(data);
        } catch {
          if (live) setNow((n) => (n ? { ...n, stale: true } : { error: true }));
        }
      }
      if (live) timer = setTimeout(poll, REALTIME_MS);
    };
    const onVisible = () => !document.hidden && poll();
    poll();
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      live = false;
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [site]);
  if (!now) return html`<p class="realtime muted">Visitors now: …</p>`;
  if (now.error) return html`<p class="realtime muted">Visitors now: unavailable</p>`;
  return html`<p class="realtime" title=${`${formatNumber(now.pageviews_last_30m)} pageviews in the last 30 minutes`}>
    <span class="pulse" aria-hidden="true"></span>
    <strong data-metric="visitors_now">${formatNumber(now.visitors_now)}</strong> ${now.visitors_now === 1 ? 'visitor' : 'visitors'} now
    <span class="muted"> · <span data-metric="pageviews_last_30m">${formatNumber(now.pageviews_last_30m)}</span> pageviews in 30 min</span>
  </p>`;
}

function IntervalPicker({ state }) {
  const current = effectiveInterval(state);
  const allowed = allowedIntervals(state);
  return html`<label class="inline">Interval
    <select id="interval" value=${current} onChange=${(e) => navigate(buildUrl({ ...state, interval: e.currentTarget.value }))}>
      ${['hour', 'day', 'week', 'month'].map((i) => html`<option value=${i} disabled=${!allowed.includes(i)}>${i[0].toUpperCase() + i.slice(1)}</option>`)}
    </select>
  </label>`;
}

export function Overview({ state, site }) {
  const [, setTabsVersion] = useState(0);
  const grid = useRef(null);
  const top = overviewPaths(state, () => false);
  const stats = useGet(top.stats);
  const ts = useGet(top.timeseries);
  const seen = useSeenCards(grid, Boolean((stats.data || stats.error) && (ts.data || ts.error)));
  const paths = overviewPaths(state, (id) => seen.has(id));
  const cardResults = CARDS.map((c, i) => useGet(paths.cards[i]));
  const [chartDrawnFor, setChartDrawnFor] = useState(null);
  const marked = useRef(null);
  const viewKey = `${paths.stats}|${paths.timeseries}`;

  const results = CARDS.map((c, i) => {
    const fromStats = FROM_STATS[tabs[c.id]];
    if (fromStats) return { data: stats.data ? fromStats(stats.data) : null, error: stats.error };
    return { data: cardResults[i].data?.rows ?? null, error: cardResults[i].error, waiting: !paths.cards[i] };
  });
  const done = (r) => r.data || r.error || r.waiting; // a card not yet on screen is not waited for
  const chartDone = ts.error || chartDrawnFor === paths.timeseries;
  const drawn = done(stats) && chartDone && results.every(done);

  useLayoutEffect(() => {
    if (drawn && marked.current !== viewKey) {
      marked.current = viewKey;
      performance.mark(DRAWN_MARK, { detail: viewKey });
    }
  }, [drawn, viewKey]);

  function onTab(cardId, tab) {
    tabs[cardId] = tab;
    setTabsVersion((v) => v + 1);
  }

  return html`<div class="overview" aria-busy=${drawn ? 'false' : 'true'}>
    <div class="overview-head">
      <h1>${site.name || site.domain} <span class="muted">· ${rangeLabel(state)}</span></h1>
      <${Realtime} site=${state.site} />
    </div>
    ${stats.error ? html`<${ErrorBox} error=${stats.error} />` : stats.data ? html`<${Tiles} stats=${stats.data} state=${state} timeZone=${site.timezone || 'UTC'} />` : html`<${Loading} label="Loading numbers" />`}
    <section class="card chart-card" aria-labelledby="chart-title">
      <header class="card-head">
        <h2 id="chart-title">Visitors and pageviews</h2>
        <${IntervalPicker} state=${state} />
      </header>
      ${ts.error ? html`<${ErrorBox} error=${ts.error} />`
        : ts.data ? html`<${Chart} ts=${ts.data} timeZone=${site.timezone || 'UTC'} onDrawn=${() => setChartDrawnFor(paths.timeseries)} /><${ChartTable} ts=${ts.data} />`
        : html`<div class="chart placeholder"><${Loading} label="Loading chart" /></div>`}
    </section>
    <div class="grid" ref=${grid}>
      ${CARDS.map((card, i) => html`<${ListCard} card=${card} state=${state} tab=${tabs[card.id]} onTab=${onTab} result=${results[i]} />`)}
    </div>
  </div>`;
}
