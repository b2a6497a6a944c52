// Numbers as people type and read them: a Spanish or Vietnamese reader
// writes "2,5" where an English one writes "2.5", and "1.000" means a
// thousand to one and one to the other. The schema stores a plain number
// (plan.TypeNumber); these turn it into the reader's text and back, so a
// measure's reading is never misread by a factor of a thousand.

// How long a typed number may be: longer is not a reading anyone means.
const MAX_NUMBER_TEXT = 40;

// Zeros of the digit sets a phone keyboard may type (Arabic-Indic,
// Extended Arabic-Indic as in Persian and Urdu, Devanagari, fullwidth).
const ZEROS = [0x0660, 0x06f0, 0x0966, 0xff10];

const seps = new Map();

// separators gives the locale's decimal and group marks, as
// Intl.NumberFormat writes them.
function separators(lang) {
  if (!seps.has(lang)) {
    let decimal = '.';
    let group = ',';
    try {
      const parts = new Intl.NumberFormat(lang).formatToParts(12345.6);
      decimal = parts.find((p) => p.type === 'decimal')?.value || '.';
      group = parts.find((p) => p.type === 'group')?.value || ',';
    } catch {
      // An unknown tag: the defaults above.
    }
    seps.set(lang, { decimal, group });
  }
  return seps.get(lang);
}

// canon rewrites typed text as ASCII digits, a sign, and the marks D (a
// decimal point for sure), G (a group mark for sure), and "." or ","
// where the locale does not say which it is.
function canon(text, lang) {
  const { decimal, group } = separators(lang);
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0);
    const zero = ZEROS.find((z) => cp >= z && cp <= z + 9);
    if (zero !== undefined) out += String(cp - zero);
    else if (ch === '\u066b') out += 'D'; // Arabic decimal separator
    else if (ch === '\u066c' || /[\s\u00a0\u202f\u2009]/.test(ch)) out += 'g'; // Arabic thousands, spaces: a group, if well placed
    else if ('\u2212\u2012\u2013\ufe63\uff0d'.includes(ch)) out += '-';
    else if (ch === '\uff0b') out += '+';
    else if (ch === '\uff0e') out += '.';
    else if (ch === '\uff0c') out += ',';
    else out += ch;
  }
  // The locale's own marks; in a locale that writes neither "." nor ","
  // for one of them (French groups with a space, Arabic has its own
  // marks), "." is a decimal point and "," a group mark, as most
  // keyboards mean them.
  const mark = (c) => {
    if (c === decimal) return 'D';
    if (c === group) return 'G';
    return c === '.' ? 'D' : 'G';
  };
  return out.replace(/[.,]/g, mark);
}

// parseNumber reads what someone typed in lang's way of writing numbers:
// the locale's decimal mark ("2,5" in Spanish), its group mark only
// where it groups thousands ("1.000" in Spanish, "1,000" in English), and
// a lone mark that cannot be a group ("2.5" typed on an English keyboard
// by a Spanish reader) as a decimal point. It returns {ok: true, value}
// or {ok: false}; nothing is guessed beyond that.
export function parseNumber(text, lang) {
  const s = String(text ?? '').trim();
  if (s === '' || s.length > MAX_NUMBER_TEXT) return { ok: false };
  let c = canon(s, lang).replace(/^([+-])g+/, '$1');
  const sign = /^[+-]/.test(c) ? c[0] : '';
  if (sign) c = c.slice(1);
  // A single mark not followed by exactly three digits groups nothing:
  // it is a decimal point, whichever key made it.
  const marks = c.match(/[DGg]/g) || [];
  if (marks.length === 1 && marks[0] !== 'g') {
    const after = c.slice(c.search(/[DG]/) + 1);
    if (!/^\d{3}$/.test(after)) c = c.replace(/[DG]/, 'D');
  }
  c = c.replace(/g/g, 'G');
  const m = /^(\d{1,3}(?:G\d{3})+|\d*)(?:D(\d*))?$/.exec(c);
  if (!m || (m[1] === '' && !m[2])) return { ok: false };
  const value = Number(`${sign === '-' ? '-' : ''}${m[1].replace(/G/g, '') || '0'}.${m[2] || '0'}`);
  if (!Number.isFinite(value)) return { ok: false };
  return { ok: true, value: value === 0 ? 0 : value }; // no -0
}

// formatNumber shows n in lang's way (grouped, up to six decimals), as
// read on a page or in a chart.
export function formatNumber(n, lang) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '';
  return new Intl.NumberFormat(lang, { maximumFractionDigits: 6 }).format(n);
}

// inputNumber is n as an input starts with it: ungrouped, so that what
// is shown parses back to n.
export function inputNumber(n, lang) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '';
  return new Intl.NumberFormat(lang, { useGrouping: false, maximumFractionDigits: 10 }).format(n);
}
