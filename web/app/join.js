// Joining a student's plan with an invite code from the school. The link
// on an invite slip opens #/join?code=CODE (the code in the fragment
// reaches no server log) and fills the code in. This screen is shown
// before the wasm client has loaded (boot.js), so it imports only what
// auth.js does; it claims the code over HTTP when the client is not
// running yet (auth.js).

import { h } from './dom.js';
import { t } from './i18n.js';
import * as c from './client.js';
import * as auth from './auth.js';

// codeFromLink reads the code of #/join?code=CODE.
export function codeFromLink(hash = location.hash) {
  const q = hash.indexOf('?');
  if (q < 0) return '';
  return (new URLSearchParams(hash.slice(q + 1)).get('code') || '').trim();
}

export function joinScreen() {
  const code = h('input', { name: 'code', required: true, autocomplete: 'one-time-code', autocapitalize: 'characters', spellcheck: 'false' });
  code.value = codeFromLink();
  const name = h('input', { name: 'name', required: true, autocomplete: 'name' });
  const pass = h('input', { name: 'passphrase', type: 'password', autocomplete: 'new-password' });
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const status = h('p', { class: 'muted', role: 'status' });
  const button = h('button', { type: 'submit' }, t('join.submit'));
  const form = h('form', { class: 'auth', id: 'join' },
    auth.field(t('join.code'), code), auth.field(t('join.name'), name),
    auth.field(t('join.passphrase'), pass, t('join.passphraseHint')), error, status, button);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.hidden = true;
    button.disabled = true;
    status.textContent = '';
    // The claim answers in a second; the app may take longer to load
    // behind it on a slow link, so say what is happening.
    const slow = setTimeout(() => { status.textContent = t('join.opening'); }, 1000);
    try {
      const res = await auth.join(code.value.trim(), name.value.trim(), pass.value);
      // A passphrase made a login: show it to write down (loginslip.js).
      const login = (res && res.user && res.user.login) || c.login();
      const { go } = await import('./shell.js');
      go(pass.value && login ? '#/login' : '#/');
    } catch (err) {
      error.textContent = auth.errorText(err);
      error.hidden = false;
    } finally {
      clearTimeout(slow);
      status.textContent = '';
      button.disabled = false;
    }
  });
  const back = c.signedIn() ? null : h('p', { class: 'alt' }, h('a', { href: '#/signin' }, t('join.back')));
  return { title: t('join.title'), node: h('div', {}, h('p', {}, t('join.intro')), form, back) };
}
