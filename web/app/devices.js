// Settings: your devices. Every session of this account (GET
// /api/sessions) with its name, when it was last used and where it
// signed in; revoke one, or sign out everywhere else. A revoked device's
// socket closes and it is signed out at once (the server closes it with
// unauthorized).

import { h } from './dom.js';
import { t, tn, formatTime } from './i18n.js';
import * as c from './client.js';
import { box, liveStatus, confirmButton, problem } from './remote.js';

export async function devicesSection() {
  if (!c.signedIn()) return null;
  const status = liveStatus();
  let list = null;
  list = await box(async () => {
    const all = (await c.call('GET', '/api/sessions')) || [];
    const others = all.filter((s) => !s.current);
    const item = (s) => h('li', { class: 'card', 'data-session': s.id, 'data-current': s.current ? 'true' : null },
      h('h3', {}, s.label || t('devices.unnamed'), s.current ? h('span', { class: 'badge' }, t('devices.thisOne')) : null),
      h('dl', { class: 'fields' },
        h('dt', {}, t('devices.lastSeen')), h('dd', {}, s.last_seen ? formatTime(s.last_seen) : t('devices.notSeen')),
        s.client ? [h('dt', {}, t('devices.where')), h('dd', { translate: 'no' }, s.client)] : null,
        h('dt', {}, t('devices.since')), h('dd', {}, formatTime(s.created))),
      s.current ? null : h('div', { class: 'actions' }, confirmButton(t('devices.revoke'), t('devices.revokeAsk', { name: s.label || t('devices.unnamed') }), t('devices.revokeYes'), async () => {
        await c.call('DELETE', `/api/sessions/${encodeURIComponent(s.id)}`);
        status.textContent = t('devices.revoked', { name: s.label || t('devices.unnamed') });
        await list.refresh();
        document.getElementById('h-devices')?.focus();
      })));
    const everywhere = others.length === 0 ? h('p', { class: 'muted' }, t('devices.onlyThis')) : h('p', {}, h('button', {
      type: 'button', class: 'danger', id: 'signout-others',
      onclick: async (ev) => {
        const b = ev.currentTarget;
        b.disabled = true;
        try {
          const res = await c.call('DELETE', '/api/sessions');
          status.textContent = tn('devices.ended', (res && res.ended) || 0);
          await list.refresh();
          document.getElementById('h-devices')?.focus();
        } catch (err) {
          status.textContent = problem(err);
          b.disabled = false;
        }
      },
    }, t('devices.signOutOthers')));
    return h('div', {}, h('ul', { class: 'links devices' }, all.map(item)), everywhere);
  }, {}, true);
  return h('section', { 'aria-labelledby': 'h-devices' }, h('h2', { id: 'h-devices', tabindex: '-1' }, t('devices.title')),
    h('p', { class: 'muted' }, t('devices.intro')), status, list);
}
