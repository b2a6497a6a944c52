// Settings: how and when Plansync tells you what changed (server/notify,
// GET/PUT /api/notify/prefs). Channels (push on this device, email, a
// text message, a call from the office), quiet hours, and whether news
// comes at once or in a daily or weekly digest. A family's profile ("text
// message, after 6 pm") fills the first defaults, and the screen says so.
// A new email address or phone number gets a 6-digit code, entered here
// (POST /api/notify/prefs/verify), before anything else is sent there.
//
// The settings live on the server, not on the device, so the section is a
// remote box (remote.js): it says in words when the network is missing,
// and a failed save keeps every value typed.

import { h, nextId } from './dom.js';
import { t } from './i18n.js';
import * as c from './client.js';
import { box, liveStatus, onSubmit, errorLine } from './remote.js';
import { field } from './views.js';
import { formClosed } from './shell.js';

// CHANNELS in the order the screen lists them.
const CHANNELS = ['push', 'email', 'sms', 'call'];
const DIGESTS = ['now', 'daily', 'weekly'];
// PUSH_READY_MS bounds the wait for the service worker before subscribing.
const PUSH_READY_MS = 10000;
// PUSH_SUBSCRIBE_MS bounds the browser's call to its push service.
const PUSH_SUBSCRIBE_MS = 20000;

const PHONE_RE = /^\+[1-9][0-9]{6,14}$/; // E.164, as server/notify checks it
const CODE_RE = /^[0-9]{6}$/;

export async function notifySection() {
  if (!c.signedIn()) return null;
  const status = liveStatus();
  let data = null; // the server's last answer
  let el = null;
  const show = async (res) => {
    data = res;
    await el.refresh();
    formClosed(); // a rebuild held back while the form was changed
  };
  const load = async () => {
    if (!data) data = await c.call('GET', '/api/notify/prefs');
    return view(data, status, show);
  };
  el = await box(load, { class: 'notify-box' }, true);
  return h('section', { 'aria-labelledby': 'h-notify', id: 'notify' },
    h('h2', { id: 'h-notify', tabindex: '-1' }, t('notify.title')),
    h('p', { class: 'muted' }, t('notify.intro')), status, el);
}

// view is the form for prefs p (the server's answer).
function view(p, status, show) {
  const id = nextId('np');
  const available = new Set(p.available || []);
  const chosen = p.channels || [];
  const checks = CHANNELS.map((ch) => {
    const off = !available.has(ch);
    const cb = h('input', { type: 'checkbox', name: 'channel', value: ch, id: `${id}-ch-${ch}`, checked: chosen.includes(ch), disabled: off && !chosen.includes(ch),
      'aria-describedby': off ? `${id}-ch-${ch}-off` : null });
    return { ch, box: cb, node: h('div', { class: 'field check', 'data-channel': ch }, cb,
      h('label', { for: cb.id }, t(`notify.channel.${ch}`)),
      off ? h('span', { class: 'hint', id: `${id}-ch-${ch}-off` }, ' ', t('notify.notOffered')) : null) };
  });
  const email = h('input', { type: 'email', name: 'email', id: `${id}-email`, autocomplete: 'email', maxlength: 254, value: p.email || '', 'aria-describedby': `${id}-email-state` });
  const phone = h('input', { type: 'tel', name: 'phone', id: `${id}-phone`, autocomplete: 'tel', maxlength: 16, value: p.phone || '', 'aria-describedby': `${id}-phone-hint ${id}-phone-state` });
  const addrState = (kind, name, value, verified) => h('p', { class: 'hint', id: `${id}-${name}-state`, 'data-verified': verified ? 'true' : 'false' },
    !value ? '' : verified ? t('notify.verified') : p.verifying === kind ? t('notify.codeSent') : t('notify.notVerified'));
  const quietStart = h('input', { type: 'time', name: 'quiet_start', id: `${id}-qs`, value: p.quiet_start || '' });
  const quietEnd = h('input', { type: 'time', name: 'quiet_end', id: `${id}-qe`, value: p.quiet_end || '' });
  const zone = p.time_zone || deviceZone();
  const digests = DIGESTS.map((d) => h('div', { class: 'field check' },
    h('input', { type: 'radio', name: 'digest', value: d, id: `${id}-d-${d}`, checked: (p.digest || 'now') === d }),
    h('label', { for: `${id}-d-${d}` }, t(`notify.digest.${d}`))));
  const error = errorLine();
  const form = h('form', { class: 'notify-prefs', id: 'notify-prefs', novalidate: true, 'data-from-profile': p.from_profile ? 'true' : null,
    'aria-describedby': p.from_profile ? `${id}-profile` : null },
  p.from_profile ? h('p', { class: 'notice', id: `${id}-profile` }, t('notify.fromProfile')) : null,
  h('fieldset', {}, h('legend', {}, t('notify.channels')), h('p', { class: 'hint' }, t('notify.channelsHint')), checks.map((x) => x.node)),
  h('fieldset', {}, h('legend', {}, t('notify.addresses')),
    field(t('notify.email'), email), addrState('email', 'email', p.email, p.email_verified),
    field(t('notify.phone'), phone), h('p', { class: 'hint', id: `${id}-phone-hint` }, t('notify.phoneHint')), addrState('sms', 'phone', p.phone, p.phone_verified)),
  h('fieldset', {}, h('legend', {}, t('notify.quiet')), h('p', { class: 'hint' }, t('notify.quietHint', { zone })),
    h('div', { class: 'row' }, field(t('notify.quietStart'), quietStart), field(t('notify.quietEnd'), quietEnd))),
  h('fieldset', {}, h('legend', {}, t('notify.digest')), digests),
  error, h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('notify.save'))));

  markDirty(form);
  onSubmit(form, error, async () => {
    status.textContent = '';
    const channels = [...chosen.filter((ch) => checks.find((x) => x.ch === ch)?.box.checked),
      ...checks.filter((x) => x.box.checked && !chosen.includes(x.ch)).map((x) => x.ch)];
    const body = {
      channels, email: email.value.trim(), phone: phone.value.replace(/[\s().-]/g, ''),
      quiet_start: quietStart.value, quiet_end: quietEnd.value, time_zone: zone,
      digest: form.querySelector('input[name=digest]:checked')?.value || 'now',
    };
    if (p.lang) body.lang = p.lang;
    if (p.push) body.push = p.push;
    if (body.email && !email.checkValidity()) throw focusOn(email, 'bad_email');
    if (body.phone && !PHONE_RE.test(body.phone)) throw focusOn(phone, 'bad_phone');
    if (!body.quiet_start !== !body.quiet_end) throw focusOn(body.quiet_start ? quietEnd : quietStart, 'bad_quiet');
    if (channels.includes('push') && available.has('push')) body.push = await subscribePush(p.vapid_public_key);
    const res = await c.call('PUT', '/api/notify/prefs', body);
    await show(res);
    status.textContent = res.verifying ? t('notify.savedCode') : t('notify.saved');
    document.getElementById(res.verifying ? 'notify-code-input' : 'h-notify')?.focus();
    return false;
  }, overrides());

  return h('div', {}, form, p.verifying ? codeForm(p, status, show) : null);
}

