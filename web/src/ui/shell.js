// The app: sign-in, then the header (site, views, range, comparison, sign out) above the view the
// URL names.
import { useEffect, useState } from 'preact/hooks';
import { clearCache, get, request, setSignedIn, setUnauthenticatedHandler, signedIn, useGet } from '../api.js';
import { COMPARES, PRESETS, RETENTION_DAYS, addDays, todayIn } from '../ranges.js';
import { currentUrl, navigate, onLinkClick, useUrl } from '../router.js';
import { buildUrl, parseUrl } from '../url.js';
import { ErrorBox, Loading, html } from './common.js';
import { BreakdownView, CARDS, DIMENSIONS, PANEL_LIMIT, breakdownPath } from './lists.js';
import { Login } from './login.js';
import { Overview, overviewPaths } from './overview.js';
import { LeadsView, SessionView, VisitorView, leadsPath, sessionPath, visitorPath } from './people.js';

const RANGE_VIEWS = ['overview', 'leads', 'breakdown'];

function toSignIn() {
  if (location.pathname !== '/login') navigate(buildUrl({ route: 'login', next: currentUrl() }), { replace: true });
}
setUnauthenticatedHandler(toSignIn);

// The calls a view makes, started at once (alongside GET /api/me) when the URL names the site.
function viewPaths(state) {
  switch (state.route) {
    case 'overview': {
      // the first card is on screen on a desktop; the others ask when the reader gets to them
      const p = overviewPaths(state, (id) => id === CARDS[0].id);
      return [p.stats, p.timeseries, ...p.cards.filter(Boolean)];
    }
    case 'leads': return [leadsPath(state)];
    case 'breakdown': return [breakdownPath(state, state.dimension, PANEL_LIMIT)];
    case 'visitor': return [visitorPath(state)];
    case 'session': return [sessionPath(state)];
    default: return [];
  }
}

function prefetch(state) {
  if (state.site) viewPaths(state).forEach((p) => get(p).catch(() => {}));
}

function SitePicker({ state, sites }) {
  if (sites.length === 1) return html`<span class="site-name">${sites[0].name || sites[0].domain}</span>`;
  const change = (site) => {
    const route = RANGE_VIEWS.includes(state.route) ? state.route : 'overview';
    navigate(buildUrl({ ...state, route, site }));
  };
  return html`<label class="inline site-picker" for="site">Site
    <select id="site" value=${state.site} onChange=${(e) => change(e.currentTarget.value)}>
      ${sites.map((s) => html`<option value=${String(s.site_id)}>${s.name || s.domain}</option>`)}
    </select>
  </label>`;
}

function RangePicker({ state, timeZone }) {
  const [custom, setCustom] = useState(state.range === 'custom');
  const [error, setError] = useState(null);
  useEffect(() => setCustom(state.range === 'custom'), [state.range]);
  const today = todayIn(timeZone);
  const earliest = addDays(today, -(RETENTION_DAYS - 1));
  function pick(value) {
    if (value === 'custom') setCustom(true);
    else {
      setCustom(false);
      navigate(buildUrl({ ...state, range: value, from: null, to: null }));
    }
  }
  function apply(event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const [from, to] = [form.get('from'), form.get('to')];
    if (!from || !to || from > to) return setError('Choose a start date on or before the end date.');
    if (from < earliest || to > today) return setError(`Dates must lie between ${earliest} and ${today}.`);
    setError(null);
    navigate(buildUrl({ ...state, range: 'custom', from, to }));
  }
  return html`<div class="range-picker">
    <label class="inline" for="range">Range
      <select id="range" value=${custom ? 'custom' : state.range} onChange=${(e) => pick(e.currentTarget.value)}>
        ${PRESETS.map(([v, label]) => html`<option value=${v}>${label}</option>`)}
        <option value="custom">Custom dates…</option>
      </select>
    </label>
    ${custom && html`<form class="custom-range" noValidate onSubmit=${apply} aria-label=${`Custom dates (${timeZone})`}>
      <label class="inline" for="from">From <input id="from" name="from" type="date" min=${earliest} max=${today} value=${state.from ?? addDays(today, -6)} required /></label>
      <label class="inline" for="to">To <input id="to" name="to" type="date" min=${earliest} max=${today} value=${state.to ?? today} required /></label>
      <button type="submit" class="button">Apply</button>
      <span class="muted tz">${timeZone}</span>
      ${error && html`<p class="error" role="alert">${error}</p>`}
    </form>`}
  </div>`;
}

