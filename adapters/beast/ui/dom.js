// dom.js — element builder, formatting and the small components every page uses.
// User data only ever reaches the DOM through text nodes, textContent and attributes
// (never innerHTML), and styles only through the CSSOM (element.style), so the strict
// Content-Security-Policy holds.

import { queryString } from './api.js';

/**
 * h('a', {href, class, text, onclick, style: {width: '3px'}, dataset: {...}}, ...children)
 * Children: strings/numbers (text nodes), Nodes, arrays, null/false (skipped).
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  let value;
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
      else if (k === 'text') el.textContent = String(v);
      else if (k === 'style') Object.assign(el.style, v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k === 'value') value = v;
      else if (k === 'checked' || k === 'selected' || k === 'disabled' || k === 'hidden') el[k] = !!v;
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  if (value !== undefined) el.value = value;
  return el;
}

export function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false || c === true) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
  return el;
}

export function frag(...children) {
  return append(document.createDocumentFragment(), children);
}

// ---------------------------------------------------------------- hash links

/** "#/path?k=v" with the non-empty params. */
export function hashHref(path, params) {
  const qs = queryString(params);
  return '#' + path + (qs ? '?' + qs : '');
}

export function link(path, params, ...children) {
  return h('a', { href: hashHref(path, params) }, ...children);
}

/** Query (URLSearchParams) as a plain object of its non-empty values, minus `drop`. */
export function queryObject(query, ...drop) {
  const out = {};
  for (const [k, v] of query) if (v !== '' && !drop.includes(k)) out[k] = v;
  return out;
}

export const enc = encodeURIComponent;

// ---------------------------------------------------------------- time

/** Date from the API's ISO string (microsecond fractions allowed) or from `*_us`. */
export function toDate(iso, us) {
  if (typeof us === 'number' && Number.isFinite(us)) return new Date(Math.floor(us / 1000));
  if (typeof iso === 'number') return new Date(iso);
  if (!iso) return null;
  const d = new Date(String(iso).replace(/(\.\d{3})\d+/, '$1'));
  return Number.isNaN(d.getTime()) ? null : d;
}

/** ISO-8601 UTC without a zero millisecond part ("2026-11-24T10:05:00Z"). */
export function isoUtc(d) {
  return d.toISOString().replace('.000Z', 'Z');
}

const fmtShort = new Intl.DateTimeFormat(undefined, {
  month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
});
let fmtPrecise;
try {
  fmtPrecise = new Intl.DateTimeFormat(undefined, {
    year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',
    fractionalSecondDigits: 3, hour12: false,
  });
} catch (_) {
  fmtPrecise = fmtShort;
}
const fmtHm = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', hour12: false });
const fmtDayHm = new Intl.DateTimeFormat(undefined, {
  weekday: 'short', hour: '2-digit', minute: '2-digit', hour12: false,
});

export function localTime(d, precise) {
  return d ? (precise ? fmtPrecise : fmtShort).format(d) : '';
}
export function localHm(d) {
  return d ? fmtHm.format(d) : '';
}
export function localDayHm(d) {
  return d ? fmtDayHm.format(d) : '';
}

export function relative(d, now = Date.now()) {
  const s = Math.round((now - d.getTime()) / 1000);
  const abs = Math.abs(s);
  const sfx = s >= 0 ? ' ago' : ' from now';
  if (abs < 45) return s >= 0 ? 'just now' : 'in a moment';
  if (abs < 3600) return Math.round(abs / 60) + ' min' + sfx;
  if (abs < 86400) return Math.round(abs / 3600) + ' h' + sfx;
  return Math.round(abs / 86400) + ' d' + sfx;
}

/**
 * <time> in local time; the UTC ISO value is in `title` (hover) and `datetime`.
 * opts.precise: milliseconds and year; opts.relative: "3 min ago".
 */
export function timeEl(iso, us, opts = {}) {
  const d = toDate(iso, us);
  if (!d) return h('span', { class: 'muted', text: opts.empty || '—' });
  const utc = typeof iso === 'string' && iso ? iso : d.toISOString();
  const text = opts.relative ? relative(d) : localTime(d, opts.precise);
  const title = opts.relative ? `${localTime(d, true)} (local)\n${utc} (UTC)` : `${utc} (UTC)`;
  return h('time', { datetime: d.toISOString(), title, text });
}

