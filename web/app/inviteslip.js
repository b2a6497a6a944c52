// The invite slip: what a teacher prints or shares to bring a family in.
// The code, a QR code of the join link and that link, with three lines of
// how-to in the family's language (which may not be the teacher's). The
// code rides in the URL fragment (#/join?code=...), so it reaches no
// server log. The slip lives only in memory: the code is a secret the
// server keeps only hashed, so it is never written to this device.

import { h, nextId } from './dom.js';
import { t, translatorFor } from './i18n.js';
import { go, toast } from './shell.js';
import { spaceInfo } from './views.js';

// QR_MODULE is the pinned QR encoder (web/vendor, with its license): a
// well-kept library rather than our own Reed-Solomon code, loaded only
// when a slip is shown.
const QR_MODULE = '/vendor/qrcode-generator-2.0.4.js';
// QR_QUIET is the quiet zone around the code, in modules (the standard's 4).
const QR_QUIET = 4;
const SVG = 'http://www.w3.org/2000/svg';

let held = null;

// holdSlip keeps the slip of an invite just made ({space, code, expires,
// lang}) for the slip screen.
export function holdSlip(slip) {
  held = slip;
}

// joinLink is the address that opens the join screen with the code filled in.
export function joinLink(code) {
  return `${location.origin}/#/join?code=${encodeURIComponent(code)}`;
}

// qrCode draws text as a QR code in SVG, built through the DOM (no markup
// strings): one path of dark modules on a white square. Error correction
// M survives a crease or a smudge on paper.
export async function qrCode(text, label) {
  const { qrcode } = await import(QR_MODULE);
  const qr = qrcode(0, 'M');
  qr.addData(text, 'Byte');
  qr.make();
  const n = qr.getModuleCount();
  const size = n + 2 * QR_QUIET;
  let d = '';
  for (let r = 0; r < n; r++) {
    for (let col = 0; col < n; col++) {
      if (qr.isDark(r, col)) d += `M${col + QR_QUIET} ${r + QR_QUIET}h1v1h-1z`;
    }
  }
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${size} ${size}`);
  svg.setAttribute('class', 'qr');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  svg.setAttribute('shape-rendering', 'crispEdges');
  svg.dataset.modules = String(n);
  const bg = document.createElementNS(SVG, 'rect');
  bg.setAttribute('width', String(size));
  bg.setAttribute('height', String(size));
  bg.setAttribute('fill', '#ffffff');
  const fg = document.createElementNS(SVG, 'path');
  fg.setAttribute('d', d);
  fg.setAttribute('fill', '#000000');
  svg.append(bg, fg);
  return svg;
}

// shareOrCopy hands text to the phone's share sheet, or copies it where
// there is none (or the person closed it without sharing).
export async function shareOrCopy(data) {
  if (navigator.share && (!navigator.canShare || navigator.canShare(data))) {
    try {
      await navigator.share(data);
      return;
    } catch (err) {
      if (err && err.name === 'AbortError') return;
    }
  }
  try {
    await navigator.clipboard.writeText([data.text, data.url].filter(Boolean).join('\n'));
    toast(t('slip.copied'));
  } catch {
    toast(t('slip.copyFailed'));
  }
}

// printButton prints the page; style.css prints only the slip.
export function printButton() {
  return h('button', { type: 'button', 'data-action': 'print', onclick: () => window.print() }, t('slip.print'));
}

export async function inviteSlipScreen(space) {
  const sp = await spaceInfo(space);
  const back = `#/s/${space}/invites`;
  const crumbs = [{ href: `#/s/${space}/family`, label: sp.name || t('plan.title') }, { href: back, label: t('invites.title') },
    { href: `#/s/${space}/slip`, label: t('slip.title') }];
  if (!held || held.space !== space) {
    return { title: t('slip.title'), crumbs, node: h('div', {}, h('p', { class: 'notice' }, t('slip.gone')), h('p', {}, h('a', { href: back }, t('invites.back')))) };
  }
  const slip = held;
  const tl = await translatorFor(slip.lang);
  const link = joinLink(slip.code);
  const student = sp.name || tl('slip.theStudent');
  const until = new Intl.DateTimeFormat(slip.lang, { dateStyle: 'long' }).format(new Date(slip.expires));
  const codeId = nextId('slip-code');
  const paper = h('article', { class: 'slip', lang: slip.lang, 'aria-labelledby': 'h-slip' },
    h('h2', { id: 'h-slip' }, tl('slip.heading', { name: student })),
    h('p', { class: 'slip-label', id: codeId }, tl('slip.codeLabel')),
    h('p', { class: 'slip-code', 'aria-labelledby': codeId, 'data-code': slip.code }, slip.code),
    h('div', { class: 'slip-qr' }, await qrCode(link, tl('slip.qrLabel'))),
    h('p', { class: 'slip-link' }, h('a', { href: link }, link)),
    h('ol', { class: 'slip-steps' }, h('li', {}, tl('slip.step1')), h('li', {}, tl('slip.step2')), h('li', {}, tl('slip.step3'))),
    h('p', { class: 'slip-until' }, tl('slip.until', { date: until })));
  const share = () => shareOrCopy({ title: tl('slip.heading', { name: student }), text: `${tl('slip.shareText', { name: student })}\n${tl('slip.codeLabel')} ${slip.code}`, url: link });
  const actions = h('div', { class: 'actions slip-actions' },
    printButton(),
    h('button', { type: 'button', class: 'secondary', 'data-action': 'share', onclick: share }, t('slip.share')),
    h('button', { type: 'button', class: 'secondary', 'data-action': 'done', onclick: () => { held = null; go(back); } }, t('slip.done')));
  return {
    title: t('slip.title'),
    crumbs,
    node: h('div', {}, h('p', { class: 'muted' }, t('slip.intro')), paper, actions),
  };
}
