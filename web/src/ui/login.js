import { useState } from 'preact/hooks';
import { ApiError, clearCache, prime, request, setSignedIn } from '../api.js';
import { navigate } from '../router.js';
import { html } from './common.js';

export function Login({ next }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);

  async function submit(event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    try {
      const account = await request('POST', '/api/auth/login', { email: form.get('email'), password: form.get('password') });
      clearCache();
      if (Array.isArray(account?.sites)) prime('/api/me', account);
      setSignedIn(true);
      navigate(next || '/', { replace: true });
    } catch (e) {
      setError(e.status === 401 ? 'Wrong email or password.' : e instanceof ApiError ? e.message : String(e));
      setBusy(false);
    }
  }

  return html`<main id="main" class="login">
    <form class="card login-card" onSubmit=${submit} aria-labelledby="login-title">
      <h1 id="login-title">Sign in to Ghost ID</h1>
      <label for="email">Email</label>
      <input id="email" name="email" type="email" autocomplete="username" required />
      <label for="password">Password</label>
      <input id="password" name="password" type="password" autocomplete="current-password" required />
      ${error && html`<p class="error" role="alert" id="login-error">${error}</p>`}
      <button type="submit" class="button primary" disabled=${busy}>${busy ? 'Signing in…' : 'Sign in'}</button>
    </form>
  </main>`;
}
