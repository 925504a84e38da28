// json.js — pretty JSON blocks (with redaction markers highlighted) and field diff tables.
import { h, badge, copyButton, bytes, empty } from './dom.js';

export const REDACTED = '[REDACTED]';
const HIGHLIGHT_LIMIT = 300 * 1024;   // above this, no syntax colouring (still marks redactions)
const SHOW_LIMIT = 1024 * 1024;       // above this, show the first MB and a "show all" button

/**
 * Re-indent JSON text without re-serialising it, so number literals (64-bit ids, cursors)
 * and string escapes stay exactly as captured. Returns null when `text` is not JSON.
 */
export function reformatJson(text) {
  try {
    JSON.parse(text);
  } catch (_) {
    return null;
  }
  const out = [];
  let depth = 0;
  let i = 0;
  const n = text.length;
  const nl = () => '\n' + '  '.repeat(depth);
  while (i < n) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < n && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out.push(text.slice(i, j + 1));
      i = j + 1;
      continue;
    }
    if (c === ' ' || c === '\n' || c === '\r' || c === '\t') { i++; continue; }
    if (c === '{' || c === '[') {
      let j = i + 1;
      while (j < n && /\s/.test(text[j])) j++;
      const close = c === '{' ? '}' : ']';
      if (text[j] === close) { out.push(c + close); i = j + 1; continue; }
      depth++;
      out.push(c + nl());
      i++;
      continue;
    }
    if (c === '}' || c === ']') { depth--; out.push(nl() + c); i++; continue; }
    if (c === ',') { out.push(',' + nl()); i++; continue; }
    if (c === ':') { out.push(': '); i++; continue; }
    let j = i;
    while (j < n && !',:{}[]" \n\r\t'.includes(text[j])) j++;
    out.push(text.slice(i, j));
    i = j;
  }
  return out.join('');
}

const TOKEN = /("(?:[^"\\\n]|\\.)*")(\s*:)?|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|\b(true|false|null)\b/g;

function redactedMark(text) {
  return h('mark', { class: 'redacted', title: 'Redacted before storage: the original value was never stored', text });
}

/** Fill `pre` with highlighted JSON text. */
function paintJson(pre, text) {
  const f = document.createDocumentFragment();
  let last = 0;
  TOKEN.lastIndex = 0;
  let m;
  while ((m = TOKEN.exec(text))) {
    if (m.index > last) f.appendChild(document.createTextNode(text.slice(last, m.index)));
    if (m[1] !== undefined) {
      if (m[2] !== undefined) {
        f.appendChild(h('span', { class: 'j-key', text: m[1] }));
        f.appendChild(document.createTextNode(m[2]));
      } else if (m[1] === '"' + REDACTED + '"') {
        f.appendChild(redactedMark(m[1]));
      } else {
        f.appendChild(h('span', { class: 'j-str', text: m[1] }));
      }
    } else if (m[3] !== undefined) {
      f.appendChild(h('span', { class: 'j-num', text: m[3] }));
    } else {
      f.appendChild(h('span', { class: 'j-lit', text: m[4] }));
    }
    last = TOKEN.lastIndex;
  }
  if (last < text.length) f.appendChild(document.createTextNode(text.slice(last)));
  pre.appendChild(f);
}

/** Fill `pre` with plain text, marking every redaction marker. */
function paintPlain(pre, text) {
  const parts = text.split(REDACTED);
  const f = document.createDocumentFragment();
  parts.forEach((p, i) => {
    if (i) f.appendChild(redactedMark(REDACTED));
    if (p) f.appendChild(document.createTextNode(p));
  });
  pre.appendChild(f);
}

function paint(pre, text, isJson) {
  pre.replaceChildren();
  if (isJson && text.length <= HIGHLIGHT_LIMIT) paintJson(pre, text);
  else paintPlain(pre, text);
}

/**
 * A titled, scrollable, monospace block.
 *  - {text}: raw body text; pretty-printed when it is JSON, shown verbatim otherwise
 *  - {value}: an already-parsed JSON value (null/undefined → `emptyText`)
 * opts: title, note (node), emptyText, flags (nodes shown in the toolbar), compact
 */
