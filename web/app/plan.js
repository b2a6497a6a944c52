// A student's plan: its tabs, the About tab and the Family tab. Goals,
// notes and meetings have modules of their own.

import { h } from './dom.js';
import { t } from './i18n.js';
import * as c from './client.js';
import { collectionSchema, enumLabel } from './forms.js';
import { spaceInfo, tabs, mayRead, notReadable, byline, creator, card, addButton, byTime, fieldsList } from './views.js';
import { goalsTab } from './goals.js';
import { notesTab } from './notes.js';
import { meetingsTab } from './meetings.js';
import { inviteLink } from './invites.js';
import * as tr from './translation.js';

export const STUDENT_TABS = ['about', 'goals', 'notes', 'meetings', 'family'];

export async function studentScreen(space, tab) {
  const sp = await spaceInfo(space);
  const ctx = (collection) => ({ kind: 'student', space, collection, role: sp.role });
  const base = `#/s/${space}`;
  // A tab shows a collection of the same name (goals also shows actions
  // and check-ins on each goal's page).
  const readable = (tb) => mayRead(ctx(tb));
  let content;
  switch (readable(tab) ? tab : '') {
    case '':
      content = notReadable();
      break;
    case 'about':
      content = await aboutTab(ctx('about'));
      break;
    case 'notes':
      content = await notesTab(ctx('notes'));
      break;
    case 'meetings':
      content = await meetingsTab(ctx('meetings'));
      break;
    case 'family':
      content = await familyTab(ctx('family'));
      break;
    default:
      content = await goalsTab(ctx('goals'));
  }
  return {
    title: sp.name || t('plan.title'),
    crumbs: [{ href: `${base}/${tab}`, label: t(`plan.${tab}`) }],
    node: h('div', { class: 'plan', 'data-space': space }, tabs(base, STUDENT_TABS, tab, 'plan', readable),
      h('p', { class: 'team-link' }, h('a', { href: `${base}/team`, id: 'team-link' }, t('team.title', { name: sp.name || t('plan.title') }))),
      h('section', { 'aria-labelledby': 'h-tab', class: 'tab' }, h('h2', { id: 'h-tab' }, t(`plan.${tab}`)), content)),
  };
}

async function aboutTab(ctx) {
  const recs = byTime(await c.list(ctx.space, 'about'));
  await tr.prepare(ctx, recs, ['text']);
  const kinds = collectionSchema('student', 'about').fields.find((f) => f.name === 'kind').enum;
  const groups = kinds.map((k) => {
    const rs = recs.filter((r) => c.val(r, 'kind') === k);
    if (rs.length === 0) return null;
    return h('section', { class: 'group' }, h('h3', {}, enumLabel('about', 'kind', k)),
      rs.map((r) => card(ctx, r, { body: tr.text(ctx, r, 'text') })));
  });
  return h('div', {}, h('p', { class: 'muted' }, t('about.intro')),
    recs.length === 0 ? h('p', { class: 'muted' }, t('about.none')) : groups, addButton(ctx, t('about.add')));
}

// familyTab shows every family profile: two caregivers may each have
// written one, offline, and neither hides the other. Another caregiver may
// add theirs.
async function familyTab(ctx) {
  const recs = byTime(await c.list(ctx.space, 'family'));
  await tr.prepare(ctx, recs, ['best_times', 'barriers_detail']);
  const names = ['preferred_language', 'contact_methods', 'best_times', 'barriers', 'barriers_detail', 'lang'];
  return h('div', {}, h('p', { class: 'muted' }, t('family.intro')),
    recs.map((fam) => card(ctx, fam, {
      heading: t('family.by', { name: byline(ctx.space, creator(fam).author) }),
      body: fieldsList('student', 'family', fam, names, ctx),
      removable: false,
    })),
    addButton(ctx, recs.length === 0 ? t('family.add') : t('family.addAnother')),
    await inviteLink(ctx.space, ctx.role));
}
