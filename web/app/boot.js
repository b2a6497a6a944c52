// Boot: translate the shell, show the sign-in or join screen at once to
// someone not signed in, stream the wasm in behind it with a progress bar,
// open the sync client, register the service worker, then hand over to
// the UI. The wasm (dist/plansync.<hash>.wasm) and Go's wasm_exec.js have
// hashed names listed in dist/assets.json, so this file never changes
// when only the client does.
//
// On a family's first visit over a slow phone link the wasm takes many
// seconds; the sign-in and join screens (signin.js, join.js, over
// auth.js) work without it, so the person types while it loads, and a
// sign in that finishes first waits for it (auth.js hands the session
// over).

import { init as initI18n, t } from './i18n.js';
import { registerServiceWorker } from './sw-client.js';
import { h, clear } from './dom.js';
import * as c from './client.js';
import * as auth from './auth.js';
import { joinScreen } from './join.js';
import { signInScreen } from './signin.js';

const ME_KEY = 'plansync.me'; // client.js's copy of who is signed in

const WASM_READY_TIMEOUT = 30000; // ms for globalThis.plansync to appear after go.run

function progress(fraction) {
  const bar = document.getElementById('loading-progress');
  if (!bar) return;
  if (fraction === null) bar.removeAttribute('value');
  else bar.value = Math.round(fraction * 100);
}

// assetNames reads dist/assets.json, a map of logical names to hashed
// file names; values may also be objects with a "file" or "name".
async function assetNames() {
  const res = await fetch('/dist/assets.json', { cache: 'no-cache' });
  if (!res.ok) throw new Error(`assets.json: HTTP ${res.status}`);
  const raw = await res.json();
  const map = raw.files && typeof raw.files === 'object' ? raw.files : raw;
  const out = {};
  for (const [k, v] of Object.entries(map)) {
    const name = typeof v === 'string' ? v : v && (v.file || v.name || v.path);
    if (typeof name === 'string') out[k] = name.startsWith('/') ? name : `/dist/${name}`;
  }
  const find = (re) => Object.entries(out).find(([k, v]) => re.test(k) && !/\.(br|gz)$/.test(v))?.[1];
  return { wasm: find(/\.wasm$|^wasm$/), exec: find(/wasm_exec/) };
}

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.append(s);
  });
}

// withProgress passes the response through a stream that counts bytes, so
// instantiateStreaming can still compile while the bar moves. The total
// is the decoded size (X-Uncompressed-Length, set by the server for
// compressed responses) or Content-Length.
function withProgress(res) {
  const total = Number(res.headers.get('X-Uncompressed-Length') || (res.headers.get('Content-Encoding') ? 0 : res.headers.get('Content-Length')) || 0);
  if (!res.body || !total) {
    progress(null);
    return res;
  }
  let seen = 0;
  const counted = res.body.pipeThrough(new TransformStream({
    transform(chunk, ctl) {
      seen += chunk.byteLength;
      progress(Math.min(1, seen / total));
      ctl.enqueue(chunk);
    },
  }));
  return new Response(counted, { status: res.status, headers: { 'Content-Type': 'application/wasm' } });
}

async function waitForAPI() {
  const start = Date.now();
  while (!globalThis.plansync) {
    if (Date.now() - start > WASM_READY_TIMEOUT) throw new Error('the client did not start');
    await new Promise((r) => setTimeout(r, 20));
  }
  return globalThis.plansync;
}

async function loadClient() {
  const names = await assetNames();
  if (!names.wasm || !names.exec) throw new Error('assets.json names no wasm or wasm_exec.js');
  await loadScript(names.exec);
  const go = new globalThis.Go();
  const res = await fetch(names.wasm);
  if (!res.ok) throw new Error(`wasm: HTTP ${res.status}`);
  const { instance } = await WebAssembly.instantiateStreaming(withProgress(res), go.importObject);
  progress(1);
  // go.run resolves when the Go program exits, which it should not.
  go.run(instance).then(() => console.warn('plansync: the client exited'));
  const api = await waitForAPI();
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const lead = followUntilLeader(api);
  await api.open({ syncURL: `${scheme}//${location.host}/sync` });
  lead();
  return api;
}