/** datetime-local value ("YYYY-MM-DDTHH:MM") for an ISO string, in local time. */
export function isoToLocalInput(iso) {
  const d = toDate(iso);
  if (!d) return '';
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

export function localInputToIso(value) {
  if (!value) return '';
  const d = new Date(value); // datetime-local strings parse as local time
  return Number.isNaN(d.getTime()) ? '' : isoUtc(d);
}

// ---------------------------------------------------------------- numbers

const nf = new Intl.NumberFormat();
export function num(n) {
  if (n === undefined || n === null || Number.isNaN(n)) return '—';
  return nf.format(n);
}

export function ms(v) {
  if (v === undefined || v === null || Number.isNaN(v)) return '—';
  if (v >= 10000) return (v / 1000).toFixed(1) + ' s';
  if (v >= 1000) return (v / 1000).toFixed(2) + ' s';
  if (v >= 100) return Math.round(v) + ' ms';
  if (v >= 10) return v.toFixed(1) + ' ms';
  return v.toFixed(2) + ' ms';
}

export function pct(v) {
  if (v === undefined || v === null || Number.isNaN(v)) return '—';
  if (v === 0) return '0%';
  if (v < 0.01) return '<0.01%';
  return (v < 10 ? v.toFixed(2) : v.toFixed(1)) + '%';
}

export function bytes(n) {
  if (n < 1024) return n + ' B';
  if (n < 1024 * 1024) return (n / 1024).toFixed(1) + ' KB';
  return (n / 1024 / 1024).toFixed(1) + ' MB';
}

/** Numeric cell content: zero is muted so the non-zero values stand out. */
export function count(n, tone) {
  if (!n) return h('span', { class: 'zero', text: n === 0 ? '0' : '—' });
  return tone ? h('span', { class: 'tone-' + tone, text: num(n) }) : num(n);
}

// ---------------------------------------------------------------- badges

const TONES = {
  ok: 'good', applied: 'good', apply: 'good', success: 'good', yes: 'good', live: 'good',
  conflict: 'warn', degraded: 'warn', merged: 'info', client_wins: 'info', server_wins: 'warn',
  rejected: 'bad', error: 'bad', failing: 'bad', not_found: 'bad', stuck: 'bad', systematic: 'bad',
  duplicate: 'muted', unknown: 'muted', idle: 'muted', redacted: 'purple',
  push: 'info', pull: 'muted', added: 'good', removed: 'bad', changed: 'warn', replay: 'purple',
};
const GLYPHS = { good: '✓', warn: '⚠', bad: '✕', info: '•', muted: '·', purple: '◆' };

export function toneOf(value) {
  return TONES[value] || 'muted';
}

/** Status badge: colour AND text (and a glyph), never colour alone. */
export function badge(value, opts = {}) {
  const v = value === undefined || value === null || value === '' ? 'unknown' : String(value);
  const tone = opts.tone || toneOf(v);
  const label = opts.label || v.replace(/_/g, ' ');
  return h('span', { class: `badge badge-${tone}`, title: opts.title },
    h('span', { class: 'badge-glyph', 'aria-hidden': 'true', text: GLYPHS[tone] || '·' }), label);
}

export function httpStatus(code) {
  if (!code) return h('span', { class: 'muted', text: '—' });
  const tone = code >= 500 ? 'bad' : code >= 400 ? 'warn' : 'plain';
  return h('span', { class: `http http-${tone}`, text: String(code) });
}

// ---------------------------------------------------------------- ids and code

export function shortId(id) {
  if (!id) return '';
  const s = String(id);
  return s.length > 14 ? s.slice(0, 8) + '…' + s.slice(-4) : s;
}

/** Monospace id, shortened, full value in the title. */
export function idText(id) {
  if (!id) return h('span', { class: 'muted', text: '—' });
  return h('code', { class: 'id', title: String(id), text: shortId(id) });
}

export function code(text, cls) {
  return h('code', { class: cls, text: String(text) });
}

export function chips(list, max = 4) {
  if (!list || !list.length) return h('span', { class: 'muted', text: '—' });
  const shown = list.slice(0, max).map((f) => h('code', { class: 'chip', text: String(f) }));
  if (list.length > max) shown.push(h('span', { class: 'muted', text: ` +${list.length - max}`, title: list.join(', ') }));
  return h('span', { class: 'chips' }, shown);
}

// ---------------------------------------------------------------- layout

export function pageHead(title, opts = {}) {
  return h('div', { class: 'page-head' },
    opts.crumbs ? h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' },
      opts.crumbs.map(([text, href], i) => frag(i ? h('span', { 'aria-hidden': 'true', class: 'sep', text: '/' }) : null,
        href ? h('a', { href, text }) : h('span', { text })))) : null,
    h('div', { class: 'page-title-row' },
      h('h1', { tabindex: '-1' }, title),
      opts.badges ? h('span', { class: 'title-badges' }, opts.badges) : null,
      h('span', { class: 'spacer' }),
      opts.actions || null),
    opts.sub ? h('p', { class: 'page-sub' }, opts.sub) : null);
}

