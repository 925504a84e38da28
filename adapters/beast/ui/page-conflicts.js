// page-conflicts.js — #/conflicts?model&client_id&entity_id&resolver&resolution&instance&from&to&cursor&page
// GET api/conflicts?…&limit=50&cursor
// GET api/conflicts/patterns?from&to&instance&top=10   (from/to default to the last 24 h)
import { getJson } from './api.js';
import {
  h, detailToggle, pageHead, panel, table, timeEl, badge, num, link, code, idText, chips, filterForm, hashHref, queryObject, pager,
  pageLinks, empty, errorBox, enc, isoUtc, toDate, localTime,
} from './dom.js';
import { barChart, shareBar } from './charts.js';
import { jsonBlock, diffTable } from './json.js';

const PAGE_SIZE = 50;
const FILTERS = ['model', 'client_id', 'entity_id', 'resolver', 'resolution', 'instance', 'from', 'to'];
const FIELDS = [
  { name: 'model', label: 'Model', placeholder: 'e.g. Task' },
  { name: 'client_id', label: 'Client', placeholder: 'client id' },
  { name: 'entity_id', label: 'Entity', placeholder: 'entity id' },
  { name: 'resolver', label: 'Resolver', placeholder: 'e.g. last_write_wins' },
  { name: 'resolution', label: 'Resolution', type: 'select', options: [['server_wins', 'server wins'], ['client_wins', 'client wins'], ['merged'], ['rejected']] },
  { name: 'instance', label: 'Instance', placeholder: 'any' },
  { name: 'from', label: 'From', type: 'datetime' },
  { name: 'to', label: 'To', type: 'datetime' },
];

function miniTable(title, columns, rows, emptyText) {
  return h('div', { class: 'mini' }, h('h3', { class: 'sub-h', text: title }),
    table(columns, rows, { empty: emptyText || 'None', caption: title, class: 'compact' }));
}

function patternsPanel(p, base, rangeText) {
  const filterHref = (extra) => hashHref('/conflicts', { ...base, ...extra, cursor: '', page: '' });
  const max = (list) => Math.max(0, ...list.map((x) => x.conflicts));
  const cnt = (list) => ({ label: 'Conflicts', class: 'num', cell: (x) => h('span', { class: 'num-bar' }, shareBar(x.conflicts, max(list), 'warn'), num(x.conflicts)) });
  const byModel = p.by_model || [];
  const byClient = p.by_client || [];
  const byPair = p.by_model_client || [];
  const entities = p.top_entities || [];
  const fields = p.top_fields || [];
  const buckets = (p.by_bucket || []).map((b) => ({ start: b.start, start_us: b.start_us, value: b.conflicts }));
  const body = p.total
    ? h('div', {},
      h('div', { class: 'chart-box' },
        h('h3', { class: 'sub-h', text: 'Conflicts per hour' }),
        barChart(buckets, {
          label: 'Conflicts per hour', unit: 'conflicts', tone: 'warn',
          hrefFor: (b, from, to) => filterHref({ from, to }),
        })),
      h('div', { class: 'grid-mini' },
        miniTable('By model', [
          { label: 'Model', cell: (x) => h('a', { href: filterHref({ model: x.model }), text: x.model }) }, cnt(byModel)], byModel),
        miniTable('By client', [
          { label: 'Client', cell: (x) => h('a', { href: filterHref({ client_id: x.client_id }), text: x.client_id }) }, cnt(byClient)], byClient),
        miniTable('By model × client', [
          { label: 'Model', cell: (x) => x.model },
          { label: 'Client', cell: (x) => h('a', { href: filterHref({ model: x.model, client_id: x.client_id }), text: x.client_id }) },
          cnt(byPair)], byPair),
        miniTable('Entities that conflict most', [
          { label: 'Entity', cell: (x) => h('a', { href: filterHref({ entity_id: x.entity_id, model: x.model }), title: x.entity_id }, idText(x.entity_id)) },
          { label: 'Model', cell: (x) => x.model },
          cnt(entities),
          { label: 'Last', cell: (x) => timeEl(x.last_seen, undefined, { relative: true }) }], entities),
        miniTable('Fields that conflict most', [
          { label: 'Field', cell: (x) => code(x.field, 'path') },
          { label: 'Model', cell: (x) => h('a', { href: filterHref({ model: x.model }), text: x.model }) },
          cnt(fields)], fields)))
    : empty('No conflicts in this range', 'Patterns appear once a conflict is recorded.');
  return panel('Conflict patterns', body, {
    id: 'patterns',
    meta: `${num(p.total)} conflicts · ${rangeText} · all models and clients`,
  });
}

