/*! ghost.js - Ghost ID tracker. No cookies; never throws into the page.
 * <script defer src="https://cdn.example.com/ghost.js" data-site-id="7"
 *         data-api="https://api.example.com/api/track"></script>
 * data-base="/shop": a site served below a path; its pages report their paths below it (/shop/a -> /a).
 * API: ghost.track(name, props), ghost.identify(userId | null), ghost.visitor() */
(function (w, d) {
  'use strict';
  try {
    var IDLE = 18e5, HOUR = 36e5, MAX = 50, L = location, N = navigator;
    var me = d.currentScript || d.querySelector('script[data-site-id]');
    if (!me || (w.ghost && w.ghost.visitor)) return;
    var site = +me.getAttribute('data-site-id');
    var api = me.getAttribute('data-api') || new URL(me.src, L.href).origin + '/api/track';
    var base = (me.getAttribute('data-base') || '').replace(/\/+$/, '');
    var path = function () {
      var p = L.pathname;
      return base && (p == base || p.indexOf(base + '/') == 0) ? p.slice(base.length) || '/' : p;
    };
    var mem = {}, store;
    try { store = w.localStorage; store.setItem('ghost_t', 1); store.removeItem('ghost_t'); } catch (e) { store = 0; }
    var get = function (k) {
      try { return store ? store.getItem(k) : mem[k]; } catch (e) { return mem[k]; }
    };
    var set = function (k, v) {
      mem[k] = v;
      try { if (store) v == null ? store.removeItem(k) : store.setItem(k, v); } catch (e) {}
    };
    var hex = function (n) {
      var a = new Uint8Array(n), s = '', i;
      try { crypto.getRandomValues(a); } catch (e) { for (i = 0; i < n; i++) a[i] = Math.random() * 256; }
      for (i = 0; i < n; i++) s += (a[i] + 256).toString(16).slice(1);
      return s;
    };
    var vid = function () {
      var v = get('ghost_vid');
      if (!/^gv_[0-9a-f]{8}_[0-9a-f]{8}$/.test(v)) set('ghost_vid', v = 'gv_' + hex(4) + '_' + hex(4));
      return v;
    };
    // A session ends after 30 minutes without events; the next event starts a new one.
    var sid = function (now) {
      var s = get('ghost_sid');
      if (!s || now - (+get('ghost_seen') || 0) > IDLE) set('ghost_sid', s = 'gs_' + hex(8));
      set('ghost_seen', '' + now);
      return s;
    };
    var queue;
    try { queue = JSON.parse(get('ghost_q')) || []; } catch (e) { queue = []; }
    var save = function () { set('ghost_q', queue.length ? JSON.stringify(queue) : null); };
    var drop = function (sent) {
      queue = queue.filter(function (q) { return sent.indexOf(q) < 0; });
      save();
    };
    var emit = function (detail) {
      try { w.dispatchEvent(new CustomEvent('ghost:response', { detail: detail })); } catch (e) {}
    };
    var busy = 0, wait = 0, timer;
    // Everything queued goes in one text/plain POST (no CORS preflight); offsets date queued events.
    var flush = function (hidden) {
      var now = Date.now();
      queue = queue.filter(function (q) { return now - q.t < HOUR; }).slice(-MAX);
      if (!queue.length) return save();
      var sent = queue.slice(), body;
      // Bodies stay under the collector's 64 KB: a big queue goes out in halves, the rest after.
      while ((body = JSON.stringify({
        events: sent.map(function (q) {
          var e = {}, k;
          for (k in q.e) e[k] = q.e[k];
          e.offset_ms = Math.min(0, q.t - now);
          return e;
        })
      })).length > 6e4 && sent.length > 1) sent = sent.slice(0, sent.length >> 1);
      if (hidden) {
        try { if (N.sendBeacon(api, body)) drop(sent); } catch (e) {}
        return;
      }
      if (busy) return;
      busy = 1;
      var done = function (ok, status, dropped) {
        busy = 0;
        if (ok) { drop(sent); wait = 0; } else { wait = Math.min((wait || 1e3) * 2, 6e4); }
        clearTimeout(timer);
        if (queue.length) timer = setTimeout(flush, ok ? 0 : wait);
        emit({ status: status, dropped: dropped });
      };
      fetch(api, { method: 'POST', body: body, keepalive: true, credentials: 'omit' }).then(function (r) {
        // 4xx: these events will never be accepted (resending cannot help); 429 and 5xx: retry later.
        done(r.status < 500 && r.status != 429 && r.status != 408, r.status, r.headers.get('X-Ghost-Dropped'));
      }, function () { done(0, 0, null); });
    };
    var clean = function (props) {
      var out = {}, n = 0, k, v, t;
      if (props && typeof props == 'object') {
        for (k in props) {
          v = props[k];
          t = typeof v;
          if (n < 30 && k && k.length < 65 && (v == null || t == 'string' || t == 'boolean' ||
              (t == 'number' && isFinite(v) && Math.abs(v) < 9007199254740992))) {
            out[k] = typeof v == 'string' ? v.slice(0, 512) : v;
            n++;
          }
        }
      }
      return out;
    };
    var uid = get('ghost_uid'), ref = d.referrer, last;
    try {
      // Only where the visitor came from: another site's origin and path, never its query.
      var u = new URL(ref);
      ref = /^http/.test(u.protocol) && u.host != L.host ? (u.origin + u.pathname).slice(0, 1000) : '';
    } catch (e) { ref = ''; }
    var send = function (type, name, props) {
      var now = Date.now(), q = L.search.slice(1).split('&').filter(function (p) { return /^utm_/i.test(p); });
      var e = {
        site_id: site, ghost_vid: vid(), session_id: sid(now), type: type, event_id: 'ev_' + hex(12),
        page: (path().slice(0, 1024) + (q.length ? '?' + q.join('&') : '')).slice(0, 4096),
        page_title: d.title.slice(0, 512)
      };
      if (name) e.event_name = name;
      if (props) e.props = props;
      if (uid) e.user_id = uid;
      if (ref && type == 'pageview') { e.referrer = ref; ref = ''; }
      queue.push({ e: e, t: now });
      save();
      flush();
    };
    var safe = function (f) {
      return function () { try { return f.apply(0, arguments); } catch (e) {} };
    };
    var pageview = safe(function () {
      if (L.pathname != last) { last = L.pathname; send('pageview'); }
    });
    var later = function () { setTimeout(pageview, 0); };
    var push = history.pushState;
    history.pushState = function () {
      var r = push.apply(this, arguments);
      later();
      return r;
    };
    w.addEventListener('popstate', later);
    // Back/forward into a page kept in the browser's memory (bfcache) is a new view of it too.
    w.addEventListener('pageshow', function (e) { if (e.persisted) { last = 0; later(); } });
    d.addEventListener('visibilitychange', safe(function () { if (d.visibilityState == 'hidden') flush(1); }));
    w.addEventListener('pagehide', safe(function () { flush(1); }));
    var stub = w.ghost;
    var ghost = w.ghost = {
      track: safe(function (name, props) {
        if (name) send('custom_event', ('' + name).slice(0, 128), clean(props));
      }),
      // Attaches userId to later events (also after reloads); records `identify` when it changes.
      identify: safe(function (id) {
        id = id == null || id === '' ? null : ('' + id).slice(0, 256);
        if (id == uid) return;
        set('ghost_uid', uid = id);
        if (id) send('custom_event', 'identify');
      }),
      visitor: function () {
        return { ghost_vid: vid(), session_id: get('ghost_sid'), user_id: uid };
      }
    };
    pageview();
    if (stub && stub.q) stub.q.forEach(function (c) { if (ghost[c[0]]) ghost[c[0]].apply(0, [].slice.call(c, 1)); });
  } catch (e) {}
})(window, document);