export function panel(title, body, opts = {}) {
  const id = opts.id;
  return h('section', { class: ['panel', opts.class], id, 'aria-labelledby': id ? id + '-h' : null },
    title !== null ? h('div', { class: 'panel-head' },
      h('h2', { id: id ? id + '-h' : null }, title),
      opts.meta ? h('span', { class: 'panel-meta' }, opts.meta) : null,
      h('span', { class: 'spacer' }),
      opts.actions || null) : null,
    body);
}

/** <dl> of [label, value] pairs; null values are skipped. */
export function kv(pairs, cls) {
  const dl = h('dl', { class: ['kv', cls] });
  for (const p of pairs) {
    if (!p || p[1] === undefined || p[1] === null) continue;
    dl.append(h('div', { class: 'kv-item' }, h('dt', { text: p[0] }), h('dd', {}, p[1])));
  }
  return dl;
}

export function empty(title, hint) {
  return h('div', { class: 'empty' },
    h('p', { class: 'empty-title', text: title }),
    hint ? h('p', { class: 'empty-hint' }, hint) : null);
}

export function loading(text = 'Loading…') {
  return h('div', { class: 'loading', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), text);
}

/** In-page error box with the API message and an optional retry. */
export function errorBox(err, retry, title = 'Could not load this data') {
  const message = err && err.message ? err.message : String(err);
  return h('div', { class: 'error-box', role: 'alert' },
    h('p', { class: 'error-title', text: title }),
    h('p', { text: message }),
    err && err.status ? h('p', { class: 'muted small', text: `HTTP ${err.status}${err.code ? ' · ' + err.code : ''}` }) : null,
    retry ? h('button', { type: 'button', class: 'btn', onclick: retry, text: 'Try again' }) : null);
}

// ---------------------------------------------------------------- tables

/**
 * columns: [{label, cell(row) -> node|string, class: 'num'|…, title, sort: {key, active, dir, href}}]
 * Returns the table wrapper (with .tbody and .makeRow) or the empty state.
 */
