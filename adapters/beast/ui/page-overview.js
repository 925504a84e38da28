// page-overview.js — #/?window=24h&instance=
// GET {prefix}/metrics?window=…&instance=…  (+ window=24h for the health strip when the
// selected window is not 24h: 1h/6h/7d documents carry 12/72/168 cells, not the 288 five-minute ones).
import { getJson } from './api.js';
import {
  h, pageHead, panel, kv, table, num, ms, pct, link, hashHref, badge, timeEl, preserveFocus, empty, toDate, localTime, count,
} from './dom.js';
import { healthStrip, shareBar, hideTip } from './charts.js';

const WINDOWS = [['1h', '1 h', 'last hour'], ['6h', '6 h', 'last 6 hours'], ['24h', '24 h', 'last 24 hours'], ['7d', '7 d', 'last 7 days']];

const DROP_REASONS = [
  ['queue_full', 'Queue full', 'the recorder queue reached its item or byte cap'],
  ['too_large', 'Too large', 'one exchange exceeded the queue byte cap even after body truncation'],
  ['storage_error', 'Storage error', 'storage kept failing after every retry'],
  ['shutdown', 'Shutdown', 'offered after shutdown, or still queued when shutdown timed out'],
];

function card(label, value, sub, opts = {}) {
  return h('div', { class: ['card', opts.tone ? 'card-' + opts.tone : null] },
    h('p', { class: 'card-label' }, opts.href ? h('a', { href: opts.href, text: label }) : label),
    h('p', { class: 'card-value', text: value }),
    sub ? h('p', { class: 'card-sub' }, sub) : null);
}

// Every figure links to the rows it counts: same window (`scope.from`/`scope.to`, the
// document's own range) and instance.
function cards(doc, scope) {
  const t = doc.throughput || {};
  const l = doc.latency || {};
  return h('div', { class: 'cards' },
    card('Requests', num(t.requests), `${num(t.pushes)} push · ${num(t.pulls)} pull`, { href: hashHref('/requests', scope) }),
    card('Mutations', num(t.mutations), `${num(t.applied)} applied · ${num(t.rejected)} rejected · ${num(t.conflicts)} conflicts`),
    card('Snapshots', num(t.snapshots), 'returned by pulls'),
    card('Conflict rate', pct(doc.conflict_rate), `${num(doc.conflict_requests)} requests with ≥ 1 conflict`,
      { href: hashHref('/conflicts', scope), tone: doc.conflict_rate > 0 ? 'warn' : null }),
    card('Failure rate', pct(doc.failure_rate), `${num(doc.failed_requests)} failed requests`,
      { href: hashHref('/requests', { ...scope, outcome: 'failed' }), tone: doc.failure_rate > 0 ? 'bad' : null }),
    h('div', { class: 'card card-wide' },
      h('p', { class: 'card-label', text: 'Latency' }),
      h('p', { class: 'card-value' }, ms(l.p95_ms), h('span', { class: 'card-unit', text: ' p95' })),
      kv([['avg', ms(l.avg_ms)], ['p50', ms(l.p50_ms)], ['p99', ms(l.p99_ms)], ['max', ms(l.max_ms)]], 'kv-inline')));
}

function topModels(doc, scope) {
  const rows = doc.top_models || [];
  const max = Math.max(0, ...rows.map((r) => r.mutations));
  return panel('Top models', table([
    {
      label: 'Model', cell: (r) => (r.model ? link('/requests', { ...scope, model: r.model }, r.model)
        : h('span', { class: 'muted', text: '(no model)', title: 'Mutations sent without a model (malformed pushes)' })),
    },
    { label: 'Mutations', class: 'num', cell: (r) => h('span', { class: 'num-bar' }, shareBar(r.mutations, max), num(r.mutations)) },
    { label: 'Conflicts', class: 'num', cell: (r) => (r.conflicts && r.model ? link('/conflicts', { ...scope, model: r.model }, num(r.conflicts)) : count(r.conflicts)) },
    { label: 'Failures', class: 'num', cell: (r) => (r.failures && r.model ? link('/failures/list', { ...scope, model: r.model, kind: 'mutation' }, num(r.failures)) : count(r.failures)) },
  ], rows, { empty: 'No mutations in this window', caption: 'Top models by mutations' }));
}

function topClients(doc, scope) {
  const rows = doc.top_clients || [];
  const max = Math.max(0, ...rows.map((r) => r.requests));
  return panel('Top clients', table([
    { label: 'Client', cell: (r) => link('/clients/' + encodeURIComponent(r.client_id), null, r.client_id) },
    { label: 'Requests', class: 'num', cell: (r) => h('span', { class: 'num-bar' }, shareBar(r.requests, max), num(r.requests)) },
    { label: 'Mutations', class: 'num', cell: (r) => num(r.mutations) },
    { label: 'Failed', class: 'num', cell: (r) => (r.failures ? link('/requests', { ...scope, client_id: r.client_id, outcome: 'failed' }, num(r.failures)) : h('span', { class: 'zero', text: '0' })) },
  ], rows, { empty: 'No requests in this window', caption: 'Top clients by requests' }));
}

