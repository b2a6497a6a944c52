// The device's copy of the checks the server makes on every op
// (shared/plan/validate.go), read from schema.js: a form's values are
// checked here before the page says "saved on this device", so that it
// never promises what the server will refuse. It returns a plan error
// code (error.<code> in the catalogs) or null.

import { collectionSchema } from './forms.js';

const DELETED = '_deleted';
const MIN_YEAR = 1900;
const MAX_YEAR = 2999;
const MAX_DEPTH = 4; // lists and objects nested, as wasm/API.md allows
const MAX_TIMESTAMP_LEN = 40; // plan.MaxTimestampLen

// validateFields checks the fields of an edit (create: a new record,
// whose required fields must all be there).
export function validateFields(kind, collection, fields, create) {
  const c = collectionSchema(kind, collection);
  if (!c) return 'invalid';
  for (const name of Object.keys(fields).sort()) {
    const v = fields[name];
    if (name.startsWith('_')) {
      if (name !== DELETED || typeof v !== 'boolean') return 'invalid';
      continue;
    }
    const f = c.fields.find((x) => x.name === name);
    if (!f) return 'invalid';
    if (v === null || v === undefined) {
      if (f.required) return 'required';
      continue;
    }
    const err = check(f, v, 0);
    if (err) return err;
  }
  if (create) {
    for (const f of c.fields) {
      if (f.required && (fields[f.name] === null || fields[f.name] === undefined)) return 'required';
    }
  }
  return null;
}

function check(f, v, depth) {
  switch (f.type) {
    case 'bool':
      return typeof v === 'boolean' ? null : 'invalid';
    case 'int':
      if (typeof v !== 'number' || !Number.isInteger(v)) return 'invalid';
      if ((f.min !== undefined && v < f.min) || (f.max !== undefined && v > f.max)) return 'out_of_range';
      return null;
    case 'number':
      // Fractions allowed (a measure's reading), as plan.TypeNumber.
      if (typeof v !== 'number' || !Number.isFinite(v)) return 'invalid';
      if ((f.min !== undefined && v < f.min) || (f.max !== undefined && v > f.max)) return 'out_of_range';
      return null;
    case 'list':
      return checkList(f, v, depth);
    case 'object':
      return checkObject(f, v, depth);
    default:
  }
  if (typeof v !== 'string') return 'invalid';
  let n = 0;
  for (const ch of v) {
    const cp = ch.codePointAt(0);
    if (cp < 0x20 && ch !== '\n' && ch !== '\t') return 'control_char';
    if (cp >= 0xd800 && cp <= 0xdfff) return 'control_char'; // a lone surrogate is not UTF-8
    n += 1;
  }
  if (f.required && v.trim() === '') return 'required';
  switch (f.type) {
    case 'string':
      return f.maxLen && n > f.maxLen ? 'too_long' : null;
    case 'enum':
      return f.enum.includes(v) ? null : 'not_in_enum';
    case 'date':
      return validDate(v) ? null : 'invalid_date';
    case 'timestamp':
      return validTimestamp(v) ? null : 'invalid_date';
    case 'id':
      return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(v) ? null : 'invalid';
    case 'lang':
      return validLang(v, f.maxLen) ? null : 'bad_language_tag';
    default:
      return 'invalid';
  }
}

function checkList(f, v, depth) {
  if (!Array.isArray(v)) return 'invalid';
  if (depth >= MAX_DEPTH) return 'invalid';
  if (f.maxItems && v.length > f.maxItems) return 'too_many_items';
  const seen = new Set();
  for (const item of v) {
    if (item === null || item === undefined) return 'invalid';
    const err = check(f.elem, item, depth + 1);
    if (err) return err;
    if (f.unique) {
      const key = JSON.stringify(item);
      if (seen.has(key)) return 'invalid';
      seen.add(key);
    }
  }
  return null;
}

function checkObject(f, v, depth) {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return 'invalid';
  if (depth >= MAX_DEPTH) return 'invalid';
  for (const [name, x] of Object.entries(v)) {
    const sub = (f.fields || []).find((s) => s.name === name);
    if (!sub) return 'invalid';
    if (x === null || x === undefined) {
      if (sub.required) return 'required';
      continue;
    }
    const err = check(sub, x, depth + 1);
    if (err) return err;
  }
  for (const sub of f.fields || []) {
    if (sub.required && (v[sub.name] === null || v[sub.name] === undefined)) return 'required';
  }
  return null;
}

function inYears(y) {
  return y >= MIN_YEAR && y <= MAX_YEAR;
}

function validDate(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return d.getUTCFullYear() === +m[1] && d.getUTCMonth() === +m[2] - 1 && d.getUTCDate() === +m[3] && inYears(+m[1]);
}

function validTimestamp(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.exec(s);
  if (!m || s.length > MAX_TIMESTAMP_LEN) return false;
  return validDate(`${m[1]}-${m[2]}-${m[3]}`) && +m[4] < 24 && +m[5] < 60 && +m[6] < 60;
}

function validLang(s, maxLen) {
  if (!s || (maxLen && s.length > maxLen)) return false;
  const parts = s.split('-');
  if (!/^[A-Za-z]{2,3}$/.test(parts[0])) return false;
  return parts.slice(1).every((p) => /^[A-Za-z0-9]{1,8}$/.test(p));
}
