// The URL holds the view: path = what is open, query = site, range, comparison and the view's options.
// Reload, back and a shared link therefore land on the same view.
import { COMPARES, DEFAULT_RANGE, INTERVALS, PRESET_NAMES, isDate } from './ranges.js';

export const LEAD_STATUSES = ['hot', 'identified', 'all'];
export const LEAD_SORTS = ['last_seen', 'score'];
export const BREAKDOWN_DIMENSIONS = [
  'page', 'entry_page', 'exit_page', 'source', 'referrer', 'country', 'city',
  'device_type', 'browser', 'os', 'event_name',
  'utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content',
];
const COMPARE_NAMES = COMPARES.map(([name]) => name).filter(Boolean);

function segment(value) {
  try {
    return decodeURIComponent(value);
  } catch {
    return null;
  }
}

function route(pathname) {
  const parts = pathname.split('/').filter(Boolean);
  if (parts.length === 0) return { route: 'overview' };
  const [head, arg] = [parts[0], parts.length === 2 ? segment(parts[1]) : null];
  if (parts.length === 1 && head === 'login') return { route: 'login' };
  if (parts.length === 1 && head === 'leads') return { route: 'leads' };
  if (head === 'breakdown' && BREAKDOWN_DIMENSIONS.includes(arg)) return { route: 'breakdown', dimension: arg };
  if (head === 'visitor' && arg) return { route: 'visitor', ghostVid: arg };
  if (head === 'session' && arg) return { route: 'session', sessionId: arg };
  return { route: 'notfound' };
}

// Everything the page shows, read from a URL; invalid values fall back to defaults.
export function parseUrl(href) {
  const url = new URL(href, 'http://x');
  const q = url.searchParams;
  const state = { ...route(url.pathname) };
  const site = q.get('site');
  state.site = /^\d{1,18}$/.test(site ?? '') ? site : null;
  const range = q.get('range');
  if (range === 'custom' && isDate(q.get('from')) && isDate(q.get('to')) && q.get('from') <= q.get('to')) {
    Object.assign(state, { range, from: q.get('from'), to: q.get('to') });
  } else {
    state.range = PRESET_NAMES.includes(range) ? range : DEFAULT_RANGE;
  }
  state.compare = COMPARE_NAMES.includes(q.get('compare')) ? q.get('compare') : '';
  state.interval = INTERVALS.includes(q.get('interval')) ? q.get('interval') : '';
  state.status = LEAD_STATUSES.includes(q.get('status')) ? q.get('status') : 'hot';
  state.sort = LEAD_SORTS.includes(q.get('sort')) ? q.get('sort') : 'last_seen';
  const next = q.get('next');
  // Only a path of this site: never `//host` or `/\host`, which a browser reads as another origin.
  state.next = next && next.startsWith('/') && !next.startsWith('//') && !next.includes('\\') ? next : null;
  return state;
}

function pathOf(state) {
  switch (state.route) {
    case 'login': return '/login';
    case 'leads': return '/leads';
    case 'breakdown': return `/breakdown/${state.dimension}`;
    case 'visitor': return `/visitor/${encodeURIComponent(state.ghostVid)}`;
    case 'session': return `/session/${encodeURIComponent(state.sessionId)}`;
    default: return '/';
  }
}

// The canonical URL of a view: only the parameters that view uses, defaults left out.
export function buildUrl(state) {
  const q = new URLSearchParams();
  if (state.route === 'login') {
    if (state.next) q.set('next', state.next);
  } else {
    if (state.site) q.set('site', state.site);
    if (state.range === 'custom') {
      q.set('range', 'custom');
      q.set('from', state.from);
      q.set('to', state.to);
    } else if (state.range && state.range !== DEFAULT_RANGE) {
      q.set('range', state.range);
    }
    if (state.compare && ['overview', 'breakdown'].includes(state.route)) q.set('compare', state.compare);
    if (state.interval && state.route === 'overview') q.set('interval', state.interval);
    if (state.route === 'leads') {
      if (state.status !== 'hot') q.set('status', state.status);
      if (state.sort !== 'last_seen') q.set('sort', state.sort);
    }
  }
  const query = q.toString();
  return pathOf(state) + (query ? `?${query}` : '');
}

// The view one level up: what Escape and the close button return to.
export function parentOf(state, extra = {}) {
  switch (state.route) {
    case 'breakdown': return { ...state, route: 'overview' };
    case 'visitor': return { ...state, route: 'leads' };
    case 'session': return extra.ghostVid ? { ...state, route: 'visitor', ghostVid: extra.ghostVid } : { ...state, route: 'leads' };
    default: return null;
  }
}
