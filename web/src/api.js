// The API client: same origin, the `session` cookie rides along; errors arrive in the §1 envelope.
import { useEffect, useRef, useState } from 'preact/hooks';

const CACHE_MS = 60_000; // returning to a view within a minute costs no call
const cache = new Map();
let onUnauthenticated = () => {};

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// Whether this browser signed in (the cookie itself is HttpOnly): without it the page goes straight
// to sign-in instead of making a call that can only answer 401.
const SIGNED_IN = 'ghost:signed-in';

export function signedIn() {
  try {
    return localStorage.getItem(SIGNED_IN) === '1';
  } catch {
    return true; // storage blocked: ask the API
  }
}

export function setSignedIn(on) {
  try {
    if (on) localStorage.setItem(SIGNED_IN, '1');
    else localStorage.removeItem(SIGNED_IN);
  } catch {
    // storage blocked: the API's 401 still leads to sign-in
  }
}

export function setUnauthenticatedHandler(fn) {
  onUnauthenticated = fn;
}

export function clearCache() {
  cache.clear();
}

// Stores an answer already in hand (sign-in answers what GET /api/me would): one call fewer.
export function prime(path, data) {
  const entry = { at: Date.now(), done: true, data, error: null };
  entry.promise = Promise.resolve(data);
  cache.set(path, entry);
}

export function apiPath(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v != null && v !== '') q.set(k, String(v));
  const query = q.toString();
  return query ? `${path}?${query}` : path;
}

async function errorOf(response) {
  try {
    const body = await response.json();
    if (body?.error?.message) return new ApiError(response.status, body.error.code, body.error.message);
  } catch {
    // not our envelope (a proxy's page): a generic message
  }
  let message = `The server answered ${response.status}.`;
  const wait = response.headers.get('Retry-After'); // the API's own 429 message says it already
  if (response.status === 429 && wait) message += ` Try again in ${wait} seconds.`;
  return new ApiError(response.status, 'http_error', message);
}

export async function request(method, path, body) {
  let response;
  try {
    response = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? { Accept: 'application/json' } : { Accept: 'application/json', 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network', 'The API cannot be reached. Check your connection and try again.');
  }
  if (response.status === 401 && path !== '/api/auth/login') {
    cache.clear();
    setSignedIn(false);
    onUnauthenticated();
  }
  if (!response.ok) throw await errorOf(response);
  return response.status === 204 ? null : response.json();
}

// GET with a short cache shared by every view (the same URL is fetched once). An entry holds its
// answer once it has one, so a view coming back draws at once, without waiting for a promise.
function entryFor(path, { fresh = false } = {}) {
  const hit = cache.get(path);
  if (!fresh && hit && !hit.error && Date.now() - hit.at < CACHE_MS) return hit;
  const entry = { at: Date.now(), done: false, data: null, error: null };
  entry.promise = request('GET', path).then(
    (data) => Object.assign(entry, { done: true, data }).data,
    (error) => {
      Object.assign(entry, { done: true, error });
      throw error;
    },
  );
  entry.promise.catch(() => {});
  cache.set(path, entry);
  return entry;
}

export function get(path, options) {
  return entryFor(path, options).promise;
}

// {data, error, loading} of GET `path` (null path: nothing to fetch yet).
export function useGet(path) {
  const [, redraw] = useState(0);
  const shown = useRef(null); // the entry this render showed as done
  const entry = path ? cache.get(path) : null;
  shown.current = entry?.done ? entry : null;
  useEffect(() => {
    if (!path) return undefined;
    const current = entryFor(path);
    let live = true;
    const update = () => live && shown.current !== current && redraw((n) => n + 1);
    if (current.done) update();
    else current.promise.then(update, update);
    return () => {
      live = false;
    };
  }, [path]);
  if (!path) return { data: null, error: null, loading: false };
  if (entry?.done) return { data: entry.data, error: entry.error, loading: false };
  return { data: null, error: null, loading: true };
}

// Pages of a cursor-paged list: the first page from `path`, later ones appended on `more()`.
export function usePaged(path, key) {
  const first = useGet(path);
  const [extra, setExtra] = useState({ path: null, rows: [], cursor: null, loading: false, error: null });
  const own = extra.path === path;
  const rows = first.data ? [...first.data[key], ...(own ? extra.rows : [])] : [];
  const cursor = own && extra.rows.length ? extra.cursor : first.data?.next_cursor ?? null;
  async function more() {
    if (!cursor) return;
    setExtra({ path, rows: own ? extra.rows : [], cursor, loading: true, error: null });
    try {
      const page = await get(`${path}&cursor=${encodeURIComponent(cursor)}`);
      setExtra((s) => ({ path, rows: [...(s.path === path ? s.rows : []), ...page[key]], cursor: page.next_cursor, loading: false, error: null }));
    } catch (error) {
      setExtra((s) => ({ ...s, loading: false, error }));
    }
  }
  return { ...first, rows, cursor, more, moreLoading: own && extra.loading, moreError: own ? extra.error : null };
}
