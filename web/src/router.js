// History-based navigation: every view change is a pushState, so back and forward work.
import { useEffect, useState } from 'preact/hooks';

const listeners = new Set();

export function currentUrl() {
  return location.pathname + location.search;
}

export function navigate(url, { replace = false } = {}) {
  if (url === currentUrl()) return;
  const state = { prev: replace ? history.state?.prev ?? null : currentUrl() };
  history[replace ? 'replaceState' : 'pushState'](state, '', url);
  listeners.forEach((fn) => fn());
}

// Close a panel: step back when the previous entry is the parent view (keeping that view's own
// options, such as the leads' sort), otherwise go to the parent.
export function closeTo(url) {
  const prev = history.state?.prev;
  const path = (u) => new URL(u, location.origin).pathname;
  if (prev && path(prev) === path(url)) history.back();
  else navigate(url);
}

export function useUrl() {
  const [url, setUrl] = useState(currentUrl());
  useEffect(() => {
    const update = () => setUrl(currentUrl());
    listeners.add(update);
    addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      removeEventListener('popstate', update);
    };
  }, []);
  return url;
}

// Links are real <a href> (open in a new tab, copy link); a plain click stays in the app.
export function onLinkClick(event) {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const a = event.target.closest?.('a[href]');
  if (!a || a.target || a.origin !== location.origin || a.pathname.startsWith('/api/')) return;
  if (a.getAttribute('href').startsWith('#')) return; // in-page anchors (the skip link)
  event.preventDefault();
  navigate(a.pathname + a.search);
}
