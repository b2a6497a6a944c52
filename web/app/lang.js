// The UI language, and its message catalogs asked for the moment the page
// opens. index.html loads this module on its own (async, no imports), so
// it runs as soon as it arrives, before boot.js and the modules it imports
// have all come in: on a slow link the catalogs' round trip then overlaps
// theirs instead of following it, and the first screen is up sooner.
// i18n.js takes the answers from here.

export const UI_LANGS = ['en', 'es'];
export const STORE_KEY = 'plansync.lang';

// pick is the chosen language, else the browser's first that the UI has,
// else English.
export function pick() {
  let saved = null;
  try {
    saved = localStorage.getItem(STORE_KEY);
  } catch {
    saved = null;
  }
  if (saved && UI_LANGS.includes(saved)) return saved;
  for (const l of navigator.languages || [navigator.language || 'en']) {
    const base = l.toLowerCase().split('-')[0];
    if (UI_LANGS.includes(base)) return base;
  }
  return 'en';
}

function get(code) {
  return fetch(`/i18n/${code}.json`).then((res) => {
    if (!res.ok) throw new Error(`catalog ${code}: HTTP ${res.status}`);
    return res.json();
  });
}

// Asked for at once: English (every other catalog falls back to it) and
// the language the page will show. At most these two wait here.
const early = new Map();
for (const code of new Set(['en', pick()])) {
  const p = get(code);
  p.catch(() => {}); // a failure is reported to whoever takes it
  early.set(code, p);
}

// langIndex is the server's list of catalogs (server/webassets), asked
// for at once beside them so that it costs no round trip of its own.
export const langIndex = fetch('/i18n/index.json')
  .then((res) => (res.ok ? res.json() : []))
  .catch(() => []);

// fetchCatalog answers a catalog: the one asked for at load the first
// time, a new request after that (a change of language).
export function fetchCatalog(code) {
  const p = early.get(code);
  if (p) {
    early.delete(code);
    return p;
  }
  return get(code);
}
