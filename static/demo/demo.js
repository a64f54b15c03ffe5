// The demo site's own code: a tiny single-page app (history.pushState routes), buttons that call
// ghost.track / ghost.identify, and a panel that reads this very session back from the read API.
(function () {
  'use strict';
  var VIEWS = {
    '/demo/': ['Home', 'Widgets for every workflow', 'Browse the features, check the pricing, then talk to sales.'],
    '/demo/features': ['Features', 'Features', 'Fast widgets, friendly widgets, widgets that scale.'],
    '/demo/pricing': ['Pricing', 'Pricing', 'Starter $0 · Team $29 · Enterprise: talk to sales.'],
    '/demo/demo': ['Book a demo', 'Book a demo', 'Thirty minutes with an engineer, on your own data.']
  };
  var $ = function (id) { return document.getElementById(id); };

  function render() {
    var view = VIEWS[location.pathname] || VIEWS['/demo/'];
    document.title = view[0] + ' · Ghost ID demo';
    $('view').innerHTML = '<h1></h1><p></p>';
    $('view').firstChild.textContent = view[1];
    $('view').lastChild.textContent = view[2];
  }

  // Single-page navigation: the tracker sees pushState and back/forward (popstate) by itself.
  document.addEventListener('click', function (event) {
    var link = event.target.closest && event.target.closest('a[data-route]');
    if (!link || event.metaKey || event.ctrlKey) return;
    event.preventDefault();
    if (link.pathname !== location.pathname) {
      history.pushState({}, '', link.pathname);
      render();
    }
  });
  window.addEventListener('popstate', render);

  $('cta').addEventListener('click', function () {
    window.ghost && ghost.track('cta_clicked', { section: location.pathname });
  });
  $('video').addEventListener('click', function () {
    window.ghost && ghost.track('video_played', { video: 'product-tour', autoplay: false });
  });
  $('identify-form').addEventListener('submit', function (event) {
    event.preventDefault();
    window.ghost && ghost.identify($('email').value);
  });

  // What the tracker knows, and what the collector answered last.
  function showVisit() {
    if (!window.ghost || !ghost.visitor) return;
    var visit = ghost.visitor(), html = '';
    Object.keys(visit).forEach(function (key) {
      html += '<dt>' + key + '</dt><dd data-field="' + key + '"></dd>';
    });
    $('visit').innerHTML = html;
    Object.keys(visit).forEach(function (key) {
      $('visit').querySelector('[data-field="' + key + '"]').textContent = visit[key] || '—';
    });
    document.querySelectorAll('.sid').forEach(function (el) { el.textContent = visit.session_id; });
    $('curl').textContent =
      "curl -s -H 'Authorization: Bearer <a key from: ghostid apikey create --site 4 --name demo>' '" +
      location.origin + '/api/session/' + visit.session_id + "?siteId=4'";
  }
  window.addEventListener('ghost:response', function (event) {
    var d = event.detail || {};
    $('collector').textContent = 'Collector: HTTP ' + (d.status || 'unreachable (events kept, retried later)') +
      (d.dropped ? ' — dropped as a bot (X-Ghost-Dropped: ' + d.dropped + '); headless browsers are filtered' : '');
    showVisit();
  });

  // The read API with the session cookie the sign-in sets (HttpOnly: this page never sees the token).
  var signedIn = false;
  function showAccount(account) {
    signedIn = !!account;
    $('signin-form').hidden = signedIn;
    $('signed-in').hidden = !signedIn;
    $('who').textContent = account ? account.user_id : '';
  }
  function load(url, target) {
    fetch(url, { credentials: 'same-origin' })
      .then(function (r) { return r.json(); })
      .then(function (body) { $(target).textContent = JSON.stringify(body, null, 2); })
      .catch(function (error) { $(target).textContent = String(error); });
  }
  function refresh() {
    if (!signedIn || !window.ghost) return;
    load('/api/session/' + encodeURIComponent(ghost.visitor().session_id) + '?siteId=4', 'session-json');
    load('/api/stats?siteId=4&timeRange=24h', 'stats-json');
  }
  $('signin-form').addEventListener('submit', function (event) {
    event.preventDefault();
    fetch('/api/auth/login', {
      method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: $('signin-email').value, password: $('signin-password').value })
    }).then(function (r) {
      return r.json().then(function (body) {
        $('signin-error').textContent = r.ok ? '' : body.error.message;
        if (r.ok) { showAccount(body); refresh(); }
      });
    });
  });
  $('signout').addEventListener('click', function () {
    fetch('/api/auth/logout', { method: 'POST', credentials: 'same-origin' }).then(function () {
      showAccount(null);
    });
  });

  render();
  window.addEventListener('load', function () {
    fetch('/api/me', { credentials: 'same-origin' })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (account) { showAccount(account); refresh(); });
    showVisit();
    setInterval(refresh, 3000);
  });
})();
