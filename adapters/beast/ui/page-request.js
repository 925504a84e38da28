// page-request.js — #/requests/{id}?m_outcome&m_model&m_conflicted&m_cursor&m_page
// GET api/requests/{id}
// GET api/requests/{id}/mutations?limit=100&cursor&outcome&model&conflicted=1
import { getJson, seg } from './api.js';
import {
  h, pageHead, panel, kv, table, timeEl, badge, num, ms, httpStatus, link, chips, code, idText, filterForm, hashHref,
  pager, pageLinks, empty, errorBox, queryObject, enc, copyButton,
} from './dom.js';
import { jsonBlock, markedText, REDACTED } from './json.js';

export const MUTATION_PAGE = 100;

// The detail (with bodies up to megabytes) is cached briefly so that paging or filtering the
// mutation list (a hash change on the same page) does not download it again.
const cache = new Map();
const TTL_MS = 30000;

export async function loadRequest(id, signal, fresh = false) {
  const hit = cache.get(id);
  if (!fresh && hit && Date.now() - hit.at < TTL_MS) return hit.data;
  const data = await getJson('api/requests/' + seg(id), null, signal);
  cache.set(id, { data, at: Date.now() });
  while (cache.size > 4) cache.delete(cache.keys().next().value);
  return data;
}

export function forgetRequest(id) {
  cache.delete(id);
}

function parseErrorBox(which, err, body) {
  if (!err) return null;
  let excerpt = null;
  if (body && err.line) {
    const lines = body.split('\n');
    const line = lines[err.line - 1];
    if (line !== undefined) {
      const col = Math.max(1, err.column || 1);
      const start = Math.max(0, col - 60);
      const shown = line.slice(start, col + 60);
      excerpt = h('pre', { class: 'code code-compact parse-excerpt', tabindex: '0', 'aria-label': 'Where parsing stopped' },
        markedText((start > 0 ? '…' : '') + shown), '\n',
        h('span', { class: 'caret', text: ' '.repeat(col - 1 - start + (start > 0 ? 1 : 0)) + '^ here' }));
    }
  }
  return h('div', { class: 'callout callout-bad' },
    h('p', {}, h('strong', { text: `${which} body is not valid JSON: ` }), err.message || 'parse error'),
    h('p', { class: 'muted small', text: `line ${err.line}, column ${err.column} (byte offset ${num(err.offset)})` }),
    excerpt);
}

function splitRedacted(p) {
  if (p.startsWith('header:')) return ['header', p.slice(7)];
  const i = p.indexOf(':/');
  if (i >= 0) return [p.slice(0, i).replace(/:/g, ' '), p.slice(i + 1)];
  const j = p.indexOf(':');
  return j >= 0 ? [p.slice(0, j), p.slice(j + 1)] : ['', p];
}

function summary(r) {
  const isPull = r.kind === 'pull';
  const pairs = [
    ['Started', timeEl(r.started_at, r.started_at_us, { precise: true })],
    ['Duration', ms(r.duration_ms)],
    ['HTTP status', httpStatus(r.http_status)],
    ['Outcome', badge(r.outcome)],
    ['Client', r.client_id ? link('/clients/' + enc(r.client_id), null, r.client_id) : h('span', { class: 'muted', text: '(none)' })],
    ['Client version', r.client_version ? code(r.client_version) : h('span', { class: 'muted', text: '—' })],
    ['Instance', r.instance || h('span', { class: 'muted', text: '—' })],
    ['Recorded', timeEl(r.recorded_at, r.recorded_at_us, { precise: true })],
  ];
  if (!isPull) {
    pairs.push(['Mutations', h('span', {}, num(r.mutations), ' · ',
      h('span', { class: r.applied ? 'tone-good' : 'zero', text: `${num(r.applied)} applied` }), ' · ',
      h('span', { class: r.rejected ? 'tone-bad' : 'zero', text: `${num(r.rejected)} rejected` }), ' · ',
      h('span', { class: r.conflicts ? 'tone-warn' : 'zero', text: `${num(r.conflicts)} conflicts` }))]);
  } else {
    pairs.push(
      ['Snapshots', num(r.snapshots)],
      ['Last sync cursor', r.last_sync_cursor === null || r.last_sync_cursor === undefined ? h('span', { class: 'muted', text: 'null (first sync)' }) : code(r.last_sync_cursor)],
      ['New sync cursor', r.new_sync_cursor === null || r.new_sync_cursor === undefined ? h('span', { class: 'muted', text: '—' }) : code(r.new_sync_cursor)],
      ['Limit', r.pull_limit === null || r.pull_limit === undefined ? h('span', { class: 'muted', text: '—' }) : num(r.pull_limit)],
      ['Has more', r.has_more === null || r.has_more === undefined ? h('span', { class: 'muted', text: '—' }) : (r.has_more ? 'yes' : 'no')],
    );
  }
  pairs.push(['Models', chips(r.models, 8)]);
  if (r.replay_of) pairs.push(['Replay of', link('/requests/' + enc(r.replay_of), null, idText(r.replay_of))]);
  pairs.push(['Request id', h('span', {}, code(r.id, 'id'), ' ', copyButton(r.id))]);
  return panel('Summary', kv(pairs, 'kv-grid'));
}

