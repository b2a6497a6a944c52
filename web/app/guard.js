// Every edit the screens make goes through here: it is checked against
// the plan's schema (validate.js) and the role table (access.js) before it
// reaches the device, so "saved on this device" is said only of an edit
// the server will take. A refusal is an Error with the catalog code of
// its reason (error.<code>), shown where the person typed.

import * as c from './client.js';
import { checkOp } from './access.js';
import { validateFields } from './validate.js';

function refuse(code) {
  const err = new Error(code);
  err.code = code;
  return err;
}

// check returns the code of the reason the server would refuse fields
// written to rec (null: a new record) by this person, or null.
export function check(ctx, rec, fields) {
  return validateFields(ctx.kind, ctx.collection, fields, !rec) || checkOp(ctx, rec, fields);
}

// put saves fields to rec (null creates one) and resolves with its id.
export async function put(ctx, rec, fields) {
  const why = check(ctx, rec, fields);
  if (why) throw refuse(why);
  return c.put(ctx.space, ctx.collection, rec ? rec.id : null, fields);
}

export async function remove(ctx, rec) {
  const why = checkOp(ctx, rec, { [c.DELETED]: true });
  if (why) throw refuse(why);
  return c.remove(ctx.space, ctx.collection, rec.id);
}

// resolve keeps value for a field in conflict; it writes the field.
export async function resolve(ctx, rec, field, value) {
  const why = field === c.DELETED ? checkOp(ctx, rec, { [field]: value }) : check(ctx, rec, { [field]: value });
  if (why) throw refuse(why);
  return c.resolve(ctx.space, ctx.collection, rec.id, field, value);
}
