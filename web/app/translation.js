// A text in the reader's language: the translation the server or an
// interpreter made of exactly this version of the text (its "translations"
// record, matched by the SHA-256 of the text, shared/plan/translation.go),
// labelled "machine translation" or "translated by NAME", with the
// original one tap away and always kept as written. "This translation is
// wrong" writes a flag for a person; an interpreter corrects it here.
//
// Screens call prepare(ctx, recs, fields) once (it reads the space's
// translations and hashes the texts, which is asynchronous) and then
// text(ctx, rec, field, tag) for each text, synchronously.

import { h, nextId } from './dom.js';
import { t, currentLang, langName, isRTL } from './i18n.js';
import * as c from './client.js';
import { collectionSchema } from './forms.js';
import { mayCreate, mayEdit } from './access.js';
import { render, formClosed, toast } from './shell.js';
import * as guard from './guard.js';

const TR = 'translations';
const FLAGS = 'translation_flags';
const HASHES_MAX = 2000; // texts whose hash is remembered

const hashes = new Map(); // text -> hex SHA-256
const spaces = new Map(); // space -> {byKey, flags}
const showingOriginal = new Set(); // `${id}/${field}` the reader turned back

function base(tag) {
  return String(tag || '').split('-')[0].toLowerCase();
}

async function sha256(text) {
  if (hashes.has(text)) return hashes.get(text);
  const buf = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  const hex = [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('');
  if (hashes.size >= HASHES_MAX) hashes.delete(hashes.keys().next().value);
  hashes.set(text, hex);
  return hex;
}

// translationID is plan.TranslationID: the id a translation of this text
// version into lang has on every device and on the server.
export async function translationID(collection, id, field, hash, lang) {
  const parts = ['plansync translation', collection, id, field, hash, lang.toLowerCase()];
  const bytes = new TextEncoder().encode(parts.map((p) => `${p}\0`).join(''));
  const sum = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)).slice(0, 16);
  sum[6] = (sum[6] & 0x0f) | 0x70;
  sum[8] = (sum[8] & 0x3f) | 0x80;
  const hex = [...sum].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function key(collection, id, field, hash, lang) {
  return `${collection}/${id}/${field}/${hash}/${lang}`;
}

// prepare reads the space's translations and flags and hashes the named
// text fields of recs.
export async function prepare(ctx, recs, fields) {
  if (!ctx.kind || ctx.kind !== 'student') return;
  const [trs, flags] = await Promise.all([c.list(ctx.space, TR).catch(() => []), c.list(ctx.space, FLAGS).catch(() => [])]);
  const byKey = new Map();
  for (const r of trs) {
    byKey.set(key(c.val(r, 'of_collection'), c.val(r, 'of_id'), c.val(r, 'of_field'), c.val(r, 'source_hash'), base(c.val(r, 'lang'))), r);
  }
  const byTr = new Map();
  for (const f of flags) {
    const id = c.val(f, 'translation_id');
    if (!byTr.has(id)) byTr.set(id, []);
    byTr.get(id).push(f);
  }
  spaces.set(ctx.space, { byKey, flags: byTr });
  await Promise.all(recs.flatMap((r) => fields.map((f) => {
    const v = c.val(r, f);
    return typeof v === 'string' && v.trim() ? sha256(v) : null;
  })));
}

function langOf(ctx, rec, field) {
  const f = collectionSchema(ctx.kind, ctx.collection).fields.find((x) => x.name === field);
  return f && f.langField ? c.val(rec, f.langField) || '' : '';
}

function attrsFor(lang) {
  return lang ? { lang, dir: isRTL(lang) ? 'rtl' : 'auto' } : { dir: 'auto' };
}

