// The school's space: its services and events.

import { h } from './dom.js';
import { t, currentLang } from './i18n.js';
import * as c from './client.js';
import { spaceInfo, mayRead, notReadable, tabs, card, addButton, textAttrs, fieldsList } from './views.js';

export const SCHOOL_TABS = ['services', 'events'];

export async function schoolScreen(space, tab) {
  const sp = await spaceInfo(space);
  const ctx = { kind: 'school', space, collection: tab, role: sp.role };
  const readable = (tb) => mayRead({ ...ctx, collection: tb });
  const recs = (await c.list(space, tab)).sort(tab === 'events'
    ? (a, b) => String(c.val(a, 'starts_at') || '').localeCompare(String(c.val(b, 'starts_at') || ''))
    : (a, b) => String(c.val(a, 'name') || '').localeCompare(String(c.val(b, 'name') || ''), currentLang()));
  const base = `#/school/${space}`;
  const list = tab === 'events'
    ? recs.map((r) => card(ctx, r, {
      heading: h('span', textAttrs('school', 'events', 'title', r), c.val(r, 'title') || ''),
      body: fieldsList('school', 'events', r, ['kind', 'starts_at', 'ends_at', 'place', 'description', 'languages']),
    }))
    : recs.map((r) => card(ctx, r, {
      heading: c.val(r, 'name') || '',
      body: fieldsList('school', 'services', r, ['kind', 'offers', 'contact', 'languages', 'cost']),
    }));
  return {
    title: sp.name || t('school.title'),
    crumbs: [{ href: `${base}/${tab}`, label: t(`school.${tab}`) }],
    node: h('div', { class: 'school' }, tabs(base, SCHOOL_TABS, tab, 'school', readable),
      h('section', { 'aria-labelledby': 'h-tab', class: 'tab' }, h('h2', { id: 'h-tab' }, t(`school.${tab}`)),
        recs.length === 0 ? h('p', { class: 'muted' }, t(`school.none_${tab}`)) : list,
        addButton(ctx, t(`school.add_${tab}`)))),
  };
}

