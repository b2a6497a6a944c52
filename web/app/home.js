// Home: the plans and schools this person belongs to.

import { h } from './dom.js';
import { t, currentLang } from './i18n.js';
import * as c from './client.js';
import { syncState } from './shell.js';
import { adminLinks } from './admin.js';

export async function homeScreen() {
  const all = await c.spaces();
  const students = all.filter((s) => s.kind === 'student').sort((a, b) => a.name.localeCompare(b.name, currentLang()));
  const schools = all.filter((s) => s.kind === 'school');
  const me = c.currentUser();
  const node = h('div', {},
    me && me.name ? h('p', {}, t('home.hello', { name: me.name })) : null,
    syncState().status === 'stopped' && syncState().reason === 'unauthorized'
      ? h('p', { class: 'notice', role: 'alert' }, t('sync.signedOut'), ' ', h('a', { href: '#/signin' }, t('signin.title'))) : null,
    h('section', { 'aria-labelledby': 'h-students' },
      h('h2', { id: 'h-students' }, t('home.students')),
      students.length === 0 ? h('p', { class: 'muted' }, t('home.noStudents')) : h('ul', { class: 'links' },
        students.map((s) => h('li', {}, h('a', { href: `#/s/${s.id}/goals`, class: 'big-link', 'data-space': s.id }, s.name || t('home.unnamed')))))),
    schools.length === 0 ? null : h('section', { 'aria-labelledby': 'h-schools' },
      h('h2', { id: 'h-schools' }, t('home.school')),
      h('ul', { class: 'links' }, schools.map((s) => h('li', {}, h('a', { href: `#/school/${s.id}/services`, class: 'big-link' }, s.name || t('home.unnamed')))))),
    await adminLinks(),
    h('p', { class: 'alt' }, h('a', { href: '#/join' }, t('home.joinAnother'))));
  return { title: t('home.title'), node };
}
