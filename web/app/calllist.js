// The office's call list (GET /api/notify/call-list): who to ring, in
// which language, about what, for the people no message channel reaches
// (a school without email, text or push, or a family that asked for a
// phone call). Only the school's admin sees it; the server checks again.
// It prints as a plain table (style.css, @media print).
//
// Route: #/calls/<school>.

import { h } from './dom.js';
import { t, formatTime, langName } from './i18n.js';
import * as c from './client.js';
import { spaceInfo } from './views.js';
import { box } from './remote.js';
import { printButton } from './inviteslip.js';

export async function callListScreen(school) {
  const sp = await spaceInfo(school);
  const title = t('calls.title', { school: sp.name || t('home.unnamed') });
  if (sp.kind !== 'school' || sp.role !== 'admin') {
    return { title, node: h('p', { class: 'notice', role: 'alert' }, t('admin.onlyAdmins')) };
  }
  const list = await box(async () => {
    const res = await c.call('GET', '/api/notify/call-list');
    const calls = (res && res.calls) || [];
    if (calls.length === 0) return h('p', { class: 'muted', id: 'calls-none' }, t('calls.none'));
    return h('table', { class: 'calls', id: 'calls' },
      h('caption', {}, t('calls.caption', { n: calls.length })),
      h('thead', {}, h('tr', {}, ['who', 'phone', 'language', 'plan', 'about', 'since'].map((k) => h('th', { scope: 'col' }, t(`calls.${k}`))))),
      h('tbody', {}, calls.map((x) => h('tr', { 'data-user': x.user },
        h('th', { scope: 'row' }, x.who || ''),
        h('td', { translate: 'no', 'data-label': t('calls.phone') }, x.phone ? h('a', { href: `tel:${x.phone}` }, x.phone) : t('calls.noPhone')),
        h('td', { 'data-label': t('calls.language') }, langName(x.language) || x.language || ''),
        h('td', { 'data-label': t('calls.plan') }, x.plan || ''),
        h('td', { lang: x.language || null, dir: 'auto', 'data-label': t('calls.about') }, x.about || ''),
        h('td', { 'data-label': t('calls.since') }, x.since ? formatTime(x.since) : '')))));
  });
  return {
    title,
    crumbs: [{ href: `#/admin/${school}/people`, label: t('admin.title') }, { href: `#/calls/${school}`, label: t('calls.crumb') }],
    node: h('div', { class: 'call-list', 'data-school': school },
      h('p', { class: 'muted' }, t('calls.intro')),
      h('div', { class: 'actions' }, printButton()),
      list),
  };
}
