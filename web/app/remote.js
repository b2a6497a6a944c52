// Below the screens that ask the server rather than the device (team.js,
// admin*.js, password.js, devices.js): their lists are not synced, so
// each part of such a screen is a box that loads itself, says in words
// when the network is missing, and can be loaded again in place after an
// action, without rebuilding the whole screen (which would move focus
// and throw away what is typed in the screen's other forms).

import { h, clear } from './dom.js';
import { t } from './i18n.js';
import { errorText } from './forms.js';

// problem is an error in the person's language; a network failure says
// that this part needs a connection (the rest of the app works offline).
export function problem(err, overrides = {}) {
  const code = err && err.code;
  if (code && overrides[code]) return overrides[code];
  if (code === 'network' || code === 'timeout' || (typeof navigator !== 'undefined' && navigator.onLine === false)) return t('remote.offline');
  return errorText(err);
}

// box returns an element filled by build() (an async function returning
// a node). box.refresh() builds it again in place; a failure to load
// shows the reason and a "Try again" button instead. With lazy, the box
// comes back at once, saying it is loading, so that a slow network does
// not hold up the rest of the screen (Settings works offline).
export async function box(build, attrs = {}, lazy = false) {
  const el = h('div', { 'aria-busy': 'true', ...attrs });
  el.refresh = async () => {
    let node;
    try {
      node = await build();
    } catch (err) {
      const again = h('button', { type: 'button', class: 'secondary', onclick: () => el.refresh() }, t('remote.retry'));
      node = h('div', {}, h('p', { class: 'notice', role: 'alert' }, problem(err)), again);
    }
    clear(el).append(node || '');
    el.removeAttribute('aria-busy');
    return el;
  };
  if (!lazy) return el.refresh();
  el.append(h('p', { class: 'muted' }, t('remote.loading')));
  el.refresh();
  return el;
}

// liveStatus is a polite live region for the result of an action.
export function liveStatus() {
  return h('p', { class: 'status', role: 'status' });
}

// onSubmit runs fn for a form's submit: the button is disabled while it
// runs and a failure is shown in error (the form keeps every value the
// person typed). The form is reset only when fn succeeds.
export function onSubmit(form, error, fn, overrides) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.hidden = true;
    const buttons = [...form.querySelectorAll('button[type=submit]')];
    for (const b of buttons) b.disabled = true;
    try {
      if ((await fn()) !== false) form.reset();
    } catch (err) {
      error.textContent = problem(err, overrides);
      error.hidden = false;
      error.focus?.();
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  });
}

// errorLine is the paragraph a form shows its failure in.
export function errorLine() {
  return h('p', { class: 'error', role: 'alert', tabindex: '-1', hidden: true });
}

// confirmInline turns a button into "Sure? [yes] [cancel]" in place: a
// dialog the keyboard and screen readers reach like the rest of the page
// (window.confirm would block the page and cannot be styled).
export function confirmButton(label, question, yes, action) {
  const wrap = h('span', { class: 'confirm' });
  const open = h('button', { type: 'button', class: 'danger' }, label);
  const reset = () => {
    clear(wrap).append(open);
    open.focus();
  };
  open.addEventListener('click', () => {
    const err = h('span', { class: 'error', role: 'alert' });
    const ok = h('button', { type: 'button', class: 'danger' }, yes);
    const no = h('button', { type: 'button', class: 'secondary' }, t('remote.cancel'));
    ok.addEventListener('click', async () => {
      ok.disabled = true;
      try {
        await action();
      } catch (e) {
        err.textContent = problem(e);
        ok.disabled = false;
      }
    });
    no.addEventListener('click', reset);
    clear(wrap).append(h('span', { class: 'question' }, question), ' ', ok, ' ', no, ' ', err);
    ok.focus();
  });
  wrap.append(open);
  return wrap;
}
