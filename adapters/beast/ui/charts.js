// charts.js — the 24 h health strip and small bar charts, built from plain elements
// (heights set through the CSSOM), keyboard reachable with a roving tabindex, and a
// shared tooltip shown on hover and on focus.
import { h, roving, localHm, localDayHm, localTime, toDate, num, ms, pct, isoUtc } from './dom.js';

let tipEl = null;
function tip() {
  if (!tipEl) tipEl = document.getElementById('tooltip');
  return tipEl;
}

export function showTip(target, lines) {
  const t = tip();
  if (!t) return;
  t.replaceChildren(...lines.map((l, i) => h(i ? 'div' : 'strong', { class: i ? null : 'tip-title' }, l)));
  t.hidden = false;
  const r = target.getBoundingClientRect();
  const tw = t.offsetWidth;
  const th = t.offsetHeight;
  let left = r.left + r.width / 2 - tw / 2;
  left = Math.max(8, Math.min(left, window.innerWidth - tw - 8));
  let top = r.top - th - 8;
  if (top < 8) top = r.bottom + 8;
  t.style.left = Math.round(left) + 'px';
  t.style.top = Math.round(top) + 'px';
}

export function hideTip() {
  const t = tip();
  if (t) t.hidden = true;
}

document.addEventListener('keydown', (e) => { if (e.key === 'Escape') hideTip(); });
window.addEventListener('scroll', hideTip, { passive: true });

function wireTip(el, lines) {
  const show = () => showTip(el, lines());
  el.addEventListener('mouseenter', show);
  el.addEventListener('focus', show);
  el.addEventListener('mouseleave', hideTip);
  el.addEventListener('blur', hideTip);
}

const STATUS_TEXT = { idle: 'Idle', ok: 'OK', degraded: 'Degraded', failing: 'Failing' };

/**
 * 288 five-minute cells. health: [{start, start_us, requests, conflicts, failures, avg_ms, p95_ms, status}]
 * opts: bucketSeconds, instance, hrefFor(cell, fromIso, toIso)
 */
export function healthStrip(health, opts = {}) {
  const width = (opts.bucketSeconds || 300) * 1000;
  const maxReq = Math.max(1, ...health.map((c) => c.requests || 0));
  const counts = { idle: 0, ok: 0, degraded: 0, failing: 0 };
  const strip = h('div', { class: 'strip', role: 'group', 'aria-label': 'Health per 5-minute bucket, oldest first. Use arrow keys to move, Enter to open the requests of a bucket.' });
  health.forEach((c, i) => {
    const start = toDate(c.start, c.start_us);
    const end = new Date(start.getTime() + width);
    const status = STATUS_TEXT[c.status] ? c.status : 'idle';
    counts[status]++;
    const conflictPct = c.requests ? (100 * c.conflicts) / c.requests : 0;
    const failPct = c.requests ? (100 * c.failures) / c.requests : 0;
    const lines = () => [
      `${localHm(start)}–${localHm(end)} · ${STATUS_TEXT[status]}`,
      `${num(c.requests)} requests`,
      `${num(c.conflicts)} with conflicts (${pct(conflictPct)})`,
      `${num(c.failures)} failed (${pct(failPct)})`,
      c.requests ? `avg ${ms(c.avg_ms)} · p95 ${ms(c.p95_ms)}` : 'no traffic',
    ];
    const label = `${localTime(start)} to ${localHm(end)}: ${STATUS_TEXT[status]}, ${c.requests} requests, `
      + `${c.conflicts} with conflicts, ${c.failures} failed`;
    const bar = h('span', { class: 'cell-bar' });
    bar.style.height = c.requests ? Math.max(25, Math.round((100 * c.requests) / maxReq)) + '%' : '12%';
    const cell = h('a', {
      class: `cell cell-${status}`,
      href: opts.hrefFor ? opts.hrefFor(c, isoUtc(start), isoUtc(end)) : '#/requests',
      'aria-label': label,
      dataset: { focusKey: 'cell-' + i },
    }, bar);
    wireTip(cell, lines);
    strip.appendChild(cell);
  });
  roving(strip, '.cell');
  const first = health.length ? toDate(health[0].start, health[0].start_us) : null;
  const axis = h('div', { class: 'strip-axis', 'aria-hidden': 'true' });
  if (first) {
    for (let k = 0; k <= 4; k++) {
      const t = new Date(first.getTime() + (k * health.length * width) / 4);
      axis.appendChild(h('span', { text: k === 4 ? 'now' : localHm(t) }));
    }
  }
  const legend = h('ul', { class: 'legend', 'aria-label': 'Legend and bucket counts' },
    ['ok', 'degraded', 'failing', 'idle'].map((s) => h('li', {},
      h('span', { class: `swatch cell-${s}`, 'aria-hidden': 'true' }),
      `${STATUS_TEXT[s]} `, h('span', { class: 'muted', text: `(${counts[s]})` }))));
  return h('div', { class: 'health' }, strip, axis, legend);
}

/**
 * Vertical bars. buckets: [{start, start_us, value}]. opts: label (aria), unit, hrefFor(b, fromIso, toIso),
 * bucketMs (default 1 h), tone (css class suffix)
 */
export function barChart(buckets, opts = {}) {
  const width = opts.bucketMs || 3600 * 1000;
  const max = Math.max(0, ...buckets.map((b) => b.value || 0));
  const total = buckets.reduce((s, b) => s + (b.value || 0), 0);
  const chart = h('div', {
    class: ['bars', opts.tone ? 'bars-' + opts.tone : null], role: 'group',
    'aria-label': `${opts.label || 'Chart'}: ${num(total)} ${opts.unit || ''} in total, at most ${num(max)} per bucket. Arrow keys move between bars.`,
  });
  buckets.forEach((b, i) => {
    const start = toDate(b.start, b.start_us);
    const end = new Date(start.getTime() + width);
    const text = `${localDayHm(start)}–${localHm(end)}: ${num(b.value)} ${opts.unit || ''}`;
    const bar = h('span', { class: 'bar-fill' });
    bar.style.height = max ? Math.max(b.value ? 3 : 0, Math.round((100 * b.value) / max)) + '%' : '0%';
    const attrs = { class: ['bar', b.value ? null : 'bar-zero'], 'aria-label': text, dataset: { focusKey: 'bar-' + i } };
    const el = opts.hrefFor
      ? h('a', { ...attrs, href: opts.hrefFor(b, isoUtc(start), isoUtc(end)) }, bar)
      : h('span', { ...attrs, role: 'img' }, bar);
    wireTip(el, () => [`${localDayHm(start)}–${localHm(end)}`, `${num(b.value)} ${opts.unit || ''}`]);
    chart.appendChild(el);
  });
  roving(chart, '.bar');
  const axis = h('div', { class: 'bars-axis', 'aria-hidden': 'true' });
  if (buckets.length) {
    const a = toDate(buckets[0].start, buckets[0].start_us);
    const z = toDate(buckets[buckets.length - 1].start, buckets[buckets.length - 1].start_us);
    axis.append(h('span', { text: localDayHm(a) }), h('span', { text: `max ${num(max)}` }), h('span', { text: localDayHm(z) }));
  }
  return h('div', { class: 'barchart' }, chart, axis);
}

/** Thin horizontal share bar for table cells (value / max). */
export function shareBar(value, max, tone) {
  const outer = h('span', { class: ['share', tone ? 'share-' + tone : null], 'aria-hidden': 'true' });
  const inner = h('span', { class: 'share-fill' });
  inner.style.width = max ? Math.round((100 * value) / max) + '%' : '0%';
  outer.appendChild(inner);
  return outer;
}

