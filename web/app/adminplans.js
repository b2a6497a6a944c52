// The admin's students: the list of the school's students with the form
// that adds one, and, per student, who is on the plan: assign a teacher
// or support staff member, remove anyone who is not an admin (admins sit
// in every plan of their school).

import { h, nextId } from './dom.js';
import { t, currentLang } from './i18n.js';
import * as c from './client.js';
import { field } from './views.js';
import { box, onSubmit, errorLine, liveStatus, confirmButton } from './remote.js';
import { roleName, memberFacts } from './team.js';

// studentsOf lists the school's students as the server has them now
// (a plan made a moment ago included).
async function studentsOf(school) {
  const me = await c.call('GET', '/api/me');
  return ((me && me.spaces) || []).filter((s) => s.kind === 'student' && s.school === school)
    .sort((a, b) => (a.name || '').localeCompare(b.name || '', currentLang()));
}

export async function studentsTab(school) {
  let list = null;
  list = await box(async () => {
    const students = await studentsOf(school.id);
    if (students.length === 0) return h('p', { class: 'muted' }, t('admin.noStudents'));
    return h('ul', { class: 'links students' }, students.map((s) => h('li', {},
      h('a', { href: `#/admin/plan/${s.id}`, class: 'big-link', 'data-space': s.id }, t('admin.whoIsOn', { name: s.name || t('home.unnamed') })))));
  });
  return h('div', {}, list, addStudentForm(school, () => list.refresh()));
}

function addStudentForm(school, refresh) {
  const id = nextId('student');
  const name = h('input', { name: 'name', id: `${id}-name`, required: true, autocomplete: 'off', maxlength: '200' });
  const error = errorLine();
  const result = h('div', { class: 'result' });
  const form = h('form', { class: 'auth', id: 'add-student', 'aria-labelledby': `${id}-h` },
    h('h3', { id: `${id}-h` }, t('admin.addStudent')),
    field(t('admin.studentName'), name), error,
    h('button', { type: 'submit' }, t('admin.addStudentSubmit')));
  onSubmit(form, error, async () => {
    const sp = await c.call('POST', '/api/students', { school: school.id, name: name.value.trim() });
    await refresh();
    result.replaceChildren(h('p', { class: 'notice', tabindex: '-1' }, t('admin.studentAdded', { name: sp.name }), ' ',
      h('a', { href: `#/admin/plan/${sp.id}`, id: 'new-student', class: 'tap-link' }, t('admin.assignNow', { name: sp.name }))));
    result.firstChild.focus();
  }, { invalid: t('admin.studentInvalid') });
  return h('div', {}, form, result);
}

// planMembersScreen is who is on one student's plan, for an admin.
export async function planMembersScreen(sp) {
  const name = sp.name || t('plan.title');
  const status = liveStatus();
  let list = null;
  list = await box(async () => {
    const me = await c.call('GET', '/api/me');
    const school = (((me && me.spaces) || []).find((s) => s.id === sp.id) || {}).school;
    const team = (await c.call('GET', `/api/spaces/${sp.id}/team`)) || [];
    const staff = school ? ((await c.call('GET', `/api/spaces/${school}/team`)) || []).filter((m) => m.role === 'teacher' || m.role === 'support') : [];
    const members = h('ul', { class: 'links members' }, team.map((m) => h('li', { class: 'card', 'data-user': m.id, 'data-role': m.role },
      h('h3', {}, m.name || t('home.unnamed'), m.disabled ? h('span', { class: 'badge' }, t('team.disabled')) : null),
      memberFacts(m),
      m.role === 'admin' ? h('p', { class: 'muted' }, t('admin.adminsStay')) : h('div', { class: 'actions' },
        confirmButton(t('admin.remove'), t('admin.removeAsk', { name: m.name, student: name }), t('admin.removeYes'), async () => {
          await c.call('DELETE', `/api/spaces/${sp.id}/members/${m.id}`);
          status.textContent = t('admin.removed', { name: m.name, student: name });
          await list.refresh();
          document.getElementById('h-members')?.focus();
        })))));
    return h('div', {}, members, assignForm(sp, name, staff, team, status, () => list.refresh()));
  });
  return {
    title: t('admin.planTitle', { name }),
    crumbs: [{ href: `#/s/${sp.id}/goals`, label: name }, { href: `#/admin/plan/${sp.id}`, label: t('admin.planCrumb') }],
    node: h('div', { class: 'admin-plan', 'data-space': sp.id },
      h('p', {}, h('a', { href: `#/s/${sp.id}/team`, class: 'tap-link' }, t('admin.seeTeam', { name }))),
      h('h2', { id: 'h-members', tabindex: '-1' }, t('admin.members')), status, list),
  };
}

function assignForm(sp, name, staff, team, status, refresh) {
  const id = nextId('assign');
  const on = new Map(team.map((m) => [m.id, m.role]));
  const choices = staff.filter((m) => !m.disabled && on.get(m.id) !== m.role);
  if (choices.length === 0) return h('p', { class: 'muted' }, t('admin.noOneToAssign'));
  const who = h('select', { name: 'user', id: `${id}-user` }, choices.map((m, i) => h('option', { value: m.id, selected: i === 0 }, `${m.name} (${roleName(m.role)})`)));
  const role = h('select', { name: 'role', id: `${id}-role` },
    h('option', { value: 'teacher' }, t('role.teacher')), h('option', { value: 'support' }, t('role.support')));
  // The role starts as the person's role at the school.
  const follow = () => {
    const m = choices.find((x) => x.id === who.value);
    if (m) role.value = m.role;
  };
  who.addEventListener('change', follow);
  follow();
  const error = errorLine();
  const form = h('form', { class: 'assign', id: 'assign', 'aria-labelledby': `${id}-h` },
    h('h3', { id: `${id}-h` }, t('admin.assign', { name })),
    field(t('admin.assignWho'), who), field(t('admin.assignRole'), role), error,
    h('button', { type: 'submit' }, t('admin.assignSubmit')));
  onSubmit(form, error, async () => {
    const m = choices.find((x) => x.id === who.value);
    await c.call('POST', `/api/spaces/${sp.id}/members`, { user: who.value, role: role.value });
    status.textContent = t('admin.assigned', { name: m ? m.name : '', student: name, role: roleName(role.value) });
    await refresh();
    document.getElementById('h-members')?.focus();
    return false;
  });
  return form;
}
