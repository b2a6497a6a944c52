// A goal's measure as a chart: the readings from home and from school
// over time, the target and the starting point, drawn as SVG from the
// records on this device (so it works offline), with the same numbers as
// a table for screen readers and for anyone who reads tables better. No
// chart library: a line chart of a few dozen points is less code than
// the smallest one would cost the page.
//
// progressChart(goal, checkins, opts) is the whole interface, for the
// goal screen and for the printable copy of the plan:
//   goal      the goal record (client records: {id, fields: {name: {value}}})
//   checkins  its check-ins (others and deleted ones are skipped)
//   opts.lang the language numbers and dates are written in (default: the UI's)
//   opts.t    a translator, t(key, vars), e.g. from i18n.translatorFor
//             (default: the UI's)
// It returns null when the goal has no measure and no reading, else
// {node, svg, table}: node is a <figure> holding the SVG (null until
// there is a reading), its legend and the table; svg and table are the
// same elements, for a caller that lays them out itself. The SVG has
// role="img" and a name that says what it shows; it uses no ids, so any
// number of charts may share a page.

import { h } from './dom.js';
import { t as uiT, currentLang } from './i18n.js';
import { val, firstTime } from './client.js';
import { formatNumber } from './numbers.js';

const NS = 'http://www.w3.org/2000/svg';
const DAY = 86400000;

// The drawing's own units: the SVG scales to its box, and at 360 px one
// unit is about one CSS pixel, so a 12-unit label reads as 12 px.
const W = 320;
const H = 200;
const FONT = 12;

// Each series differs in colour, marker and line, so that it is told
// apart without colour. Colours keep 4.5:1 against white.
const SERIES = {
  school: { colour: '#1a5fb4', marker: 'square', dash: null },
  home: { colour: '#a84300', marker: 'circle', dash: '5 3' },
  other: { colour: '#545b64', marker: 'diamond', dash: '1 3' },
};
const TARGET = { colour: '#1e6b3f', dash: '7 4' };
const BASELINE = { colour: '#545b64', dash: '2 3' };

function s(tag, attrs, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== null && v !== undefined && v !== false) el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined) el.append(c);
  }
  return el;
}

// hasMeasure says whether a goal has a measure worth a chart.
export function hasMeasure(goal) {
  return ['measure_name', 'measure_unit', 'measure_baseline', 'measure_target'].some((f) => {
    const v = val(goal, f);
    return v !== undefined && v !== null && v !== '';
  });
}

// dayOf is a calendar date "YYYY-MM-DD" as ms at UTC midnight, or null.
function dayOf(d) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(d || '');
  return m ? Date.UTC(+m[1], +m[2] - 1, +m[3]) : null;
}

// readings are the check-ins with a number, oldest first; one without a
// date counts from the day it was written.
function readings(goal, checkins) {
  const out = [];
  for (const ci of checkins || []) {
    if (!ci || ci.deleted || val(ci, 'goal_id') !== goal.id) continue;
    const v = val(ci, 'value');
    if (typeof v !== 'number' || !Number.isFinite(v)) continue;
    let day = dayOf(val(ci, 'date'));
    if (day === null) {
      const ft = firstTime(ci);
      if (!ft) continue;
      const d = new Date(ft);
      day = Date.UTC(d.getFullYear(), d.getMonth(), d.getDate());
    }
    const where = val(ci, 'where');
    out.push({ day, value: v, where: where === 'home' || where === 'school' ? where : 'other', rec: ci });
  }
  return out.sort((a, b) => a.day - b.day || firstTime(a.rec) - firstTime(b.rec));
}

