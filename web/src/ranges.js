// Ranges, comparison and chart intervals as PRODUCT.md §10–§11 define them.
export const PRESETS = [
  ['24h', 'Last 24 hours'],
  ['today', 'Today'],
  ['yesterday', 'Yesterday'],
  ['7d', 'Last 7 days'],
  ['30d', 'Last 30 days'],
  ['month', 'This month'],
  ['last_month', 'Last month'],
  ['12mo', 'Last 12 months'],
];
export const PRESET_NAMES = PRESETS.map(([name]) => name);
export const DEFAULT_RANGE = '7d';
export const COMPARES = [
  ['', 'No comparison'],
  ['previous', 'Previous period'],
  ['year', 'Year before'],
];
export const INTERVALS = ['hour', 'day', 'week', 'month'];
export const RETENTION_DAYS = 400;
const DAY_MS = 86_400_000;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

// Today's date (YYYY-MM-DD) in `timeZone`.
export function todayIn(timeZone, now = new Date()) {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })
    .formatToParts(now)
    .reduce((acc, p) => ({ ...acc, [p.type]: p.value }), {});
  return `${parts.year}-${parts.month}-${parts.day}`;
}

export function addDays(date, days) {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

export function isDate(value) {
  return typeof value === 'string' && DATE.test(value) && !Number.isNaN(Date.parse(`${value}T00:00:00Z`));
}

// Days a range covers (for the interval rules); presets by their longest length.
export function rangeDays(range) {
  if (range.range === 'custom') {
    return Math.round((Date.parse(`${range.to}T00:00:00Z`) - Date.parse(`${range.from}T00:00:00Z`)) / DAY_MS) + 1;
  }
  return { '24h': 1, today: 1, yesterday: 1, '7d': 7, '30d': 30, month: 31, last_month: 31, '12mo': 366 }[range.range];
}

export function allowedIntervals(range) {
  return rangeDays(range) <= 7 ? INTERVALS : INTERVALS.filter((i) => i !== 'hour');
}

export function defaultInterval(range) {
  if (rangeDays(range) <= 2) return 'hour';
  if (range.range === '12mo' || rangeDays(range) > 180) return 'month';
  return 'day';
}

export function effectiveInterval(state) {
  return allowedIntervals(state).includes(state.interval) ? state.interval : defaultInterval(state);
}

// The query parameters naming the range (and comparison) on every read route.
export function rangeParams(state, { compare = true } = {}) {
  const params = state.range === 'custom' ? { from: state.from, to: state.to } : { timeRange: state.range };
  if (compare && state.compare) params.compare = state.compare;
  return params;
}

export function rangeLabel(state) {
  if (state.range === 'custom') return `${state.from} – ${state.to}`;
  return PRESETS.find(([name]) => name === state.range)?.[1] ?? state.range;
}
