// The app's entry: it starts the client, follows its events and routes
// each URL fragment to its screen. Each screen lives in a module named
// after it (signin.js, join.js, home.js, plan.js, goals.js, notes.js,
// meetings.js, school.js, history.js, settings.js); what they share is
// below them in shell.js (the frame), views.js (records), forms.js,
// dom.js and i18n.js.

import { h } from './dom.js';
import { t } from './i18n.js';
import * as c from './client.js';
import { errorText } from './forms.js';
import { keep, render, scheduleRender, setRouter, toast, updateSync } from './shell.js';
import { signInScreen } from './signin.js';
import { joinScreen } from './join.js';
import { homeScreen } from './home.js';
import { studentScreen, STUDENT_TABS } from './plan.js';
import { goalScreen } from './goals.js';
import { schoolScreen, SCHOOL_TABS } from './school.js';
import { historyScreen } from './history.js';
import { settingsScreen } from './settings.js';
import * as notSaved from './notsaved.js';
import * as langsync from './langsync.js';
import { teamScreen } from './team.js';
import { adminScreen } from './admin.js';
import { callListScreen } from './calllist.js';
import { setupScreen } from './setup.js';
import { invitesScreen } from './invites.js';
import { inviteSlipScreen } from './inviteslip.js';
import { loginSlipScreen } from './loginslip.js';

export { render };

// start takes over from boot.js; shown is the location.hash whose screen
// boot.js already put on the page, left as it is when still current.
export async function start(api, { shown = null } = {}) {
  c.init(api);
  c.subscribe(onEvent);
  await notSaved.init();
  langsync.flush(); // a language chosen offline, told to the server now
  setRouter(withNotSaved);
  updateSync(await c.state());
  window.addEventListener('hashchange', () => render());
  if (shown !== null && shown === location.hash) keep();
  else await render();
}

function onEvent(ev) {
  switch (ev && ev.type) {
    case 'state':
      Promise.resolve(ev.state || c.state()).then(updateSync);
      redrawOnNewSpaces();
      break;
    case 'rejected':
      // A held edit stays on the device and is sent again; any other is
      // undone, and its words are kept under "Not saved".
      if (ev.held) {
        toast(t('sync.rejected', { reason: errorText(ev.error || ev) }));
        scheduleRender();
        break;
      }
      notSaved.keep(ev).then((kept) => {
        toast(kept ? t('notsaved.kept') : t('sync.rejected', { reason: errorText(ev.error || ev) }));
        scheduleRender();
      }).catch((err) => {
        console.error('plansync: could not keep refused words', err);
        toast(t('sync.rejected', { reason: errorText(ev.error || ev) }));
      });
      break;
    default:
      if (!readsServer()) scheduleRender();
  }
}

// readsServer says the screen shows what the server's API answers (the
// admin's screens, the call list), not the local copy: a sync event says
// nothing new about it, and rebuilding it would drop the notice it shows
// (a setup code, "Mr. Díaz is on Bea's plan") and could fetch its list
// before the request it just sent has landed. Each refreshes itself after
// its own requests.
function readsServer() {
  return /^#\/(admin|calls)(\/|$)/.test(location.hash);
}

// redrawOnNewSpaces redraws when a connection lists other spaces than
// the last screen saw: a plan someone was just given may hold no records
// yet, so no record event would show it. The home screen, which lists the
// plans, is redrawn on any change, the first look included (a family that
// just joined sees "no plans yet" until the welcome lists theirs). Other
// screens are redrawn only when a list they were drawn with changed, not
// on the first look after sign-in: that rebuild would replace a screen
// someone is already using (a settings switch, a form's button).
let spacesSeen = null;
async function redrawOnNewSpaces() {
  const ids = c.signedIn() ? (await c.spaces()).map((s) => `${s.id}:${s.role}`).sort().join() : '';
  if (ids === spacesSeen) return;
  const before = spacesSeen;
  spacesSeen = ids;
  if (readsServer()) return;
  if (onHome() || (before !== null && before !== '')) scheduleRender();
}

function onHome() {
  return /^#?\/?$/.test(location.hash);
}

// withNotSaved puts the person's "Not saved" cards above every screen
// they are signed in on, so the words wait where they will be seen.
async function withNotSaved(parts) {
  const view = await screen(parts);
  const cards = c.signedIn() ? await notSaved.view() : null;
  if (cards) view.node = h('div', {}, cards, view.node);
  return view;
}

async function screen(parts) {
  // A route may carry a query after its name (#/join?code=...).
  const first = (parts[0] || '').split('?')[0];
  if (first === 'settings') return settingsScreen();
  if (first === 'setup') return setupScreen();
  if (!c.signedIn() || first === 'signin') return first === 'join' ? joinScreen() : signInScreen();
  if (first === 'join') return joinScreen();
  if (first === 's' && parts[2] === 'goal' && parts[3]) return goalScreen(parts[1], parts[3]);
  if (first === 's' && parts[2] === 'team') return teamScreen(parts[1]);
  if (first === 'admin') return adminScreen(parts.slice(1));
  if (first === 'calls' && parts[1]) return callListScreen(parts[1]);
  if (first === 's' && parts[2] === 'invites') return invitesScreen(parts[1]);
  if (first === 's' && parts[2] === 'slip') return inviteSlipScreen(parts[1]);
  if (first === 'login') return loginSlipScreen();
  if (first === 's') return studentScreen(parts[1], STUDENT_TABS.includes(parts[2]) ? parts[2] : 'goals');
  if (first === 'school') return schoolScreen(parts[1], SCHOOL_TABS.includes(parts[2]) ? parts[2] : 'services');
  if (first === 'h' && parts.length >= 4) return historyScreen(parts[1], parts[2], parts[3]);
  return homeScreen();
}