// codeForm takes the 6-digit code sent to the new address.
function codeForm(p, status, show) {
  const addr = p.verifying === 'email' ? p.email : p.phone;
  const input = h('input', { name: 'code', id: 'notify-code-input', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 6, pattern: '[0-9]{6}', 'aria-describedby': 'notify-code-hint' });
  const error = errorLine();
  const form = h('form', { class: 'notify-code', id: 'notify-code', novalidate: true },
    h('p', { id: 'notify-code-hint' }, t(p.verifying === 'email' ? 'notify.codeEmail' : 'notify.codeSMS', { addr: addr || '' })),
    field(t('notify.code'), input), error,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('notify.verify'))));
  markDirty(form);
  onSubmit(form, error, async () => {
    const code = input.value.replace(/\s/g, '');
    if (!CODE_RE.test(code)) throw focusOn(input, 'bad_code');
    const res = await c.call('POST', '/api/notify/prefs/verify', { code });
    await show(res);
    status.textContent = t('notify.verifiedNow', { addr: addr || '' });
    document.getElementById('h-notify')?.focus();
    return false;
  }, { ...overrides(), forbidden: t('notify.wrongCode'), not_found: t('notify.codeExpired') });
  return form;
}

// markDirty marks a form someone changed, so that a sync's rebuild of
// the screen waits instead of throwing their words away (shell.js).
function markDirty(form) {
  const mark = () => form.setAttribute('data-dirty', 'true');
  form.addEventListener('input', mark);
  form.addEventListener('change', mark);
}

function overrides() {
  const o = {};
  for (const k of ['bad_email', 'bad_phone', 'bad_quiet', 'bad_code', 'push_denied', 'push_failed', 'push_unsupported']) o[k] = t(`notify.err.${k}`);
  o.invalid = t('notify.err.invalid');
  return o;
}

function focusOn(input, code) {
  input.focus();
  return { code };
}

function deviceZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

// subscribePush subscribes this browser to push with the server's VAPID
// key and answers the subscription as server/notify reads it (endpoint
// and keys; nothing else, since the server refuses unknown fields).
async function subscribePush(vapidKey) {
  if (!vapidKey || !('serviceWorker' in navigator) || typeof PushManager === 'undefined' || typeof Notification === 'undefined') {
    throw { code: 'push_unsupported' };
  }
  const reg = await within(navigator.serviceWorker.ready, PUSH_READY_MS, 'push_unsupported');
  const perm = Notification.permission === 'granted' ? 'granted' : await Notification.requestPermission();
  if (perm !== 'granted') throw { code: 'push_denied' };
  let sub;
  try {
    sub = await within(reg.pushManager.getSubscription(), PUSH_READY_MS);
    const key = keyBytes(vapidKey);
    if (sub && !sameKey(sub.options && sub.options.applicationServerKey, key)) {
      await sub.unsubscribe();
      sub = null;
    }
    if (!sub) sub = await within(reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key }), PUSH_SUBSCRIBE_MS);
  } catch (err) {
    console.warn('push subscription failed', err);
    throw { code: 'push_failed' };
  }
  const j = sub.toJSON();
  return { endpoint: j.endpoint, keys: { p256dh: j.keys.p256dh, auth: j.keys.auth } };
}

// within is p, or a rejection with code after ms.
function within(p, ms, code = 'push_failed') {
  let timer;
  return Promise.race([p, new Promise((_, reject) => { timer = setTimeout(() => reject({ code }), ms); })]).finally(() => clearTimeout(timer));
}

// keyBytes decodes the base64url VAPID public key (RFC 8292 section 3.2).
function keyBytes(b64url) {
  const b64 = b64url.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (b64url.length % 4)) % 4);
  return Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
}

function sameKey(buf, key) {
  if (!buf) return false;
  const a = new Uint8Array(buf);
  return a.length === key.length && a.every((v, i) => v === key[i]);
}
