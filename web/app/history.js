// A record's history: every accepted change, newest first, by whom.

import { h } from './dom.js';
import { t, formatTime } from './i18n.js';
import * as c from './client.js';
import { collectionSchema, fieldLabel, errorText } from './forms.js';
import { byline, formatValue } from './views.js';

function historyAuthor(space, a) {
  if (!a) return t('person.someone');
  if (a.name) c.learnName(a.id, a.name);
  return byline(space, a.id);
}

export async function historyScreen(space, collection, id) {
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
    h('p', { class: 'byline' }, t('history.by', { name: historyAuthor(space, e.author), time: formatTime(e.time) }),
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