function ComparePicker({ state }) {
  return html`<label class="inline" for="compare">Compare
    <select id="compare" value=${state.compare} onChange=${(e) => navigate(buildUrl({ ...state, compare: e.currentTarget.value }))}>
      ${COMPARES.map(([v, label]) => html`<option value=${v}>${label}</option>`)}
    </select>
  </label>`;
}

async function signOut() {
  try {
    await request('POST', '/api/auth/logout');
  } catch {
    // the session may already be gone: the sign-in page is right either way
  }
  clearCache();
  setSignedIn(false);
  navigate('/login', { replace: true });
}

function Header({ state, sites, timeZone }) {
  const nav = [['overview', 'Overview'], ['leads', 'Leads']];
  const active = state.route === 'breakdown' ? 'overview' : ['visitor', 'session'].includes(state.route) ? 'leads' : state.route;
  return html`<header class="top">
    <div class="bar">
      <a class="brand" href=${buildUrl({ ...state, route: 'overview' })}>Ghost ID</a>
      <${SitePicker} state=${state} sites=${sites} />
      <nav aria-label="Views">
        ${nav.map(([route, label]) => html`<a href=${buildUrl({ ...state, route })} aria-current=${active === route ? 'page' : undefined}>${label}</a>`)}
      </nav>
      <button type="button" class="button signout" onClick=${signOut}>Sign out</button>
    </div>
    ${RANGE_VIEWS.includes(state.route) && html`<div class="controls">
      <${RangePicker} state=${state} timeZone=${timeZone} />
      ${state.route === 'overview' && html`<${ComparePicker} state=${state} />`}
    </div>`}
  </header>`;
}

function title(state, site) {
  const view = {
    overview: 'Overview', leads: 'Leads', breakdown: DIMENSIONS[state.dimension]?.label,
    visitor: 'Visitor', session: 'Session', notfound: 'Not found',
  }[state.route];
  return `${view} · ${site.name || site.domain} — Ghost ID`;
}

function View({ state, site }) {
  const timeZone = site.timezone || 'UTC';
  switch (state.route) {
    case 'overview': return html`<${Overview} state=${state} site=${site} />`;
    case 'leads': return html`<${LeadsView} state=${state} timeZone=${timeZone} />`;
    case 'breakdown': return html`<${BreakdownView} state=${state} />`;
    case 'visitor': return html`<${VisitorView} state=${state} timeZone=${timeZone} />`;
    case 'session': return html`<${SessionView} state=${state} timeZone=${timeZone} />`;
    default: return html`<div class="card"><h1>Page not found</h1><p><a href=${buildUrl({ ...state, route: 'overview' })}>Go to the overview</a></p></div>`;
  }
}

function SignedIn({ state }) {
  const me = useGet('/api/me');
  const sites = me.data?.sites ?? [];
  const site = sites.find((s) => String(s.site_id) === state.site);
  useEffect(() => {
    if (me.data && !site && sites.length) navigate(buildUrl({ ...state, site: String(sites[0].site_id) }), { replace: true });
  }, [me.data, site]);
  useEffect(() => {
    if (site) document.title = title(state, site);
  });
  if (me.error) return html`<main id="main" class="centered"><${ErrorBox} error=${me.error} retry=${() => location.reload()} /></main>`;
  if (!me.data || (!site && sites.length)) return html`<main id="main" class="centered"><${Loading} /></main>`;
  if (!sites.length) {
    return html`<main id="main" class="centered"><div class="card"><h1>No sites yet</h1>
      <p>Your account is not a member of any site. Ask an owner to add you.</p>
      <button type="button" class="button" onClick=${signOut}>Sign out</button></div></main>`;
  }
  return html`<${Header} state=${state} sites=${sites} timeZone=${site.timezone || 'UTC'} />
    <main id="main"><${View} state=${state} site=${site} /></main>`;
}

export function App() {
  const url = useUrl();
  const state = parseUrl(url);
  useEffect(() => {
    if (state.route === 'login') document.title = 'Sign in — Ghost ID';
  }, [state.route]);
  const known = state.route === 'login' || signedIn();
  useEffect(() => {
    if (!known) toSignIn();
  }, [known, url]);
  if (state.route === 'login') return html`<${Login} next=${state.next} />`;
  if (!known) return null;
  prefetch(state);
  return html`<div class="app" onClick=${onLinkClick}><a class="skip" href="#main">Skip to content</a><${SignedIn} state=${state} /></div>`;
}
