// A plan's meetings.

import { h } from './dom.js';
import { t } from './i18n.js';
import * as c from './client.js';
import { card, addButton, byTime, fieldsList } from './views.js';
import { prepare } from './translation.js';

export async function meetingsTab(ctx) {
  const ms = byTime(await c.list(ctx.space, 'meetings'));
  await prepare(ctx, ms, ['title', 'agenda', 'notes', 'agreed_actions']);
  return h('div', {}, h('p', { class: 'muted' }, t('meetings.intro')),
    ms.length === 0 ? h('p', { class: 'muted' }, t('meetings.none')) : ms.map((m) => card(ctx, m, {
      heading: c.val(m, 'title') || t('meetings.untitled'),
      body: fieldsList('student', 'meetings', m, ['status', 'proposed_times', 'duration_minutes', 'agenda', 'attendees',
        'interpreter_needed', 'interpreter_language', 'notes', 'agreed_actions', 'lang'], ctx),
    })),
    addButton(ctx, t('meetings.add')));
}

