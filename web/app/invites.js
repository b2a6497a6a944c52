// A student's invites: make one for a family member (a slip follows, see
// inviteslip.js) and see every invite the server keeps: open, claimed (by
// whom, when), expired, burned (too many wrong codes) or revoked, with a
// way to take back any that nobody claimed. Teachers and admins see them
// all; a family member, where the school lets families invite a
// co-caregiver, sees and makes their own. Invites live on the server
// only, so this screen needs the network.

import { h, nextId } from './dom.js';
import { t, tn, formatTime, langName, UI_LANGS, currentLang } from './i18n.js';
import * as c from './client.js';
import { errorText } from './forms.js';
import { go, render, toast } from './shell.js';
import { spaceInfo } from './views.js';
import { holdSlip } from './inviteslip.js';

// LIST_FRESH is how long a fetched invite list serves the screen's
// rebuilds (every synced record rebuilds it) before it is asked again.
const LIST_FRESH = 5000; // ms
// SETTING_FRESH is how long a school's "families invite" setting is
// trusted before it is read again.
const SETTING_FRESH = 60000; // ms

const lists = new Map(); // space -> {at, invites}
const settings = new Map(); // space -> {at, allowed}

// mayInvite says whether the server would take an invite to space from
// this person: a teacher or admin always, a family member when the
// school's families_invite is on (asked of the server; offline, no).
export async function mayInvite(space, role) {
  if (role === 'teacher' || role === 'admin') return true;
  if (role !== 'family') return false;
  const got = settings.get(space);
  if (got && Date.now() - got.at < SETTING_FRESH) return got.allowed;
  let allowed = false;
  try {
    const me = await c.call('GET', '/api/me');
    const sp = ((me && me.spaces) || []).find((s) => s.id === space);
    if (sp && sp.school) {
      const st = await c.call('GET', `/api/schools/${sp.school}/settings`);
      allowed = !!(st && st.families_invite);
    }
  } catch {
    return false; // not known now: ask again on the next rebuild
  }
  settings.set(space, { at: Date.now(), allowed });
  return allowed;
}

// inviteLink is the plan's way to its invites, where this person may
// invite: "Invite a family member" for staff, "Invite another caregiver"
// for a family member.
export async function inviteLink(space, role) {
  if (!(await mayInvite(space, role))) return null;
  return h('p', { class: 'add' }, h('a', { class: 'button', href: `#/s/${space}/invites`, 'data-action': 'invites' },
    role === 'family' ? t('invites.inviteCaregiver') : t('invites.inviteFamily')));
}

// fetchList asks for the invites and the team (whose roles say which
// invites a family member made), {invites, roles}.
async function fetchList(space) {
  const got = lists.get(space);
  if (got && Date.now() - got.at < LIST_FRESH) return got.data;
  const [invites, team] = await Promise.all([c.call('GET', `/api/spaces/${space}/invites`), c.call('GET', `/api/spaces/${space}/team`)]);
  const roles = new Map();
  for (const m of team || []) {
    roles.set(m.id, m.role);
    c.learnName(m.id, m.name);
  }
  const data = { invites: invites || [], roles };
  lists.set(space, { at: Date.now(), data });
  return data;
}

export async function invitesScreen(space) {
  const sp = await spaceInfo(space);
  const crumbs = [{ href: `#/s/${space}/family`, label: sp.name || t('plan.title') }, { href: `#/s/${space}/invites`, label: t('invites.title') }];
  const title = t('invites.titleFor', { name: sp.name || t('plan.title') });
  if (!(await mayInvite(space, sp.role))) {
    return { title, crumbs, node: h('p', { class: 'notice' }, t('invites.notForRole')) };
  }
  let list;
  try {
    list = listView(space, sp.role, await fetchList(space));
  } catch (err) {
    list = h('p', { class: 'notice', role: 'alert' }, t('invites.needsNetwork'), ' ', errorText(err));
  }
  return {
    title,
    crumbs,
    node: h('div', { class: 'invites' },
      h('section', { 'aria-labelledby': 'h-new-invite' },
        h('h2', { id: 'h-new-invite' }, sp.role === 'family' ? t('invites.inviteCaregiver') : t('invites.inviteFamily')),
        h('p', { class: 'muted' }, sp.role === 'family' ? t('invites.introFamily') : t('invites.intro')),
        newInviteForm(space)),
      h('section', { 'aria-labelledby': 'h-invites' }, h('h2', { id: 'h-invites' }, t('invites.list')), list)),
  };
}