// followUntilLeader makes this tab a follower when the browser has Web
// Locks: only the tab holding the lock syncs (holds the WebSocket); the
// others save edits to IndexedDB and follow it over a BroadcastChannel
// (wasm/API.md, "Several tabs"). The lock is held for the tab's life, so
// closing the leader hands it to another tab. A page the browser keeps in
// its back-forward cache is not closed, only frozen, and a frozen leader
// would keep the lock (and every other tab offline) until it is evicted:
// so on a pagehide that keeps the page, the tab steps down and lets go of
// the lock (or of its place in the queue), and asks again on the pageshow
// that brings it back. Without Web Locks every tab syncs for itself. It
// returns the function that asks for the lock, called once open() has
// finished.
function followUntilLeader(api, dbName = 'plansync') {
  if (!navigator.locks || typeof navigator.locks.request !== 'function' || typeof api.setLeader !== 'function') {
    return () => {};
  }
  api.setLeader(false);
  let release = null; // ends the held lock
  let abort = null; // leaves the queue
  const request = () => {
    if (release || abort) return;
    const ctl = new AbortController();
    abort = ctl;
    navigator.locks.request(`plansync-sync-${dbName}`, { signal: ctl.signal }, () => {
      abort = null;
      api.setLeader(true);
      return new Promise((resolve) => { release = resolve; }); // held until the tab closes or sleeps
    }).catch((err) => {
      if (ctl.signal.aborted) return; // we left the queue on purpose
      abort = null;
      console.error('plansync: no sync lock, syncing in this tab', err);
      api.setLeader(true);
    });
  };
  window.addEventListener('pagehide', (e) => {
    if (!e.persisted) return; // the page is going away: the lock goes with it
    if (abort) { abort.abort(); abort = null; }
    if (release) {
      api.setLeader(false); // stop syncing before the page freezes
      release();
      release = null;
    }
  });
  window.addEventListener('pageshow', (e) => {
    if (e.persisted) request();
  });
  return request;
}

// earlyScreen names the screen to show before the client runs: the join
// or sign-in screen, on their own routes and on #/, for someone this
// browser does not know as signed in; else null: a signed-in person's
// screens need the client, which loads from the service worker's cache,
// and any other route (#/setup, a deep link) is left to ui.js's router.
function earlyScreen() {
  let remembered = null;
  try {
    remembered = JSON.parse(localStorage.getItem(ME_KEY) || 'null');
  } catch {
    remembered = null;
  }
  if (remembered) return null;
  const first = location.hash.replace(/^#\/?/, '').split(/[/?]/)[0];
  if (first === 'join') return joinScreen;
  if (first === 'signin' || first === '') return signInScreen;
  return null;
}

let shown = null; // the location.hash whose screen paintEarly showed

// paintEarly shows the join or sign-in screen in the frame, with the
// loading bar under it, as shell.js would once the client runs.
function paintEarly() {
  const screen = earlyScreen();
  if (!screen) return false;
  const view = screen();
  const main = document.getElementById('main');
  const loading = document.getElementById('loading');
  const heading = h('h1', { tabindex: '-1' }, view.title);
  clear(main).append(heading, view.node);
  if (loading) {
    const text = document.getElementById('loading-text');
    if (text) {
      text.dataset.i18n = 'loading.behind';
      text.textContent = t('loading.behind');
    }
    main.append(loading);
  }
  const crumbs = document.getElementById('crumbs');
  if (crumbs) clear(crumbs).append(h('ol', {}, h('li', {}, h('a', { href: '#/' }, t('nav.home')))));
  document.title = `${view.title} · ${t('app.name')}`;
  // Nobody is signed in: the header says so, not "offline" while the
  // network works (shell.js says the same once the client runs).
  const sync = document.getElementById('sync');
  if (sync) {
    sync.textContent = navigator.onLine === false ? t('sync.offline') : t('sync.notSignedIn');
    sync.dataset.state = 'signedOut';
  }
  if (shown !== location.hash) heading.focus({ preventScroll: true });
  shown = location.hash;
  return true;
}

// Until the UI starts, boot.js follows the links between the two screens.
function onEarlyHash() {
  paintEarly();
}

function showFailure(err) {
  const main = document.getElementById('main');
  const loading = document.getElementById('loading');
  if (loading) loading.remove();
  const box = document.createElement('div');
  box.className = 'failure';
  box.setAttribute('role', 'alert');
  const p = document.createElement('p');
  p.textContent = t('loading.failed');
  const detail = document.createElement('p');
  detail.className = 'muted';
  detail.textContent = String(err && err.message ? err.message : err);
  const again = document.createElement('button');
  again.type = 'button';
  again.textContent = t('loading.retry');
  again.addEventListener('click', () => location.reload());
  box.append(p, detail, again);
  main.append(box);
}

async function boot() {
  try {
    await initI18n();
  } catch (err) {
    console.error(err);
  }
  // A session kept from a page closed while it waited for the client is
  // handed over before anything else is shown.
  const early = !(await auth.pendingSession()) && paintEarly();
  if (early) window.addEventListener('hashchange', onEarlyHash);
  let api;
  try {
    api = await loadClient();
  } catch (err) {
    console.error(err);
    auth.appFailed(err);
    showFailure(err);
    return;
  }
  // After the wasm, not before: the worker's install then finds it in the
  // HTTP cache instead of pulling it a second time over the same link.
  registerServiceWorker();
  try {
    c.init(api);
    try {
      await auth.adoptPending();
    } catch (err) {
      // Kept for the next try (a form's, or the next load's).
      console.error('plansync: could not hand the session to the client', err);
    }
    const ui = await import('./ui.js');
    window.removeEventListener('hashchange', onEarlyHash);
    document.getElementById('loading')?.remove();
    await ui.start(api, { shown: early && !c.signedIn() ? shown : null });
    auth.appReady(api);
    document.documentElement.dataset.ready = 'true';
  } catch (err) {
    console.error(err);
    auth.appFailed(err);
    showFailure(err);
  }
}

boot();