export function table(columns, rows, opts = {}) {
  if (!rows.length && opts.empty !== undefined) {
    return typeof opts.empty === 'string' ? empty(opts.empty, opts.emptyHint) : opts.empty;
  }
  const makeRow = (row) => {
    const tr = h('tr', { class: opts.rowClass ? opts.rowClass(row) : null });
    for (const c of columns) {
      const content = c.cell(row);
      tr.appendChild(h(c.th ? 'th' : 'td', { class: c.class, scope: c.th ? 'row' : null },
        content === undefined || content === null || content === '' ? h('span', { class: 'muted', text: '—' }) : content));
    }
    return tr;
  };
  const thead = h('thead', {}, h('tr', {}, columns.map((c) => {
    const th = h('th', { scope: 'col', class: c.class, title: c.title });
    if (c.sort) {
      th.setAttribute('aria-sort', c.sort.active ? (c.sort.dir === 'asc' ? 'ascending' : 'descending') : 'none');
      th.appendChild(h('a', { href: c.sort.href, class: 'sort-link' }, c.label,
        h('span', { class: 'sort-ind', 'aria-hidden': 'true', text: c.sort.active ? ' ▼' : ' ↕' })));
    } else {
      th.textContent = c.label;
    }
    return th;
  })));
  const tbody = h('tbody', {}, rows.map(makeRow));
  const tbl = h('table', { class: ['data', opts.class] },
    opts.caption ? h('caption', { class: 'sr-only', text: opts.caption }) : null, thead, tbody);
  const wrap = h('div', { class: 'table-wrap' }, tbl);
  wrap.tbody = tbody;
  wrap.makeRow = makeRow;
  wrap.columns = columns;
  return wrap;
}

/** Keyset pager: "Next page" and "Back to first" links; `info` text in between. */
export function pager({ nextHref, firstHref, info }) {
  if (!nextHref && !firstHref && !info) return null;
  return h('nav', { class: 'pager', 'aria-label': 'Pagination' },
    firstHref ? h('a', { class: 'btn', id: 'pager-first', href: firstHref, text: '⇤ Back to first' }) : null,
    info ? h('span', { class: 'muted', text: info }) : null,
    h('span', { class: 'spacer' }),
    nextHref ? h('a', { class: 'btn', id: 'pager-next', href: nextHref, text: 'Next page →' })
      : h('span', { class: 'muted small', text: 'End of results' }));
}

/** Page number bookkeeping for keyset paging in the hash (`cursor` + `page`). */
export function pageLinks(path, query, nextCursor, cursorKey = 'cursor', pageKey = 'page') {
  const pageNo = Math.max(1, parseInt(query.get(pageKey) || '1', 10) || 1);
  const base = queryObject(query, cursorKey, pageKey);
  const onFirst = !query.get(cursorKey);
  return {
    pageNo,
    nextHref: nextCursor ? hashHref(path, { ...base, [cursorKey]: nextCursor, [pageKey]: pageNo + 1 }) : null,
    firstHref: onFirst ? null : hashHref(path, base),
  };
}

// ---------------------------------------------------------------- forms

/**
 * Filter bar. fields: [{name, label, type: text|select|datetime|checkbox, options: [[v, label]], placeholder}]
 * onApply(params) receives the non-empty values (datetimes as ISO-8601 UTC).
 */
export function filterForm(fields, query, onApply, opts = {}) {
  const controls = {};
  const items = fields.map((f) => {
    const id = 'f-' + (opts.idPrefix || '') + f.name;
    const current = query.get(f.name) || '';
    let control;
    if (f.type === 'select') {
      control = h('select', { id, name: f.name, value: current },
        h('option', { value: '', text: f.any || 'Any' }),
        f.options.map(([v, l]) => h('option', { value: v, text: l || v })));
    } else if (f.type === 'checkbox') {
      control = h('input', { id, name: f.name, type: 'checkbox', checked: current === '1' || current === 'true' });
      controls[f.name] = control;
      return h('div', { class: 'field field-check' }, control, h('label', { for: id, text: f.label }));
    } else if (f.type === 'datetime') {
      control = h('input', { id, name: f.name, type: 'datetime-local', value: isoToLocalInput(current), step: '60' });
    } else {
      control = h('input', {
        id, name: f.name, type: 'search', value: current, placeholder: f.placeholder || '',
        autocomplete: 'off', spellcheck: 'false', class: f.wide ? 'wide' : null,
      });
    }
    controls[f.name] = control;
    return h('div', { class: 'field' }, h('label', { for: id, text: f.label }), control);
  });
  const collect = () => {
    const params = {};
    for (const f of fields) {
      const c = controls[f.name];
      let v;
      if (f.type === 'checkbox') v = c.checked ? '1' : '';
      else if (f.type === 'datetime') v = localInputToIso(c.value);
      else v = c.value.trim();
      if (v) params[f.name] = v;
    }
    return params;
  };
  const form = h('form', {
    class: 'filters', role: 'search', 'aria-label': opts.label || 'Filters',
    onsubmit: (e) => { e.preventDefault(); onApply(collect()); },
  }, items,
  h('div', { class: 'field field-actions' },
    h('button', { type: 'submit', id: 'f-' + (opts.idPrefix || '') + 'apply', class: 'btn btn-primary', text: 'Apply' }),
    h('button', {
      type: 'button', id: 'f-' + (opts.idPrefix || '') + 'reset', class: 'btn btn-quiet', text: 'Reset', onclick: () => onApply({}),
    })));
  // Checkboxes and selects apply at once; text and dates on Enter / Apply.
  if (opts.autoApply !== false) {
    for (const f of fields) {
      if (f.type === 'checkbox' || f.type === 'select') controls[f.name].addEventListener('change', () => onApply(collect()));
    }
  }
  return form;
}