function newInviteForm(space) {
  const id = nextId('invite-lang');
  const lang = h('select', { id, name: 'language', value: UI_LANGS.includes(currentLang()) ? currentLang() : 'en' },
    UI_LANGS.map((l) => h('option', { value: l }, langName(l))));
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const button = h('button', { type: 'submit' }, t('invites.make'));
  const form = h('form', { class: 'invite-form', id: 'new-invite' },
    h('div', { class: 'field' }, h('label', { for: id }, t('invites.language')), lang,
      h('p', { class: 'hint' }, t('invites.languageHint'))),
    error, button);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.hidden = true;
    button.disabled = true;
    try {
      const res = await c.call('POST', '/api/invites', { space, language: lang.value });
      lists.delete(space);
      holdSlip({ space, code: res.code, expires: res.expires, lang: lang.value });
      go(`#/s/${space}/slip`);
    } catch (err) {
      error.textContent = errorText(err);
      error.hidden = false;
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

function listView(space, role, { invites, roles }) {
  if (invites.length === 0) return h('p', { class: 'muted' }, t('invites.none'));
  // Newest first: the one just made, or the one a family calls about.
  return h('ul', { class: 'plain-list invite-list' }, [...invites].reverse().map((inv) => inviteItem(space, role, inv, roles.get(inv.by))));
}

function inviteItem(space, role, inv, byRole) {
  const me = c.currentUser();
  const name = inv.by_name || c.nameOf(inv.by) || t('person.someone');
  // A family member's invite is a co-caregiver's: the teacher is told so.
  const madeBy = me && inv.by === me.id ? t('invites.byYou')
    : byRole === 'family' && role !== 'family' ? t('invites.byFamily', { name }) : t('invites.by', { name });
  const lines = [h('p', { class: 'byline' }, madeBy, ' · ', formatTime(inv.created), inv.language ? ` · ${langName(inv.language)}` : '')];
  let state;
  switch (inv.state) {
    case 'open':
      state = t('invites.state_open');
      lines.push(h('p', {}, t('invites.openUntil', { date: formatTime(inv.expires) })));
      if (inv.failures > 0) lines.push(h('p', { class: 'muted' }, tn('invites.failures', inv.failures)));
      break;
    case 'claimed':
      state = t('invites.state_claimed');
      lines.push(h('p', {}, t('invites.claimedBy', { name: (inv.claimed_by && inv.claimed_by.name) || t('person.someone'), date: formatTime(inv.claimed_at) })));
      break;
    case 'expired':
      state = t('invites.state_expired');
      lines.push(h('p', {}, t('invites.expiredOn', { date: formatTime(inv.expires) })));
      break;
    case 'burned':
      state = t('invites.state_burned');
      lines.push(h('p', { class: 'notice', 'data-note': 'burned' }, t('invites.burnedNote', { date: formatTime(inv.burned_at) })));
      break;
    case 'revoked':
      state = t('invites.state_revoked');
      lines.push(h('p', {}, t('invites.revokedOn', { date: formatTime(inv.revoked_at) })));
      break;
    default:
      state = inv.state || '';
  }
  const revocable = inv.state !== 'claimed' && inv.state !== 'revoked';
  const headId = nextId('invite');
  return h('li', { class: 'card invite', 'data-invite': inv.id, 'data-state': inv.state, 'aria-labelledby': headId },
    h('h3', { id: headId, tabindex: '-1' }, t('invites.code', { id: inv.id }), ' ', h('span', { class: 'badge' }, state)),
    lines,
    revocable ? h('div', { class: 'actions' }, h('button', {
      type: 'button', class: 'danger', 'data-action': 'revoke', 'aria-describedby': headId,
      onclick: () => revoke(space, inv.id),
    }, t('invites.revoke'))) : null);
}

async function revoke(space, id) {
  if (!window.confirm(t('invites.revokeConfirm', { id }))) return;
  try {
    await c.call('DELETE', `/api/spaces/${space}/invites/${encodeURIComponent(id)}`);
    toast(t('invites.revoked'));
  } catch (err) {
    toast(errorText(err));
  }
  lists.delete(space);
  await render();
  // The button is gone with the rebuild: keep the keyboard on that invite.
  document.querySelector(`#main li.invite[data-invite="${CSS.escape(id)}"] h3`)?.focus();
}
