// Forms built from the plan's schema (schema.js, generated from
// shared/plan), so that every field, enum value and length limit the
// server checks is the one the form offers. Labels come from the catalog:
// field.<collection>.<field>, enum.<collection>.<field>.<value>.

import { h, nextId } from './dom.js';
import { t, has, currentLang, langOptions, isRTL } from './i18n.js';
import { SCHEMA } from './schema.js';
import { val } from './client.js';

// collectionSchema finds a collection's fields.
export function collectionSchema(kind, collection) {
  return (SCHEMA[kind] || []).find((c) => c.name === collection);
}

export function fieldLabel(collection, path) {
  return t(`field.${collection}.${path}`);
}

export function enumLabel(collection, path, value) {
  return t(`enum.${collection}.${path}.${value}`);
}

// Text fields up to this many characters get a one-line input.
const SHORT_TEXT = 200;

function localInputValue(rfc3339) {
  if (!rfc3339) return '';
  const d = new Date(rfc3339);
  if (Number.isNaN(d.getTime())) return '';
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

// rfc3339 turns a datetime-local value into an instant with this device's
// offset, which is what the schema's timestamp type wants.
function rfc3339(local) {
  if (!local) return null;
  const d = new Date(local);
  if (Number.isNaN(d.getTime())) return null;
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const p = (n) => String(Math.floor(Math.abs(n))).padStart(2, '0');
  return `${local.length === 16 ? `${local}:00` : local}${sign}${p(off / 60)}:${p(off % 60)}`;
}

function labelled(label, input, hint) {
  const id = input.id || (input.id = nextId());
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, hint ? h('p', { class: 'hint' }, hint) : null);
}

// langSelect picks a language. The language of texts defaults to the UI
// language (people mostly write in the language they read); any other
// language field (an interpreter's, the family's preferred one) starts
// empty, so nothing is claimed that nobody chose.
function langSelect(value, attrs = {}, ofTexts = true) {
  return h('select', { ...attrs, value: value || (ofTexts ? currentLang() : '') },
    ofTexts ? null : h('option', { value: '' }, t('form.none')),
    langOptions(value).map(([tag, name]) => h('option', { value: tag }, name)));
}

// control builds the input for one field and returns {node, read}, where
// read() gives the value to store (null to clear).
function control(collection, path, f, value, langOf) {
  const label = fieldLabel(collection, path);
  switch (f.type) {
    case 'string': {
      const long = (f.maxLen || 0) > SHORT_TEXT;
      const attrs = { name: path, maxlength: f.maxLen || null, required: f.required || null, dir: 'auto' };
      if (f.text) attrs.lang = langOf || currentLang();
      const input = long ? h('textarea', { ...attrs, rows: 4, value: value || '' }) : h('input', { ...attrs, type: 'text', value: value || '' });
      return { node: labelled(label, input), read: () => (input.value.trim() === '' ? null : input.value), input };
    }
    case 'enum': {
      const sel = h('select', { name: path, required: f.required || null, value: value || '' },
        f.required ? null : h('option', { value: '' }, t('form.none')),
        f.enum.map((v) => h('option', { value: v }, enumLabel(collection, path, v))));
      if (f.required && !value) sel.value = f.enum[0];
      return { node: labelled(label, sel), read: () => sel.value || null, input: sel };
    }
    case 'bool': {
      const box = h('input', { type: 'checkbox', name: path, checked: !!value });
      const id = nextId();
      box.id = id;
      return { node: h('div', { class: 'field check' }, box, h('label', { for: id }, label)), read: () => box.checked, input: box };
    }
    case 'int': {
      const input = h('input', { type: 'number', name: path, min: f.min, max: f.max, step: 1, inputmode: 'numeric', value: value ?? '' });
      return { node: labelled(label, input), read: () => (input.value === '' ? null : Number(input.value)), input };
    }
    case 'date': {
      const input = h('input', { type: 'date', name: path, value: value || '' });
      return { node: labelled(label, input), read: () => input.value || null, input };
    }
    case 'timestamp': {
      const input = h('input', { type: 'datetime-local', name: path, required: f.required || null, value: localInputValue(value) });
      return { node: labelled(label, input), read: () => rfc3339(input.value), input };
    }
    case 'lang': {
      const sel = langSelect(value, { name: path }, f.ofTexts);
      return { node: labelled(label, sel), read: () => sel.value || null, input: sel };
    }
    case 'list':
      return listControl(collection, path, f, value, langOf, label);
    default:
      return null;
  }
}

