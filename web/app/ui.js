// The screens. Routes live in the URL fragment (#/s/<space>/goals), so the
// service worker serves one index.html for all of them, online or not.
// Every screen is rebuilt from the local client on each change; while a
// form is open the rebuild waits, so nobody loses what they are typing.

import { h, clear } from './dom.js';
import { t, tn, setLang, currentLang, UI_LANGS, langName, formatTime, formatDate, applyDocument, isRTL } from './i18n.js';
import * as c from './client.js';
import { buildForm, collectionSchema, fieldLabel, enumLabel, errorText } from './forms.js';

const RENDER_DEBOUNCE = 80; // ms: a page of synced records is one rebuild
const TOAST_TIME = 4000; // ms

const STUDENT_TABS = ['about', 'goals', 'notes', 'meetings', 'family'];
const SCHOOL_TABS = ['services', 'events'];

let renderTimer = 0;
let renderSeq = 0;
let deferred = false;
let lastPath = '';
const askedNames = new Set();

export async function start(api) {
  c.init(api);
  c.subscribe(onEvent);
  updateSync(await c.state());
  window.addEventListener('hashchange', () => render());
  await render();
}

function onEvent(ev) {
  switch (ev && ev.type) {
    case 'state':
      Promise.resolve(ev.state || c.state()).then(updateSync);
      break;
    case 'rejected':
      toast(t('sync.rejected', { reason: errorText(ev.error || ev) }));
      scheduleRender();
      break;
    default:
      scheduleRender();
  }
}

// scheduleRender rebuilds the screen soon, or once the open form closes.
function scheduleRender() {
  clearTimeout(renderTimer);
  renderTimer = setTimeout(() => {
    if (document.querySelector('#main form.record-form')) {
      deferred = true;
      return;
    }
    render();
  }, RENDER_DEBOUNCE);
}

// formClosed is called when a form goes away, to catch up on changes that
// arrived while it was open.
function formClosed() {
  if (deferred) {
    deferred = false;
    render();
  }
}

// Sync state, always in words.
function syncText(st) {
  const n = st.pending || 0;
  const waiting = n > 0 ? tn('sync.waiting', n) : '';
  switch (st.status) {
    case 'synced':
      return n > 0 ? waiting : t('sync.saved');
    case 'syncing':
      return n > 0 ? tn('sync.sending', n) : t('sync.syncing');
    case 'connecting':
      return n > 0 ? `${t('sync.connecting')} · ${waiting}` : t('sync.connecting');
    case 'stopped': {
      const why = { unauthorized: 'sync.signedOut', upgrade_required: 'sync.upgrade', user_changed: 'sync.userChanged' }[st.reason] || 'sync.stopped';
      return n > 0 ? `${t(why)} · ${waiting}` : t(why);
    }
    default:
      return n > 0 ? `${t('sync.offline')} · ${waiting}` : `${t('sync.offline')} · ${t('sync.savedHere')}`;
  }
}

