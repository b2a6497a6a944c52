// "Ana's team": everyone on a student's plan, with their role, since
// when, and the languages they use. Every member may see it; it comes
// from the server (GET /api/spaces/{space}/team), so it needs the
// network. An admin finds here the way to change who is on the plan; a
// teacher may remove a family member here (they invite them).

import { h } from './dom.js';
import { t, langName, formatTime } from './i18n.js';
import * as c from './client.js';
import { spaceInfo } from './views.js';
import { box, liveStatus, confirmButton } from './remote.js';

// roleName is a role in words ("teacher"), or the role itself when unknown.
export function roleName(role) {
  switch (role) {
    case 'admin': return t('role.admin');
    case 'teacher': return t('role.teacher');
    case 'support': return t('role.support');
    case 'family': return t('role.family');
    default: return role || '';
  }
}

// memberFacts is a member's role, since when, languages and who invited
// them, as a description list.
export function memberFacts(m) {
  const rows = [h('dt', {}, t('team.role')), h('dd', { 'data-role': m.role }, roleName(m.role))];
  if (m.since) rows.push(h('dt', {}, t('team.since')), h('dd', {}, formatTime(m.since)));
  const langs = (m.languages || []).map(langName).filter(Boolean);
  rows.push(h('dt', {}, t('team.languages')), h('dd', {}, langs.length ? langs.join(', ') : t('team.noLanguages')));
  if (m.invited_by && m.invited_by.name) rows.push(h('dt', {}, t('team.invitedBy')), h('dd', {}, m.invited_by.name));
  return h('dl', { class: 'fields' }, rows);
}

// teacherMayRemove is the server's rule (server/auth/team.go,
// RemoveMember) as a teacher meets it: a student's teachers remove the
// family members they invited, never staff. An admin removes anyone but
// an admin from the plan's member page (#/admin/plan/...), linked below,
// so an admin is offered no second way here.
function teacherMayRemove(myRole, m) {
  return myRole === 'teacher' && m.role === 'family';
}

export async function teamScreen(space) {
  const sp = await spaceInfo(space);
  const name = sp.name || t('plan.title');
  const status = liveStatus();
  let list = null;
  list = await box(async () => {
    const team = (await c.call('GET', `/api/spaces/${space}/team`)) || [];
    for (const m of team) c.learnName(m.id, m.name);
    if (team.length === 0) return h('p', { class: 'muted' }, t('team.none'));
    return h('ul', { class: 'links team' }, team.map((m) => h('li', { class: 'card', 'data-user': m.id, 'data-role': m.role },
      h('h3', {}, m.name || t('home.unnamed'), m.disabled ? h('span', { class: 'badge' }, t('team.disabled')) : null),
      memberFacts(m),
      teacherMayRemove(sp.role, m) ? h('div', { class: 'actions' },
        confirmButton(t('admin.remove'), t('admin.removeAsk', { name: m.name, student: name }), t('admin.removeYes'), async () => {
          await c.call('DELETE', `/api/spaces/${space}/members/${m.id}`);
          status.textContent = t('admin.removed', { name: m.name, student: name });
          await list.refresh();
          document.getElementById('h-team')?.focus();
        })) : null)));
  });
  const admin = sp.role === 'admin'
    ? h('p', { class: 'alt' }, h('a', { href: `#/admin/plan/${space}`, id: 'manage-plan', class: 'tap-link' }, t('team.manage', { name })))
    : null;
  return {
    title: t('team.title', { name }),
    crumbs: [{ href: `#/s/${space}/goals`, label: name }, { href: `#/s/${space}/team`, label: t('team.crumb') }],
    node: h('div', { class: 'team-screen', 'data-space': space }, h('p', { class: 'muted' }, t('team.intro')),
      h('section', { 'aria-labelledby': 'h-team' }, h('h2', { id: 'h-team', tabindex: '-1' }, t('team.members')), status, list), admin),
  };
}
