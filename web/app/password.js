// Settings: change your own password or passphrase. Staff, and families
// who chose a passphrase when they joined (the account has a login); a
// family on a device-only account has none to change. It asks for the
// current one; every other device signs out, this one stays.

import { h, nextId } from './dom.js';
import { t, tn } from './i18n.js';
import * as c from './client.js';
import { field } from './views.js';
import { onSubmit, errorLine, liveStatus } from './remote.js';

const MIN_LEN = 8; // server/auth MinPasswordLen, in characters

export function passwordSection() {
  const me = c.state()?.user;
  if (!me || !me.login) return null;
  const id = nextId('pw');
  const current = h('input', { name: 'current', id: `${id}-cur`, type: 'password', autocomplete: 'current-password', required: true });
  const next = h('input', { name: 'password', id: `${id}-new`, type: 'password', autocomplete: 'new-password', required: true, minlength: String(MIN_LEN), 'aria-describedby': `${id}-hint` });
  const again = h('input', { name: 'again', id: `${id}-again`, type: 'password', autocomplete: 'new-password', required: true });
  const error = errorLine();
  const status = liveStatus();
  const form = h('form', { class: 'auth', id: 'change-password' },
    field(t('password.current'), current), field(t('password.new'), next),
    h('p', { class: 'hint', id: `${id}-hint` }, t('password.hint', { n: MIN_LEN })),
    field(t('password.again'), again), error,
    h('button', { type: 'submit' }, t('password.submit')));
  onSubmit(form, error, async () => {
    status.textContent = '';
    if ([...next.value].length < MIN_LEN) throw { code: 'short' };
    if (next.value !== again.value) throw { code: 'mismatch' };
    const res = await c.call('POST', '/api/me/password', { current: current.value, password: next.value });
    const n = (res && res.ended) || 0;
    status.textContent = n > 0 ? `${t('password.changed')} ${tn('password.ended', n)}` : t('password.changed');
  }, {
    forbidden: t('password.wrongCurrent'), short: t('password.tooShort', { n: MIN_LEN }), invalid: t('password.tooShort', { n: MIN_LEN }),
    mismatch: t('password.mismatch'),
  });
  return h('section', { 'aria-labelledby': 'h-password' }, h('h2', { id: 'h-password' }, t('password.title')),
    h('p', { class: 'muted' }, t('password.intro')), form, status);
}
