// page-clients.js
//  #/clients?stuck=1&cursor&page     GET api/clients?stuck=1&limit=50&cursor
//  #/clients/{client_id}?cursor&page GET api/clients/{client_id}
//                                    GET api/requests?client_id=…&limit=50&cursor   (request history)
import { getJson, seg } from './api.js';
import {
  h, pageHead, panel, kv, table, timeEl, badge, num, pct, link, code, filterForm, hashHref, pager, pageLinks, enc,
  count,
} from './dom.js';
import { requestsTable, PAGE_SIZE } from './page-requests.js';
import { poisonTable } from './page-failures.js';
import { shareBar } from './charts.js';

function status(c) {
  if (c.stuck) return badge('stuck', { title: `The last ${c.failing_streak} pushes all failed or conflicted` });
  if (c.failing_streak > 0) return badge('failing', { tone: 'warn', label: `failing ×${c.failing_streak}`, title: 'Recent pushes failed or conflicted' });
  return badge('ok', { label: 'healthy' });
}

function lastSuccess(iso, us) {
  return iso || us ? timeEl(iso, us, { relative: true }) : h('span', { class: 'tone-bad', text: 'never' });
}

export async function renderList(ctx) {
  const q = ctx.query;
  ctx.title('Clients');
  const stuck = q.get('stuck') === '1';
  const data = await getJson('api/clients', { stuck: stuck ? '1' : '', limit: PAGE_SIZE, cursor: q.get('cursor') || '' }, ctx.signal);
  const items = data.items || [];
  const { pageNo, nextHref, firstHref } = pageLinks('/clients', q, data.next_cursor);
  ctx.root.append(
    pageHead('Clients', { sub: 'Every client that has synced, most recently seen first. A client is stuck when its last pushes all failed or conflicted.' }),
    filterForm([{ name: 'stuck', label: 'Only stuck clients', type: 'checkbox' }], q,
      (p) => ctx.navigate(hashHref('/clients', p)), { label: 'Filter clients' }),
    panel(null, h('div', {},
      table([
        { label: 'Client', cell: (c) => h('a', { href: '#/clients/' + enc(c.client_id), class: 'row-link', text: c.client_id }) },
        { label: 'Status', cell: status },
        { label: 'Version', cell: (c) => (c.client_version ? code(c.client_version) : null) },
        { label: 'Instance', cell: (c) => (c.instance ? h('span', { class: 'small', text: c.instance }) : null) },
        { label: 'Last sync', cell: (c) => timeEl(c.last_seen, c.last_seen_us, { relative: true }) },
        { label: 'Last success', cell: (c) => lastSuccess(c.last_success, c.last_success_us) },
        { label: 'Last push OK', cell: (c) => lastSuccess(c.last_push_success, c.last_push_success_us) },
        {
          label: 'Requests', class: 'num', cell: (c) => h('span', {}, num(c.requests),
            h('span', { class: 'muted small block', text: `${num(c.pushes)} push · ${num(c.pulls)} pull` })),
        },
        { label: 'Mutations', class: 'num', cell: (c) => num(c.mutations) },
        { label: 'Failed', class: 'num', cell: (c) => count(c.failed_requests, 'bad') },
        { label: 'Conflicted', class: 'num', cell: (c) => count(c.conflicted_requests, 'warn') },
        { label: 'Streak', class: 'num', title: 'Pushes in a row, up to the latest, that failed or conflicted', cell: (c) => count(c.failing_streak, c.stuck ? 'bad' : 'warn') },
      ], items, {
        empty: stuck ? 'No stuck clients' : 'No clients have synced yet',
        emptyHint: stuck ? 'Every client’s latest pushes are going through.' : null,
        caption: 'Clients',
        rowClass: (c) => (c.stuck ? 'row-stuck' : null),
      }),
      pager({ nextHref, firstHref, info: items.length ? `Page ${pageNo} · ${items.length} clients` : null }))));
}

