// page-mutation.js — #/mutations/{id}
// GET api/mutations/{id}
import { getJson, seg } from './api.js';
import {
  h, pageHead, panel, kv, table, timeEl, badge, num, link, code, idText, empty, enc, toDate, localTime,
} from './dom.js';
import { jsonBlock, diffTable, inlineValue } from './json.js';

function validationPanel(m) {
  const v = m.validation;
  if (!v || typeof v !== 'object' || !Object.keys(v).length) return null;
  const rows = [];
  for (const [field, messages] of Object.entries(v)) {
    const list = Array.isArray(messages) ? messages : [messages];
    rows.push({ field, list });
  }
  return panel('Validation messages', table([
    { label: 'Field', cell: (x) => code(x.field, 'path') },
    { label: 'Messages', cell: (x) => h('ul', { class: 'plain-list' }, x.list.map((s) => h('li', { text: typeof s === 'string' ? s : JSON.stringify(s) }))) },
  ], rows, { caption: 'Validation messages by field' }), { class: 'panel-bad', meta: `${rows.length} field${rows.length === 1 ? '' : 's'}` });
}

function conflictPanel(m) {
  const c = m.conflict;
  if (!c) return null;
  const source = [c.reported_by_host ? 'host resolver trace' : null, c.reported_in_response ? 'response body' : null].filter(Boolean);
  return panel('Conflict', h('div', {},
    kv([
      ['Reason', c.reason ? code(c.reason) : null],
      ['Resolver', c.resolver ? code(c.resolver) : h('span', { class: 'muted', text: 'not reported (seen in the response only)' })],
      ['Resolution', c.resolution ? badge(c.resolution) : h('span', { class: 'muted', text: '—' })],
      ['Final outcome', badge(m.outcome)],
      ['Server updated at', c.server_updated_at ? timeEl(c.server_updated_at, undefined, { precise: true }) : null],
      ['Reported by', source.length ? source.join(' and ') : '—'],
    ], 'kv-grid'),
    h('h3', { class: 'sub-h', text: 'Fields that disagree' }),
    diffTable(c.fields, {
      fromLabel: 'Server value', toLabel: 'Client value', caption: 'Fields where the client payload differs from the server state',
      empty: 'No field-level disagreement recorded', emptyHint: 'Either side may be unknown (e.g. only the response reported the conflict).',
    }),
    h('div', { class: 'grid-2' },
      jsonBlock({ title: 'Client payload', value: m.payload, emptyText: 'No payload' }),
      jsonBlock({ title: 'Server state at conflict', value: c.server_state, emptyText: 'Server state not reported' }))),
  { class: 'panel-warn' });
}

export async function render(ctx) {
  const id = ctx.params[0];
  ctx.title('Mutation ' + id);
  const m = await getJson('api/mutations/' + seg(id), null, ctx.signal);
  const clientTs = typeof m.client_timestamp_ms === 'number' ? toDate(m.client_timestamp_ms) : null;

  const summary = panel('Summary', kv([
    ['Model', m.model ? code(m.model) : null],
    ['Operation', m.operation ? code(m.operation) : null],
    ['Entity', m.entity_id ? h('span', {}, code(m.entity_id, 'id'), ' ',
      link('/conflicts', { entity_id: m.entity_id }, h('span', { class: 'small', text: 'conflicts' }))) : null],
    ['Mutation id', m.mutation_id ? code(m.mutation_id, 'id') : null],
    ['Version', m.version === null || m.version === undefined ? null : num(m.version)],
    ['Outcome', h('span', { class: 'badges' }, badge(m.outcome), m.conflict && m.outcome !== 'conflict' ? badge('conflict', { label: 'conflicted' }) : null)],
    ['Reason', m.reason ? code(m.reason) : null],
    ['Request', h('span', {}, link('/requests/' + enc(m.request_id), null, idText(m.request_id)),
      h('span', { class: 'muted small', text: ` · position ${num(m.seq)}` }))],
    ['Received', timeEl(m.started_at, m.started_at_us, { precise: true })],
    ['Client clock', clientTs ? h('time', { datetime: clientTs.toISOString(), title: `${clientTs.toISOString()} (UTC) · ${m.client_timestamp_ms} ms`, text: localTime(clientTs, true) }) : null],
    ['Client', m.client_id ? link('/clients/' + enc(m.client_id), null, m.client_id) : null],
    ['Instance', m.instance || null],
    ['Payload', m.payload_redacted ? badge('redacted', { title: 'Some payload values were redacted; this mutation cannot be replayed faithfully' }) : h('span', { class: 'muted', text: 'complete' })],
  ], 'kv-grid'));

  const rejection = m.rejection_data !== null && m.rejection_data !== undefined
    ? jsonBlock({ title: 'Rejection data (response rejected[].data)', value: m.rejection_data, compact: true })
    : null;

  ctx.title(`${m.model || 'Mutation'} ${m.operation || ''} ${m.mutation_id || id}`.trim());
  ctx.root.append(
    pageHead(h('span', {}, `${m.model || 'Mutation'} ${m.operation || ''} `, h('code', { class: 'id-title', text: m.mutation_id || m.id })), {
      crumbs: [['Requests', '#/requests'], [m.request_id, '#/requests/' + enc(m.request_id)], ['mutation ' + num(m.seq)]],
      badges: [badge(m.outcome)],
    }),
    summary,
    validationPanel(m),
    rejection ? panel('Rejection', rejection, { class: 'panel-bad' }) : null,
    conflictPanel(m),
    panel('Payload vs. state before', h('div', {},
      h('p', { class: 'muted small', text: 'What the client sent compared with the stored record before processing (top-level keys the payload does not send are ignored).' }),
      diffTable(m.payload_diff, {
        fromLabel: 'State before', toLabel: 'Payload', caption: 'Payload compared with the state before',
        empty: m.state_before === null || m.state_before === undefined ? 'State before was not reported by the host' : 'The payload matches the state before',
      }))),
    panel('What processing changed', h('div', {},
      diffTable(m.diff, {
        fromLabel: 'Before', toLabel: 'After', caption: 'State before compared with state after',
        empty: (m.state_before == null || m.state_after == null) ? 'Needs both state before and state after from the host' : 'Nothing changed',
      }),
      h('div', { class: 'grid-3' },
        jsonBlock({ title: 'Payload', value: m.payload, emptyText: m.operation === 'delete' ? 'No payload (delete)' : 'No payload' }),
        jsonBlock({ title: 'State before', value: m.state_before, emptyText: 'Not reported by the host' }),
        jsonBlock({ title: 'State after', value: m.state_after, emptyText: 'Not reported by the host' })))),
    panel('RFC 6902 patch', m.patch && m.patch.length
      ? h('div', {},
        h('p', { class: 'muted small', text: 'Applied to the state before, this JSON Patch yields the state after.' }),
        patchTable(m.patch),
        jsonBlock({ title: 'Patch document', value: m.patch, compact: true }))
      : empty('No patch', 'A patch needs both states and at least one change.')));
}

function patchTable(patch) {
  return table([
    { label: 'op', cell: (p) => badge(p.op, { tone: p.op === 'add' ? 'good' : p.op === 'remove' ? 'bad' : 'warn' }) },
    { label: 'path', cell: (p) => code(p.path, 'path') },
    { label: 'value / from', cell: (p) => ('value' in p ? inlineValue(p.value) : 'from' in p ? code(p.from, 'path') : null) },
  ], patch, { caption: 'Patch operations' });
}
