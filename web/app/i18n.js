// Message catalogs. Every string the UI shows comes from i18n/<lang>.json
// through t(); a key missing from the chosen catalog falls back to English
// and is recorded in missingStrings, which the browser tests read (and a Go
// test, web/i18n_test.go, fails on any catalog that lacks a key of en.json).
//
// Adding a language is adding i18n/<code>.json: the server lists the
// catalogs, with each one's "_meta.name" and "_meta.reviewed", in
// i18n/index.json (server/webassets), and init reads that into UI_LANGS.
// Layout uses CSS logical properties, so a right-to-left language needs
// nothing more than its code in RTL.

import { UI_LANGS, STORE_KEY, pick, fetchCatalog, langIndex } from './lang.js';

export { UI_LANGS };
// UI_LANGS (lang.js's array) is filled in place by init from the
// server's list of catalogs: importers keep the same array.
const LANG_INFO = new Map();
const RTL = new Set(['ar', 'fa', 'he', 'ur', 'ps', 'yi']);

let lang = 'en';
let catalog = {};
let english = {};
const missing = new Set();

// missingStrings lists keys looked up but absent from the current catalog.
export function missingStrings() {
  return [...missing];
}
globalThis.plansyncMissingStrings = missingStrings;

export function currentLang() {
  return lang;
}

export function isRTL(tag) {
  return RTL.has(String(tag || '').toLowerCase().split('-')[0]);
}

// loadLangs reads the server's list of catalogs; without it (an old
// cache, a server without the index) the app still works in English.
async function loadLangs() {
  const list = await langIndex;
  UI_LANGS.length = 0;
  LANG_INFO.clear();
  for (const l of Array.isArray(list) ? list : []) {
    if (typeof l?.code !== 'string') continue;
    UI_LANGS.push(l.code);
    LANG_INFO.set(l.code, { name: l.name || l.code, reviewed: l.reviewed === true });
  }
  if (!UI_LANGS.includes('en')) {
    UI_LANGS.unshift('en');
    LANG_INFO.set('en', { name: 'English', reviewed: true });
  }
}

// uiLangLabel is a UI language's name in itself, marked (in the current
// UI language) when no person has reviewed its catalog yet.
export function uiLangLabel(code) {
  const info = LANG_INFO.get(code);
  const name = info?.name || code;
  return info && !info.reviewed ? t('settings.unreviewed', { name }) : name;
}

// init loads the list of languages and the chosen (or the browser's) one.
export async function init() {
  await loadLangs();
  await load(pick());
}

async function load(code) {
  // Both at once: on a link with a long round trip, one after the other
  // costs the first screen a round trip.
  const [en, chosen] = await Promise.all([fetchCatalog('en'), code === 'en' ? null : fetchCatalog(code)]);
  english = en;
  catalog = chosen || english;
  lang = code;
  missing.clear();
  applyDocument();
}

// setLang switches the UI language and remembers the choice.
export async function setLang(code) {
  if (!UI_LANGS.includes(code)) return;
  localStorage.setItem(STORE_KEY, code);
  await load(code);
}

// has reports whether the current catalog has a key (no fallback).
export function has(key) {
  return Object.hasOwn(catalog, key);
}

// t returns the message for key with {name} placeholders filled from vars.
export function t(key, vars) {
  let s = catalog[key];
  if (s === undefined) {
    missing.add(key);
    s = english[key] ?? key;
  }
  if (!vars) return s;
  return s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] === undefined ? m : String(vars[k])));
}

// tn picks the CLDR plural form Intl.PluralRules gives for n in the UI
// language (Arabic has zero, one, two, few, many and other; Chinese and
// Vietnamese only other), falling back to key.other when the catalog
// lacks that form; n is also available as {n}.
export function tn(key, n, vars) {
  const form = new Intl.PluralRules(lang).select(n);
  const k = has(`${key}.${form}`) ? `${key}.${form}` : `${key}.other`;
  return t(k, { n: new Intl.NumberFormat(lang).format(n), ...vars });
}

// applyDocument sets lang and dir on <html> and translates elements marked
// data-i18n (text), data-i18n-aria (aria-label) and data-i18n-placeholder.
export function applyDocument(root = document) {
  const html = document.documentElement;
  html.lang = lang;
  html.dir = isRTL(lang) ? 'rtl' : 'ltr';
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-aria]')) el.setAttribute('aria-label', t(el.dataset.i18nAria));
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
}

// Languages offered for what people write, as BCP 47 tags: the languages
// families of a US district most often speak, in no order of importance
// (shown sorted by their names). Any tag is valid in the data; this is
// only what the pickers offer.
export const WRITING_LANGS = ['en', 'es', 'ar', 'zh', 'vi', 'ht', 'pt', 'fr', 'ru', 'so', 'tl', 'ko', 'uk', 'fa', 'hmn', 'sw'];

let names;
// langName is a language's name in the UI language (Intl.DisplayNames),
// or the tag itself where the browser has none.
export function langName(tag) {
  if (!tag) return '';
  try {
    if (!names || names.lang !== lang) names = { lang, dn: new Intl.DisplayNames([lang], { type: 'language' }) };
    return names.dn.of(tag) || tag;
  } catch {
    return tag;
  }
}

// langOptions lists WRITING_LANGS plus extra (a tag already in a record)
// as [tag, name] sorted by name.
export function langOptions(extra) {
  const tags = new Set(WRITING_LANGS);
  if (extra) tags.add(extra);
  return [...tags].map((tg) => [tg, langName(tg)]).sort((a, b) => a[1].localeCompare(b[1], lang));
}

// formatTime shows an instant (ms since the epoch, a Date or RFC 3339
// text) in the UI language.
export function formatTime(v) {
  if (v === undefined || v === null || v === '') return '';
  const d = v instanceof Date ? v : new Date(typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v);
  if (Number.isNaN(d.getTime())) return String(v);
  return new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}

// formatDate shows a calendar date "YYYY-MM-DD" without moving it across
// time zones.
export function formatDate(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s || '');
  if (!m) return s || '';
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeZone: 'UTC' }).format(d);
}

// translatorFor resolves with a t() for another UI language than the
// current one (a slip printed in the family's language while the teacher
// reads the app in theirs); keys it lacks fall back to English.
export async function translatorFor(code) {
  const cat = !UI_LANGS.includes(code) || code === lang ? catalog : code === 'en' ? english : await fetchCatalog(code);
  return (key, vars) => {
    const s = cat[key] ?? english[key] ?? key;
    return vars ? s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] === undefined ? m : String(vars[k]))) : s;
  };
}
