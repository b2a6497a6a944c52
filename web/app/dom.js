// Small DOM helpers. The UI builds elements with h() instead of innerHTML,
// so that nothing a person typed can ever become markup.

// h(tag, attrs, ...children): attrs keys starting with "on" add listeners;
// "class", "text", "value", "checked" and "selected" set properties; true
// adds an empty attribute; null, undefined and false are skipped. Children
// may be strings, nodes, arrays or null.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  let value;
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'value') value = v;
    else if (k === 'checked' || k === 'selected') el[k] = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  // A select's value can only be set once its options exist.
  if (value !== undefined) el.value = value;
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

// clear empties an element.
export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

let uid = 0;
// nextId returns an id unique in the page, to tie labels to inputs.
export function nextId(prefix = 'f') {
  uid += 1;
  return `${prefix}${uid}`;
}
