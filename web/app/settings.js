// Settings: the UI language, this device's storage and sync, the account.

import { h } from './dom.js';
import { t, tn, setLang, currentLang, UI_LANGS, uiLangLabel } from './i18n.js';
import * as c from './client.js';
import { errorText } from './forms.js';
import { render, go, toast, syncText, updateSync, syncState, forgetPath } from './shell.js';
import { loginSection } from './loginslip.js';
import { passwordSection } from './password.js';
import { devicesSection } from './devices.js';
import { notifySection } from './notifyprefs.js';
import { tellServer } from './langsync.js';

export async function settingsScreen() {
  const sel = h('select', { id: 'ui-lang', name: 'ui-lang', value: currentLang() },
    UI_LANGS.map((l) => h('option', { value: l, lang: l }, uiLangLabel(l))));
  sel.addEventListener('change', async () => {
    tellServer(sel.value); // not awaited: the screen switches at once, online or not
    await setLang(sel.value);
    updateSync(syncState());
    forgetPath();
    render();
  });
  const st = syncState();
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
      }, t('settings.signOut'))) : h('p', {}, h('a', { href: '#/signin' }, t('signin.title'))),
    loginSection(),
    me ? [passwordSection(), await devicesSection()] : null,
    me ? await notifySection() : null);
  return { title: t('settings.title'), crumbs: [{ href: '#/settings', label: t('settings.title') }], node };
}
