// Formatting of what the API answers. Numbers are shown exactly (with separators), never rounded,
// so every figure on the page can be compared with the API's.
const NUMBER = new Intl.NumberFormat('en-US');

export function formatNumber(n) {
  return n == null ? '—' : NUMBER.format(n);
}

// `change` is the API's percent (one decimal, null when the previous value was 0).
export function formatChange(change) {
  if (change == null) return { text: '—', direction: 'none', label: 'no previous data' };
  const fixed = Math.abs(change).toFixed(1);
  if (change > 0) return { text: `+${fixed}%`, direction: 'up', label: `up ${fixed}%` };
  if (change < 0) return { text: `\u2212${fixed}%`, direction: 'down', label: `down ${fixed}%` };
  return { text: '0.0%', direction: 'flat', label: 'no change' };
}

export function formatDuration(seconds) {
  if (seconds == null) return '—';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s}s`;
  return `${s}s`;
}

const formatters = new Map();
function formatter(timeZone, options) {
  const key = timeZone + JSON.stringify(options);
  if (!formatters.has(key)) formatters.set(key, new Intl.DateTimeFormat('en-GB', { timeZone, ...options }));
  return formatters.get(key);
}

// A UTC ISO timestamp shown in the site's zone.
export function formatTime(iso, timeZone) {
  if (!iso) return '—';
  return formatter(timeZone, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));
}

export function formatClock(iso, timeZone) {
  return formatter(timeZone, { hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(new Date(iso));
}

export function formatDay(iso, timeZone) {
  return formatter(timeZone, { dateStyle: 'medium' }).format(new Date(iso));
}

// The visitor's countries / devices: the contract names the fields but not their shape, so any
// list of strings, list of {name: count} rows or object of counts reads as "A (3), B".
export function formatTally(value) {
  if (value == null) return '—';
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(tallyItem).join(', ') || '—';
  if (typeof value === 'object') {
    return Object.entries(value).map(([k, v]) => `${k} (${formatNumber(v)})`).join(', ') || '—';
  }
  return String(value);
}

function tallyItem(item) {
  if (item == null || typeof item !== 'object') return String(item);
  const values = Object.values(item);
  const name = values.find((v) => typeof v === 'string');
  const count = values.find((v) => typeof v === 'number');
  return count == null ? String(name) : `${name} (${formatNumber(count)})`;
}

export function visitorName(row) {
  return row.identified_user_id || row.ghost_vid;
}

// A §10 period {start, end (exclusive)} as the local days (or hours, under two days) it covers.
export function formatPeriod(period, timeZone) {
  if (!period?.start || !period?.end) return '';
  const start = new Date(period.start);
  const last = new Date(Date.parse(period.end) - 1);
  const midnight = formatter(timeZone, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(start) === '00:00';
  if (!midnight) {
    return `${formatTime(period.start, timeZone)} – ${formatTime(period.end, timeZone)}`;
  }
  const first = formatDay(start.toISOString(), timeZone);
  const final = formatDay(last.toISOString(), timeZone);
  return first === final ? first : `${first} – ${final}`;
}
