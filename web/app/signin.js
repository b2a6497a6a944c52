// Signing in with a login and password (school staff, and families who
// chose a passphrase).

import { h } from './dom.js';
import { t } from './i18n.js';
import * as c from './client.js';
import { errorText } from './forms.js';
import { go } from './shell.js';
import { field } from './views.js';

export function signInScreen() {
  const login = h('input', { name: 'login', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const button = h('button', { type: 'submit' }, t('signin.submit'));
  const form = h('form', { class: 'auth', id: 'signin' }, field(t('signin.login'), login), field(t('signin.password'), password), error, button);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.hidden = true;
    button.disabled = true;
    try {
      await c.signIn(login.value.trim(), password.value);
      go('#/');
    } catch (err) {
      error.textContent = err && err.code === 'unauthorized' ? t('signin.wrong') : errorText(err);
      error.hidden = false;
    } finally {
      button.disabled = false;
    }
  });
  return {
    title: t('signin.title'),
    node: h('div', {}, h('p', {}, t('signin.intro')), form, h('p', { class: 'alt' }, t('signin.family'), ' ', h('a', { href: '#/join' }, t('join.link'))),
      h('p', { class: 'alt' }, h('a', { href: '#/setup', id: 'setup-link', class: 'tap-link' }, t('setup.link')))),
  };
}