function bodyBlock(which, r) {
  const key = which === 'Request' ? 'request' : 'response';
  const flags = [];
  if (r[key + '_truncated']) flags.push(badge('truncated', { tone: 'warn', title: 'The body exceeded the capture limit; only its beginning was stored' }));
  if (r[key + '_body_scrubbed']) flags.push(badge('scrubbed', { tone: 'purple', title: 'Invalid JSON stored after a textual scrub of secret-looking values' }));
  if (r[key + '_body_dropped']) flags.push(badge('not stored', { tone: 'muted', title: 'Invalid body dropped by the redaction policy' }));
  return jsonBlock({
    title: `${which} body`,
    text: r[key + '_body'],
    flags,
    emptyText: r[key + '_body_dropped']
      ? 'Not stored: the body was not valid JSON and the redaction policy drops invalid bodies.'
      : 'Empty body',
    note: parseErrorBox(which, r[key + '_parse_error'], r[key + '_body']),
  });
}

function headersPanel(r) {
  const rows = r.headers || [];
  return panel('Headers', table([
    { label: 'Name', cell: (x) => code(x.name) },
    { label: 'Value', cell: (x) => markedText(x.value, 'header-value') },
  ], rows, { empty: 'No headers were captured', caption: 'Captured request headers (redacted)' }), { meta: `${rows.length}` });
}

function redactedPanel(r) {
  const list = r.redacted_paths || [];
  return panel('Redacted', list.length
    ? h('div', {},
      h('p', { class: 'muted small' }, 'These values were replaced by ', h('mark', { class: 'redacted', text: `"${REDACTED}"` }),
        ' before anything was stored; the originals exist nowhere in the database.'),
      table([
        { label: 'Where', cell: (p) => splitRedacted(p)[0] },
        { label: 'Path', cell: (p) => code(splitRedacted(p)[1], 'path') },
      ], list, { caption: 'Redacted paths' }))
    : empty('Nothing was redacted in this request'), { meta: `${list.length}` });
}

function notesPanel(r) {
  const notes = r.notes || [];
  if (!notes.length) return null;
  return panel('Protocol notes', table([
    { label: 'Where', cell: (n) => n.where },
    { label: 'Path', cell: (n) => (n.path ? code(n.path, 'path') : null) },
    { label: 'Message', cell: (n) => n.message },
    { label: 'Severity', cell: (n) => (n.protocol_error ? badge('error', { label: 'protocol error' }) : badge('tolerated', { tone: 'muted' })) },
  ], notes, { caption: 'Protocol irregularities found while parsing' }), { meta: `${notes.length}` });
}

function mappedCount(x) {
  return x.mutation_id_map && typeof x.mutation_id_map === 'object' ? Object.keys(x.mutation_id_map).length : 0;
}

/** The skipped mutations of a replay ({seq, mutation_id, reason}) as a list, never raw JSON. */
export function skippedList(list) {
  return h('ul', { class: 'plain-list skipped-list' }, list.map((s) => (s && typeof s === 'object'
    ? h('li', {}, h('span', { class: 'muted', text: `#${s.seq} ` }), code(s.mutation_id, 'id'), s.reason ? ` — ${s.reason}` : null)
    : h('li', {}, code(String(s), 'id')))));
}

function skippedCell(list) {
  return Array.isArray(list) && list.length ? skippedList(list) : h('span', { class: 'zero', text: '0' });
}

/** This replay's audit, found in the original's `replays` (who started it, the id map, skipped). */
function auditOf(r, original) {
  if (!original || !Array.isArray(original.replays)) return null;
  return original.replays.find((x) => x.id === r.id) || null;
}

const ID_MAP_SHOWN = 50;

