// The UI's view of globalThis.plansync (the Go client compiled to wasm,
// see wasm/API.md): who is signed in, names of people, and small helpers
// over records shaped {id, space, collection, deleted, fields: {name:
// {value, author, time, conflicts: [{value, author, time}]}}}.

import { askPersistence } from './sw-client.js';

const ME_KEY = 'plansync.me';
const NAMES_KEY = 'plansync.names';
const NAMES_MAX = 500; // people remembered for "You and Ms. Lee ..."

let api;
let me = null;
let names = {};

export function init(a) {
  api = a;
  try {
    me = JSON.parse(localStorage.getItem(ME_KEY) || 'null');
    names = JSON.parse(localStorage.getItem(NAMES_KEY) || '{}');
  } catch {
    me = null;
    names = {};
  }
  return api;
}

// currentUser is the signed-in person, {id, name}, or null. The wasm
// client's state() is the truth (another tab may have signed in or out);
// the copy in localStorage only serves before the client has opened.
export function currentUser() {
  const st = api && api.state ? api.state() : null;
  if (st && 'signedIn' in st) {
    if (!st.signedIn) return null;
    if (st.user && st.user.id) return { id: st.user.id, name: st.user.name || '' };
  }
  return me;
}

function remember(user) {
  if (!user || !user.id) return;
  me = { id: user.id, name: user.name || '' };
  localStorage.setItem(ME_KEY, JSON.stringify(me));
  learnName(user.id, user.name);
}

// learnName keeps a person's name so that conflicts and history can name
// them offline.
export function learnName(id, name) {
  if (!id || !name || names[id] === name) return;
  names[id] = name;
  const ids = Object.keys(names);
  if (ids.length > NAMES_MAX) delete names[ids[0]];
  localStorage.setItem(NAMES_KEY, JSON.stringify(names));
}

export function nameOf(id) {
  return names[id] || '';
}

// Members' roles per space, as the server last listed them (not kept
// across reloads: spaces() lists them again, offline too).
const roles = new Map();

// roleOf is a person's role in a space, or '' when not known.
export function roleOf(space, id) {
  return roles.get(`${space}/${id}`) || '';
}

// device labels the session ("Chrome on Android") in the person's list of
// devices.
export function device() {
  const ua = navigator.userAgent;
  const os = /Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS' : /Windows/.test(ua) ? 'Windows' : /Mac/.test(ua) ? 'Mac' : /Linux/.test(ua) ? 'Linux' : '';
  const br = /Firefox\//.test(ua) ? 'Firefox' : /Edg\//.test(ua) ? 'Edge' : /Chrom/.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : 'Browser';
  return os ? `${br} on ${os}` : br;
}

export async function signIn(login, password) {
  // {user, spaces} (wasm/API.md).
  const res = await api.signIn({ login, password, device: device() });
  remember(res && res.user);
  return res;
}

export async function join(code, name, passphrase) {
  const res = await api.join({ code, name, passphrase: passphrase || '', device: device() });
  remember(res && res.user);
  return res;
}

// useSession hands the client a session the page started over HTTP
// before the client ran (auth.js).
export async function useSession(token) {
  const res = await api.useSession({ token });
  remember(res && res.user);
  return res;
}

export async function signOut() {
  await api.signOut();
  me = null;
  localStorage.removeItem(ME_KEY);
}

export function signedIn() {
  return currentUser() !== null;
}

// spaces lists the spaces the user belongs to, {id, name, kind, role}.
export async function spaces() {
  const list = (await api.spaces()) || [];
  // The server names each plan's members, so conflicts can say who.
  for (const s of list) {
    for (const m of s.members || []) {
      learnName(m.id, m.name);
      if (m.role) roles.set(`${s.id}/${m.id}`, m.role);
    }
  }
  return list.map((s) => ({ id: s.id, name: s.name || '', kind: s.kind || '', role: s.role || '' }));
}

