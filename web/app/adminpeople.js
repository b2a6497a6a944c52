// The admin's "People" tab: everyone at the school (GET the school
// space's team), with disable / enable and, for staff, a password reset
// that shows a one-time setup code, never a password; and the form that
// adds a teacher or support staff member.
//
// A new staff member gets a random password nobody sees and, at once, a
// setup code: the admin hands over the code, the person chooses their own
// password with it (#/setup), and no password ever passes through the
// admin's hands or screen.

import { h, nextId } from './dom.js';
import { t, formatTime } from './i18n.js';
import * as c from './client.js';
import { field } from './views.js';
import { box, onSubmit, errorLine, liveStatus, problem } from './remote.js';
import { roleName } from './team.js';

const STAFF = ['admin', 'teacher', 'support'];

export async function peopleTab(school) {
  const status = liveStatus();
  let list = null;
  list = await box(() => peopleList(school, status, () => list.refresh()));
  return h('div', {}, status, list, addStaffForm(school, list));
}

async function peopleList(school, status, refresh) {
  const team = (await c.call('GET', `/api/spaces/${school.id}/team`)) || [];
  const me = c.currentUser();
  const staff = team.filter((m) => STAFF.includes(m.role));
  const families = team.filter((m) => !STAFF.includes(m.role));
  const item = (m) => {
    const slot = h('div', { class: 'slot' });
    const mine = me && me.id === m.id;
    const toggle = mine ? null : h('button', {
      type: 'button', class: m.disabled ? 'secondary' : 'danger', 'data-action': m.disabled ? 'enable' : 'disable',
      onclick: async (ev) => {
        ev.currentTarget.disabled = true;
        try {
          await c.call('POST', `/api/users/${m.id}/${m.disabled ? 'enable' : 'disable'}`);
          status.textContent = m.disabled ? t('admin.enabled', { name: m.name }) : t('admin.disabled', { name: m.name });
          await refresh();
          focusUser(m.id, m.disabled ? 'disable' : 'enable');
        } catch (err) {
          slot.replaceChildren(h('p', { class: 'error', role: 'alert' }, problem(err)));
          ev.target.disabled = false;
        }
      },
    }, m.disabled ? t('admin.enable') : t('admin.disable'));
    const reset = mine || !STAFF.includes(m.role) ? null : h('button', {
      type: 'button', class: 'secondary', 'data-action': 'reset',
      onclick: async (ev) => {
        ev.currentTarget.disabled = true;
        try {
          const res = await c.call('POST', `/api/users/${m.id}/password-reset`);
          slot.replaceChildren(setupSlip(m.name, res));
          slot.querySelector('.setup-slip').focus();
        } catch (err) {
          slot.replaceChildren(h('p', { class: 'error', role: 'alert' }, problem(err)));
        } finally {
          ev.target.disabled = false;
        }
      },
    }, t('admin.resetPassword'));
    return h('li', { class: 'card', 'data-user': m.id, 'data-role': m.role },
      h('h4', {}, m.name || t('home.unnamed'), m.disabled ? h('span', { class: 'badge' }, t('team.disabled')) : null),
      h('p', { class: 'byline' }, roleName(m.role)),
      mine ? h('p', { class: 'muted' }, t('admin.thisIsYou')) : h('div', { class: 'actions' }, toggle, reset),
      slot);
  };
  return h('div', {},
    h('h3', {}, t('admin.staff')),
    staff.length ? h('ul', { class: 'links people' }, staff.map(item)) : h('p', { class: 'muted' }, t('admin.noStaff')),
    h('h3', {}, t('admin.families')),
    families.length ? h('ul', { class: 'links people' }, families.map(item)) : h('p', { class: 'muted' }, t('admin.noFamilies')));
}

function focusUser(id, action) {
  document.querySelector(`.people li[data-user="${id}"] button[data-action=${action}]`)?.focus();
}

// setupSlip shows a setup code once, with what to do with it.
export function setupSlip(name, res) {
  const url = `${location.origin}${location.pathname}#/setup`;
  return h('div', { class: 'setup-slip', tabindex: '-1', role: 'group', 'aria-label': t('admin.slipLabel', { name }) },
    h('p', {}, t('admin.slipFor', { name })),
    h('p', { class: 'setup-code', 'data-code': res.code, translate: 'no' }, res.code),
    h('p', {}, t('admin.slipHow', { url })),
    h('p', { class: 'muted' }, t('admin.slipExpires', { time: formatTime(res.expires) })),
    h('p', { class: 'muted' }, t('admin.slipOnce')));
}

// randomPassword is the password a new staff account starts with: 32
// characters from 24 random bytes that nobody sees (the setup code
// replaces it).
function randomPassword() {
  const b = crypto.getRandomValues(new Uint8Array(24));
  return btoa(String.fromCharCode(...b));
}

function addStaffForm(school, list) {
  const id = nextId('staff');
  const name = h('input', { name: 'name', id: `${id}-name`, required: true, autocomplete: 'off', maxlength: '200' });
  const login = h('input', { name: 'login', id: `${id}-login`, required: true, autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', maxlength: '64' });
  const role = h('select', { name: 'role', id: `${id}-role` },
    h('option', { value: 'teacher', selected: true }, t('role.teacher')), h('option', { value: 'support' }, t('role.support')));
  const error = errorLine();
  const result = h('div', { class: 'result' });
  const form = h('form', { class: 'auth', id: 'add-staff', 'aria-labelledby': `${id}-h` },
    h('h3', { id: `${id}-h` }, t('admin.addStaff')),
    field(t('admin.staffName'), name), field(t('admin.staffLogin'), login),
    h('p', { class: 'hint', id: `${id}-hint` }, t('admin.staffLoginHint')),
    field(t('admin.staffRole'), role), error,
    h('button', { type: 'submit' }, t('admin.addStaffSubmit')));
  login.setAttribute('aria-describedby', `${id}-hint`);
  onSubmit(form, error, async () => {
    const who = name.value.trim();
    const u = await c.call('POST', '/api/staff', { school: school.id, name: who, login: login.value.trim(), password: randomPassword(), role: role.value });
    let slip;
    try {
      slip = setupSlip(u.name || who, await c.call('POST', `/api/users/${u.id}/password-reset`));
    } catch (err) {
      // The account exists; only its code is missing: say so, and the
      // list offers "Reset password" for it.
      slip = h('p', { class: 'error', role: 'alert', tabindex: '-1' }, t('admin.addedNoCode', { name: who, reason: problem(err) }));
    }
    result.replaceChildren(h('p', { class: 'notice' }, t('admin.staffAdded', { name: u.name || who, role: roleName(role.value) })), slip);
    await list.refresh();
    result.querySelector('[tabindex="-1"]')?.focus();
    return true;
  }, { exists: t('admin.loginTaken'), invalid: t('admin.staffInvalid') });
  return h('div', {}, form, result);
}
