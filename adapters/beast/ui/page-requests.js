// page-requests.js — #/requests?kind&client_id&model&outcome&instance&from&to&cursor&page
// GET api/requests?…&limit=50&cursor=…   live: prepends `request` events (or polls) on the
// unfiltered first page.
import { getJson } from './api.js';
import {
  h, pageHead, table, timeEl, badge, ms, count, httpStatus, filterForm, hashHref, pager, pageLinks, enc,
} from './dom.js';
import * as live from './live.js';

export const PAGE_SIZE = 50;
const FILTERS = ['kind', 'client_id', 'model', 'outcome', 'instance', 'from', 'to'];

/** Columns of a request summary row; opts.client: show the client column. */
export function requestColumns(opts = {}) {
  const cols = [
    {
      label: 'Time', cell: (r) => h('a', { href: '#/requests/' + enc(r.id), class: 'row-link', title: 'Open request ' + r.id },
        timeEl(r.started_at, r.started_at_us)),
    },
    {
      label: 'Kind', cell: (r) => h('span', { class: 'kind' }, badge(r.kind),
        r.replay_of ? h('a', { href: '#/requests/' + enc(r.replay_of), class: 'tag', title: 'Replay of ' + r.replay_of, text: 'replay' }) : null),
    },
  ];
  if (opts.client !== false) {
    cols.push({
      label: 'Client', cell: (r) => h('span', { class: 'client-cell' },
        r.client_id ? h('a', { href: '#/clients/' + enc(r.client_id), text: r.client_id }) : h('span', { class: 'muted', text: '(none)' }),
        r.client_version ? h('span', { class: 'muted small', text: ' v' + r.client_version }) : null),
    });
  }
  cols.push(
    { label: 'Outcome', cell: (r) => badge(r.outcome) },
    { label: 'Mutations', class: 'num', cell: (r) => (r.kind === 'pull' ? h('span', { class: 'zero', text: '–' }) : count(r.mutations)) },
    { label: 'Applied', class: 'num', cell: (r) => count(r.applied, 'good') },
    { label: 'Rejected', class: 'num', cell: (r) => count(r.rejected, 'bad') },
    { label: 'Conflicts', class: 'num', cell: (r) => count(r.conflicts, 'warn') },
    { label: 'Snapshots', class: 'num', cell: (r) => (r.kind === 'push' ? h('span', { class: 'zero', text: '–' }) : count(r.snapshots)) },
    { label: 'Duration', class: 'num', cell: (r) => ms(r.duration_ms) },
    { label: 'HTTP', class: 'num', cell: (r) => httpStatus(r.http_status) },
    { label: 'Instance', cell: (r) => (r.instance ? h('span', { class: 'small', text: r.instance }) : null) },
  );
  return cols;
}

export function requestsTable(items, opts = {}) {
  return table(requestColumns(opts), items, {
    empty: opts.empty || 'No requests match these filters',
    emptyHint: opts.emptyHint,
    caption: 'Sync requests, newest first',
    rowClass: (r) => 'outcome-' + r.outcome,
  });
}

export const REQUEST_FILTER_FIELDS = [
  { name: 'kind', label: 'Kind', type: 'select', options: [['push', 'push'], ['pull', 'pull']] },
  { name: 'client_id', label: 'Client', placeholder: 'client id' },
  { name: 'model', label: 'Model', placeholder: 'e.g. Task' },
  { name: 'outcome', label: 'Outcome', type: 'select', options: [['ok'], ['conflict'], ['rejected'], ['error'], ['failed', 'failed (rejected or error)']] },
  { name: 'instance', label: 'Instance', placeholder: 'any' },
  { name: 'from', label: 'From', type: 'datetime' },
  { name: 'to', label: 'To', type: 'datetime' },
];

export async function render(ctx) {
  const q = ctx.query;
  ctx.title('Requests');
  const filters = {};
  for (const k of FILTERS) if (q.get(k)) filters[k] = q.get(k);
  const cursor = q.get('cursor') || '';
  const filtered = Object.keys(filters).length > 0;
  const liveEligible = !filtered && !cursor;

  const data = await getJson('api/requests', { ...filters, limit: PAGE_SIZE, cursor }, ctx.signal);
  const items = data.items || [];
  const seen = new Set(items.map((r) => r.id));

  const form = filterForm(REQUEST_FILTER_FIELDS, q, (p) => ctx.navigate(hashHref('/requests', p)), { label: 'Filter requests' });

  const liveNote = h('span', { class: 'live-note', role: 'status' });
  const paintLiveNote = (mode) => {
    if (!liveEligible) {
      liveNote.replaceChildren(h('span', { class: 'muted small', text: filtered ? 'Live updates paused while filtering' : 'Live updates paused on older pages' }));
      return;
    }
    liveNote.className = 'live-note live-' + mode;
    liveNote.replaceChildren(h('span', { class: 'live-dot', 'aria-hidden': 'true' }),
      mode === 'live' ? 'Live: new requests appear at the top' : mode === 'polling' ? 'Refreshing every 5 s' : 'Connecting…');
  };
  paintLiveNote(live.getMode());
  ctx.onCleanup(live.onMode(paintLiveNote));

  const emptyText = filtered ? 'No requests match these filters' : 'No requests captured yet';
  const emptyHint = filtered
    ? h('span', {}, 'Try a wider time range or ', h('a', { href: '#/requests', text: 'clear the filters' }), '.')
    : 'Requests appear here as soon as the sync server records a push or pull.';
  const holder = h('div', {});
  let tbl = requestsTable(items, { empty: emptyText, emptyHint });
  holder.appendChild(tbl);

  const { pageNo, nextHref, firstHref } = pageLinks('/requests', q, data.next_cursor);
  ctx.root.append(
    pageHead('Requests', { actions: liveNote, sub: 'Every captured push and pull, newest first.' }),
    form,
    holder,
    pager({ nextHref, firstHref, info: items.length ? `Page ${pageNo} · ${items.length} requests` : null }));

  if (!liveEligible) return;
  const prepend = (list) => {
    const fresh = list.filter((r) => r && r.id && !seen.has(r.id));
    if (!fresh.length) return;
    if (!tbl.tbody) {
      // The empty state was showing: swap in an empty table to prepend into.
      tbl = table(requestColumns(), [], { caption: 'Sync requests, newest first', rowClass: (r) => 'outcome-' + r.outcome });
      holder.replaceChildren(tbl);
    }
    // `fresh` is newest first; insert oldest first so the newest ends on top.
    for (const r of fresh.reverse()) {
      seen.add(r.id);
      const tr = tbl.makeRow(r);
      tr.classList.add('row-new');
      tbl.tbody.prepend(tr);
    }
    while (tbl.tbody.rows.length > 200) tbl.tbody.lastElementChild.remove();
  };
  ctx.live({
    request: (r) => prepend([r]),
    poll: async () => {
      try {
        const d = await getJson('api/requests', { limit: PAGE_SIZE }, ctx.signal);
        prepend(d.items || []);
      } catch (err) {
        ctx.fail(err);
      }
    },
  });
}

