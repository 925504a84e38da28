// page-failures.js
//  #/failures?model&client_id&reason&instance&systematic&sort      groups, poison, recent failures
//     GET api/failures/groups?…&sort=count|last_seen&limit=50
//     GET api/failures/poison?client_id&limit=50
//     GET api/failures?model&client_id&reason&instance&limit=10
//  #/failures/list?fingerprint&model&client_id&reason&kind&instance&from&to&cursor&page
//     GET api/failures?…&limit=50&cursor
//  #/failures/groups/{fingerprint}?cursor&page
//     GET api/failures/groups/{fingerprint}
//     GET api/failures?fingerprint=…&limit=50&cursor
import { getJson, seg } from './api.js';
import {
  h, pageHead, panel, kv, table, timeEl, badge, num, pct, link, code, idText, chips, filterForm, hashHref, queryObject,
  pager, pageLinks, empty, errorBox, enc, httpStatus,
} from './dom.js';
import { barChart, shareBar } from './charts.js';

const PAGE_SIZE = 50;

export function trend(t) {
  if (!t) return null;
  const a = t.last_hour || 0;
  const b = t.previous_hour || 0;
  const dir = a > b ? 'up' : a < b ? 'down' : 'flat';
  const arrow = { up: '↑', down: '↓', flat: '→' }[dir];
  const word = { up: 'rising', down: 'falling', flat: 'steady' }[dir];
  return h('span', { class: 'trend trend-' + dir, title: `${a} in the last hour, ${b} in the hour before (${word})` },
    h('span', { class: 'trend-arrow', 'aria-hidden': 'true', text: arrow }), ` ${num(a)}`,
    h('span', { class: 'muted small', text: ` / ${num(b)}` }),
    h('span', { class: 'sr-only', text: ` failures in the last hour, ${word}; ${b} the hour before` }));
}

function groupTitle(g) {
  return `${g.model || (g.kind === 'request' ? 'request' : '(no model)')} · ${g.reason || 'unknown'}`;
}

/** Failures with context; each links to its mutation (kind mutation) and always to its request. */
export function failuresTable(items, opts = {}) {
  const cols = [
    {
      label: 'Time', cell: (f) => {
        const href = f.kind === 'mutation' && f.mutation_row_id ? '#/mutations/' + enc(f.mutation_row_id) : '#/requests/' + enc(f.request_id);
        return h('a', { href, class: 'row-link' }, timeEl(f.started_at, f.started_at_us));
      },
    },
    { label: 'Kind', cell: (f) => badge(f.kind, { tone: f.kind === 'request' ? 'bad' : 'muted' }) },
    { label: 'Model', cell: (f) => f.model || null },
    { label: 'Entity', cell: (f) => (f.entity_id ? idText(f.entity_id) : null) },
    { label: 'Client', cell: (f) => (f.client_id ? link('/clients/' + enc(f.client_id), null, f.client_id) : null) },
    { label: 'Reason', cell: (f) => badge(f.reason, { tone: 'bad', label: f.reason || 'unknown' }) },
    {
      label: 'What went wrong', cell: (f) => h('div', { class: 'failure-msg' },
        f.message ? h('span', { text: f.message }) : null,
        f.fields && f.fields.length ? h('div', {}, chips(f.fields, 4)) : null),
    },
    { label: 'HTTP', class: 'num', cell: (f) => httpStatus(f.http_status) },
    {
      label: 'Links', cell: (f) => h('span', { class: 'links' },
        f.kind === 'mutation' && f.mutation_row_id ? link('/mutations/' + enc(f.mutation_row_id), null, 'mutation') : null,
        f.kind === 'mutation' && f.mutation_row_id ? ' · ' : null,
        link('/requests/' + enc(f.request_id), null, 'request'),
        !opts.noGroup && f.fingerprint ? [' · ', link('/failures/groups/' + enc(f.fingerprint), null, 'group')] : null),
    },
  ];
  return table(cols, items, { empty: opts.empty || 'No failures', emptyHint: opts.emptyHint, caption: 'Failures, newest first' });
}