function listControl(collection, path, f, value, langOf, label) {
  const items = Array.isArray(value) ? value : [];
  const el = f.elem;
  if (el.type === 'enum' || el.type === 'lang') {
    // A set: a row of checkboxes.
    const options = el.type === 'enum' ? el.enum.map((v) => [v, enumLabel(collection, path, v)]) : langOptions().filter(([tg]) => tg).concat(items.filter((x) => !langOptions().some(([tg]) => tg === x)).map((x) => [x, x]));
    const boxes = options.map(([v, text]) => {
      const id = nextId();
      const box = h('input', { type: 'checkbox', id, value: v, checked: items.includes(v) });
      return { box, node: h('div', { class: 'check' }, box, h('label', { for: id }, text)) };
    });
    const node = h('fieldset', { class: 'field set' }, h('legend', {}, label), boxes.map((b) => b.node));
    return { node, read: () => boxes.filter((b) => b.box.checked).map((b) => b.box.value) };
  }
  if (el.type === 'string') {
    // A list of short strings (attendees): one per line.
    const area = h('textarea', { name: path, rows: 3, dir: 'auto', value: items.join('\n') });
    return { node: labelled(label, area, t('form.onePerLine')), read: () => area.value.split('\n').map((s) => s.trim()).filter(Boolean).slice(0, f.maxItems) };
  }
  if (el.type === 'object') {
    const rows = [];
    const box = h('div', { class: 'rows' });
    const add = h('button', { type: 'button', class: 'secondary' }, t('form.addRow'));
    const addRow = (item) => {
      const ctls = el.fields.map((sub) => ({ name: sub.name, ctl: control(collection, `${path}.${sub.name}`, sub, item ? item[sub.name] : undefined, langOf) }));
      const row = { ctls };
      const remove = h('button', { type: 'button', class: 'secondary' }, t('form.removeRow'));
      row.node = h('div', { class: 'row-item' }, ctls.map((c) => c.ctl.node), remove);
      remove.addEventListener('click', () => {
        rows.splice(rows.indexOf(row), 1);
        row.node.remove();
        add.disabled = rows.length >= f.maxItems;
      });
      rows.push(row);
      box.append(row.node);
      add.disabled = rows.length >= f.maxItems;
    };
    items.forEach(addRow);
    add.addEventListener('click', () => addRow(null));
    const node = h('fieldset', { class: 'field' }, h('legend', {}, label), box, add);
    return {
      node,
      read: () => rows.map((r) => Object.fromEntries(r.ctls.map((c) => [c.name, c.ctl.read()]))).filter((o) => Object.values(o).some((v) => v !== null && v !== '')),
    };
  }
  return null;
}

function same(a, b) {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

// buildForm makes a form for a record of a collection. opts:
//   kind, collection, record (null for a new one), fixed ({field: value}
//   set without an input), omit ([field]), defaults ({field: value} a new
//   record's inputs start with), submit (label key),
//   onSave(fields) (a promise), onCancel.
// For an existing record only changed fields are saved: edits are
// field-level, so two people changing different fields never collide.
export function buildForm(opts) {
  const c = collectionSchema(opts.kind, opts.collection);
  const rec = opts.record;
  const fixed = opts.fixed || {};
  const omit = new Set([...(opts.omit || []), ...Object.keys(fixed)]);
  const ctls = [];
  // The language of the texts: the record's, else the UI language.
  const textLang = (f) => (f.langField && val(rec, f.langField)) || currentLang();
  const textLangs = new Set(c.fields.map((f) => f.langField).filter(Boolean));
  for (const f of c.fields) {
    if (omit.has(f.name) || f.type === 'id') continue;
    const fd = f.type === 'lang' ? { ...f, ofTexts: textLangs.has(f.name) } : f;
    const start = rec ? val(rec, f.name) : (opts.defaults || {})[f.name];
    const ctl = control(opts.collection, f.name, fd, start, f.text ? textLang(f) : undefined);
    if (ctl) ctls.push({ f, ctl });
  }
  // Keep each text's lang attribute in step with its language picker, so
  // a screen reader and the spell checker switch language too.
  for (const { f, ctl } of ctls) {
    if (f.type !== 'lang') continue;
    const texts = ctls.filter((x) => x.f.langField === f.name && x.ctl.input);
    ctl.input.addEventListener('change', () => {
      for (const x of texts) {
        x.ctl.input.lang = ctl.input.value;
        x.ctl.input.dir = isRTL(ctl.input.value) ? 'rtl' : 'auto';
      }
    });
  }
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const save = h('button', { type: 'submit' }, t(opts.submit || 'form.save'));
  const cancel = opts.onCancel ? h('button', { type: 'button', class: 'secondary', 'data-action': 'cancel', onclick: opts.onCancel }, t('form.cancel')) : null;
  const form = h('form', { class: 'record-form', novalidate: true, 'data-collection': opts.collection },
    ctls.map((x) => x.ctl.node), error, h('div', { class: 'actions' }, save, cancel));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.hidden = true;
    const fields = {};
    for (const { f, ctl } of ctls) {
      const v = ctl.read();
      if (f.required && (v === null || v === '')) {
        error.textContent = t('error.required_field', { field: fieldLabel(opts.collection, f.name) });
        error.hidden = false;
        ctl.input?.focus();
        return;
      }
      if (rec) {
        if (!same(v, val(rec, f.name))) fields[f.name] = v;
      } else if (v !== null && !(Array.isArray(v) && v.length === 0)) {
        fields[f.name] = v;
      }
    }
    if (!rec) Object.assign(fields, fixed);
    if (Object.keys(fields).length === 0) {
      opts.onCancel?.();
      return;
    }
    save.disabled = true;
    try {
      await opts.onSave(fields);
    } catch (err) {
      error.textContent = errorText(err);
      error.hidden = false;
    } finally {
      save.disabled = false;
    }
  });
  return form;
}

// errorText shows an error by its code in the UI language.
export function errorText(err) {
  const code = err && err.code;
  if (code && has(`error.${code}`)) return t(`error.${code}`);
  return t('error.generic');
}
