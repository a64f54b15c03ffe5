import { h } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import htm from 'htm';
import { closeTo } from '../router.js';

export const html = htm.bind(h);

export function Loading({ label = 'Loading' }) {
  return html`<p class="loading" role="status"><span class="spinner" aria-hidden="true"></span>${label}…</p>`;
}

export function ErrorBox({ error, retry }) {
  if (!error) return null;
  return html`<div class="error" role="alert">
    <p>${error.message}</p>
    ${retry && html`<button type="button" class="button" onClick=${retry}>Try again</button>`}
  </div>`;
}

// A panel one level below a list (breakdown, visitor, session): focus moves to its heading when it
// opens, Escape or the close link returns to `parentUrl`.
export function Panel({ title, subtitle, parentUrl, children, label }) {
  const heading = useRef(null);
  useEffect(() => heading.current?.focus(), [parentUrl, title]);
  useEffect(() => {
    const onKey = (event) => {
      if (event.key !== 'Escape' || event.defaultPrevented) return;
      event.preventDefault();
      closeTo(parentUrl);
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, [parentUrl]);
  return html`<section class="panel" aria-label=${label}>
    <header class="panel-head">
      <div>
        <h1 tabindex="-1" ref=${heading}>${title}</h1>
        ${subtitle && html`<p class="muted">${subtitle}</p>`}
      </div>
      <a class="close" href=${parentUrl} aria-label="Close (Escape)" title="Close (Escape)"
        onClick=${(e) => { e.preventDefault(); closeTo(parentUrl); }}>✕</a>
    </header>
    ${children}
  </section>`;
}

export function MoreButton({ paged, label = 'Load more' }) {
  if (paged.moreError) return html`<${ErrorBox} error=${paged.moreError} retry=${paged.more} />`;
  if (!paged.cursor) return null;
  return html`<button type="button" class="button more" disabled=${paged.moreLoading} onClick=${paged.more}>
    ${paged.moreLoading ? 'Loading…' : label}
  </button>`;
}