/** Mutations that keep coming back and failing. */
export function poisonTable(items, opts = {}) {
  const cols = [
    { label: 'Mutation id', cell: (p) => code(p.mutation_id, 'id') },
    { label: 'Model', cell: (p) => p.model },
    { label: 'Entity', cell: (p) => idText(p.entity_id) },
  ];
  if (!opts.noClient) cols.push({ label: 'Client', cell: (p) => link('/clients/' + enc(p.client_id), null, p.client_id) });
  cols.push(
    { label: 'Attempts', class: 'num', cell: (p) => num(p.attempts) },
    { label: 'Failed', class: 'num', cell: (p) => h('span', { class: 'tone-bad', text: num(p.failures) }) },
    { label: 'Last reason', cell: (p) => (p.last_reason ? code(p.last_reason) : null) },
    { label: 'First seen', cell: (p) => timeEl(p.first_seen, p.first_seen_us, { relative: true }) },
    { label: 'Last seen', cell: (p) => timeEl(p.last_seen, p.last_seen_us, { relative: true }) },
    { label: 'Last request', cell: (p) => (p.last_request_id ? link('/requests/' + enc(p.last_request_id), null, idText(p.last_request_id)) : null) },
  );
  return table(cols, items, {
    empty: opts.empty || 'No poison mutations',
    emptyHint: 'A mutation becomes poison when the same mutation_id keeps failing on every re-push.',
    caption: 'Poison mutations',
  });
}

const GROUP_FIELDS = [
  { name: 'model', label: 'Model', placeholder: 'e.g. Task' },
  { name: 'client_id', label: 'Client', placeholder: 'client id' },
  { name: 'reason', label: 'Reason', placeholder: 'e.g. validation_failed' },
  { name: 'instance', label: 'Instance', placeholder: 'any' },
  { name: 'systematic', label: 'Only systematic', type: 'checkbox' },
];

export async function renderGroups(ctx) {
  const q = ctx.query;
  ctx.title('Failures');
  const sort = q.get('sort') === 'last_seen' ? 'last_seen' : 'count';
  const f = {
    model: q.get('model') || '', client_id: q.get('client_id') || '', reason: q.get('reason') || '',
    instance: q.get('instance') || '',
  };
  const systematic = q.get('systematic') === '1';
  const softFail = (p) => p.catch((err) => { if (ctx.signal.aborted) throw err; ctx.fail(err); return { error: err }; });
  const [groups, poison, recent] = await Promise.all([
    getJson('api/failures/groups', { ...f, systematic: systematic ? '1' : '', sort, limit: PAGE_SIZE }, ctx.signal),
    softFail(getJson('api/failures/poison', { client_id: f.client_id, limit: PAGE_SIZE }, ctx.signal)),
    softFail(getJson('api/failures', { ...f, limit: 10 }, ctx.signal)),
  ]);
  const items = groups.items || [];
  const base = queryObject(q);
  const sortHref = (s) => hashHref('/failures', { ...base, sort: s === 'count' ? '' : s });
  const filtered = Object.values(f).some(Boolean) || systematic;
  const maxCount = Math.max(0, ...items.map((g) => g.count));

  const groupsTable = table([
    {
      label: 'Failure group', cell: (g) => h('div', { class: 'group-cell' },
        h('a', { href: '#/failures/groups/' + enc(g.fingerprint), class: 'group-link', text: groupTitle(g) }),
        g.fields && g.fields.length ? h('span', {}, ' ', chips(g.fields, 4)) : null,
        g.explanation ? h('p', { class: 'explanation', text: g.explanation }) : null),
    },
    { label: 'Kind', cell: (g) => badge(g.kind, { tone: g.kind === 'request' ? 'bad' : 'muted' }) },
    { label: 'Pattern', cell: (g) => (g.systematic ? badge('systematic', { title: 'One or more clients fail this way almost every time' }) : badge('sporadic', { tone: 'muted' })) },
    {
      label: 'Count', class: 'num', sort: { href: sortHref('count'), active: sort === 'count' },
      cell: (g) => h('span', { class: 'num-bar' }, shareBar(g.count, maxCount, 'bad'), num(g.count)),
    },
    { label: 'Last hour', class: 'num', title: 'Failures in the last hour / the hour before', cell: (g) => trend(g.trend) },
    { label: 'Clients', class: 'num', cell: (g) => num(g.clients) },
    { label: 'First seen', cell: (g) => timeEl(g.first_seen, g.first_seen_us, { relative: true }) },
    { label: 'Last seen', sort: { href: sortHref('last_seen'), active: sort === 'last_seen' }, cell: (g) => timeEl(g.last_seen, g.last_seen_us, { relative: true }) },
  ], items, {
    empty: filtered ? 'No failure groups match these filters' : 'No failures recorded',
    emptyHint: filtered ? h('span', {}, h('a', { href: '#/failures', text: 'Clear the filters' }), ' to see every group.') : 'Rejected mutations and failed requests will be grouped here.',
    caption: `Failure groups, sorted by ${sort === 'count' ? 'count' : 'last seen'}`,
    rowClass: (g) => (g.systematic ? 'row-systematic' : null),
  });

  ctx.root.append(
    pageHead('Failures', {
      sub: 'Rejected mutations and failed requests, grouped by kind, model, reason and failing fields. A group is systematic when a client fails that way nearly every time.',
      actions: h('a', { class: 'btn', href: hashHref('/failures/list', f), text: 'All failures' }),
    }),
    filterForm(GROUP_FIELDS, q, (p) => ctx.navigate(hashHref('/failures', { ...p, sort: sort === 'count' ? '' : sort })), { label: 'Filter failure groups' }),
    panel('Failure groups', groupsTable, { id: 'groups', meta: `${items.length} group${items.length === 1 ? '' : 's'}` }),
    h('div', { class: 'grid-2' },
      panel('Recent failures', recent.error ? errorBox(recent.error) : h('div', {},
        failuresTable(recent.items || [], { empty: 'No failures' }),
        h('p', {}, h('a', { href: hashHref('/failures/list', f), text: 'View all failures →' }))), { id: 'recent' }),
      panel('Poison mutations', poison.error ? errorBox(poison.error) : poisonTable(poison.items || []), {
        id: 'poison', meta: 'same mutation_id failing on every retry',
      })));
}

