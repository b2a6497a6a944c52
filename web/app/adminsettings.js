// The school's settings, for its admins: today whether a family member
// may invite a co-caregiver for the same child (off by default). A
// change is saved as soon as it is made; a failure puts the box back and
// says why.

import { h } from './dom.js';
import { t } from './i18n.js';
import * as c from './client.js';
import { box, liveStatus, problem } from './remote.js';

export async function settingsTab(school) {
  const status = liveStatus();
  const form = await box(async () => {
    const st = (await c.call('GET', `/api/schools/${school.id}/settings`)) || {};
    const cb = h('input', { type: 'checkbox', id: 'families-invite', name: 'families_invite', checked: !!st.families_invite, 'aria-describedby': 'families-invite-hint' });
    cb.addEventListener('change', async () => {
      const want = cb.checked;
      cb.disabled = true;
      status.textContent = '';
      try {
        const res = await c.call('PUT', `/api/schools/${school.id}/settings`, { families_invite: want });
        cb.checked = !!(res && res.families_invite);
        status.textContent = cb.checked ? t('adminSettings.familiesInviteOn') : t('adminSettings.familiesInviteOff');
      } catch (err) {
        cb.checked = !want;
        status.textContent = t('adminSettings.notSaved', { reason: problem(err) });
      } finally {
        cb.disabled = false;
        cb.focus();
      }
    });
    return h('div', {},
      h('div', { class: 'field check' }, cb, h('label', { for: 'families-invite' }, t('adminSettings.familiesInvite'))),
      h('p', { class: 'hint', id: 'families-invite-hint' }, t('adminSettings.familiesInviteHint')));
  });
  return h('div', {}, form, status);
}
