// The page's pure logic (URL state, ranges, formatting), run by `node --test web/test/`
// (tests/unit/test_web_logic.py runs it with the Python suite).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatChange, formatDuration, formatNumber, formatPeriod, formatTally } from '../src/format.js';
import { addDays, allowedIntervals, defaultInterval, effectiveInterval, rangeParams, todayIn } from '../src/ranges.js';
import { buildUrl, parentOf, parseUrl } from '../src/url.js';

test('a view survives URL -> state -> URL unchanged', () => {
  for (const url of [
    '/?site=4',
    '/?site=4&range=30d&compare=previous&interval=week',
    '/?site=7&range=custom&from=2026-01-01&to=2026-01-31&compare=year',
    '/leads?site=4&range=month&status=identified&sort=score',
    '/breakdown/entry_page?site=4&range=12mo',
    '/visitor/gv_a1b2c3d4_e5f6a7b8?site=4',
    '/session/gs_123%2Fx?site=4',
    '/login?next=%2Fleads%3Fsite%3D4',
  ]) {
    assert.equal(buildUrl(parseUrl(url)), url);
  }
});

test('defaults are left out of the URL and bad values fall back to them', () => {
  assert.equal(buildUrl(parseUrl('/?site=4&range=7d&status=hot')), '/?site=4');
  const state = parseUrl('/?site=4x&range=forever&compare=lastweek&interval=minute');
  assert.deepEqual([state.site, state.range, state.compare, state.interval], [null, '7d', '', '']);
  const reversed = parseUrl('/?range=custom&from=2026-02-10&to=2026-02-01');
  assert.equal(reversed.range, '7d'); // from after to: not a custom range
  assert.equal(parseUrl('/breakdown/nonsense').route, 'notfound');
  assert.equal(parseUrl('/visitor/%E0%A4%A').route, 'notfound'); // a broken escape
});

test('sign-in only ever returns to a path of this site', () => {
  assert.equal(parseUrl('/login?next=/leads').next, '/leads');
  for (const next of ['//evil.example', '/\\evil.example', 'https://evil.example/', 'leads']) {
    assert.equal(parseUrl(`/login?next=${encodeURIComponent(next)}`).next, null, next);
  }
});

test('panels close to their parent view', () => {
  const session = parseUrl('/session/gs_1?site=4&range=30d');
  assert.equal(buildUrl(parentOf(session, { ghostVid: 'gv_x' })), '/visitor/gv_x?site=4&range=30d');
  assert.equal(buildUrl(parentOf(session)), '/leads?site=4&range=30d');
  assert.equal(buildUrl(parentOf(parseUrl('/breakdown/os?site=4&compare=year'))), '/?site=4&compare=year');
});

test('range and comparison parameters as the API takes them', () => {
  assert.deepEqual(rangeParams(parseUrl('/?range=today&compare=previous')), { timeRange: 'today', compare: 'previous' });
  assert.deepEqual(rangeParams(parseUrl('/?range=custom&from=2026-01-01&to=2026-01-02')), { from: '2026-01-01', to: '2026-01-02' });
  assert.deepEqual(rangeParams(parseUrl('/?compare=year'), { compare: false }), { timeRange: '7d' });
});

test('hour intervals only up to 7 days; a sensible default otherwise', () => {
  assert.deepEqual(allowedIntervals({ range: '7d' }), ['hour', 'day', 'week', 'month']);
  assert.deepEqual(allowedIntervals({ range: '30d' }), ['day', 'week', 'month']);
  assert.deepEqual(allowedIntervals({ range: 'custom', from: '2026-01-01', to: '2026-01-08' }), ['day', 'week', 'month']);
  assert.deepEqual(allowedIntervals({ range: 'custom', from: '2026-01-01', to: '2026-01-07' }), ['hour', 'day', 'week', 'month']);
  assert.deepEqual(['24h', 'yesterday', '7d', 'month', '12mo'].map((range) => defaultInterval({ range })), ['hour', 'hour', 'day', 'day', 'month']);
  assert.equal(effectiveInterval({ range: '30d', interval: 'hour' }), 'day'); // never asks for what the API refuses
});

test("today is the site's date, not the browser's", () => {
  const late = new Date('2026-03-10T23:30:00Z');
  assert.equal(todayIn('UTC', late), '2026-03-10');
  assert.equal(todayIn('Europe/Berlin', late), '2026-03-11');
  assert.equal(todayIn('America/Los_Angeles', late), '2026-03-10');
  assert.equal(addDays('2024-03-01', -1), '2024-02-29');
});

test('change is signed, one decimal, a dash without a previous value', () => {
  assert.deepEqual([12.5, -3, 0, null].map((c) => formatChange(c).text), ['+12.5%', '\u22123.0%', '0.0%', '—']);
  assert.deepEqual([12.5, -3, 0, null].map((c) => formatChange(c).direction), ['up', 'down', 'flat', 'none']);
});

test('numbers exact with separators; durations; tallies of any shape', () => {
  assert.deepEqual([0, 1234567, null].map(formatNumber), ['0', '1,234,567', '—']);
  assert.deepEqual([0, 59, 312, 3725].map(formatDuration), ['0s', '59s', '5m 12s', '1h 2m']);
  assert.equal(formatTally(['Canada', 'France']), 'Canada, France');
  assert.equal(formatTally([{ country: 'Canada', sessions: 3 }]), 'Canada (3)');
  assert.equal(formatTally({ desktop: 2, mobile: 1 }), 'desktop (2), mobile (1)');
});

test("a period reads as the site's local days, DST included", () => {
  // 7 Berlin days across the spring change (29 March 2026): 23-hour day inside.
  const week = { start: '2026-03-25T23:00:00.000Z', end: '2026-04-01T22:00:00.000Z' };
  assert.equal(formatPeriod(week, 'Europe/Berlin'), '26 Mar 2026 – 1 Apr 2026');
  assert.equal(formatPeriod({ start: '2026-03-10T00:00:00.000Z', end: '2026-03-11T00:00:00.000Z' }, 'UTC'), '10 Mar 2026');
  const hours = { start: '2026-03-09T18:00:00.000Z', end: '2026-03-10T18:00:00.000Z' };
  assert.equal(formatPeriod(hours, 'UTC'), '9 Mar 2026, 18:00 – 10 Mar 2026, 18:00');
});