let lastState = { status: 'offline', pending: 0 };
function updateSync(st) {
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

let toastTimer = 0;
function toast(msg) {
  const el = document.getElementById('toast');
  el.textContent = msg;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    el.hidden = true;
  }, TOAST_TIME);
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
    view = await screen(route.parts);
  } catch (err) {
    console.error(err);
    view = { title: t('error.title'), node: h('p', { class: 'error', role: 'alert' }, errorText(err)) };
  }
  if (seq !== renderSeq) return;
  if (route.path === lastPath && document.querySelector('#main form.record-form')) {
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

function go(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

async function screen(parts) {
  const [first] = parts;
  if (first === 'settings') return settingsScreen();
  if (!c.signedIn() || first === 'signin') return first === 'join' ? joinScreen() : signInScreen();
  if (first === 'join') return joinScreen();
  if (first === 's' && parts[2] === 'goal' && parts[3]) return goalScreen(parts[1], parts[3]);
  if (first === 's') return studentScreen(parts[1], STUDENT_TABS.includes(parts[2]) ? parts[2] : 'goals');
  if (first === 'school') return schoolScreen(parts[1], SCHOOL_TABS.includes(parts[2]) ? parts[2] : 'services');
  if (first === 'h' && parts.length >= 4) return historyScreen(parts[1], parts[2], parts[3]);
  return homeScreen();
}

// ----- signing in -----

function field(label, input) {
  input.id = input.id || `in-${input.name}`;
  return h('div', { class: 'field' }, h('label', { for: input.id }, label), input);
}

function signInScreen() {
  const login = h('input', { name: 'login', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const button = h('button', { type: 'submit' }, t('signin.submit'));
  const form = h('form', { class: 'auth', id: 'signin' }, field(t('signin.login'), login), field(t('signin.password'), password), error, button);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.hidden = true;
    button.disabled = true;
    try {
      await c.signIn(login.value.trim(), password.value);
      go('#/');
    } catch (err) {
      error.textContent = err && err.code === 'unauthorized' ? t('signin.wrong') : errorText(err);
      error.hidden = false;
    } finally {
      button.disabled = false;
    }
  });
  return {
    title: t('signin.title'),
    node: h('div', {}, h('p', {}, t('signin.intro')), form, h('p', { class: 'alt' }, t('signin.family'), ' ', h('a', { href: '#/join' }, t('join.link')))),
  };
}

function joinScreen() {
  const code = h('input', { name: 'code', required: true, autocomplete: 'one-time-code', autocapitalize: 'characters', spellcheck: 'false' });
  const name = h('input', { name: 'name', required: true, autocomplete: 'name' });
  const pass = h('input', { name: 'passphrase', type: 'password', autocomplete: 'new-password' });
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const button = h('button', { type: 'submit' }, t('join.submit'));
  const form = h('form', { class: 'auth', id: 'join' },
    field(t('join.code'), code), field(t('join.name'), name), field(t('join.passphrase'), pass),
    h('p', { class: 'hint' }, t('join.passphraseHint')), error, button);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.hidden = true;
    button.disabled = true;
    try {
      await c.join(code.value.trim(), name.value.trim(), pass.value);
      go('#/');
    } catch (err) {
      error.textContent = errorText(err);
      error.hidden = false;
    } finally {
      button.disabled = false;
    }
  });
  const back = c.signedIn() ? null : h('p', { class: 'alt' }, h('a', { href: '#/signin' }, t('join.back')));
  return { title: t('join.title'), node: h('div', {}, h('p', {}, t('join.intro')), form, back) };
}

// ----- home -----

async function homeScreen() {
  const all = await c.spaces();
  const students = all.filter((s) => s.kind === 'student').sort((a, b) => a.name.localeCompare(b.name, currentLang()));
  const schools = all.filter((s) => s.kind === 'school');
  const me = c.currentUser();
  const node = h('div', {},
    me && me.name ? h('p', {}, t('home.hello', { name: me.name })) : null,
    lastState.status === 'stopped' && lastState.reason === 'unauthorized'
      ? h('p', { class: 'notice', role: 'alert' }, t('sync.signedOut'), ' ', h('a', { href: '#/signin' }, t('signin.title'))) : null,
    h('section', { 'aria-labelledby': 'h-students' },
      h('h2', { id: 'h-students' }, t('home.students')),
      students.length === 0 ? h('p', { class: 'muted' }, t('home.noStudents')) : h('ul', { class: 'links' },
        students.map((s) => h('li', {}, h('a', { href: `#/s/${s.id}/goals`, class: 'big-link', 'data-space': s.id }, s.name || t('home.unnamed')))))),
    schools.length === 0 ? null : h('section', { 'aria-labelledby': 'h-schools' },
      h('h2', { id: 'h-schools' }, t('home.school')),
      h('ul', { class: 'links' }, schools.map((s) => h('li', {}, h('a', { href: `#/school/${s.id}/services`, class: 'big-link' }, s.name || t('home.unnamed')))))),
    h('p', { class: 'alt' }, h('a', { href: '#/join' }, t('home.joinAnother'))));
  return { title: t('home.title'), node };
}

async function spaceName(space) {
  const s = (await c.spaces()).find((x) => x.id === space);
  return s ? s.name : '';
}

