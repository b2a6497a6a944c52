// What the screens share for showing records: fields in words, a record's
// card with its conflicts, edit, history and delete, the button that
// opens a form for a new record, tabs, and sorting oldest first.

import { h } from './dom.js';
import { t, langName, formatTime, formatDate, isRTL, currentLang } from './i18n.js';
import { formatNumber } from './numbers.js';
import * as c from './client.js';
import { buildForm, collectionSchema, fieldLabel, enumLabel, errorText } from './forms.js';
import { render, scheduleRender, formClosed, go, toast } from './shell.js';
import { mayCreate, mayEdit, mayDelete, mayRead } from './access.js';
import * as guard from './guard.js';
import * as translation from './translation.js';

// Records whose authors' names were asked of the server once.
const askedNames = new Set();

// field, a labelled input of the sign-in and join forms, lives in auth.js
// now (those screens load before this module); screens may still take it
// from here.
export { field } from './auth.js';

// spaceInfo is a space this person belongs to, {id, name, kind, role},
// or one with no role (which may do nothing) when the device does not
// know it.
export async function spaceInfo(space) {
  const s = (await c.spaces()).find((x) => x.id === space);
  return s || { id: space, name: '', kind: '', role: '' };
}

// tabs lists the sections of a space that the role may read (readable
// says which); the list wraps onto a second line on a narrow screen, so
// no tab hides off screen.
export function tabs(base, list, current, prefix, readable = () => true) {
  return h('nav', { class: 'tabs', 'aria-label': t('nav.sections') },
    h('ul', {}, list.filter(readable).map((tab) => h('li', {}, h('a', { href: `${base}/${tab}`, 'aria-current': tab === current ? 'page' : null }, t(`${prefix}.${tab}`))))));
}

// notReadable stands in for a section the role may not see.
export function notReadable() {
  return h('p', { class: 'notice' }, t('access.notForRole'));
}

export { mayRead };

export function who(id) {
  const me = c.currentUser();
  if (me && id === me.id) return t('person.you');
  return c.nameOf(id) || t('person.someone');
}

// creator is the first write of a record ({author, time}): the field
// written earliest, which the record's creator wrote.
export function creator(rec) {
  let first = null;
  for (const f of Object.values((rec && rec.fields) || {})) {
    if (f && f.time && (!first || f.time < first.time)) first = f;
  }
  return first ? { author: first.author, time: first.time } : { author: '', time: 0 };
}

// byline names who wrote something from the author the server stamped,
// with their role in the space; a free-text "signed as" (a note's
// author_name) may add to it, never replace it.
export function byline(space, id, signedAs) {
  const name = who(id);
  const role = c.roleOf(space, id);
  const known = ['family', 'teacher', 'support', 'admin', 'interpreter'].includes(role);
  const me = c.currentUser();
  if ((!known || !c.nameOf(id)) && id && !(me && me.id === id)) c.learnTeam(space, scheduleRender);
  const base = known ? t('byline.withRole', { name, role: t(`role.${role}`) }) : name;
  const extra = (signedAs || '').trim();
  if (!extra || extra === c.nameOf(id)) return base;
  return t('byline.signedAs', { byline: base, signedAs: extra });
}

export function textAttrs(kind, collection, name, rec) {
  const f = collectionSchema(kind, collection).fields.find((x) => x.name === name);
  if (!f || !f.text) return { dir: 'auto' };
  const lang = f.langField ? c.val(rec, f.langField) : '';
  return lang ? { lang, dir: isRTL(lang) ? 'rtl' : 'auto' } : { dir: 'auto' };
}

// formatValue shows a stored value in words.
export function formatValue(collection, path, f, v) {
  if (v === undefined || v === null || v === '') return '';
  switch (f.type) {
    case 'enum':
      return enumLabel(collection, path, v);
    case 'lang':
      return langName(v);
    case 'date':
      return formatDate(v);
    case 'timestamp':
      return formatTime(v);
    case 'bool':
      return v ? t('form.yes') : t('form.no');
    case 'number':
      return formatNumber(v, currentLang());
    case 'list':
      if (!Array.isArray(v) || v.length === 0) return '';
      if (f.elem.type === 'object') {
        return h('ul', { class: 'plain' }, v.map((item) => h('li', {}, f.elem.fields
          .map((sub) => formatValue(collection, `${path}.${sub.name}`, sub, item && item[sub.name]))
          .filter((x) => x !== '').flatMap((x, i) => (i ? [' · ', x] : [x])))));
      }
      return v.map((x) => formatValue(collection, path, f.elem, x)).join(', ');
    default:
      return String(v);
  }
}

