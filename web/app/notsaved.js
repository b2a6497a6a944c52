// "Not saved": the words of an edit the server refused. The device undoes
// a refused edit (wasm/API.md, the rejected event), so without this the
// words a family typed offline for a week would be gone on reconnect.
// Each refused edit with words becomes a card, kept in IndexedDB (it
// survives reloads and restarts) until the person acts on it: copies
// it, sends it as a note to the teacher, or discards it, explicitly.
// Cards belong to the person who was signed in; another person signing
// in on the same device does not see them.

import { h } from './dom.js';
import { t, currentLang, formatTime } from './i18n.js';
import * as c from './client.js';
import { collectionSchema, fieldLabel, errorText } from './forms.js';
import { mayCreate } from './access.js';
import * as guard from './guard.js';
import { scheduleRender, toast } from './shell.js';
import { formatValue } from './views.js';

const DB_NAME = 'plansync-notsaved'; // not the client's database, whose versions the wasm owns
const DB_VERSION = 1;
const STORE = 'cards';
const CHANNEL = 'plansync-notsaved'; // tells the other tabs a card came or went
// MAX_CARDS bounds what one device keeps per person; past it the oldest card goes,
// which only happens to someone who has ignored a hundred of them.
const MAX_CARDS = 100;

let cards = [];
let channel = null;
// known holds the spaces as last seen on screen: a refusal that comes
// with its space's removal (access_changed) finds the space gone from
// the list, and its card still needs the plan's name.
const known = new Map();

async function spacesSeen() {
  const list = await c.spaces();
  for (const sp of list) known.set(sp.id, { name: sp.name, kind: sp.kind });
  return list;
}

function openDB() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, DB_VERSION);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'key' });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

// tx runs fn on the store and resolves once the transaction commits.
async function tx(mode, fn) {
  const db = await openDB();
  try {
    return await new Promise((resolve, reject) => {
      const x = db.transaction(STORE, mode);
      const out = fn(x.objectStore(STORE));
      x.oncomplete = () => resolve(out && 'result' in out ? out.result : undefined);
      x.onerror = () => reject(x.error);
      x.onabort = () => reject(x.error);
    });
  } finally {
    db.close();
  }
}

// reload reads the cards again; the screen follows unless this is the
// first load, before there is a screen.
async function reload(first = false) {
  cards = ((await tx('readonly', (s) => s.getAll())) || []).sort((a, b) => a.time - b.time);
  if (!first) scheduleRender();
}

// init loads the cards and listens for other tabs' changes.
export async function init() {
  if (typeof BroadcastChannel === 'function') {
    channel = new BroadcastChannel(CHANNEL);
    channel.onmessage = () => reload().catch((err) => console.error(err));
  }
  try {
    await reload(true);
  } catch (err) {
    console.error('plansync: not-saved cards unreadable', err);
  }
}

function changed() {
  channel?.postMessage('changed');
}

// wordsOf keeps the written values of an edit: everything but the
// reserved fields (a refused delete carries no words).
function wordsOf(values) {
  const out = {};
  for (const [k, v] of Object.entries(values || {})) {
    if (k.startsWith('_') || v === null || v === undefined || v === '') continue;
    out[k] = v;
  }
  return out;
}

// keep stores a refused edit's words, from a rejected event. Every tab of
// the browser hears the same event; the key makes them one card.
export async function keep(ev) {
  const values = wordsOf(ev.values);
  if (Object.keys(values).length === 0) return false;
  const me = c.currentUser();
  const sp = (await spacesSeen()).find((x) => x.id === ev.space) || known.get(ev.space);
  const card = {
    key: `${ev.space}/${ev.collection}/${ev.id}/${JSON.stringify(values)}`,
    user: me ? me.id : '',
    space: ev.space,
    spaceName: sp ? sp.name : '',
    kind: sp ? sp.kind : 'student',
    collection: ev.collection,
    id: ev.id,
    values,
    code: ev.code || '',
    time: Date.now(),
  };
  await tx('readwrite', (s) => s.put(card));
  // The bound is per person: one person's ignored cards never push out
  // the words of another who signs in on the same device.
  const all = ((await tx('readonly', (s) => s.getAll())) || []).filter((k) => k.user === card.user);
  if (all.length > MAX_CARDS) {
    const old = all.sort((a, b) => a.time - b.time).slice(0, all.length - MAX_CARDS);
    await tx('readwrite', (s) => old.forEach((o) => s.delete(o.key)));
  }
  changed();
  await reload();
  return true;
}

