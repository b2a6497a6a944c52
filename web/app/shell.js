// The frame every screen sits in: rebuilding the screen for the route,
// the sync state in the header, toasts and navigation. Screens import it;
// ui.js gives it the router. Routes live in the URL fragment
// (#/s/<space>/goals), so the service worker serves one index.html for
// all of them, online or not. Every screen is rebuilt from the local
// client on each change; while a form is open the rebuild waits, so
// nobody loses what they are typing.

import { h, clear } from './dom.js';
import { t, tn, applyDocument } from './i18n.js';
import { errorText } from './forms.js';

const RENDER_DEBOUNCE = 80; // ms: a page of synced records is one rebuild
const TOAST_TIME = 4000; // ms

let renderTimer = 0;
let renderSeq = 0;
let deferred = false;
let lastPath = '';
let router = async () => ({ title: '', node: null });

// setRouter gives the function that builds a screen ({title, crumbs,
// node}) for the route's parts.
export function setRouter(fn) {
  router = fn;
}

// forgetPath makes the next render count as a new screen (focus moves to
// its heading), as after a change of language.
export function forgetPath() {
  lastPath = '';
}


// typing says whether someone is writing on the screen: a record's form
// is open, the sign-in or join form has something typed in it, or a
// form marked data-dirty (a settings form someone changed) is on screen.
// Rebuilding the screen then would throw their words away.
function typing() {
  if (document.querySelector('#main form.record-form, #main form[data-dirty]')) return true;
  return [...document.querySelectorAll('#main form.auth input')].some((el) => el.value !== '');
}

// scheduleRender rebuilds the screen soon, or once the open form closes.
export function scheduleRender() {
  clearTimeout(renderTimer);
  renderTimer = setTimeout(() => {
    if (typing()) {
      deferred = true;
      return;
    }
    render();
  }, RENDER_DEBOUNCE);
}

// formClosed is called when a form goes away, to catch up on changes that
// arrived while it was open.
export function formClosed() {
  if (deferred) {
    deferred = false;
    render();
  }
}


// Sync state, always in words.
export function syncText(st) {
  const n = st.pending || 0;
  const waiting = n > 0 ? tn('sync.waiting', n) : '';
  switch (st.status) {
    case 'signedOut':
      // Nobody to sync for: the header says whether the network is
      // there, not "offline" to someone signing in over a working one.
      if (navigator.onLine !== false) return n > 0 ? `${t('sync.notSignedIn')} · ${waiting}` : t('sync.notSignedIn');
      return n > 0 ? `${t('sync.offline')} · ${waiting}` : t('sync.offline');
    case 'synced':
      return n > 0 ? waiting : t('sync.saved');
    case 'syncing':
      return n > 0 ? tn('sync.sending', n) : t('sync.syncing');
    case 'connecting':
      return n > 0 ? `${t('sync.connecting')} · ${waiting}` : t('sync.connecting');
    case 'stopped': {
      const why = { unauthorized: 'sync.signedOut', upgrade_required: 'sync.upgrade', user_changed: 'sync.userChanged', device_limit: 'sync.deviceLimit' }[st.reason] || 'sync.stopped';
      return n > 0 ? `${t(why)} · ${waiting}` : t(why);
    }
    default:
      return n > 0 ? `${t('sync.offline')} · ${waiting}` : `${t('sync.offline')} · ${t('sync.savedHere')}`;
  }
}

let lastState = { status: 'offline', pending: 0 };
export function updateSync(st) {
  if (!st) return;
  const flipped = 'signedIn' in st && 'signedIn' in lastState && st.signedIn !== lastState.signedIn;
  lastState = st;
  if (flipped) scheduleRender(); // signed in or out, maybe in another tab
  const el = document.getElementById('sync');
  const text = syncText(st);
  if (el.textContent !== text) el.textContent = text;
  el.dataset.state = st.status;
  el.dataset.pending = String(st.pending || 0);
}

// The signed-out header follows the network.
window.addEventListener('online', () => updateSync(lastState));
window.addEventListener('offline', () => updateSync(lastState));

let toastTimer = 0;
export function toast(msg) {
  const el = document.getElementById('toast');
  el.textContent = msg;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    el.hidden = true;
  }, TOAST_TIME);
}

// syncState is the last sync state the client reported.
export function syncState() {
  return lastState;
}

function parseRoute() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  return { parts, path: parts.join('/') };
}

// render builds the screen for the current route.
export async function render() {
  const seq = ++renderSeq;
  deferred = false;
  const route = parseRoute();
  let view;
  try {
    view = await router(route.parts);
  } catch (err) {
    console.error(err);
    view = { title: t('error.title'), node: h('p', { class: 'error', role: 'alert' }, errorText(err)) };
  }
  if (seq !== renderSeq) return;
  if (route.path === lastPath && typing()) {
    // Someone opened a form on this screen while it was being rebuilt (a
    // change from sync arrived as they started to edit): replacing the
    // screen now would throw away what they are typing. Keep it, and
    // rebuild once the form closes.
    deferred = true;
    return;
  }
  const main = document.getElementById('main');
  const heading = h('h1', { tabindex: '-1' }, view.title);
  const scroll = window.scrollY;
  clear(main).append(heading, view.node);
  const crumbs = clear(document.getElementById('crumbs'));
  const trail = [{ href: '#/', label: t('nav.home') }, ...(view.crumbs || [])];
  crumbs.append(h('ol', {}, trail.map((cr, i) => h('li', {}, i === trail.length - 1 && !view.title ? cr.label : h('a', { href: cr.href }, cr.label)))));
  document.title = view.title ? `${view.title} · ${t('app.name')}` : t('app.name');
  if (route.path !== lastPath) {
    // A new screen: move focus to its heading, as a page load would.
    lastPath = route.path;
    window.scrollTo(0, 0);
    heading.focus({ preventScroll: true });
  } else {
    window.scrollTo(0, scroll);
  }
  applyDocument(main);
}

// keep tells the frame that the current route's screen is on the page
// already (boot.js showed it before the client ran), so the first render
// does not rebuild it under someone typing or focused in it.
export function keep() {
  lastPath = parseRoute().path;
}

export function go(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}