function detailRow(c, colspan) {
  return h('tr', { class: 'detail-row' }, h('td', { colspan: String(colspan) },
    h('div', { class: 'detail' },
      h('p', { class: 'muted small' },
        `Reason ${c.reason || '—'} · server updated at `, c.server_updated_at ? timeEl(c.server_updated_at, undefined, { precise: true }) : '—',
        ` · reported by ${[c.reported_by_host ? 'host' : null, c.reported_in_response ? 'response' : null].filter(Boolean).join(' + ') || '—'} · `,
        link('/mutations/' + enc(c.id), null, 'mutation detail'), ' · ', link('/requests/' + enc(c.request_id), null, 'request')),
      diffTable(c.fields, { fromLabel: 'Server value', toLabel: 'Client value', empty: 'No field-level disagreement recorded' }),
      h('div', { class: 'grid-3' },
        jsonBlock({ title: 'Client payload', value: c.payload, emptyText: 'No payload', compact: true }),
        jsonBlock({ title: 'Server state', value: c.server_state, emptyText: 'Not reported', compact: true }),
        jsonBlock({ title: 'State before', value: c.state_before, emptyText: 'Not reported by the host', compact: true })))));
}

function conflictsTable(items, emptyText, emptyHint) {
  const columns = [
    { label: 'Time', cell: (c) => h('a', { href: '#/mutations/' + enc(c.id), class: 'row-link' }, timeEl(c.started_at, c.started_at_us)) },
    { label: 'Model', cell: (c) => c.model },
    { label: 'Entity', cell: (c) => idText(c.entity_id) },
    { label: 'Op', cell: (c) => c.operation },
    { label: 'Client', cell: (c) => (c.client_id ? link('/clients/' + enc(c.client_id), null, c.client_id) : null) },
    { label: 'Resolver', cell: (c) => (c.resolver ? code(c.resolver) : h('span', { class: 'muted small', text: 'response only' })) },
    { label: 'Resolution', cell: (c) => (c.resolution ? badge(c.resolution) : null) },
    { label: 'Outcome', cell: (c) => badge(c.outcome) },
    { label: 'Fields', cell: (c) => chips((c.fields || []).map((f) => f.path), 3) },
    { label: 'Request', cell: (c) => link('/requests/' + enc(c.request_id), null, idText(c.request_id)) },
    {
      label: 'Compare', cell: (c) => detailToggle(`Show payload and server state of ${c.model} ${c.entity_id}`, () => detailRow(c, columns.length)),
    },
  ];
  return table(columns, items, { empty: emptyText, emptyHint, caption: 'Conflicts, newest first' });
}

export async function render(ctx) {
  const q = ctx.query;
  ctx.title('Conflicts');
  const filters = {};
  for (const k of FILTERS) if (q.get(k)) filters[k] = q.get(k);
  const now = new Date();
  const pFrom = filters.from || isoUtc(new Date(now.getTime() - 24 * 3600 * 1000));
  const pTo = filters.to || isoUtc(now);
  const rangeText = filters.from || filters.to
    ? `${localTime(toDate(pFrom))} – ${localTime(toDate(pTo))}`
    : 'last 24 hours';

  const [list, patterns] = await Promise.all([
    getJson('api/conflicts', { ...filters, limit: PAGE_SIZE, cursor: q.get('cursor') || '' }, ctx.signal),
    getJson('api/conflicts/patterns', { from: pFrom, to: pTo, instance: filters.instance || '', top: 10 }, ctx.signal)
      .catch((err) => { if (ctx.signal.aborted) throw err; ctx.fail(err); return { error: err }; }),
  ]);
  const items = list.items || [];
  const { pageNo, nextHref, firstHref } = pageLinks('/conflicts', q, list.next_cursor);
  const filtered = Object.keys(filters).length > 0;
  const base = queryObject(q, 'cursor', 'page');

  ctx.root.append(
    pageHead('Conflicts', { sub: 'Every detected conflict, whatever the resolver decided — including conflicts that ended applied (client wins, merged).' }),
    filterForm(FIELDS, q, (p) => ctx.navigate(hashHref('/conflicts', p)), { label: 'Filter conflicts' }),
    patterns.error ? errorBox(patterns.error, () => ctx.navigate(location.hash), 'Could not load conflict patterns') : patternsPanel(patterns, base, rangeText),
    panel('Conflicts', h('div', {},
      conflictsTable(items, filtered ? 'No conflicts in this range' : 'No conflicts recorded',
        filtered ? h('span', {}, 'Try a wider range or ', h('a', { href: '#/conflicts', text: 'clear the filters' }), '.') : 'Good news: no client has collided with the server state yet.'),
      pager({ nextHref, firstHref, info: items.length ? `Page ${pageNo} · ${items.length} conflicts` : null })), { id: 'list' }));
}
