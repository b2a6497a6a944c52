// Signing in with a login and password (school staff, and families who
// chose a passphrase). Shown before the wasm client has loaded (boot.js),
// so it imports only what auth.js does; it signs in over HTTP when the
// client is not running yet.

import { h } from './dom.js';
import { t } from './i18n.js';
import * as auth from './auth.js';

export function signInScreen() {
  const login = h('input', { name: 'login', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const status = h('p', { class: 'muted', role: 'status' });
  const button = h('button', { type: 'submit' }, t('signin.submit'));
  const form = h('form', { class: 'auth', id: 'signin' }, auth.field(t('signin.login'), login), auth.field(t('signin.password'), password), error, status, button);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.hidden = true;
    button.disabled = true;
    status.textContent = '';
    const slow = setTimeout(() => { status.textContent = t('signin.opening'); }, 1000);
    try {
      await auth.signIn(login.value.trim(), password.value);
      const { go } = await import('./shell.js');
      go('#/');
    } catch (err) {
      error.textContent = err && err.code === 'unauthorized' ? t('signin.wrong') : auth.errorText(err);
      error.hidden = false;
    } finally {
      clearTimeout(slow);
      status.textContent = '';
      button.disabled = false;
    }
  });
  return {
    title: t('signin.title'),
    node: h('div', {}, h('p', {}, t('signin.intro')), form, h('p', { class: 'alt' }, t('signin.family'), ' ', h('a', { href: '#/join' }, t('join.link'))),
      h('p', { class: 'alt' }, h('a', { href: '#/setup', id: 'setup-link', class: 'tap-link' }, t('setup.link')))),
  };
}
