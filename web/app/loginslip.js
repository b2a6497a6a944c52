// The login slip: a family member who chose a passphrase when they joined
// gets a login the server made for them ("rosa-7k3m"). They need it, with
// their passphrase, to sign in on another phone, so the app shows it on a
// slip to write down or print right after joining, and Settings shows it
// again. The passphrase itself is never shown: only the person knows it.

import { h } from './dom.js';
import { t } from './i18n.js';
import * as c from './client.js';
import { printButton } from './inviteslip.js';

export function loginSlipScreen() {
  const login = c.login();
  const crumbs = [{ href: '#/settings', label: t('settings.title') }, { href: '#/login', label: t('loginslip.title') }];
  if (!login) {
    return { title: t('loginslip.title'), crumbs, node: h('p', { class: 'notice' }, t('loginslip.none')) };
  }
  const me = c.currentUser();
  const paper = h('article', { class: 'slip', 'aria-labelledby': 'h-login-slip' },
    h('h2', { id: 'h-login-slip' }, t('loginslip.heading', { name: (me && me.name) || '' })),
    h('p', { class: 'slip-label', id: 'login-label' }, t('loginslip.loginLabel')),
    h('p', { class: 'slip-code', id: 'my-login', 'aria-labelledby': 'login-label' }, login),
    h('ol', { class: 'slip-steps' },
      h('li', {}, t('loginslip.step1', { site: location.host })),
      h('li', {}, t('loginslip.step2')),
      h('li', {}, t('loginslip.step3'))),
    h('p', { class: 'slip-until' }, t('loginslip.passphrase')));
  return {
    title: t('loginslip.title'),
    crumbs,
    node: h('div', {}, h('p', { class: 'muted' }, t('loginslip.intro')), paper,
      h('div', { class: 'actions slip-actions' }, printButton(),
        h('a', { class: 'button secondary', href: '#/', 'data-action': 'done' }, t('slip.done')))),
  };
}

// loginSection is Settings' reminder of the login, for those who have one.
export function loginSection() {
  const login = c.login();
  if (!login) return null;
  return h('section', { 'aria-labelledby': 'h-login' }, h('h2', { id: 'h-login' }, t('loginslip.settings')),
    h('p', {}, t('loginslip.yourLogin'), ' ', h('strong', { id: 'settings-login' }, login)),
    h('p', {}, h('a', { href: '#/login', 'data-action': 'login-slip' }, t('loginslip.show'))));
}