// fieldsList shows the named fields that have a value, as a description
// list; texts carry their language, and show in the reader's when
// translated (translation.js; ctx, when given, is the screen's, for the
// role's "this translation is wrong" and the interpreter's editor).
export function fieldsList(kind, collection, rec, names, ctx) {
  const schema = collectionSchema(kind, collection);
  const rows = [];
  for (const name of names) {
    const f = schema.fields.find((x) => x.name === name);
    const v = c.val(rec, name);
    const shown = formatValue(collection, name, f, v);
    if (shown === '') continue;
    rows.push(h('dt', {}, fieldLabel(collection, name)), f.text && typeof v === 'string'
      ? translation.text({ kind, space: rec.space, role: '', ...ctx, collection }, rec, name, 'dd')
      : h('dd', f.text ? { ...textAttrs(kind, collection, name, rec), class: 'text' } : {}, shown));
  }
  return rows.length ? h('dl', { class: 'fields' }, rows) : null;
}

// card shows a record with its conflicts (where they happened), its
// content, and edit / history / delete. A deleted record is shown only
// while its delete crossed an edit (c.deleteInDoubt): then the conflict
// panel decides, and it offers no edit or delete. Edit and delete appear
// only where the role table says the server would take them.
export function card(ctx, rec, opts) {
  const { kind, space, collection } = ctx;
  const level = opts.level || 3; // of the card's heading; its conflicts' are below it
  const body = h('div', { class: 'card-body' }, opts.body);
  const article = h('article', { class: 'card', 'data-id': rec.id, 'data-collection': collection, 'aria-label': opts.label || null },
    opts.heading ? h(`h${level}`, {}, opts.heading) : null,
    conflictPanel(ctx, rec, level + 1),
    body);
  const buttons = h('div', { class: 'actions' });
  if (opts.open) buttons.append(h('a', { href: opts.open, class: 'button secondary' }, t('card.open')));
  if (opts.editable !== false && !rec.deleted && mayEdit(ctx, rec)) {
    const edit = h('button', { type: 'button', class: 'secondary', 'data-action': 'edit' }, t('card.edit'));
    edit.addEventListener('click', () => {
      const form = buildForm({
        kind, collection, record: rec, omit: opts.omit, fixed: {}, labels: opts.labels, hints: opts.hints,
        onSave: async (fields) => {
          await guard.put(ctx, rec, fields);
          toast(t('saved.device'));
          form.remove();
          body.hidden = false;
          buttons.hidden = false;
          render();
        },
        onCancel: () => {
          form.remove();
          body.hidden = false;
          buttons.hidden = false;
          edit.focus();
          formClosed();
        },
      });
      body.hidden = true;
      buttons.hidden = true;
      article.append(form);
      form.querySelector('input, select, textarea')?.focus();
    });
    buttons.append(edit);
  }
  buttons.append(h('a', { href: `#/h/${space}/${collection}/${rec.id}`, class: 'button secondary' }, t('card.history')));
  if (opts.removable !== false && !rec.deleted && mayDelete(ctx, rec)) {
    buttons.append(h('button', {
      type: 'button', class: 'secondary danger', 'data-action': 'delete',
      onclick: async () => {
        if (!window.confirm(t('card.confirmDelete'))) return;
        try {
          await guard.remove(ctx, rec);
          toast(t('saved.deleted'));
          if (opts.afterDelete) go(opts.afterDelete);
          else render();
        } catch (err) {
          toast(errorText(err));
        }
      },
    }, t('card.delete')));
  }
  if (opts.extra) buttons.append(opts.extra);
  article.append(buttons);
  return article;
}

// deletedField stands in the conflict panel for the reserved field of a
// delete (c.DELETED), which no schema lists: its versions are true (the
// delete) and false (an edit made without seeing it), shown as yes / no
// under "Deleted"; keeping false restores the record.
const deletedField = { name: c.DELETED, type: 'bool' };

