// The school's admin screens: its people (adminpeople.js), its students
// and who is on each plan (adminplans.js), and its settings
// (adminsettings.js). Only an admin of the school is shown them: anyone
// else gets a notice, and no link leads here for them. The server
// checks every request again.
//
// Routes: #/admin/<school>/<tab> and #/admin/plan/<student space>.

import { h } from './dom.js';
import { t } from './i18n.js';
import * as c from './client.js';
import { tabs, spaceInfo } from './views.js';
import { peopleTab } from './adminpeople.js';
import { studentsTab, planMembersScreen } from './adminplans.js';
import { settingsTab } from './adminsettings.js';

export const ADMIN_TABS = ['people', 'students', 'settings'];

// adminSchools are the schools this person administers, as the device
// knows them (offline too).
export async function adminSchools() {
  return (await c.spaces()).filter((s) => s.kind === 'school' && s.role === 'admin');
}

// adminLink is the way into the admin screens, for admins only.
export async function adminLinks() {
  const schools = await adminSchools();
  if (schools.length === 0) return null;
  return h('section', { 'aria-labelledby': 'h-admin' }, h('h2', { id: 'h-admin' }, t('admin.title')),
    h('ul', { class: 'links' }, schools.map((s) => h('li', {},
      h('a', { href: `#/admin/${s.id}/people`, class: 'big-link', id: `admin-${s.id}` }, t('admin.manage', { school: s.name || t('home.unnamed') }))))));
}

function notAdmin() {
  return { title: t('admin.title'), node: h('p', { class: 'notice', role: 'alert' }, t('admin.onlyAdmins')) };
}

// known is a space as the device knows it or, when the device does not
// know it yet (a plan made a moment ago, before the sync connection has
// listed it), as the server does.
async function known(id) {
  const sp = await spaceInfo(id);
  if (sp.role) return sp;
  try {
    const me = await c.call('GET', '/api/me');
    const s = ((me && me.spaces) || []).find((x) => x.id === id);
    return s ? { id, name: s.name || '', kind: s.kind || '', role: s.role || '' } : sp;
  } catch {
    return sp;
  }
}

export async function adminScreen(parts) {
  if (parts[0] === 'plan' && parts[1]) {
    const sp = await known(parts[1]);
    if (sp.role !== 'admin') return notAdmin();
    return planMembersScreen(sp);
  }
  const school = parts[0];
  const sp = await spaceInfo(school);
  if (sp.kind !== 'school' || sp.role !== 'admin') return notAdmin();
  const tab = ADMIN_TABS.includes(parts[1]) ? parts[1] : 'people';
  const base = `#/admin/${school}`;
  let content;
  if (tab === 'students') content = await studentsTab(sp);
  else if (tab === 'settings') content = await settingsTab(sp);
  else content = await peopleTab(sp);
  return {
    title: t('admin.schoolTitle', { school: sp.name || t('home.unnamed') }),
    crumbs: [{ href: `${base}/${tab}`, label: tabLabel(tab) }],
    node: h('div', { class: 'admin', 'data-school': school }, tabs(base, ADMIN_TABS, tab, 'admin'),
      h('p', {}, h('a', { href: `#/calls/${school}`, id: 'calls-link', class: 'button secondary' }, t('calls.link'))),
      h('section', { 'aria-labelledby': 'h-tab', class: 'tab' }, h('h2', { id: 'h-tab' }, tabLabel(tab)), content)),
  };
}

function tabLabel(tab) {
  if (tab === 'students') return t('admin.students');
  if (tab === 'settings') return t('admin.settings');
  return t('admin.people');
}