const LIST_FIELDS = [
  { name: 'model', label: 'Model', placeholder: 'e.g. Task' },
  { name: 'client_id', label: 'Client', placeholder: 'client id' },
  { name: 'reason', label: 'Reason', placeholder: 'e.g. validation_failed' },
  { name: 'kind', label: 'Kind', type: 'select', options: [['mutation'], ['request']] },
  { name: 'fingerprint', label: 'Group', placeholder: 'fingerprint' },
  { name: 'instance', label: 'Instance', placeholder: 'any' },
  { name: 'from', label: 'From', type: 'datetime' },
  { name: 'to', label: 'To', type: 'datetime' },
];

export async function renderList(ctx) {
  const q = ctx.query;
  ctx.title('All failures');
  const filters = {};
  for (const fl of LIST_FIELDS) if (q.get(fl.name)) filters[fl.name] = q.get(fl.name);
  const data = await getJson('api/failures', { ...filters, limit: PAGE_SIZE, cursor: q.get('cursor') || '' }, ctx.signal);
  const items = data.items || [];
  const { pageNo, nextHref, firstHref } = pageLinks('/failures/list', q, data.next_cursor);
  const filtered = Object.keys(filters).length > 0;
  ctx.root.append(
    pageHead('All failures', { crumbs: [['Failures', '#/failures'], ['All failures']] }),
    filterForm(LIST_FIELDS, q, (p) => ctx.navigate(hashHref('/failures/list', p)), { label: 'Filter failures' }),
    panel(null, h('div', {},
      failuresTable(items, {
        empty: filtered ? 'No failures in this range' : 'No failures recorded',
        emptyHint: filtered ? h('span', {}, h('a', { href: '#/failures/list', text: 'Clear the filters' }), '.') : null,
      }),
      pager({ nextHref, firstHref, info: items.length ? `Page ${pageNo} · ${items.length} failures` : null }))));
}