function idMapTable(map) {
  const pairs = Object.entries(map || {});
  if (!pairs.length) return null;
  return h('div', {},
    h('h3', { class: 'sub-h', text: 'Mutation ids, captured → replayed' }),
    table([
      { label: 'Captured mutation id', cell: (p) => code(p[0], 'id') },
      { label: 'Replayed as', cell: (p) => code(p[1], 'id') },
    ], pairs.slice(0, ID_MAP_SHOWN), { caption: 'Mutation ids of the replay' }),
    pairs.length > ID_MAP_SHOWN ? h('p', { class: 'muted small', text: `… and ${num(pairs.length - ID_MAP_SHOWN)} more` }) : null);
}

function replaysPanel(r, original) {
  const replays = r.replays || [];
  if (!replays.length && !r.replay_of) return null;
  const audit = r.replay_of ? auditOf(r, original) : null;
  return panel('Replays', h('div', {},
    r.replay_of ? h('div', { class: 'replay-of' },
      h('p', {}, 'This request is a live replay of ', link('/requests/' + enc(r.replay_of), null, code(r.replay_of, 'id')),
        audit && audit.by ? [', started by ', h('strong', { class: 'replay-by', text: audit.by })] : null,
        audit && (audit.at || audit.at_us) ? [' at ', timeEl(audit.at, audit.at_us, { precise: true })] : null, '.'),
      audit && Array.isArray(audit.skipped) && audit.skipped.length
        ? h('div', {}, h('h3', { class: 'sub-h', text: 'Skipped mutations' }), skippedCell(audit.skipped)) : null,
      audit ? idMapTable(audit.mutation_id_map) : null) : null,
    replays.length ? table([
      { label: 'Replay', cell: (x) => link('/requests/' + enc(x.id), null, code(x.id, 'id')) },
      { label: 'Started', cell: (x) => timeEl(x.started_at, x.started_at_us) },
      { label: 'By', cell: (x) => x.by || h('span', { class: 'muted', text: 'unknown' }) },
      { label: 'HTTP', cell: (x) => httpStatus(x.http_status) },
      { label: 'Outcome', cell: (x) => badge(x.outcome) },
      { label: 'Replayed', class: 'num', cell: (x) => num(mappedCount(x)) },
      { label: 'Skipped', cell: (x) => skippedCell(x.skipped) },
    ], replays, { caption: 'Replays of this request' }) : null),
  { id: 'replays', meta: replays.length ? `${num(replays.length)} replay${replays.length === 1 ? '' : 's'}` : null });
}

const MUTATION_FIELDS = (models) => [
  { name: 'm_outcome', label: 'Outcome', type: 'select', options: [['applied'], ['rejected'], ['conflict'], ['unknown']] },
  models && models.length
    ? { name: 'm_model', label: 'Model', type: 'select', options: models.map((m) => [m]) }
    : { name: 'm_model', label: 'Model', placeholder: 'e.g. Task' },
  { name: 'm_conflicted', label: 'Only conflicted', type: 'checkbox' },
];

export function mutationColumns() {
  return [
    { label: '#', class: 'num', cell: (m) => num(m.seq) },
    { label: 'Mutation', cell: (m) => h('a', { href: '#/mutations/' + enc(m.id), title: 'mutation_id ' + m.mutation_id, class: 'row-link' }, code(m.mutation_id || m.id, 'id')) },
    { label: 'Model', cell: (m) => m.model },
    { label: 'Entity', cell: (m) => idText(m.entity_id) },
    { label: 'Operation', cell: (m) => m.operation },
    { label: 'Version', class: 'num', cell: (m) => (m.version === null || m.version === undefined ? null : num(m.version)) },
    {
      label: 'Outcome', cell: (m) => h('span', { class: 'badges' }, badge(m.outcome),
        m.conflicted && m.outcome !== 'conflict' ? badge('conflict', { label: 'conflicted', title: 'A conflict was detected; the resolver settled it' }) : null),
    },
    { label: 'Reason', cell: (m) => (m.reason ? code(m.reason) : null) },
    { label: 'Payload', cell: (m) => (m.payload_redacted ? badge('redacted') : h('span', { class: 'muted small', text: 'complete' })) },
  ];
}

