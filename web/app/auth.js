// Signing in and joining before the wasm client has loaded. On a slow
// phone link the client is most of a megabyte that takes many seconds to
// arrive and compile; the sign-in and join screens must not wait for it.
// So they call the server's HTTP API from here (POST /api/login,
// /api/invites/claim), keep the session token in a small IndexedDB
// database until the client runs, and then hand it over
// (plansync.useSession, wasm/API.md). Once the client is running, signing
// in goes through it as before.
//
// This module and the two screens that use it import only dom.js,
// i18n.js and client.js, so that boot.js can show them after a handful of
// small files (index.html preloads them).

import { h } from './dom.js';
import { t, has } from './i18n.js';
import * as c from './client.js';

// The token waits here between the server's answer and the client taking
// it over: a page closed in between (the family put the phone away) keeps
// its session, and the next load hands it over. Its own database, not the
// client's (idbstore owns that one and its versions).
const HANDOFF_DB = 'plansync-handoff';
const HANDOFF_STORE = 'session';
const HANDOFF_KEY = 'pending';
const REQUEST_TIMEOUT = 30000; // ms for the server to answer a sign in
let memToken = ''; // a token IndexedDB could not keep

// The running client, once boot.js has it; until then, who waits for it.
let app = null;
let failed = null;
const waiting = []; // {resolve, reject}; at most one per submitted form

// appReady is called by boot.js once the client runs and the UI has
// started: forms waiting on it finish their hand-over.
export function appReady(api) {
  app = api;
  for (const w of waiting.splice(0)) w.resolve(api);
}

// appFailed is called by boot.js when the client could not start.
export function appFailed(err) {
  failed = err;
  for (const w of waiting.splice(0)) w.reject(err);
}

function whenApp() {
  if (app) return Promise.resolve(app);
  if (failed) return Promise.reject(failed);
  return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
}

// field is a labelled input of the sign-in and join forms; a hint is tied
// to the input (aria-describedby) so a screen reader says it too.
export function field(label, input, hint) {
  input.id = input.id || `in-${input.name}`;
  const kids = [h('label', { for: input.id }, label), input];
  if (hint) {
    const id = `${input.id}-hint`;
    input.setAttribute('aria-describedby', id);
    kids.push(h('p', { class: 'hint', id }, hint));
  }
  return h('div', { class: 'field' }, ...kids);
}

// errorText says an error in the person's words (the same keys as
// forms.js's, which the early screens do not load).
export function errorText(err) {
  const code = err && err.code;
  if (code && has(`error.${code}`)) return t(`error.${code}`);
  return t('error.generic');
}

function coded(code, message) {
  const err = new Error(message);
  err.code = code;
  return err;
}

// post sends JSON to the API and answers the parsed reply; a refusal is
// an Error with the server's code, as the wasm client's are.
async function post(path, body) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), REQUEST_TIMEOUT);
  let res;
  try {
    res = await fetch(path, {
      method: 'POST', cache: 'no-store', credentials: 'omit', signal: ctl.signal,
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(body),
    });
  } catch {
    throw coded('network', 'Could not reach the server.');
  } finally {
    clearTimeout(timer);
  }
  let reply = null;
  try {
    reply = await res.json();
  } catch {
    reply = null;
  }
  if (!res.ok) {
    const e = reply && reply.error;
    throw coded(e && e.code ? e.code : 'internal', (e && e.message) || `HTTP ${res.status}`);
  }
  if (!reply || typeof reply.token !== 'string' || !reply.token) throw coded('internal', 'The server did not start a session.');
  return reply;
}

// openHandoff opens the hand-over database; one found without its store
// (made by anything else that opened the name) is upgraded to have it.
function openHandoff(version) {
  return new Promise((resolve, reject) => {
    const req = version ? indexedDB.open(HANDOFF_DB, version) : indexedDB.open(HANDOFF_DB);
    req.onupgradeneeded = () => {
      if (!req.result.objectStoreNames.contains(HANDOFF_STORE)) req.result.createObjectStore(HANDOFF_STORE);
    };
    req.onsuccess = () => {
      const db = req.result;
      if (db.objectStoreNames.contains(HANDOFF_STORE) || version) {
        resolve(db);
        return;
      }
      const next = db.version + 1;
      db.close();
      openHandoff(next).then(resolve, reject);
    };
    req.onerror = () => reject(req.error);
    req.onblocked = () => reject(new Error('handoff database blocked'));
  });
}

async function handoff(mode, fn) {
  const db = await openHandoff(0);
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(HANDOFF_STORE, mode, { durability: 'strict' });
      const req = fn(tx.objectStore(HANDOFF_STORE));
      tx.oncomplete = () => resolve(req ? req.result : undefined);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error || new Error('handoff aborted'));
    });
  } finally {
    db.close();
  }
}

// pendingSession says whether a session waits to be handed to the
// client (a sign in that finished before the client ran).
export async function pendingSession() {
  if (memToken) return true;
  try {
    return !!(await handoff('readonly', (st) => st.get(HANDOFF_KEY)));
  } catch {
    return false;
  }
}

let adopting = Promise.resolve(null);

// adoptPending hands a waiting session to the running client and forgets
// it; it answers {user, spaces}, or null when none waited. Calls queue, so
// boot.js and a form finishing at the same moment hand it over once.
export function adoptPending() {
  adopting = adopting.catch(() => null).then(async () => {
    if (memToken) {
      try {
        const res = await c.useSession(memToken);
        memToken = '';
        return res;
      } catch (err) {
        if (err && err.code === 'unauthorized') memToken = '';
        throw err;
      }
    }
    let token = '';
    try {
      token = await handoff('readonly', (st) => st.get(HANDOFF_KEY));
    } catch {
      return null; // no IndexedDB: nothing can wait there
    }
    if (!token) return null;
    let res;
    try {
      res = await c.useSession(token);
    } catch (err) {
      // A session the server has ended since is dropped, or it would be
      // tried on every load; any other failure (no network) keeps it.
      if (err && err.code === 'unauthorized') await handoff('readwrite', (st) => st.delete(HANDOFF_KEY));
      throw err;
    }
    await handoff('readwrite', (st) => st.delete(HANDOFF_KEY));
    return res;
  });
  return adopting;
}

// finish keeps the token (null: one is kept already), waits for the
// client and hands it over. Without IndexedDB (a private window) the
// token waits in memory, for this page only.
async function finish(token) {
  if (token) {
    try {
      await handoff('readwrite', (st) => st.put(token, HANDOFF_KEY));
    } catch (err) {
      console.warn('plansync: the session waits in memory only', err);
      memToken = token;
    }
  }
  await whenApp();
  return (await adoptPending()) || { user: c.currentUser() };
}

// signIn signs in with a login and password: through the client once it
// runs, over HTTP before. It resolves once the client holds the session.
export async function signIn(login, password) {
  if (await pendingSession()) return finish(null); // an earlier try's, not yet handed over
  if (app) return c.signIn(login, password);
  const res = await post('/api/login', { login, password, device: c.device() });
  return finish(res.token);
}

// join claims an invite code, likewise. A claimed code cannot be claimed
// again, so a session already kept for this page is handed over rather
// than claiming a second time.
export async function join(code, name, passphrase) {
  if (await pendingSession()) return finish(null);
  if (app) return c.join(code, name, passphrase);
  const body = { code, name, device: c.device() };
  if (passphrase) body.passphrase = passphrase;
  const res = await post('/api/invites/claim', body);
  return finish(res.token);
}