export async function renderDetail(ctx) {
  const id = ctx.params[0];
  const q = ctx.query;
  ctx.title('Client ' + id);
  const [c, history] = await Promise.all([
    getJson('api/clients/' + seg(id), null, ctx.signal),
    getJson('api/requests', { client_id: id, limit: PAGE_SIZE, cursor: q.get('cursor') || '' }, ctx.signal),
  ]);
  const models = c.models || [];
  const maxM = Math.max(0, ...models.map((m) => m.mutations));
  const items = history.items || [];
  const path = '/clients/' + enc(id);
  const { pageNo, nextHref, firstHref } = pageLinks(path, q, history.next_cursor);

  ctx.root.append(
    pageHead(h('span', {}, 'Client ', h('code', { class: 'id-title', text: c.client_id })), {
      crumbs: [['Clients', '#/clients'], [c.client_id]],
      badges: [status(c)],
      actions: h('div', { class: 'toolbar' },
        h('a', { class: 'btn', href: hashHref('/requests', { client_id: id }), text: 'Requests' }),
        h('a', { class: 'btn', href: hashHref('/conflicts', { client_id: id }), text: 'Conflicts' }),
        h('a', { class: 'btn', href: hashHref('/failures', { client_id: id }), text: 'Failures' })),
    }),
    c.stuck ? h('div', { class: 'callout callout-bad' }, h('p', {},
      h('strong', { text: 'This client looks stuck: ' }),
      `its last ${c.failing_streak} pushes all failed or conflicted`,
      c.last_push_success ? ['; the last successful push was ', timeEl(c.last_push_success, undefined, { relative: true }), '.'] : ' and no push ever succeeded.')) : null,
    panel('Summary', kv([
      ['Version', c.client_version ? code(c.client_version) : null],
      ['Instance', c.instance || null],
      ['First seen', timeEl(c.first_seen, c.first_seen_us)],
      ['Last sync', timeEl(c.last_seen, c.last_seen_us, { relative: true })],
      ['Last success', lastSuccess(c.last_success, c.last_success_us)],
      ['Last push success', lastSuccess(c.last_push_success, c.last_push_success_us)],
      ['Requests', `${num(c.requests)} (${num(c.pushes)} push · ${num(c.pulls)} pull)`],
      ['Mutations', num(c.mutations)],
      ['Failed requests', h('span', {}, count(c.failed_requests, 'bad'), h('span', { class: 'muted small', text: c.requests ? ` (${pct((100 * c.failed_requests) / c.requests)})` : '' }))],
      ['Conflicted requests', h('span', {}, count(c.conflicted_requests, 'warn'), h('span', { class: 'muted small', text: c.requests ? ` (${pct((100 * c.conflicted_requests) / c.requests)})` : '' }))],
      ['Failing streak', count(c.failing_streak, c.stuck ? 'bad' : 'warn')],
    ], 'kv-grid')),
    h('div', { class: 'grid-2' },
      panel('Models', table([
        { label: 'Model', cell: (m) => link('/requests', { client_id: id, model: m.model }, m.model) },
        { label: 'Mutations', class: 'num', cell: (m) => h('span', { class: 'num-bar' }, shareBar(m.mutations, maxM), num(m.mutations)) },
        { label: 'Failures', class: 'num', cell: (m) => (m.failures ? link('/failures/list', { client_id: id, model: m.model }, h('span', { class: 'tone-bad', text: num(m.failures) })) : count(0)) },
        { label: 'Conflicts', class: 'num', cell: (m) => (m.conflicts ? link('/conflicts', { client_id: id, model: m.model }, h('span', { class: 'tone-warn', text: num(m.conflicts) })) : count(0)) },
        { label: 'Failure rate', class: 'num', cell: (m) => (m.mutations ? pct((100 * m.failures) / m.mutations) : null) },
      ], models, { empty: 'No mutations pushed by this client', caption: 'Per-model counts' })),
      panel('Poison mutations', poisonTable(c.poison || [], { noClient: true, empty: 'No poison mutations for this client' }))),
    panel('Request history', h('div', {},
      requestsTable(items, { client: false, empty: 'No requests stored for this client', emptyHint: 'Older requests may have been pruned by retention.' }),
      pager({ nextHref, firstHref, info: items.length ? `Page ${pageNo} · ${items.length} requests` : null })), { id: 'history' }));
}
