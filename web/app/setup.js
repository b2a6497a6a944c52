// Choosing a password with a one-time setup code from the school's admin
// (a new staff account, or a reset): POST /api/password/setup, then sign
// in with the login it names. Plain fetch: nobody is signed in yet.

import { h } from './dom.js';
import { t } from './i18n.js';
import * as c from './client.js';
import { field } from './views.js';
import { go } from './shell.js';
import { onSubmit, errorLine } from './remote.js';

const MIN_LEN = 8; // server/auth MinPasswordLen

export function setupScreen() {
  const code = h('input', { name: 'code', id: 'setup-code', required: true, autocomplete: 'one-time-code', autocapitalize: 'characters', spellcheck: 'false' });
  const pass = h('input', { name: 'password', id: 'setup-password', type: 'password', autocomplete: 'new-password', required: true, minlength: String(MIN_LEN), 'aria-describedby': 'setup-hint' });
  const error = errorLine();
  const done = h('div', { class: 'result' });
  const form = h('form', { class: 'auth', id: 'setup' },
    field(t('setup.code'), code), field(t('setup.password'), pass),
    h('p', { class: 'hint', id: 'setup-hint' }, t('password.hint', { n: MIN_LEN })), error,
    h('button', { type: 'submit' }, t('setup.submit')));
  onSubmit(form, error, async () => {
    if ([...pass.value].length < MIN_LEN) throw { code: 'short' };
    let res;
    try {
      res = await fetch('/api/password/setup', {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, cache: 'no-store', credentials: 'omit',
        body: JSON.stringify({ code: code.value.trim().toUpperCase(), password: pass.value }),
      });
    } catch {
      throw { code: 'network' };
    }
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw { code: (body && body.error && body.error.code) || 'internal' };
    const password = pass.value;
    if (!c.signedIn()) {
      await c.signIn(body.login, password);
      go('#/');
      return true;
    }
    done.replaceChildren(h('p', { class: 'notice', tabindex: '-1' }, t('setup.done', { login: body.login })));
    done.firstChild.focus();
    return true;
  }, { not_found: t('setup.badCode'), short: t('password.tooShort', { n: MIN_LEN }), invalid: t('password.tooShort', { n: MIN_LEN }) });
  return { title: t('setup.title'), node: h('div', {}, h('p', {}, t('setup.intro')), form, done, h('p', { class: 'alt' }, h('a', { href: '#/signin', class: 'tap-link' }, t('signin.title')))) };
}