async function drop(card) {
  await tx('readwrite', (s) => s.delete(card.key));
  changed();
  await reload();
}

// textOf is a card's words as plain text: the text alone when there is
// one field, else one "Label: value" line per field.
function textOf(card) {
  const schema = collectionSchema(card.kind, card.collection);
  const entries = Object.entries(card.values);
  const shown = entries.map(([name, v]) => {
    const f = schema && schema.fields.find((x) => x.name === name);
    const s = f ? formatValue(card.collection, name, f, v) : String(v);
    return [f ? fieldLabel(card.collection, name) : name, typeof s === 'string' ? s : s.textContent];
  });
  if (shown.length === 1) return shown[0][1];
  return shown.map(([label, s]) => `${label}: ${s}`).join('\n');
}

async function copy(card, node) {
  const text = textOf(card);
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // No clipboard (a refused permission, an old browser): select the
    // words, so the person can copy them with the system's own menu.
    const range = document.createRange();
    range.selectNodeContents(node);
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    if (!document.execCommand || !document.execCommand('copy')) {
      toast(t('notsaved.selected'));
      return;
    }
  }
  toast(t('notsaved.copied'));
}

// noteCtx is where a card's words may go as a note: its student plan,
// when this person may write notes there.
async function noteCtx(card) {
  if (card.kind !== 'student') return null;
  const sp = (await c.spaces()).find((x) => x.id === card.space);
  if (!sp) return null;
  const ctx = { kind: 'student', space: card.space, collection: 'notes', role: sp.role };
  return mayCreate(ctx) ? ctx : null;
}

async function sendAsNote(card, ctx) {
  const me = c.currentUser();
  const fields = { kind: 'update', text: textOf(card), lang: currentLang() };
  if (me && me.name) fields.author_name = me.name;
  await guard.put(ctx, null, fields);
  await drop(card);
  toast(t('notsaved.sent'));
}

// view shows the signed-in person's cards, or null when there are none.
export async function view() {
  const me = c.currentUser();
  const mine = cards.filter((k) => me && k.user === me.id);
  if (me) await spacesSeen().catch(() => {});
  if (mine.length === 0) return null;
  const list = [];
  for (const card of mine) {
    const ctx = await noteCtx(card);
    const words = h('p', { class: 'text words', dir: 'auto' }, textOf(card));
    const error = h('p', { class: 'error', role: 'alert', hidden: true });
    const fail = (err) => {
      error.textContent = errorText(err);
      error.hidden = false;
    };
    list.push(h('li', { class: 'card notsaved-card', 'data-key': card.key, 'data-collection': card.collection },
      h('h3', {}, t('notsaved.what', { thing: t(`thing.${card.collection}`), space: card.spaceName || t('home.unnamed') })),
      h('p', { class: 'byline' }, formatTime(card.time)),
      words,
      h('p', {}, t('notsaved.reason', { reason: errorText({ code: card.code }) })),
      error,
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'secondary', 'data-action': 'copy', onclick: () => copy(card, words).catch(fail) }, t('notsaved.copy')),
        ctx ? h('button', { type: 'button', 'data-action': 'send-note', onclick: () => sendAsNote(card, ctx).catch(fail) }, t('notsaved.sendNote')) : null,
        h('button', {
          type: 'button', class: 'secondary danger', 'data-action': 'discard',
          onclick: () => {
            if (!window.confirm(t('notsaved.confirmDiscard'))) return;
            drop(card).then(() => toast(t('notsaved.discarded'))).catch(fail);
          },
        }, t('notsaved.discard')))));
  }
  return h('section', { class: 'notsaved', 'aria-labelledby': 'h-notsaved' },
    h('h2', { id: 'h-notsaved' }, t('notsaved.title')),
    h('p', {}, t('notsaved.intro')),
    h('ul', { class: 'plain-list' }, list));
}
