// Telling the server which language the person reads first, so that the
// plan's texts are translated into it (server/translations translates
// into each member's first language, and on a change also what was
// written before it). The choice is the UI language they switched to in
// Settings. Offline, it waits in localStorage and goes at the next start
// or when the network is back; the UI itself switches at once either way.

import * as c from './client.js';

const PENDING = 'plansync.langToServer';
const MAX_LANGUAGES = 8; // server/auth.MaxLanguages

// tellServer records the choice and sends it when it can.
export async function tellServer(code) {
  try {
    localStorage.setItem(PENDING, code);
  } catch {
    return; // no storage: nothing to keep it in; the next switch tries again
  }
  await flush();
}

// flush sends a waiting choice: the new language first, the person's
// other languages after it, as the server knew them.
export async function flush() {
  let code = null;
  try {
    code = localStorage.getItem(PENDING);
  } catch {
    return;
  }
  if (!code || !c.signedIn() || navigator.onLine === false) return;
  try {
    const me = await c.call('GET', '/api/me');
    const base = (l) => String(l).toLowerCase().split('-')[0];
    const langs = ((me && me.user && me.user.languages) || []).filter((l) => base(l) !== code);
    await c.call('PUT', '/api/me/languages', { languages: [code, ...langs].slice(0, MAX_LANGUAGES) });
    if (localStorage.getItem(PENDING) === code) localStorage.removeItem(PENDING);
  } catch (err) {
    console.warn('plansync: the server was not told the new language; it is sent again later', err);
  }
}

window.addEventListener('online', () => {
  flush();
});
