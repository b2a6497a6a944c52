// Joining a student's plan with an invite code from the school.

import { h } from './dom.js';
import { t } from './i18n.js';
import * as c from './client.js';
import { errorText } from './forms.js';
import { go } from './shell.js';
import { field } from './views.js';

export function joinScreen() {
  // The slip's link carries the code in the fragment: #/join?code=...
  const linked = new URLSearchParams(location.hash.split('?')[1] || '').get('code') || '';
  const code = h('input', { name: 'code', value: linked, required: true, autocomplete: 'one-time-code', autocapitalize: 'characters', spellcheck: 'false' });
  const name = h('input', { name: 'name', required: true, autocomplete: 'name' });
  const pass = h('input', { name: 'passphrase', type: 'password', autocomplete: 'new-password' });
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const button = h('button', { type: 'submit' }, t('join.submit'));
  const form = h('form', { class: 'auth', id: 'join' },
    field(t('join.code'), code), field(t('join.name'), name), field(t('join.passphrase'), pass),
    h('p', { class: 'hint' }, t('join.passphraseHint')), error, button);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.hidden = true;
    button.disabled = true;
    try {
      const res = await c.join(code.value.trim(), name.value.trim(), pass.value);
      // A passphrase made a login: show it to write down (loginslip.js).
      go(pass.value && res && res.user && res.user.login ? '#/login' : '#/');
    } catch (err) {
      error.textContent = errorText(err);
      error.hidden = false;
    } finally {
      button.disabled = false;
    }
  });
  const back = c.signedIn() ? null : h('p', { class: 'alt' }, h('a', { href: '#/signin' }, t('join.back')));
  return { title: t('join.title'), node: h('div', {}, h('p', {}, t('join.intro')), form, back) };
}