// conflictPanel shows the versions of each field two people changed
// without seeing each other, and lets the reader keep one, the other, or
// a text they edit (which resolves the conflict for everyone).
function conflictPanel(ctx, rec, level) {
  const fields = c.conflicted(rec);
  if (fields.length === 0) return null;
  const { kind, space, collection } = ctx;
  const schema = collectionSchema(kind, collection);
  const hl = `h${Math.min(level, 6)}`;
  const hf = `h${Math.min(level + 1, 6)}`;
  const authors = new Set();
  const groups = fields.map((name) => {
    const m = c.meta(rec, name);
    const versions = [{ value: m.value, author: m.author, time: m.time }, ...m.conflicts];
    versions.forEach((v) => authors.add(v.author));
    const f = name === c.DELETED ? deletedField : schema.fields.find((x) => x.name === name);
    return { name, f, versions };
  });
  if ([...authors].some((a) => !c.nameOf(a) && a !== c.currentUser()?.id) && !askedNames.has(rec.id)) {
    // Learn the names from the record's history, when online.
    askedNames.add(rec.id);
    c.history(space, collection, rec.id).then(scheduleRender).catch(() => {});
  }
  const people = [...authors];
  const thing = t(`thing.${collection}`);
  const me = c.currentUser();
  let title;
  if (people.length === 2 && me && people.includes(me.id)) {
    title = t('conflict.youAnd', { other: who(people.find((p) => p !== me.id)), thing });
  } else if (people.length >= 2) {
    title = t('conflict.two', { a: who(people[0]), b: who(people[1]), thing });
  } else {
    title = t('conflict.same', { thing });
  }
  const panel = h('section', { class: 'conflict', role: 'group', 'aria-label': t('conflict.label') },
    h(hl, { class: 'conflict-title' }, title),
    h('p', {}, t('conflict.explain')));
  for (const g of groups) {
    const label = g.name === c.DELETED ? t('history.deleted') : fieldLabel(collection, g.name);
    const box = h('div', { class: 'conflict-field', 'data-field': g.name }, h(hf, {}, label));
    // Keeping a version writes the field (the delete field for a delete),
    // which the role must be allowed to.
    const mayKeep = g.name === c.DELETED ? mayDelete(ctx, rec) : mayEdit(ctx, rec);
    if (!mayKeep) box.append(h('p', { class: 'muted' }, t('conflict.othersDecide')));
    g.versions.forEach((v, i) => {
      // A field the schema no longer lists is shown as it is.
      const shown = g.f ? formatValue(collection, g.name, g.f, v.value) : String(v.value ?? '');
      box.append(h('div', { class: 'version', 'data-version': i },
        h('p', { class: 'byline' }, t('conflict.by', { name: who(v.author), time: formatTime(v.time) })),
        h('div', { class: 'text', ...textAttrs(kind, collection, g.name, rec) }, shown === '' ? t('conflict.empty') : shown),
        !mayKeep ? null : h('button', {
          type: 'button', 'data-action': 'keep', 'data-version': i,
          onclick: async () => {
            try {
              await guard.resolve(ctx, rec, g.name, v.value ?? null);
              toast(t('saved.device'));
              render();
            } catch (err) {
              toast(errorText(err));
            }
          },
        }, t('conflict.keep'))));
    });
    if (mayKeep && g.f && g.f.type === 'string') {
      const edit = h('button', { type: 'button', class: 'secondary', 'data-action': 'merge' }, t('conflict.edit'));
      edit.addEventListener('click', () => {
        const area = h('textarea', { id: `merge-${rec.id}-${g.name}`, rows: 5, maxlength: g.f.maxLen || null, dir: 'auto', value: g.versions.map((v) => v.value || '').join('\n\n') });
        const form = h('form', { class: 'record-form merge' },
          h('label', { for: area.id }, t('conflict.editLabel')), area,
          h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('conflict.saveEdited')),
            h('button', { type: 'button', class: 'secondary', onclick: () => { form.remove(); edit.hidden = false; formClosed(); } }, t('form.cancel'))));
        form.addEventListener('submit', async (ev) => {
          ev.preventDefault();
          try {
            await guard.resolve(ctx, rec, g.name, area.value);
            toast(t('saved.device'));
            form.remove();
            render();
          } catch (err) {
            toast(errorText(err));
          }
        });
        edit.hidden = true;
        box.append(form);
        area.focus();
      });
      box.append(edit);
    }
    panel.append(box);
  }
  return panel;
}

// addButton opens a form for a new record below itself; it is null where
// the role may not add one.
export function addButton(ctx, label, opts = {}) {
  if (!mayCreate(ctx, opts.fixed || {})) return null;
  const wrap = h('div', { class: 'add' });
  const open = h('button', { type: 'button', 'data-action': 'add', 'data-collection': ctx.collection }, label);
  open.addEventListener('click', () => {
    const form = buildForm({
      kind: ctx.kind, collection: ctx.collection, record: null, fixed: opts.fixed, omit: opts.omit, defaults: opts.defaults, submit: 'form.add',
      labels: opts.labels, hints: opts.hints,
      onSave: async (fields) => {
        const id = await guard.put(ctx, null, fields);
        toast(t('saved.device'));
        form.remove();
        open.hidden = false;
        if (opts.then && id) go(opts.then(id));
        else render();
      },
      onCancel: () => {
        form.remove();
        open.hidden = false;
        open.focus();
        formClosed();
      },
    });
    open.hidden = true;
    wrap.append(form);
    form.querySelector('input, select, textarea')?.focus();
  });
  wrap.append(open);
  return wrap;
}

// firstTimes maps each record to c.firstTime, computed once per sort
// rather than twice per comparison.
export function firstTimes(recs) {
  return new Map(recs.map((r) => [r, c.firstTime(r)]));
}

// byTime sorts recs in place, oldest first, and returns them.
export function byTime(recs) {
  const tm = firstTimes(recs);
  return recs.sort((a, b) => tm.get(a) - tm.get(b));
}