// text shows rec's field in the reader's language when a translation of
// this version exists (labelled, with "show original"), else as written.
export function text(ctx, rec, field, tag = 'p') {
  const original = c.val(rec, field) || '';
  const from = langOf(ctx, rec, field);
  const plain = h(tag, { class: 'text', ...attrsFor(from) }, original);
  const reader = base(currentLang());
  const st = spaces.get(ctx.space);
  if (!st || !original.trim() || !from || base(from) === reader || !hashes.has(original)) return plain;
  const hash = hashes.get(original);
  const tr = st.byKey.get(key(ctx.collection, rec.id, field, hash, reader));
  const trCtx = { ...ctx, collection: TR };
  const meta = { ofCollection: ctx.collection, rec, field, hash, from, reader };
  if (!tr || tr.deleted) {
    if (!mayCreate(trCtx)) return plain;
    const box = h('div', { class: 'translated' }, h(tag === 'dd' ? 'p' : tag, { class: 'text', ...attrsFor(from) }, original), editor(trCtx, null, meta));
    return tag === 'dd' ? h('dd', {}, box) : box;
  }
  const shownKey = `${rec.id}/${field}`;
  const toOriginal = showingOriginal.has(shownKey);
  // In a description list the whole block is the dd.
  const inner = tag === 'dd' ? 'p' : tag;
  const translated = h(inner, { class: 'text', ...attrsFor(c.val(tr, 'lang')) }, c.val(tr, 'text') || '');
  const originalNode = h(inner, { class: 'text', ...attrsFor(from) }, original);
  const by = c.val(tr, 'by') === 'human'
    ? t('translation.by', { name: c.nameOf(c.meta(tr, 'text')?.author) || t('person.someone') })
    : t('translation.machine', { engine: c.val(tr, 'engine') || '' });
  const label = h('p', { class: 'muted translation-label' }, toOriginal ? t('translation.original', { lang: langName(from) }) : by);
  const toggle = h('button', {
    type: 'button', class: 'secondary', 'data-action': 'toggle-original', 'aria-pressed': toOriginal ? 'true' : 'false',
    onclick: () => {
      if (showingOriginal.has(shownKey)) showingOriginal.delete(shownKey);
      else showingOriginal.add(shownKey);
      render();
    },
  }, t('translation.showOriginal'));
  const wrap = h('div', { class: 'translated', 'data-translation': tr.id, 'data-by': c.val(tr, 'by') || '' },
    toOriginal ? originalNode : translated, label, h('div', { class: 'actions' }, toggle, flagControl(ctx, tr, st)));
  if (mayEdit(trCtx, tr)) wrap.append(editor(trCtx, tr, meta));
  return tag === 'dd' ? h('dd', {}, wrap) : wrap;
}

// flagControl is "this translation is wrong", or what became of it: a
// flag newer than the translation's text stands until it is replaced.
function flagControl(ctx, tr, st) {
  const flagCtx = { ...ctx, collection: FLAGS };
  const since = c.meta(tr, 'text')?.time || 0;
  const standing = (st.flags.get(tr.id) || []).filter((f) => c.firstTime(f) >= since);
  if (standing.length > 0) return h('span', { class: 'muted', 'data-flagged': 'true' }, t('translation.flagged'));
  if (!mayCreate(flagCtx)) return null;
  return h('button', {
    type: 'button', class: 'secondary', 'data-action': 'flag-translation',
    onclick: async () => {
      await guard.put(flagCtx, null, { translation_id: tr.id });
      toast(t('saved.device'));
      render();
    },
  }, t('translation.flag'));
}

// editor lets an interpreter write or correct the translation (marked
// human; the server stamps them as its author).
function editor(trCtx, tr, m) {
  const wrap = h('div', { class: 'translation-editor' });
  const open = h('button', { type: 'button', class: 'secondary', 'data-action': 'edit-translation' },
    tr ? t('translation.replace') : t('translation.write', { lang: langName(m.reader) }));
  open.addEventListener('click', () => {
    const id = nextId('tr');
    const area = h('textarea', { id, rows: 4, lang: m.reader, dir: 'auto', value: tr ? c.val(tr, 'text') || '' : '' });
    const form = h('form', { class: 'record-form' },
      h('label', { for: id }, t('translation.label', { lang: langName(m.reader) })), area,
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('translation.save')),
        h('button', { type: 'button', class: 'secondary', onclick: () => { form.remove(); open.hidden = false; open.focus(); formClosed(); } }, t('form.cancel'))));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (tr) {
        await guard.put(trCtx, tr, { text: area.value, by: 'human' });
      } else {
        const fields = {
          of_collection: m.ofCollection, of_id: m.rec.id, of_field: m.field, source_hash: m.hash,
          source_lang: m.from, lang: m.reader, text: area.value, by: 'human',
        };
        const why = guard.check(trCtx, null, fields);
        if (why) throw new Error(why);
        await c.put(trCtx.space, TR, await translationID(m.ofCollection, m.rec.id, m.field, m.hash, m.reader), fields);
      }
      toast(t('translation.saved'));
      form.remove();
      render();
    });
    open.hidden = true;
    wrap.append(form);
    area.focus();
  });
  wrap.append(open);
  return wrap;
}