export async function renderGroup(ctx) {
  const fp = ctx.params[0];
  const q = ctx.query;
  ctx.title('Failure group ' + fp);
  const [g, list] = await Promise.all([
    getJson('api/failures/groups/' + seg(fp), null, ctx.signal),
    getJson('api/failures', { fingerprint: fp, limit: PAGE_SIZE, cursor: q.get('cursor') || '' }, ctx.signal),
  ]);
  ctx.title(groupTitle(g));
  const systematicSet = new Set(g.systematic_clients || []);
  const clients = g.top_clients || [];
  const maxF = Math.max(0, ...clients.map((c) => c.failures));
  const items = list.items || [];
  const { pageNo, nextHref, firstHref } = pageLinks('/failures/groups/' + enc(fp), q, list.next_cursor);
  const buckets = (g.buckets || []).map((b) => ({ start: b.start, start_us: b.start_us, value: b.count }));
  const samples = g.kind === 'request'
    ? (g.sample_request_ids || []).map((id) => ({ id }))
    : (g.sample_mutation_ids || []).map((id, i) => ({ id, request: (g.sample_request_ids || [])[i] }));

  ctx.root.append(
    pageHead(groupTitle(g), {
      crumbs: [['Failures', '#/failures'], [fp]],
      badges: [badge(g.kind, { tone: g.kind === 'request' ? 'bad' : 'muted' }), g.systematic ? badge('systematic') : badge('sporadic', { tone: 'muted' })],
    }),
    g.explanation ? h('div', { class: ['callout', g.systematic ? 'callout-bad' : 'callout-info'] }, h('p', { text: g.explanation })) : null,
    panel('Group', kv([
      ['Fingerprint', code(g.fingerprint, 'id')],
      ['Kind', g.kind],
      ['Model', g.model || h('span', { class: 'muted', text: '—' })],
      ['Reason', code(g.reason || 'unknown')],
      ['Failing fields', chips(g.fields, 12)],
      ['Failures', num(g.count)],
      ['Clients affected', num(g.clients)],
      ['Last hour', trend(g.trend)],
      ['First seen', timeEl(g.first_seen, g.first_seen_us, { precise: true })],
      ['Last seen', timeEl(g.last_seen, g.last_seen_us, { precise: true })],
      ['Systematic for', systematicSet.size ? chips(Array.from(systematicSet), 8) : h('span', { class: 'muted', text: 'no client' })],
    ], 'kv-grid')),
    h('div', { class: 'grid-2' },
      panel('Last 24 hours', buckets.length
        ? barChart(buckets, {
          label: 'Failures per hour', unit: 'failures', tone: 'bad',
          hrefFor: (b, from, to) => hashHref('/failures/list', { fingerprint: fp, from, to }),
        })
        : empty('No failures in the last 24 hours')),
      panel('Per client', table([
        { label: 'Client', cell: (c) => link('/clients/' + enc(c.client_id), null, c.client_id) },
        { label: 'Failures', class: 'num', cell: (c) => h('span', { class: 'num-bar' }, shareBar(c.failures, maxF, 'bad'), num(c.failures)) },
        { label: g.kind === 'request' ? 'Requests' : 'Mutations', class: 'num', cell: (c) => num(c.mutations ?? c.attempts) },
        { label: 'Failure ratio', class: 'num', cell: (c) => pct((c.ratio || 0) <= 1 ? (c.ratio || 0) * 100 : c.ratio) },
        {
          label: 'Pattern', cell: (c) => (systematicSet.has(c.client_id) || c.systematic
            ? badge('systematic') : badge('sporadic', { tone: 'muted' })),
        },
        { label: 'Details', cell: (c) => link('/failures/list', { fingerprint: fp, client_id: c.client_id }, 'failures') },
      ], clients, { empty: 'No client breakdown', caption: 'Failures per client in this group' }), { meta: `${num(g.clients)} clients` })),
    samples.length ? panel('Samples', h('ul', { class: 'plain-list inline-list' }, samples.map((s) => h('li', {},
      g.kind === 'mutation' ? link('/mutations/' + enc(s.id), null, idText(s.id)) : link('/requests/' + enc(s.id), null, idText(s.id)),
      s.request && g.kind === 'mutation' ? h('span', { class: 'muted small' }, ' in ', link('/requests/' + enc(s.request), null, idText(s.request))) : null))),
    { meta: 'newest stored failures' }) : null,
    panel('Failures in this group', h('div', {},
      failuresTable(items, { noGroup: true, empty: 'No stored failures in this group', emptyHint: 'They may have been pruned by retention.' }),
      pager({ nextHref, firstHref, info: items.length ? `Page ${pageNo} · ${items.length} failures` : null })), { id: 'list' }));
}