export function jsonBlock(opts) {
  let text;
  let isJson = true;
  if (opts.text !== undefined) {
    if (opts.text === null || opts.text === '') text = null;
    else {
      const pretty = reformatJson(opts.text);
      if (pretty === null) { text = opts.text; isJson = false; } else text = pretty;
    }
  } else if (opts.value === undefined || opts.value === null) {
    text = null;
  } else {
    text = JSON.stringify(opts.value, null, 2);
  }
  const head = h('div', { class: 'code-head' },
    opts.title ? h('h3', { class: 'code-title', text: opts.title }) : null,
    opts.flags || null,
    text !== null && !isJson ? badge('not JSON', { tone: 'warn', title: 'The text is not valid JSON; shown verbatim' }) : null,
    h('span', { class: 'spacer' }),
    text !== null ? h('span', { class: 'muted small', text: bytes(new Blob([text]).size) }) : null,
    text !== null ? copyButton(() => text) : null);
  if (text === null) {
    return h('div', { class: 'code-block' }, head,
      h('p', { class: 'code-empty muted', text: opts.emptyText || 'Empty' }), opts.note || null);
  }
  const pre = h('pre', {
    class: ['code', opts.compact ? 'code-compact' : null], tabindex: '0',
    'aria-label': (opts.title || 'JSON') + (isJson ? ' (JSON)' : ' (text)'),
  });
  const block = h('div', { class: 'code-block' }, head, opts.note || null, pre);
  if (text.length > SHOW_LIMIT) {
    paint(pre, text.slice(0, SHOW_LIMIT), false);
    const more = h('button', {
      type: 'button', class: 'btn btn-small',
      text: `Show all ${bytes(text.length)} (may be slow)`,
      onclick: () => { paint(pre, text, false); more.remove(); },
    });
    block.appendChild(h('div', { class: 'code-more' }, h('span', { class: 'muted small', text: 'Showing the first 1 MB. ' }), more));
  } else {
    paint(pre, text, isJson);
  }
  return block;
}

/** Compact single-line JSON for table cells; redaction markers highlighted. */
export function inlineValue(v) {
  if (v === undefined) return h('span', { class: 'absent', text: '(absent)' });
  const s = JSON.stringify(v);
  if (v === REDACTED) return redactedMark(s);
  const el = h('code', { class: 'jv' });
  paintPlain(el, s.length > 600 ? s.slice(0, 600) + '…' : s);
  if (s.length > 600) el.title = 'Value shortened; see the full documents below';
  return el;
}

const OP_SYMBOL = { added: '+', removed: '−', changed: '~' };

/**
 * Field-level diff as a side-by-side table: path | change | from | to.
 * changes: [{path, op: added|removed|changed, from?, to?}] (a side is absent when missing).
 */
export function diffTable(changes, opts = {}) {
  if (!changes || !changes.length) return empty(opts.empty || 'No differences', opts.emptyHint);
  const rows = changes.map((c) => h('tr', { class: 'diff-' + (c.op || 'changed') },
    h('td', {}, h('code', { class: 'path', text: c.path || '/' })),
    h('td', {}, badge(c.op, { label: `${OP_SYMBOL[c.op] || ''} ${c.op || ''}`.trim() })),
    h('td', { class: 'diff-from' }, 'from' in c ? inlineValue(c.from) : inlineValue(undefined)),
    h('td', { class: 'diff-to' }, 'to' in c ? inlineValue(c.to) : inlineValue(undefined))));
  return h('div', { class: 'table-wrap' }, h('table', { class: 'data diff' },
    opts.caption ? h('caption', { class: 'sr-only', text: opts.caption }) : null,
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col', text: 'Path' }),
      h('th', { scope: 'col', text: 'Change' }),
      h('th', { scope: 'col', text: opts.fromLabel || 'From' }),
      h('th', { scope: 'col', text: opts.toLabel || 'To' }))),
    h('tbody', {}, rows)));
}

/** Plain text in a <span>, with every redaction marker highlighted. */
export function markedText(text, cls) {
  const el = h('span', { class: cls });
  paintPlain(el, String(text));
  return el;
}