function tabs(base, list, current, prefix) {
  return h('nav', { class: 'tabs', 'aria-label': t('nav.sections') },
    h('ul', {}, list.map((tab) => h('li', {}, h('a', { href: `${base}/${tab}`, 'aria-current': tab === current ? 'page' : null }, t(`${prefix}.${tab}`))))));
}

// ----- showing records -----

function who(id) {
  const me = c.currentUser();
  if (me && id === me.id) return t('person.you');
  return c.nameOf(id) || t('person.someone');
}

function textAttrs(kind, collection, name, rec) {
  const f = collectionSchema(kind, collection).fields.find((x) => x.name === name);
  if (!f || !f.text) return { dir: 'auto' };
  const lang = f.langField ? c.val(rec, f.langField) : '';
  return lang ? { lang, dir: isRTL(lang) ? 'rtl' : 'auto' } : { dir: 'auto' };
}

// formatValue shows a stored value in words.
function formatValue(collection, path, f, v) {
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
// list; texts carry their language.
function fieldsList(kind, collection, rec, names) {
  const schema = collectionSchema(kind, collection);
  const rows = [];
  for (const name of names) {
    const f = schema.fields.find((x) => x.name === name);
    const v = c.val(rec, name);
    const shown = formatValue(collection, name, f, v);
    if (shown === '') continue;
    rows.push(h('dt', {}, fieldLabel(collection, name)), h('dd', f.text ? { ...textAttrs(kind, collection, name, rec), class: 'text' } : {}, shown));
  }
  return rows.length ? h('dl', { class: 'fields' }, rows) : null;
}

// card shows a record with its conflicts (where they happened), its
// content, and edit / history / delete. A deleted record is shown only
// while its delete crossed an edit (c.deleteInDoubt): then the conflict
// panel decides, and it offers no edit or delete.
function card(ctx, rec, opts) {
  const { kind, space, collection } = ctx;
  const body = h('div', { class: 'card-body' }, opts.body);
  const article = h('article', { class: 'card', 'data-id': rec.id, 'data-collection': collection, 'aria-label': opts.label || null },
    opts.heading ? h('h3', {}, opts.heading) : null,
    conflictPanel(ctx, rec),
    body);
  const buttons = h('div', { class: 'actions' });
  if (opts.open) buttons.append(h('a', { href: opts.open, class: 'button secondary' }, t('card.open')));
  if (opts.editable !== false && !rec.deleted) {
    const edit = h('button', { type: 'button', class: 'secondary', 'data-action': 'edit' }, t('card.edit'));
    edit.addEventListener('click', () => {
      const form = buildForm({
        kind, collection, record: rec, omit: opts.omit, fixed: {},
        onSave: async (fields) => {
          await c.put(space, collection, rec.id, fields);
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
  if (opts.removable !== false && !rec.deleted) {
    buttons.append(h('button', {
      type: 'button', class: 'secondary danger', 'data-action': 'delete',
      onclick: async () => {
        if (!window.confirm(t('card.confirmDelete'))) return;
        try {
          await c.remove(space, collection, rec.id);
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
function conflictPanel(ctx, rec) {
  const fields = c.conflicted(rec);
  if (fields.length === 0) return null;
  const { kind, space, collection } = ctx;
  const schema = collectionSchema(kind, collection);
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
    h('h4', {}, title),
    h('p', {}, t('conflict.explain')));
  for (const g of groups) {
    const label = g.name === c.DELETED ? t('history.deleted') : fieldLabel(collection, g.name);
    const box = h('div', { class: 'conflict-field', 'data-field': g.name }, h('h5', {}, label));
    g.versions.forEach((v, i) => {
      // A field the schema no longer lists is shown as it is.
      const shown = g.f ? formatValue(collection, g.name, g.f, v.value) : String(v.value ?? '');
      box.append(h('div', { class: 'version', 'data-version': i },
        h('p', { class: 'byline' }, t('conflict.by', { name: who(v.author), time: formatTime(v.time) })),
        h('div', { class: 'text', ...textAttrs(kind, collection, g.name, rec) }, shown === '' ? t('conflict.empty') : shown),
        h('button', {
          type: 'button', 'data-action': 'keep', 'data-version': i,
          onclick: async () => {
            try {
              await c.resolve(space, collection, rec.id, g.name, v.value ?? null);
              toast(t('saved.device'));
              render();
            } catch (err) {
              toast(errorText(err));
            }
          },
        }, t('conflict.keep'))));
    });
    if (g.f && g.f.type === 'string') {
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
            await c.resolve(space, collection, rec.id, g.name, area.value);
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

// addButton opens a form for a new record below itself.
function addButton(ctx, label, opts = {}) {
  const wrap = h('div', { class: 'add' });
  const open = h('button', { type: 'button', 'data-action': 'add', 'data-collection': ctx.collection }, label);
  open.addEventListener('click', () => {
    const form = buildForm({
      kind: ctx.kind, collection: ctx.collection, record: null, fixed: opts.fixed, omit: opts.omit, submit: 'form.add',
      onSave: async (fields) => {
        const id = await c.put(ctx.space, ctx.collection, null, fields);
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
function firstTimes(recs) {
  return new Map(recs.map((r) => [r, c.firstTime(r)]));
}

// byTime sorts recs in place, oldest first, and returns them.
function byTime(recs) {
  const tm = firstTimes(recs);
  return recs.sort((a, b) => tm.get(a) - tm.get(b));
}

// ----- a student's plan -----

async function studentScreen(space, tab) {
  const name = await spaceName(space);
  const ctx = (collection) => ({ kind: 'student', space, collection });
  const base = `#/s/${space}`;
  let content;
  switch (tab) {
    case 'about':
      content = await aboutTab(ctx('about'));
      break;
    case 'notes':
      content = await notesTab(ctx('notes'));
      break;
    case 'meetings':
      content = await meetingsTab(ctx('meetings'));
      break;
    case 'family':
      content = await familyTab(ctx('family'));
      break;
    default:
      content = await goalsTab(ctx('goals'), space);
  }
  return {
    title: name || t('plan.title'),
    crumbs: [{ href: `${base}/${tab}`, label: t(`plan.${tab}`) }],
    node: h('div', { class: 'plan', 'data-space': space }, tabs(base, STUDENT_TABS, tab, 'plan'),
      h('section', { 'aria-labelledby': 'h-tab', class: 'tab' }, h('h2', { id: 'h-tab' }, t(`plan.${tab}`)), content)),
  };
}

async function aboutTab(ctx) {
  const recs = byTime(await c.list(ctx.space, 'about'));
  const kinds = collectionSchema('student', 'about').fields.find((f) => f.name === 'kind').enum;
  const groups = kinds.map((k) => {
    const rs = recs.filter((r) => c.val(r, 'kind') === k);
    if (rs.length === 0) return null;
    return h('section', { class: 'group' }, h('h3', {}, enumLabel('about', 'kind', k)),
      rs.map((r) => card(ctx, r, { body: h('p', { class: 'text', ...textAttrs('student', 'about', 'text', r) }, c.val(r, 'text') || '') })));
  });
  return h('div', {}, h('p', { class: 'muted' }, t('about.intro')),
    recs.length === 0 ? h('p', { class: 'muted' }, t('about.none')) : groups, addButton(ctx, t('about.add')));
}

function goalHeading(r) {
  const area = c.val(r, 'area');
  return area ? enumLabel('goals', 'area', area) : t('goals.untitled');
}

async function goalsTab(ctx, space) {
  const goals = byTime(await c.list(space, 'goals'));
  const actions = await c.list(space, 'actions');
  const checkins = await c.list(space, 'checkins');
  const list = goals.map((g) => {
    const na = actions.filter((a) => c.val(a, 'goal_id') === g.id).length;
    const nc = checkins.filter((a) => c.val(a, 'goal_id') === g.id).length;
    return card(ctx, g, {
      heading: goalHeading(g),
      open: `#/s/${space}/goal/${g.id}`,
      body: [fieldsList('student', 'goals', g, ['description', 'target', 'status', 'target_date']),
        h('p', { class: 'muted' }, tn('goals.actionCount', na), ' · ', tn('goals.checkinCount', nc))],
    });
  });
  return h('div', {}, goals.length === 0 ? h('p', { class: 'muted' }, t('goals.none')) : list,
    addButton(ctx, t('goals.add'), { then: (id) => `#/s/${space}/goal/${id}` }));
}

async function goalScreen(space, id) {
  const name = await spaceName(space);
  const goal = await c.get(space, 'goals', id);
  const base = `#/s/${space}`;
  const crumbs = [{ href: `${base}/goals`, label: t('plan.goals') }];
  if (!goal || (goal.deleted && !c.deleteInDoubt(goal))) {
    return { title: t('goals.gone'), crumbs, node: h('p', {}, h('a', { href: `${base}/goals` }, t('goals.back'))) };
  }
  const ctx = (collection) => ({ kind: 'student', space, collection });
  const actions = byTime((await c.list(space, 'actions')).filter((a) => c.val(a, 'goal_id') === id));
  // Newest date first; on one date, the most recently created first.
  const checkins = (await c.list(space, 'checkins')).filter((a) => c.val(a, 'goal_id') === id);
  const tm = firstTimes(checkins);
  checkins.sort((a, b) => String(c.val(b, 'date') || '').localeCompare(String(c.val(a, 'date') || '')) || tm.get(b) - tm.get(a));
  const whereSection = (where) => h('section', { class: 'group', 'aria-labelledby': `h-${where}` },
    h('h3', { id: `h-${where}` }, t(`goal.${where}`)),
    actions.filter((a) => c.val(a, 'where') === where).map((a) => card(ctx('actions'), a, {
      omit: ['where'],
      body: fieldsList('student', 'actions', a, ['what', 'who', 'how_often']),
    })),
    addButton(ctx('actions'), t(`goal.add_${where}`), { fixed: { goal_id: id, where }, omit: ['where'] }));
  return {
    title: goalHeading(goal),
    crumbs: [...crumbs, { href: `${base}/goal/${id}`, label: goalHeading(goal) }],
    node: h('div', { class: 'goal', 'data-id': id },
      card(ctx('goals'), goal, {
        label: t('thing.goals'),
        body: fieldsList('student', 'goals', goal, ['area', 'description', 'description_lang', 'target', 'status', 'start_date', 'target_date']),
        afterDelete: `${base}/goals`,
      }),
      whereSection('school'),
      whereSection('home'),
      h('section', { class: 'group', 'aria-labelledby': 'h-checkins' },
        h('h3', { id: 'h-checkins' }, t('goal.checkins')),
        checkins.length === 0 ? h('p', { class: 'muted' }, t('goal.noCheckins')) : checkins.map((ci) => card(ctx('checkins'), ci, {
          heading: [formatDate(c.val(ci, 'date')) || t('goal.checkin'), c.val(ci, 'progress') ? ` · ${enumLabel('checkins', 'progress', c.val(ci, 'progress'))}` : ''].join(''),
          body: fieldsList('student', 'checkins', ci, ['where', 'what_happened', 'by']),
        })),
        addButton(ctx('checkins'), t('goal.addCheckin'), { fixed: { goal_id: id } }))),
  };
}

async function notesTab(ctx) {
  const notes = byTime(await c.list(ctx.space, 'notes'));
  const ids = new Set(notes.map((n) => n.id));
  const top = notes.filter((n) => !c.val(n, 'reply_to') || !ids.has(c.val(n, 'reply_to')));
  const me = c.currentUser();
  const mine = { author_name: (me && me.name) || '' };
  const note = (n) => {
    const author = c.val(n, 'author_name') || who(c.meta(n, 'text')?.author);
    const time = c.meta(n, 'text')?.time;
    const replies = notes.filter((r) => c.val(r, 'reply_to') === n.id);
    return h('li', {},
      card(ctx, n, {
        omit: ['author_name'],
        heading: [enumLabel('notes', 'kind', c.val(n, 'kind') || 'update'), ' · ', author],
        body: [h('p', { class: 'muted' }, formatTime(time)), h('p', { class: 'text', ...textAttrs('student', 'notes', 'text', n) }, c.val(n, 'text') || '')],
        extra: replyButton(ctx, n, mine),
      }),
      replies.length ? h('ol', { class: 'replies' }, replies.map(note)) : null);
  };
  return h('div', {}, h('p', { class: 'muted' }, t('notes.intro')),
    top.length === 0 ? h('p', { class: 'muted' }, t('notes.none')) : h('ol', { class: 'thread' }, top.map(note)),
    addButton(ctx, t('notes.add'), { fixed: mine, omit: ['author_name'] }));
}

function replyButton(ctx, n, mine) {
  const wrap = h('span', {});
  const b = h('button', { type: 'button', class: 'secondary', 'data-action': 'reply' }, t('notes.reply'));
  b.addEventListener('click', () => {
    const article = b.closest('article');
    const form = buildForm({
      kind: 'student', collection: 'notes', record: null, fixed: { ...mine, reply_to: n.id }, omit: ['author_name'], submit: 'notes.sendReply',
      onSave: async (fields) => {
        await c.put(ctx.space, 'notes', null, fields);
        toast(t('saved.device'));
        form.remove();
        render();
      },
      onCancel: () => {
        form.remove();
        b.focus();
        formClosed();
      },
    });
    article.append(form);
    form.querySelector('select, textarea')?.focus();
  });
  wrap.append(b);
  return wrap;
}

async function meetingsTab(ctx) {
  const ms = byTime(await c.list(ctx.space, 'meetings'));
  return h('div', {}, h('p', { class: 'muted' }, t('meetings.intro')),
    ms.length === 0 ? h('p', { class: 'muted' }, t('meetings.none')) : ms.map((m) => card(ctx, m, {
      heading: c.val(m, 'title') || t('meetings.untitled'),
      body: fieldsList('student', 'meetings', m, ['status', 'proposed_times', 'duration_minutes', 'agenda', 'attendees',
        'interpreter_needed', 'interpreter_language', 'notes', 'agreed_actions', 'lang']),
    })),
    addButton(ctx, t('meetings.add')));
}

async function familyTab(ctx) {
  const recs = byTime(await c.list(ctx.space, 'family'));
  const fam = recs[0];
  const names = ['preferred_language', 'contact_methods', 'best_times', 'barriers', 'barriers_detail', 'lang'];
  return h('div', {}, h('p', { class: 'muted' }, t('family.intro')),
    fam ? card(ctx, fam, { body: fieldsList('student', 'family', fam, names), removable: false }) : addButton(ctx, t('family.add')));
}

// ----- the school -----

async function schoolScreen(space, tab) {
  const name = await spaceName(space);
  const ctx = { kind: 'school', space, collection: tab };
  const recs = (await c.list(space, tab)).sort(tab === 'events'
    ? (a, b) => String(c.val(a, 'starts_at') || '').localeCompare(String(c.val(b, 'starts_at') || ''))
    : (a, b) => String(c.val(a, 'name') || '').localeCompare(String(c.val(b, 'name') || ''), currentLang()));
  const base = `#/school/${space}`;
  const list = tab === 'events'
    ? recs.map((r) => card(ctx, r, {
      heading: h('span', textAttrs('school', 'events', 'title', r), c.val(r, 'title') || ''),
      body: fieldsList('school', 'events', r, ['kind', 'starts_at', 'ends_at', 'place', 'description', 'languages']),
    }))
    : recs.map((r) => card(ctx, r, {
      heading: c.val(r, 'name') || '',
      body: fieldsList('school', 'services', r, ['kind', 'offers', 'contact', 'languages', 'cost']),
    }));
  return {
    title: name || t('school.title'),
    crumbs: [{ href: `${base}/${tab}`, label: t(`school.${tab}`) }],
    node: h('div', { class: 'school' }, tabs(base, SCHOOL_TABS, tab, 'school'),
      h('section', { 'aria-labelledby': 'h-tab', class: 'tab' }, h('h2', { id: 'h-tab' }, t(`school.${tab}`)),
        recs.length === 0 ? h('p', { class: 'muted' }, t(`school.none_${tab}`)) : list,
        addButton(ctx, t(`school.add_${tab}`)))),
  };
}

// ----- a record's history -----

function historyAuthor(a) {
  if (!a) return t('person.someone');
  const me = c.currentUser();
  if (me && a.id === me.id) return t('person.you');
  return a.name || who(a.id);
}

async function historyScreen(space, collection, id) {
  const sp = (await c.spaces()).find((x) => x.id === space);
  const kind = sp ? sp.kind : 'student';
  const schema = collectionSchema(kind, collection);
  const thing = schema ? t(`thing.${collection}`) : collection;
  let entries;
  try {
    entries = await c.history(space, collection, id);
  } catch (err) {
    return { title: t('history.title', { thing }), node: h('p', { class: 'notice', role: 'alert' }, err && err.code === 'offline' ? t('history.offline') : errorText(err)) };
  }
  const rows = entries.slice().reverse().map((e) => h('li', { class: 'card' },
    h('p', { class: 'byline' }, t('history.by', { name: historyAuthor(e.author), time: formatTime(e.time) }),
      e.conflict ? h('span', { class: 'badge' }, t('history.conflict')) : null),
    h('dl', { class: 'fields' }, Object.entries(e.fields || {}).map(([name, v]) => {
      if (name === '_deleted') return [h('dt', {}, t('history.deleted')), h('dd', {}, v ? t('form.yes') : t('form.no'))];
      const f = schema && schema.fields.find((x) => x.name === name);
      const shown = f ? formatValue(collection, name, f, v) : String(v ?? '');
      return [h('dt', {}, f ? fieldLabel(collection, name) : name), h('dd', { dir: 'auto' }, shown === '' ? t('history.cleared') : shown)];
    }))));
  return {
    title: t('history.title', { thing }),
    crumbs: [{ href: `#/h/${space}/${collection}/${id}`, label: t('history.crumb') }],
    node: h('div', {}, entries.length === 0 ? h('p', { class: 'muted' }, t('history.none')) : h('ol', { class: 'history' }, rows)),
  };
}

// ----- settings -----

async function settingsScreen() {
  const sel = h('select', { id: 'ui-lang', name: 'ui-lang', value: currentLang() },
    UI_LANGS.map((l) => h('option', { value: l, lang: l }, new Intl.DisplayNames([l], { type: 'language' }).of(l) || l)));
  sel.addEventListener('change', async () => {
    await setLang(sel.value);
    updateSync(lastState);
    lastPath = '';
    render();
  });
  const st = lastState;
  let persisted = null;
  try {
    persisted = await navigator.storage?.persisted?.();
  } catch {
    persisted = null;
  }
  const me = c.currentUser();
  const node = h('div', {},
    h('section', { 'aria-labelledby': 'h-lang' }, h('h2', { id: 'h-lang' }, t('settings.language')),
      h('div', { class: 'field' }, h('label', { for: 'ui-lang' }, t('settings.languageLabel')), sel)),
    h('section', { 'aria-labelledby': 'h-device' }, h('h2', { id: 'h-device' }, t('settings.device')),
      h('p', {}, syncText(st)),
      st.lastError ? h('p', { class: 'muted' }, t('settings.lastError', { error: st.lastError })) : null,
      h('p', {}, persisted ? t('settings.persisted') : t('settings.notPersisted'))),
    me ? h('section', { 'aria-labelledby': 'h-account' }, h('h2', { id: 'h-account' }, t('settings.account')),
      h('p', {}, t('settings.signedInAs', { name: me.name || '' })),
      (st.pending || 0) > 0 ? h('p', { class: 'notice' }, tn('settings.signOutPending', st.pending)) : null,
      h('button', {
        type: 'button', class: 'danger', id: 'signout',
        onclick: async () => {
          try {
            await c.signOut();
            go('#/signin');
          } catch (err) {
            toast(errorText(err));
          }
        },
      }, t('settings.signOut'))) : h('p', {}, h('a', { href: '#/signin' }, t('signin.title'))));
  return { title: t('settings.title'), crumbs: [{ href: '#/settings', label: t('settings.title') }], node };
}