// niceTicks gives about n round values covering lo..hi.
function niceTicks(lo, hi, n) {
  const span = hi - lo;
  const raw = span / Math.max(1, n - 1);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((k) => k * mag).find((x) => x >= raw) || raw;
  const first = Math.floor(lo / step) * step;
  const out = [];
  for (let v = first; v <= hi + step / 2 && out.length < 12; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function marker(kind, x, y, colour) {
  switch (kind) {
    case 'square':
      return s('rect', { x: x - 4, y: y - 4, width: 8, height: 8, fill: colour });
    case 'diamond':
      return s('path', { d: `M${x} ${y - 5.5}L${x + 5.5} ${y}L${x} ${y + 5.5}L${x - 5.5} ${y}Z`, fill: colour });
    default:
      return s('circle', { cx: x, cy: y, r: 4.5, fill: 'none', stroke: colour, 'stroke-width': 2 });
  }
}

// swatch is a legend entry's sample: the series' line through its marker.
function swatch(kind, colour, dash) {
  return s('svg', { viewBox: '0 0 28 12', width: 28, height: 12, 'aria-hidden': 'true', focusable: 'false', class: 'swatch' },
    s('line', { x1: 1, y1: 6, x2: 27, y2: 6, stroke: colour, 'stroke-width': 2, 'stroke-dasharray': dash }),
    kind ? marker(kind, 14, 6, colour) : null);
}

export function progressChart(goal, checkins, opts = {}) {
  const t = opts.t || uiT;
  const lang = opts.lang || currentLang();
  const pts = readings(goal, checkins);
  if (!hasMeasure(goal) && pts.length === 0) return null;
  const name = val(goal, 'measure_name') || t('field.checkins.value');
  const unit = val(goal, 'measure_unit') || '';
  const baseline = val(goal, 'measure_baseline');
  const target = val(goal, 'measure_target');
  const targetDay = dayOf(val(goal, 'measure_target_date'));
  const num = (v) => formatNumber(v, lang);
  const withUnit = (v) => (unit ? t('measure.valueUnit', { value: num(v), unit }) : num(v));
  const dateLong = (ms) => new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeZone: 'UTC' }).format(new Date(ms));
  const whereLabel = (w) => (w === 'other' ? t('chart.whereUnknown') : t(`enum.checkins.where.${w}`));

  // What the chart says, in words: the SVG's name and the table's caption.
  const about = [];
  if (typeof baseline === 'number') about.push(t('chart.baseline', { value: withUnit(baseline) }));
  if (typeof target === 'number') {
    about.push(targetDay !== null ? t('chart.targetBy', { value: withUnit(target), date: dateLong(targetDay) }) : t('chart.target', { value: withUnit(target) }));
  }
  const figure = h('figure', { class: 'chart' });
  let svg = null;
  let table = null;
  if (pts.length === 0) {
    figure.append(h('p', { class: 'muted' }, t('chart.none')), about.length ? h('p', {}, about.join(' ')) : null);
    return { node: figure, svg, table };
  }
  const last = pts[pts.length - 1];
  const summary = [
    t('chart.summary', { name, n: num(pts.length), first: dateLong(pts[0].day), last: dateLong(last.day), latest: withUnit(last.value), where: whereLabel(last.where) }),
    ...about,
  ].join(' ');

  // Scales: every reading, the target and the start, and the target date.
  const ys = pts.map((p) => p.value);
  if (typeof baseline === 'number') ys.push(baseline);
  if (typeof target === 'number') ys.push(target);
  let y0 = Math.min(...ys);
  let y1 = Math.max(...ys);
  if (y0 === y1) {
    y0 -= 1;
    y1 += 1;
  }
  const ticks = niceTicks(y0, y1, 5);
  y0 = Math.min(y0, ticks[0]);
  y1 = Math.max(y1, ticks[ticks.length - 1]);
  const xs = pts.map((p) => p.day);
  if (targetDay !== null) xs.push(targetDay);
  let x0 = Math.min(...xs);
  let x1 = Math.max(...xs);
  if (x0 === x1) {
    x0 -= 7 * DAY;
    x1 += 7 * DAY;
  }
  const tickText = ticks.map(num);
  const left = Math.min(90, Math.max(28, 8 + Math.max(...tickText.map((x) => x.length)) * FONT * 0.6));
  const right = 12;
  const top = 18;
  const bottom = 26;
  const px = (d) => left + ((d - x0) / (x1 - x0)) * (W - left - right);
  const py = (v) => H - bottom - ((v - y0) / (y1 - y0)) * (H - top - bottom);

  svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': summary, class: 'chart-svg', 'font-size': FONT, 'font-family': 'inherit', fill: 'currentColor', preserveAspectRatio: 'xMidYMid meet' });
  // Grid and the value axis.
  for (let i = 0; i < ticks.length; i++) {
    const y = py(ticks[i]);
    svg.append(s('line', { x1: left, x2: W - right, y1: y, y2: y, stroke: '#d5dbe1', 'stroke-width': 1 }),
      s('text', { x: left - 4, y: y + FONT * 0.35, 'text-anchor': 'end' }, tickText[i]));
  }
  svg.append(s('line', { x1: left, x2: left, y1: top - 4, y2: H - bottom, stroke: '#545b64' }),
    s('line', { x1: left, x2: W - right, y1: H - bottom, y2: H - bottom, stroke: '#545b64' }));
  // The date axis: first, last and, with room, the middle.
  const spanYears = new Date(x0).getUTCFullYear() !== new Date(x1).getUTCFullYear();
  const dateShort = new Intl.DateTimeFormat(lang, { day: 'numeric', month: 'short', year: spanYears ? '2-digit' : undefined, timeZone: 'UTC' });
  const dayTicks = [x0, (x0 + x1) / 2, x1];
  dayTicks.forEach((d, i) => {
    const anchor = i === 0 ? 'start' : i === dayTicks.length - 1 ? 'end' : 'middle';
    svg.append(s('line', { x1: px(d), x2: px(d), y1: H - bottom, y2: H - bottom + 4, stroke: '#545b64' }),
      s('text', { x: px(d), y: H - bottom + 4 + FONT, 'text-anchor': anchor }, dateShort.format(new Date(d))));
  });
  // Starting point and target, labelled at their ends.
  if (typeof baseline === 'number') {
    svg.append(s('line', { x1: left, x2: W - right, y1: py(baseline), y2: py(baseline), stroke: BASELINE.colour, 'stroke-width': 1.5, 'stroke-dasharray': BASELINE.dash, class: 'baseline' }),
      s('text', { x: left + 4, y: py(baseline) - 4, fill: BASELINE.colour }, t('chart.baselineShort', { value: num(baseline) })));
  }
  if (typeof target === 'number') {
    svg.append(s('line', { x1: left, x2: W - right, y1: py(target), y2: py(target), stroke: TARGET.colour, 'stroke-width': 2, 'stroke-dasharray': TARGET.dash, class: 'target' }),
      s('text', { x: W - right, y: py(target) - 4, 'text-anchor': 'end', fill: TARGET.colour, 'font-weight': 600 }, t('chart.targetShort', { value: num(target) })));
  }
  if (targetDay !== null) {
    svg.append(s('line', { x1: px(targetDay), x2: px(targetDay), y1: top - 4, y2: H - bottom, stroke: TARGET.colour, 'stroke-width': 1, 'stroke-dasharray': '1 3' }));
  }
  // The series: a line through each's readings, then its markers on top.
  const present = [];
  for (const key of ['school', 'home', 'other']) {
    const ps = pts.filter((p) => p.where === key);
    if (ps.length === 0) continue;
    present.push(key);
    const st = SERIES[key];
    const g = s('g', { class: 'series', 'data-series': key });
    if (ps.length > 1) {
      g.append(s('polyline', { points: ps.map((p) => `${px(p.day).toFixed(1)},${py(p.value).toFixed(1)}`).join(' '), fill: 'none', stroke: st.colour, 'stroke-width': 2, 'stroke-dasharray': st.dash }));
    }
    for (const p of ps) g.append(marker(st.marker, px(p.day), py(p.value), st.colour));
    svg.append(g);
  }

  const legend = h('ul', { class: 'chart-legend' },
    present.map((key) => h('li', {}, swatch(SERIES[key].marker, SERIES[key].colour, SERIES[key].dash), ' ', whereLabel(key))),
    typeof target === 'number' ? h('li', {}, swatch(null, TARGET.colour, TARGET.dash), ' ', t('chart.targetShort', { value: num(target) })) : null,
    typeof baseline === 'number' ? h('li', {}, swatch(null, BASELINE.colour, BASELINE.dash), ' ', t('chart.baselineShort', { value: num(baseline) })) : null);

  table = h('table', { class: 'chart-table' },
    h('caption', {}, [t('chart.caption', { name }), ...about].join(' ')),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, t('chart.date')),
      h('th', { scope: 'col' }, t('chart.where')),
      h('th', { scope: 'col' }, unit ? t('chart.valueIn', { unit }) : t('chart.value')))),
    h('tbody', {}, pts.map((p) => h('tr', { 'data-series': p.where },
      h('td', {}, dateLong(p.day)),
      h('td', {}, whereLabel(p.where)),
      h('td', { class: 'num' }, num(p.value))))));
  figure.append(svg, legend, h('div', { class: 'chart-table-wrap' }, table));
  return { node: figure, svg, table };
}
