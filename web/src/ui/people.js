// People: the hot-leads table → a visitor's profile → a session's timeline.
import { apiPath, useGet, usePaged } from '../api.js';
import { formatClock, formatDuration, formatNumber, formatTally, formatTime, visitorName } from '../format.js';
import { rangeLabel, rangeParams } from '../ranges.js';
import { navigate } from '../router.js';
import { buildUrl, parentOf } from '../url.js';
import { ErrorBox, Loading, MoreButton, Panel, html } from './common.js';

const LEADS_LIMIT = 50;
const STATUS_LABELS = { hot: 'Hot leads', identified: 'Identified visitors', all: 'All visitors' };

export function leadsPath(state) {
  return apiPath('/api/leads', { siteId: state.site, ...rangeParams(state, { compare: false }), status: state.status, sort: state.sort, limit: LEADS_LIMIT });
}

export function visitorPath(state) {
  return apiPath(`/api/visitors/${encodeURIComponent(state.ghostVid)}`, { siteId: state.site });
}

export function sessionPath(state) {
  return apiPath(`/api/session/${encodeURIComponent(state.sessionId)}`, { siteId: state.site });
}

function visitorUrl(state, ghostVid) {
  return buildUrl({ ...state, route: 'visitor', ghostVid });
}

function sessionUrl(state, sessionId) {
  return buildUrl({ ...state, route: 'session', sessionId });
}

// The API's score parts are points that add up to the score (PRODUCT §4).
function ScoreParts({ parts }) {
  if (!parts) return null;
  return html`<span class="muted score-parts">
    = ${formatNumber(parts.high_intent_pageviews)} high-intent pages + ${formatNumber(parts.custom_events)} custom events + ${formatNumber(parts.identified)} identified
  </span>`;
}

function Select({ id, label, value, options, onChange }) {
  return html`<label class="inline" for=${id}>${label}
    <select id=${id} value=${value} onChange=${(e) => onChange(e.currentTarget.value)}>
      ${options.map(([v, text]) => html`<option value=${v}>${text}</option>`)}
    </select>
  </label>`;
}

export function LeadsView({ state, timeZone }) {
  const paged = usePaged(state.site ? leadsPath(state) : null, 'leads');
  return html`<section class="card leads" aria-labelledby="leads-title">
    <header class="card-head">
      <h1 id="leads-title">${STATUS_LABELS[state.status]} <span class="muted">· ${rangeLabel(state)}</span></h1>
      <div class="filters">
        <${Select} id="lead-status" label="Show" value=${state.status}
          options=${Object.entries(STATUS_LABELS)} onChange=${(status) => navigate(buildUrl({ ...state, status }))} />
        <${Select} id="lead-sort" label="Sort by" value=${state.sort}
          options=${[['last_seen', 'Last seen'], ['score', 'Score']]} onChange=${(sort) => navigate(buildUrl({ ...state, sort }))} />
      </div>
    </header>
    ${paged.error ? html`<${ErrorBox} error=${paged.error} />`
      : paged.loading ? html`<${Loading} />`
      : paged.rows.length === 0 ? html`<p class="empty">No one in this range.</p>`
      : html`<div class="scroll"><table class="people" id="leads-table">
          <caption class="sr-only">${STATUS_LABELS[state.status]}</caption>
          <thead><tr>
            <th scope="col">Visitor</th><th scope="col" class="num">Score</th><th scope="col">Hot since</th>
            <th scope="col">Last seen</th><th scope="col" class="num">Sessions</th><th scope="col">Country</th><th scope="col">Last pages</th>
          </tr></thead>
          <tbody>${paged.rows.map((lead) => html`<tr data-vid=${lead.ghost_vid}>
            <th scope="row"><a href=${visitorUrl(state, lead.ghost_vid)}>${visitorName(lead)}</a>
              ${lead.hot && html` <span class="badge hot">hot</span>`}</th>
            <td class="num" data-metric="score">${formatNumber(lead.score)}</td>
            <td>${lead.hot_since ? formatTime(lead.hot_since, timeZone) : '—'}</td>
            <td>${formatTime(lead.last_seen, timeZone)}</td>
            <td class="num" data-metric="sessions">${formatNumber(lead.sessions)}</td>
            <td>${lead.country ?? 'Unknown'}</td>
            <td class="pages">${(lead.last_pages ?? []).join(', ')}</td>
          </tr>`)}</tbody>
        </table></div>
        <${MoreButton} paged=${paged} />`}
  </section>`;
}

function Field({ label, children }) {
  return html`<div class="field"><dt>${label}</dt><dd>${children}</dd></div>`;
}

function SessionsTable({ state, sessions, timeZone }) {
  return html`<div class="scroll"><table class="people" id="visitor-sessions">
    <caption class="sr-only">Sessions, newest first</caption>
    <thead><tr>
      <th scope="col">Started</th><th scope="col" class="num">Duration</th><th scope="col" class="num">Pageviews</th>
      <th scope="col" class="num">Events</th><th scope="col">Entry → exit</th><th scope="col">Source</th><th scope="col">Where</th>
    </tr></thead>
    <tbody>${sessions.map((s) => html`<tr data-session=${s.session_id}>
      <th scope="row"><a href=${sessionUrl(state, s.session_id)}>${formatTime(s.started_at, timeZone)}</a></th>
      <td class="num">${formatDuration(s.duration_seconds)}</td>
      <td class="num" data-metric="pageview_count">${formatNumber(s.pageview_count)}</td>
      <td class="num" data-metric="event_count">${formatNumber(s.event_count)}</td>
      <td>${s.entry_page ?? '—'} → ${s.exit_page ?? '—'}</td>
      <td>${s.referrer ?? 'Direct'}</td>
      <td>${[s.city, s.country].filter(Boolean).join(', ') || 'Unknown'} · ${s.device_type ?? '—'}</td>
    </tr>`)}</tbody>
  </table></div>`;
}