async function mutationsSection(ctx, r) {
  const q = ctx.query;
  const path = '/requests/' + enc(r.id);
  const params = {
    limit: MUTATION_PAGE,
    cursor: q.get('m_cursor') || '',
    outcome: q.get('m_outcome') || '',
    model: q.get('m_model') || '',
    conflicted: q.get('m_conflicted') === '1' ? '1' : '',
  };
  const filtered = !!(params.outcome || params.model || params.conflicted);
  const form = filterForm(MUTATION_FIELDS(r.models), q, (p) => {
    const keep = queryObject(q, 'm_outcome', 'm_model', 'm_conflicted', 'm_cursor', 'm_page');
    ctx.navigate(hashHref(path, { ...keep, ...p }));
  }, { label: 'Filter mutations', idPrefix: 'm-' });
  let body;
  try {
    const data = await getJson('api/requests/' + seg(r.id) + '/mutations', params, ctx.signal);
    const items = data.items || [];
    const { pageNo, nextHref, firstHref } = pageLinks(path, q, data.next_cursor, 'm_cursor', 'm_page');
    const from = (pageNo - 1) * MUTATION_PAGE + 1;
    const info = items.length
      ? `Mutations ${num(from)}–${num(from + items.length - 1)}${filtered ? ' (filtered)' : ` of ${num(r.mutations)}`}`
      : null;
    body = h('div', {},
      table(mutationColumns(), items, {
        empty: filtered ? 'No mutations match these filters' : 'This request carried no mutations',
        caption: 'Mutations in push order',
        rowClass: (m) => 'outcome-' + m.outcome,
      }),
      pager({ nextHref, firstHref, info }));
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    ctx.fail(err);
    body = errorBox(err, () => ctx.navigate(location.hash), 'Could not load the mutations');
  }
  return panel('Mutations', h('div', {}, form, body), { id: 'mutations', meta: `${num(r.mutations)} in this push · ${MUTATION_PAGE} per page` });
}

export async function render(ctx) {
  const id = ctx.params[0];
  ctx.title('Request ' + id);
  const r = await loadRequest(id, ctx.signal, !ctx.query.toString());
  const isPush = r.kind === 'push';
  const actions = h('div', { class: 'toolbar' },
    isPush ? h('a', { class: 'btn', href: '#/requests/' + enc(r.id) + '/replay', text: 'Preview replay' }) : null,
    r.client_id ? h('a', { class: 'btn btn-quiet', href: hashHref('/requests', { client_id: r.client_id }), text: 'Client history' }) : null);
  // A replay shows who started it: its audit travels in the original's `replays` list.
  // A cached original from before this replay was made does not list it yet: fetch it again.
  const originalP = r.replay_of
    ? loadRequest(r.replay_of, ctx.signal)
      .then((o) => (auditOf(r, o) ? o : loadRequest(r.replay_of, ctx.signal, true)))
      .catch((err) => { if (ctx.signal.aborted) throw err; return null; })
    : null;
  const mutations = isPush || r.mutations ? await mutationsSection(ctx, r) : null;
  const original = originalP ? await originalP : null;
  ctx.title(`${r.kind === 'pull' ? 'Pull' : 'Push'} ${id}`);
  ctx.root.append(
    pageHead(h('span', {}, r.kind === 'pull' ? 'Pull ' : 'Push ', h('code', { class: 'id-title', text: r.id })), {
      crumbs: [['Requests', '#/requests'], [r.id]],
      badges: [badge(r.outcome), r.replay_of ? badge('replay') : null],
      actions,
    }),
    summary(r),
    parseErrorSummary(r),
    notesPanel(r),
    replaysPanel(r, original),
    mutations,
    h('div', { class: 'grid-2 bodies' },
      panel('Request', bodyBlock('Request', r), { class: 'panel-flush' }),
      panel('Response', bodyBlock('Response', r), { class: 'panel-flush' })),
    h('div', { class: 'grid-2' }, headersPanel(r), redactedPanel(r)));
}

function parseErrorSummary(r) {
  const list = [];
  if (r.request_parse_error) list.push(['request', r.request_parse_error]);
  if (r.response_parse_error) list.push(['response', r.response_parse_error]);
  if (!list.length) return null;
  return panel('Parse errors', table([
    { label: 'Body', cell: (x) => x[0] },
    { label: 'Message', cell: (x) => x[1].message },
    { label: 'Line', class: 'num', cell: (x) => num(x[1].line) },
    { label: 'Column', class: 'num', cell: (x) => num(x[1].column) },
    { label: 'Byte offset', class: 'num', cell: (x) => num(x[1].offset) },
  ], list, { caption: 'Body parse errors' }), { class: 'panel-bad' });
}
