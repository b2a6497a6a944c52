// What this person may do in a space, read from roles.js: the role table
// the server enforces (shared/plan), generated so the two cannot drift.
// A screen offers a control only where the server would accept the op
// it makes, so nobody types into a form whose words the server will
// refuse.

import { ROLES, FIELD_WRITERS } from './roles.js';
import * as c from './client.js';

const NONE = { read: false, write: 'none', delete: 'none' };

// accessOf is a role's row for a collection of a kind of space; an
// unknown role or collection may do nothing.
export function accessOf(kind, collection, role) {
  return (ROLES[kind] && ROLES[kind][collection] && ROLES[kind][collection][role]) || NONE;
}

// writtenOnlyBy mirrors plan.WrittenOnlyBy: every version of every field
// (the visible one and any in conflict) is the person's. A record that
// does not exist yet counts as theirs.
export function writtenOnlyBy(rec, userID) {
  if (!rec) return true;
  for (const f of Object.values(rec.fields || {})) {
    if (!f) continue;
    if (f.author !== userID) return false;
    for (const v of f.conflicts || []) if (v.author !== userID) return false;
  }
  return true;
}

// mayWriteField says whether the role may write one field, which the
// table narrows for a few (a note's "urgent" is staff's to set).
export function mayWriteField(ctx, field) {
  const roles = FIELD_WRITERS[ctx.kind]?.[ctx.collection]?.[field];
  return !roles || roles.includes(ctx.role);
}

// A ctx is {kind, space, collection, role}: the screen's space, the
// collection it shows, and this person's role there.

// mayRead says whether the role may see the collection at all.
export function mayRead(ctx) {
  return accessOf(ctx.kind, ctx.collection, ctx.role).read;
}

// mayCreate says whether the role may add a record whose fixed fields
// are fixed: a "home" role only with where set to home.
export function mayCreate(ctx, fixed = {}) {
  const a = accessOf(ctx.kind, ctx.collection, ctx.role);
  switch (a.write) {
    case 'all':
    case 'own':
      return true;
    case 'home':
      return fixed.where === 'home';
    default:
      return false;
  }
}

// homeOnly says whether the role writes the collection at home only, so
// that its forms fix where to home.
export function homeOnly(ctx) {
  return accessOf(ctx.kind, ctx.collection, ctx.role).write === 'home';
}

// mayEdit says whether the role may change rec.
export function mayEdit(ctx, rec) {
  const a = accessOf(ctx.kind, ctx.collection, ctx.role);
  const me = c.currentUser();
  switch (a.write) {
    case 'all':
      return true;
    case 'own':
      return !!me && writtenOnlyBy(rec, me.id);
    case 'home':
      return c.val(rec, 'where') === 'home';
    default:
      return false;
  }
}

// mayDelete says whether the role may delete rec.
export function mayDelete(ctx, rec) {
  const a = accessOf(ctx.kind, ctx.collection, ctx.role);
  const me = c.currentUser();
  switch (a.delete) {
    case 'any':
      return true;
    case 'own':
      return !!me && writtenOnlyBy(rec, me.id);
    default:
      return false;
  }
}

// checkOp decides, as plan.CheckRole does on the server, whether the role
// may write fields (a map of name to value; c.DELETED for a delete) to
// rec (null for a new record). It returns null or the code of the reason
// (error.<code> in the catalogs).
export function checkOp(ctx, rec, fields) {
  const a = accessOf(ctx.kind, ctx.collection, ctx.role);
  const me = c.currentUser();
  const names = Object.keys(fields);
  const deletes = names.includes(c.DELETED);
  const data = names.filter((n) => n !== c.DELETED);
  if (data.length > 0 && a.write === 'none') return 'role_forbidden';
  if (data.some((n) => !mayWriteField(ctx, n))) return 'role_forbidden';
  if (deletes && a.delete === 'none') return 'role_forbidden';
  if (deletes && a.delete === 'own' && !(me && writtenOnlyBy(rec, me.id))) return 'not_yours';
  if (data.length > 0 && a.write === 'own' && !(me && writtenOnlyBy(rec, me.id))) return 'not_yours';
  if (data.length > 0 && a.write === 'home') {
    if (rec && c.val(rec, 'where') !== 'home') return 'home_only';
    if ('where' in fields && fields.where !== 'home') return 'home_only';
    if (!rec && fields.where !== 'home') return 'home_only';
  }
  return null;
}
