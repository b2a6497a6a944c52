// A plan's notes: a thread of notes and replies.

import { h } from './dom.js';
import { t, formatTime } from './i18n.js';
import * as c from './client.js';
import { buildForm, enumLabel } from './forms.js';
import { render, formClosed, toast } from './shell.js';
import * as guard from './guard.js';
import { mayCreate, mayWriteField } from './access.js';
import { card, addButton, byTime, byline } from './views.js';
import * as tr from './translation.js';

// NEW_NOTE is what a new note starts as: an update, which claims nothing
// (praise, a question or a concern is the writer's choice).
const NEW_NOTE = { kind: 'update' };

export async function notesTab(ctx) {
  const notes = byTime(await c.list(ctx.space, 'notes'));
  await tr.prepare(ctx, notes, ['text']);
  const ids = new Set(notes.map((n) => n.id));
  const top = notes.filter((n) => !c.val(n, 'reply_to') || !ids.has(c.val(n, 'reply_to')));
  const me = c.currentUser();
  const mine = { author_name: (me && me.name) || '' };
  // Only staff mark a note urgent (it is sent past quiet hours).
  const omit = mayWriteField(ctx, 'urgent') ? ['author_name'] : ['author_name', 'urgent'];
  const note = (n) => {
    const author = byline(ctx.space, c.meta(n, 'text')?.author, c.val(n, 'author_name'));
    const time = c.meta(n, 'text')?.time;
    const replies = notes.filter((r) => c.val(r, 'reply_to') === n.id);
    return h('li', {},
      card(ctx, n, {
        omit,
        heading: [c.val(n, 'urgent') === true ? [h('span', { class: 'badge urgent', 'data-urgent': 'true' }, t('notes.urgent')), ' '] : null,
          enumLabel('notes', 'kind', c.val(n, 'kind') || 'update'), ' · ', author],
        body: [h('p', { class: 'muted' }, formatTime(time)), tr.text(ctx, n, 'text')],
        extra: mayCreate(ctx) ? replyButton(ctx, n, mine, omit) : null,
      }),
      replies.length ? h('ol', { class: 'replies' }, replies.map(note)) : null);
  };
  return h('div', {}, h('p', { class: 'muted' }, t('notes.intro')),
    top.length === 0 ? h('p', { class: 'muted' }, t('notes.none')) : h('ol', { class: 'thread' }, top.map(note)),
    addButton(ctx, t('notes.add'), { fixed: mine, omit, defaults: NEW_NOTE }));
}

function replyButton(ctx, n, mine, omit) {
  const wrap = h('span', {});
  const b = h('button', { type: 'button', class: 'secondary', 'data-action': 'reply' }, t('notes.reply'));
  b.addEventListener('click', () => {
    const article = b.closest('article');
    const form = buildForm({
      kind: 'student', collection: 'notes', record: null, fixed: { ...mine, reply_to: n.id }, omit, defaults: NEW_NOTE, submit: 'notes.sendReply',
      onSave: async (fields) => {
        await guard.put(ctx, null, fields);
        toast(t('saved.device'));
        form.remove();
        render();
      },
      onCancel: () => {
        form.remove();
        b.focus();
        formClosed();
      },
    });
    article.append(form);
    form.querySelector('select, textarea')?.focus();
  });
  wrap.append(b);
  return wrap;
}

