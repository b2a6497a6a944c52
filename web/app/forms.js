// Forms built from the plan's schema (schema.js, generated from
// shared/plan), so that every field, enum value and length limit the
// server checks is the one the form offers. Labels come from the catalog:
// field.<collection>.<field>, enum.<collection>.<field>.<value>.

import { h, nextId } from './dom.js';
import { t, has, currentLang, langOptions, isRTL } from './i18n.js';
import { SCHEMA } from './schema.js';
import { val } from './client.js';
import { parseNumber, formatNumber, inputNumber } from './numbers.js';

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
  let note = null;
  if (hint) {
    note = h('p', { class: 'hint', id: nextId('hint') }, hint);
    input.setAttribute('aria-describedby', note.id);
  }
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, note);
}

// numberControl is a text input, not type=number: Chrome's number input
// reads "2,5" as nothing in an English browser and hands the page an
// empty value, which would drop what a Spanish reader typed. The text is
// read in the UI language (numbers.js); what cannot be read, or is out of
// the schema's range, gets its own message beside the input and stops the
// save, and the input keeps every character.
function numberControl(path, f, value, label, hint) {
  const lang = currentLang();
  const input = h('input', { type: 'text', name: path, inputmode: 'decimal', autocomplete: 'off', spellcheck: 'false', dir: 'ltr', value: inputNumber(value, lang) });
  const node = labelled(label, input, hint);
  const msg = h('p', { class: 'error field-error', id: nextId('err'), hidden: true });
  node.append(msg);
  const describedBy = input.getAttribute('aria-describedby');
  const problem = () => {
    const text = input.value.trim();
    if (text === '') return null;
    const n = parseNumber(text, lang);
    if (!n.ok) return t('error.not_a_number', { field: label, example: formatNumber(2.5, lang) });
    if ((f.min !== undefined && n.value < f.min) || (f.max !== undefined && n.value > f.max)) {
      return t('error.number_range', { field: label, min: formatNumber(f.min, lang), max: formatNumber(f.max, lang) });
    }
    return null;
  };
  // check shows the problem (or clears it) and returns it.
  const check = () => {
    const why = problem();
    msg.textContent = why || '';
    msg.hidden = !why;
    if (why) {
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-describedby', [describedBy, msg.id].filter(Boolean).join(' '));
    } else {
      input.removeAttribute('aria-invalid');
      if (describedBy) input.setAttribute('aria-describedby', describedBy);
      else input.removeAttribute('aria-describedby');
    }
    return why;
  };
  // Said on saving, not on leaving the field: a message appearing on blur
  // moves the Save button from under the finger that is tapping it. It
  // goes as soon as what they type reads as a number again.
  input.addEventListener('input', () => {
    if (!msg.hidden && !problem()) check();
  });
  const read = () => {
    const n = parseNumber(input.value, lang);
    return n.ok ? n.value : null;
  };
  return { node, read, input, check };
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
function control(collection, path, f, value, langOf, shown = {}) {
  const label = shown.label || fieldLabel(collection, path);
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
    case 'number':
      return numberControl(path, f, value, label, shown.hint);
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

// Fields that belong together sit in a fieldset with a legend: a goal's
// measure is five fields that mean nothing apart. Each group's legend is
// form.group.<name>, its hint form.group.<name>.hint.
const GROUPS = {
  goals: [{ name: 'measure', fields: ['measure_name', 'measure_unit', 'measure_baseline', 'measure_target', 'measure_target_date'] }],
};

function groupLegend(name) {
  switch (name) {
    case 'measure':
      return [t('form.group.measure'), t('form.group.measure.hint')];
    default:
      return [name, ''];
  }
}

// buildForm makes a form for a record of a collection. opts:
//   kind, collection, record (null for a new one), fixed ({field: value}
//   set without an input), omit ([field]), defaults ({field: value} a new
//   record's inputs start with), submit (label key), labels ({field:
//   text} in place of the catalog's label, as a check-in's reading named
//   after its goal's measure), hints ({field: text} shown under it),
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
    const shown = { label: (opts.labels || {})[f.name], hint: (opts.hints || {})[f.name] };
    const ctl = control(opts.collection, f.name, fd, start, f.text ? textLang(f) : undefined, shown);
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
  const nodes = [];
  const grouped = new Map();
  for (const g of GROUPS[opts.collection] || []) {
    const members = ctls.filter((x) => g.fields.includes(x.f.name));
    if (members.length === 0) continue;
    const [legend, hint] = groupLegend(g.name);
    const set = h('fieldset', { class: 'group-fields', 'data-group': g.name }, h('legend', {}, legend), hint ? h('p', { class: 'hint' }, hint) : null, members.map((x) => x.ctl.node));
    members.forEach((x) => grouped.set(x, set));
  }
  for (const x of ctls) {
    const set = grouped.get(x);
    if (!set) nodes.push(x.ctl.node);
    else if (!nodes.includes(set)) nodes.push(set);
  }
  const form = h('form', { class: 'record-form', novalidate: true, 'data-collection': opts.collection },
    nodes, error, h('div', { class: 'actions' }, save, cancel));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.hidden = true;
    const fields = {};
    // What cannot be read is said beside its field and in the form's
    // alert; nothing is saved and nothing typed is touched.
    for (const { ctl } of ctls) {
      const why = ctl.check?.();
      if (why) {
        error.textContent = why;
        error.hidden = false;
        ctl.input.focus();
        return;
      }
    }
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