// What observing costs this process: CPU of the recorder's two threads since start, and per
// stored exchange (the figure to compare with a request's own time).
function recorderCpu(r) {
  const cpu = r.cpu_seconds || {};
  const total = (cpu.process || 0) + (cpu.store || 0);
  const per = r.written > 0 ? ` · ${num(Math.round((total * 1e6) / r.written))} µs per exchange` : '';
  return h('span', { title: `processing ${cpu.process || 0} s, storing ${cpu.store || 0} s` },
    `${total.toFixed(1)} s${per}`);
}

function recorder(doc) {
  const r = doc.recorder || {};
  const by = r.dropped_by_reason || {};
  const status = r.dropped > 0
    ? badge('dropping', { tone: 'bad', label: `${num(r.dropped)} dropped` })
    : badge('ok', { label: 'nothing dropped' });
  return panel('Recorder', h('div', {},
    kv([
      ['Offered', num(r.offered)],
      ['Written', num(r.written)],
      ['Queued now', num(r.queued)],
      ['Dropped', r.dropped > 0 ? h('span', { class: 'tone-bad', text: num(r.dropped) }) : num(r.dropped)],
      ['Storage errors', r.storage_errors > 0 ? h('span', { class: 'tone-warn', text: num(r.storage_errors) }) : num(r.storage_errors)],
      ['Truncated bodies', num(r.truncated)],
      ['Recorder CPU', recorderCpu(r)],
    ], 'kv-grid'),
    table([
      { label: 'Drop reason', cell: (x) => x[1] },
      { label: 'Meaning', cell: (x) => h('span', { class: 'muted', text: x[2] }) },
      { label: 'Dropped', class: 'num', cell: (x) => (by[x[0]] ? h('span', { class: 'tone-bad', text: num(by[x[0]]) }) : h('span', { class: 'zero', text: '0' })) },
    ], DROP_REASONS, { caption: 'Drops by reason' })),
  { meta: h('span', {}, status, ' since the server started') });
}

export async function render(ctx) {
  const q = ctx.query;
  const win = WINDOWS.some(([w]) => w === q.get('window')) ? q.get('window') : '24h';
  const instance = q.get('instance') || '';
  const winText = WINDOWS.find(([w]) => w === win)[2];
  ctx.title('Overview');

  const fetchAll = (signal) => Promise.all([
    getJson('metrics', { window: win, instance }, signal),
    win === '24h' ? Promise.resolve(null) : getJson('metrics', { window: '24h', instance }, signal),
  ]);
  let [doc, day] = await fetchAll(ctx.signal);

  const updated = h('span', { class: 'muted small' });
  const instances = new Set(doc.instances || []);
  if (instance) instances.add(instance);
  const instSelect = h('select', { id: 'ov-instance', value: instance },
    h('option', { value: '', text: 'All instances' }),
    Array.from(instances).sort().map((i) => h('option', { value: i, text: i })));
  instSelect.addEventListener('change', () => ctx.navigate(hashHref('/', { window: win === '24h' ? '' : win, instance: instSelect.value })));
  const controls = h('div', { class: 'toolbar' },
    h('div', { class: 'seg', role: 'group', 'aria-label': 'Time window' },
      WINDOWS.map(([w, label, long]) => h('a', {
        href: hashHref('/', { window: w === '24h' ? '' : w, instance }),
        'aria-current': w === win ? 'true' : null, title: long, text: label,
      }))),
    h('div', { class: 'field field-inline' }, h('label', { for: 'ov-instance', text: 'Instance' }), instSelect));

  const content = h('div', { class: 'overview' });
  const paint = () => {
    const healthDoc = day || doc;
    const from = toDate(doc.from);
    const to = toDate(doc.to);
    const scope = { from: doc.from, to: doc.to, instance };
    updated.replaceChildren('Updated ', timeEl(doc.generated_at));
    hideTip();
    preserveFocus(content, () => content.replaceChildren(
      h('p', { class: 'muted small window-range', text: `${winText[0].toUpperCase() + winText.slice(1)}: ${localTime(from)} – ${localTime(to)}${instance ? ' · instance ' + instance : ''}` }),
      cards(doc, scope),
      panel('Health — last 24 hours', healthDoc.health && healthDoc.health.length
        ? healthStrip(healthDoc.health, {
          bucketSeconds: healthDoc.bucket_seconds,
          hrefFor: (c, fromIso, toIso) => hashHref('/requests', { from: fromIso, to: toIso, instance }),
        })
        : empty('No health data'), { meta: '5-minute buckets · hover or focus a bucket for its numbers, click it for its requests' }),
      h('div', { class: 'grid-2' }, topModels(doc, scope), topClients(doc, scope)),
      recorder(doc)));
  };
  ctx.root.append(pageHead('Overview', { actions: controls, sub: updated }), content);
  paint();

  let busy = false;
  let last = Date.now();
  const refresh = async () => {
    if (busy) return;
    busy = true;
    try {
      [doc, day] = await fetchAll(ctx.signal);
      paint();
    } catch (err) {
      ctx.fail(err);
    } finally {
      busy = false;
      last = Date.now();
    }
  };
  const refreshSoon = () => { if (Date.now() - last >= 5000) refresh(); };
  ctx.live({
    metrics: (d) => {
      if (!d || !d.throughput || (d.instance || '') !== instance) { refreshSoon(); return; }
      if (d.window === win) { doc = d; if (win === '24h') day = null; paint(); return; }
      if (d.window === '24h') { day = d; paint(); }
      refreshSoon();
    },
    poll: refresh,
  });
}