export function VisitorView({ state, timeZone }) {
  const paged = usePaged(state.site ? visitorPath(state) : null, 'sessions');
  const v = paged.data;
  return html`<${Panel} title=${v ? visitorName(v) : state.ghostVid} subtitle=${v?.identified_user_id ? v.ghost_vid : 'Visitor profile'}
    parentUrl=${buildUrl(parentOf(state))} label="Visitor profile">
    ${paged.error ? html`<${ErrorBox} error=${paged.error} />`
      : !v ? html`<${Loading} />`
      : html`<dl class="fields" id="visitor-fields">
          <${Field} label="Score"><strong data-metric="score">${formatNumber(v.score)}</strong> ${v.hot && html`<span class="badge hot">hot</span>`} <${ScoreParts} parts=${v.score_parts} /><//>
          <${Field} label="Hot since">${v.hot_since ? formatTime(v.hot_since, timeZone) : '—'}<//>
          <${Field} label="First seen">${formatTime(v.first_seen, timeZone)}<//>
          <${Field} label="Last seen">${formatTime(v.last_seen, timeZone)}<//>
          <${Field} label="Pageviews"><span data-metric="pageviews">${formatNumber(v.pageviews)}</span><//>
          <${Field} label="Events"><span data-metric="events">${formatNumber(v.events)}</span><//>
          <${Field} label="User ids">${(v.user_ids ?? []).join(', ') || '—'}<//>
          <${Field} label="Countries">${formatTally(v.countries)}<//>
          <${Field} label="Devices">${formatTally(v.devices)}<//>
          <${Field} label="Last pages">${(v.last_pages ?? []).join(', ') || '—'}<//>
        </dl>
        <h2>Sessions <span class="muted" data-metric="session_count">${formatNumber(v.session_count)}</span></h2>
        ${paged.rows.length ? html`<${SessionsTable} state=${state} sessions=${paged.rows} timeZone=${timeZone} />` : html`<p class="empty">No sessions.</p>`}
        <${MoreButton} paged=${paged} label="More sessions" />`}
  <//>`;
}

function Props({ props }) {
  const entries = Object.entries(props ?? {});
  if (!entries.length) return null;
  return html`<span class="props">${entries.map(([k, v]) => html`<code>${k}: ${String(v)}</code> `)}</span>`;
}

export function SessionView({ state, timeZone }) {
  const { data: s, error } = useGet(state.site ? sessionPath(state) : null);
  const parentUrl = buildUrl(parentOf(state, { ghostVid: s?.ghost_vid }));
  return html`<${Panel} title=${`Session ${state.sessionId}`} subtitle=${s ? `${formatTime(s.started_at, timeZone)} · ${formatDuration(s.duration_seconds)}` : 'Session timeline'}
    parentUrl=${parentUrl} label="Session timeline">
    ${error ? html`<${ErrorBox} error=${error} />`
      : !s ? html`<${Loading} />`
      : html`<dl class="fields" id="session-fields">
          <${Field} label="Visitor"><a href=${visitorUrl(state, s.ghost_vid)}>${visitorName(s)}</a><//>
          <${Field} label="Where">${[s.city, s.country].filter(Boolean).join(', ') || 'Unknown'}<//>
          <${Field} label="Device">${[s.device_type, s.browser, s.os].filter(Boolean).join(' · ') || 'Unknown'}<//>
          <${Field} label="Referrer">${s.referrer ?? 'Direct'}<//>
          <${Field} label="Entry → exit">${s.entry_page ?? '—'} → ${s.exit_page ?? '—'}<//>
          <${Field} label="Pageviews"><span data-metric="pageview_count">${formatNumber(s.pageview_count)}</span><//>
          <${Field} label="Events"><span data-metric="event_count">${formatNumber(s.event_count)}</span><//>
          <${Field} label="Duration"><span data-metric="duration_seconds" data-value=${s.duration_seconds}>${formatDuration(s.duration_seconds)}</span><//>
        </dl>
        <h2>Timeline</h2>
        <ol class="timeline" id="timeline">
          ${s.timeline.map((t) => html`<li class=${t.type === 'pageview' ? 'pv' : 'ev'}>
            <time datetime=${t.timestamp}>${formatClock(t.timestamp, timeZone)}</time>
            <span class="what">${t.type === 'pageview'
              ? html`<span class="kind">Viewed</span> <strong>${t.page}</strong>${t.page_title && html` <span class="muted">${t.page_title}</span>`}`
              : html`<span class="kind">Event</span> <strong>${t.event_name}</strong> <span class="muted">on ${t.page}</span> <${Props} props=${t.props} />`}</span>
            ${t.time_on_previous_page > 0 && html`<span class="gap muted">+${formatDuration(t.time_on_previous_page)}</span>`}
          </li>`)}
        </ol>`}
  <//>`;
}