/** Re-build a container while keeping keyboard focus on the "same" element (data-focus-key). */
export function preserveFocus(container, rebuild) {
  const active = document.activeElement;
  const key = active && container.contains(active) ? active.getAttribute('data-focus-key') : null;
  rebuild();
  if (key) {
    const again = container.querySelector(`[data-focus-key="${CSS.escape(key)}"]`);
    if (again) again.focus({ preventScroll: true });
  }
}

/** Roving tabindex over `selector` items inside `container` (arrows, Home, End). */
export function roving(container, selector, initial = -1) {
  const items = () => Array.from(container.querySelectorAll(selector));
  const list = items();
  if (!list.length) return;
  const start = initial < 0 ? list.length - 1 : Math.min(initial, list.length - 1);
  list.forEach((el, i) => el.setAttribute('tabindex', i === start ? '0' : '-1'));
  container.addEventListener('keydown', (e) => {
    const all = items();
    const i = all.indexOf(document.activeElement);
    if (i < 0) return;
    let j = i;
    if (e.key === 'ArrowRight' || e.key === 'ArrowDown') j = Math.min(all.length - 1, i + 1);
    else if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') j = Math.max(0, i - 1);
    else if (e.key === 'Home') j = 0;
    else if (e.key === 'End') j = all.length - 1;
    else if (e.key === 'PageUp') j = Math.max(0, i - 12);
    else if (e.key === 'PageDown') j = Math.min(all.length - 1, i + 12);
    else return;
    e.preventDefault();
    all[i].setAttribute('tabindex', '-1');
    all[j].setAttribute('tabindex', '0');
    all[j].focus();
  });
  container.addEventListener('focusin', (e) => {
    const all = items();
    if (all.includes(e.target)) all.forEach((el) => el.setAttribute('tabindex', el === e.target ? '0' : '-1'));
  });
}

// A "Show"/"Hide" button that opens `makeRow()` (a <tr class="detail-row">) under its own
// table row, for details too wide for a cell.
export function detailToggle(label, makeRow) {
  return h('button', {
    type: 'button', class: 'btn btn-small', 'aria-expanded': 'false', text: 'Show', 'aria-label': label,
    onclick: (e) => {
      const btn = e.currentTarget;
      const tr = btn.closest('tr');
      if (btn.getAttribute('aria-expanded') === 'true') {
        if (tr.nextElementSibling && tr.nextElementSibling.classList.contains('detail-row')) tr.nextElementSibling.remove();
        btn.setAttribute('aria-expanded', 'false');
        btn.textContent = 'Show';
      } else {
        tr.after(makeRow());
        btn.setAttribute('aria-expanded', 'true');
        btn.textContent = 'Hide';
      }
    },
  });
}

export function copyButton(getText, label = 'Copy') {
  const btn = h('button', {
    type: 'button', class: 'btn btn-small btn-quiet', text: label,
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(typeof getText === 'function' ? getText() : getText);
        btn.textContent = 'Copied';
      } catch (_) {
        btn.textContent = 'Copy failed';
      }
      setTimeout(() => { btn.textContent = label; }, 1500);
    },
  });
  return btn;
}