// list resolves with the records of a collection, oldest first. The wasm
// client leaves deleted records out unless they hold a conflict; of those,
// the ones whose delete crossed an edit (deleteInDoubt) are kept, so that
// the page can ask whether the delete or the edit stands.
export async function list(space, collection) {
  const recs = (await api.list(space, collection)) || [];
  return recs.filter((r) => r && (!r.deleted || deleteInDoubt(r)));
}

export async function get(space, collection, id) {
  return api.get(space, collection, id);
}

// put writes fields (a null id creates a record) and resolves with the
// record's id once the edit is in IndexedDB; the first save asks for
// persistent storage.
export async function put(space, collection, id, fields) {
  const res = await api.put(space, collection, id || null, fields);
  askPersistence();
  return res;
}

export async function remove(space, collection, id) {
  await api.remove(space, collection, id);
  askPersistence();
}

export async function resolve(space, collection, id, field, value) {
  await api.resolve(space, collection, id, field, value);
}

// history resolves with the record's accepted changes, oldest first, and
// learns the authors' names on the way.
export async function history(space, collection, id) {
  const entries = (await api.history(space, collection, id)) || [];
  for (const e of entries) if (e.author) learnName(e.author.id, e.author.name);
  return entries;
}

export function state() {
  return api.state();
}

export function subscribe(cb) {
  return api.subscribe(cb);
}

// Field helpers.

export function val(rec, name) {
  const f = rec && rec.fields && rec.fields[name];
  return f ? f.value : undefined;
}

export function meta(rec, name) {
  return (rec && rec.fields && rec.fields[name]) || null;
}

export function conflicted(rec) {
  if (!rec || !rec.fields) return [];
  return Object.entries(rec.fields).filter(([, f]) => f && Array.isArray(f.conflicts) && f.conflicts.length > 0).map(([n]) => n);
}

// DELETED is the reserved field of a delete. The wasm client shows it
// among the fields only while it holds a conflict: someone edited the
// record while another deleted it. Its value true is the delete, false
// the edit; resolve(..., DELETED, false) keeps the record.
export const DELETED = '_deleted';

// deleteInDoubt says whether rec is deleted while an edit made without
// seeing the delete waits for someone to choose.
export function deleteInDoubt(rec) {
  return !!(rec && rec.deleted && conflicted(rec).includes(DELETED));
}

// firstTime is the earliest write time of any field (Unix milliseconds,
// as the wasm client gives them), for sorting oldest first; 0 when none.
export function firstTime(rec) {
  let min = Infinity;
  for (const f of Object.values((rec && rec.fields) || {})) {
    if (f && f.time && f.time < min) min = f.time;
  }
  return min === Infinity ? 0 : min;
}

// call sends one request to the server's JSON API as the signed-in person
// (wasm/API.md, api()): the screens that need the network, such as
// invites, use it; the token never reaches the page.
export async function call(method, path, body) {
  return api.api(method, path, body === undefined ? null : body);
}

// login is the signed-in person's login ("rosa-7k3m" for a family member
// who chose a passphrase when they joined), or '' when they have none.
export function login() {
  const st = api && api.state ? api.state() : null;
  return (st && st.user && st.user.login) || '';
}

// A byline whose author the device cannot name (someone who joined after
// this device's connection listed the plan's members) asks the server for
// the plan's team once, then the screen is drawn again with the name and
// role. At most one ask per plan per TEAM_ASK_EVERY_MS, and none offline:
// the byline says "someone" until it can.
const TEAM_ASK_EVERY_MS = 30_000;
const teamAsked = new Map();

export function learnTeam(space, then) {
  const last = teamAsked.get(space) || 0;
  if (Date.now() - last < TEAM_ASK_EVERY_MS || navigator.onLine === false || !signedIn()) return;
  teamAsked.set(space, Date.now());
  call('GET', `/api/spaces/${space}/team`).then((team) => {
    let learned = false;
    for (const m of team || []) {
      if (!m || !m.id) continue;
      if (m.name && names[m.id] !== m.name) learned = true;
      learnName(m.id, m.name);
      if (m.role && roles.get(`${space}/${m.id}`) !== m.role) {
        roles.set(`${space}/${m.id}`, m.role);
        learned = true;
      }
    }
    if (learned && then) then();
  }).catch(() => {});
}
