// A plan's goals: the list on the Goals tab, and one goal's page with
// what happens at school and at home and its check-ins.

import { h } from './dom.js';
import { t, tn, formatDate, formatTime, currentLang } from './i18n.js';
import * as c from './client.js';
import { enumLabel } from './forms.js';
import { progressChart, hasMeasure } from './chart.js';
import { formatNumber } from './numbers.js';
import { homeOnly } from './access.js';
import { prepare as prepareTranslations } from './translation.js';
import { spaceInfo, mayRead, notReadable, byline, creator, card, addButton, byTime, firstTimes, fieldsList } from './views.js';

function goalHeading(r) {
  const area = c.val(r, 'area');
  return area ? enumLabel('goals', 'area', area) : t('goals.untitled');
}

export async function goalsTab(ctx) {
  const { space } = ctx;
  const goals = byTime(await c.list(space, 'goals'));
  const actions = await c.list(space, 'actions');
  const checkins = await c.list(space, 'checkins');
  await prepareTranslations(ctx, goals, ['description', 'target']);
  const list = goals.map((g) => {
    const na = actions.filter((a) => c.val(a, 'goal_id') === g.id).length;
    const nc = checkins.filter((a) => c.val(a, 'goal_id') === g.id).length;
    return card(ctx, g, {
      heading: goalHeading(g),
      open: `#/s/${space}/goal/${g.id}`,
      body: [fieldsList('student', 'goals', g, ['description', 'target', 'status', 'target_date'], ctx),
        h('p', { class: 'muted' }, tn('goals.actionCount', na), ' · ', tn('goals.checkinCount', nc))],
    });
  });
  return h('div', {}, goals.length === 0 ? h('p', { class: 'muted' }, t('goals.none')) : list,
    addButton(ctx, t('goals.add'), { then: (id) => `#/s/${space}/goal/${id}` }));
}

export async function goalScreen(space, id) {
  const sp = await spaceInfo(space);
  const goal = await c.get(space, 'goals', id);
  const base = `#/s/${space}`;
  const crumbs = [{ href: `${base}/goals`, label: t('plan.goals') }];
  if (!goal || (goal.deleted && !c.deleteInDoubt(goal))) {
    return { title: t('goals.gone'), crumbs, node: h('p', {}, h('a', { href: `${base}/goals` }, t('goals.back'))) };
  }
  const ctx = (collection) => ({ kind: 'student', space, collection, role: sp.role });
  if (!mayRead(ctx('goals'))) return { title: t('plan.goals'), crumbs, node: notReadable() };
  const actions = byTime((await c.list(space, 'actions')).filter((a) => c.val(a, 'goal_id') === id));
  // Newest date first; on one date, the most recently created first.
  const checkins = (await c.list(space, 'checkins')).filter((a) => c.val(a, 'goal_id') === id);
  const tm = firstTimes(checkins);
  checkins.sort((a, b) => String(c.val(b, 'date') || '').localeCompare(String(c.val(a, 'date') || '')) || tm.get(b) - tm.get(a));
  await prepareTranslations(ctx('goals'), [goal, ...actions, ...checkins], ['description', 'target', 'what', 'who', 'how_often', 'what_happened']);
  // A check-in starts valid: a role that writes at home only has where
  // fixed to home; others start at school, and may change it.
  const checkinWhere = homeOnly(ctx('checkins'))
    ? { fixed: { where: 'home' }, omit: ['where'] }
    : { fixed: {}, omit: [], defaults: { where: 'school' } };
  // A reading is asked for only where the goal has a measure, and is
  // named after it, in its unit; without a measure a number means nothing.
  const measured = hasMeasure(goal);
  const unit = c.val(goal, 'measure_unit') || '';
  const mname = c.val(goal, 'measure_name') || '';
  const reading = {
    labels: { value: mname && unit ? t('measure.nameUnit', { name: mname, unit }) : mname || (unit ? t('measure.measuredIn', { unit }) : undefined) },
    hints: { value: typeof c.val(goal, 'measure_target') === 'number' ? t('measure.targetHint', { value: formatNumber(c.val(goal, 'measure_target'), currentLang()), unit }) : undefined },
  };
  const checkinOmit = measured ? checkinWhere.omit : [...checkinWhere.omit, 'value'];
  const chart = progressChart(goal, checkins);
  const whereSection = (where) => h('section', { class: 'group', 'aria-labelledby': `h-${where}` },
    h('h2', { id: `h-${where}` }, t(`goal.${where}`)),
    actions.filter((a) => c.val(a, 'where') === where).map((a) => card(ctx('actions'), a, {
      omit: ['where'],
      body: fieldsList('student', 'actions', a, ['what', 'who', 'how_often'], ctx('actions')),
    })),
    addButton(ctx('actions'), t(`goal.add_${where}`), { fixed: { goal_id: id, where }, omit: ['where'] }));
  return {
    title: goalHeading(goal),
    crumbs: [...crumbs, { href: `${base}/goal/${id}`, label: goalHeading(goal) }],
    node: h('div', { class: 'goal', 'data-id': id },
      card(ctx('goals'), goal, {
        heading: t('goal.details'),
        level: 2,
        body: fieldsList('student', 'goals', goal, ['area', 'description', 'description_lang', 'target', 'status', 'start_date', 'target_date', 'measure_name', 'measure_unit', 'measure_baseline', 'measure_target', 'measure_target_date'], ctx('goals')),
        afterDelete: `${base}/goals`,
      }),
      chart ? h('section', { class: 'group progress', 'aria-labelledby': 'h-progress' },
        h('h2', { id: 'h-progress' }, t('chart.heading')), chart.node) : null,
      whereSection('school'),
      whereSection('home'),
      h('section', { class: 'group', 'aria-labelledby': 'h-checkins' },
        h('h2', { id: 'h-checkins' }, t('goal.checkins')),
        checkins.length === 0 ? h('p', { class: 'muted' }, t('goal.noCheckins')) : checkins.map((ci) => card(ctx('checkins'), ci, {
          omit: checkinOmit,
          ...reading,
          heading: [formatDate(c.val(ci, 'date')) || t('goal.checkin'), c.val(ci, 'progress') ? ` · ${enumLabel('checkins', 'progress', c.val(ci, 'progress'))}` : ''].join(''),
          // The server's author first; "by" is what they typed.
          body: [h('p', { class: 'byline' }, t('history.by', { name: byline(space, creator(ci).author), time: formatTime(creator(ci).time) })),
            typeof c.val(ci, 'value') === 'number' ? h('p', { class: 'reading' }, t('measure.reading', { name: mname || t('field.checkins.value'), value: unit ? t('measure.valueUnit', { value: formatNumber(c.val(ci, 'value'), currentLang()), unit }) : formatNumber(c.val(ci, 'value'), currentLang()) })) : null,
            fieldsList('student', 'checkins', ci, ['where', 'what_happened', 'by'], ctx('checkins'))],
        })),
        addButton(ctx('checkins'), t('goal.addCheckin'), { fixed: { goal_id: id, ...checkinWhere.fixed }, omit: checkinOmit, defaults: checkinWhere.defaults, ...reading }))),
  };
}

