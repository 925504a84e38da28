// page-replay.js — #/requests/{id}/replay?cursor&page
// GET  api/requests/{id}/replay/preview?limit=100&cursor   (dry run + one-time token)
// GET  api/requests/{id}                                  (context: client, time; cached)
// POST api/requests/{id}/replay  {"confirm": true, "token": "…", "skip_redacted": bool}
import { getJson, postJson, seg } from './api.js';
import {
  h, pageHead, panel, kv, table, timeEl, badge, num, link, code, idText, pager, pageLinks, enc,
} from './dom.js';
import { jsonBlock, diffTable } from './json.js';
import { loadRequest, forgetRequest } from './page-request.js';

const PAGE = 100;
const PREDICTED = [['apply', 'apply'], ['conflict', 'conflict'], ['not_found', 'not found'], ['duplicate', 'duplicate']];

function predictedCounts(preview) {
  if (preview.predicted_counts && typeof preview.predicted_counts === 'object') {
    return { counts: preview.predicted_counts, partial: false };
  }
  const counts = {};
  for (const it of preview.items || []) counts[it.predicted] = (counts[it.predicted] || 0) + 1;
  return { counts, partial: (preview.items || []).length < preview.total };
}

function countsLine(counts) {
  return h('span', { class: 'badges' }, PREDICTED.map(([k, label]) => badge(k, { label: `${num(counts[k] || 0)} ${label}` })));
}

function detailRow(it, colspan) {
  return h('tr', { class: 'detail-row' }, h('td', { colspan: String(colspan) }, h('div', { class: 'detail grid-2' },
    h('div', {}, h('h3', { class: 'sub-h', text: 'Captured payload vs. current state' }),
      diffTable(it.diff, { fromLabel: 'Current state', toLabel: 'Captured payload', empty: 'No difference: replaying would not change these fields' })),
    jsonBlock({ title: 'Current state', value: it.current_state, emptyText: 'No current record (not found)', compact: true }))));
}

function previewTable(items) {
  const columns = [
    { label: 'Mutation', cell: (it) => (it.mutation_row_id ? h('a', { href: '#/mutations/' + enc(it.mutation_row_id), class: 'row-link' }, code(it.mutation_id, 'id')) : code(it.mutation_id, 'id')) },
    { label: 'Model', cell: (it) => it.model },
    { label: 'Entity', cell: (it) => idText(it.entity_id) },
    { label: 'Operation', cell: (it) => it.operation },
    { label: 'Predicted', cell: (it) => badge(it.predicted, { label: (it.predicted || 'unknown').replace(/_/g, ' ') }) },
    { label: 'Reason', cell: (it) => (it.reason ? h('span', { class: 'small', text: it.reason }) : null) },
    {
      label: 'Replayable', cell: (it) => (it.redacted
        ? badge('redacted', { label: 'redacted — skipped', title: 'Part of the captured payload was redacted, so it cannot be replayed faithfully' })
        : it.replayable ? badge('yes', { label: 'yes' }) : badge('no', { tone: 'bad', label: 'no' })),
    },
    { label: 'Diff', class: 'num', cell: (it) => ((it.diff || []).length ? `${(it.diff || []).length} field${it.diff.length === 1 ? '' : 's'}` : h('span', { class: 'zero', text: 'none' })) },
    {
      label: 'Details', cell: (it) => h('button', {
        type: 'button', class: 'btn btn-small', 'aria-expanded': 'false', text: 'Show',
        'aria-label': `Show diff and current state for ${it.model} ${it.entity_id}`,
        onclick: (e) => {
          const btn = e.currentTarget;
          const tr = btn.closest('tr');
          if (btn.getAttribute('aria-expanded') === 'true') {
            if (tr.nextElementSibling && tr.nextElementSibling.classList.contains('detail-row')) tr.nextElementSibling.remove();
            btn.setAttribute('aria-expanded', 'false');
            btn.textContent = 'Show';
          } else {
            tr.after(detailRow(it, columns.length));
            btn.setAttribute('aria-expanded', 'true');
            btn.textContent = 'Hide';
          }
        },
      }),
    },
  ];
  return table(columns, items, {
    empty: 'This push carried no mutations', caption: 'Replay preview per mutation',
    rowClass: (it) => (it.redacted ? 'row-redacted' : null),
  });
}

function confirmDialog(ctx, id, req, preview) {
  const notReplayable = Math.max(0, (preview.total || 0) - (preview.replayable || 0));
  const { counts, partial } = predictedCounts(preview);
  const skip = h('input', { type: 'checkbox', id: 'replay-skip', checked: true });
  const willSend = h('strong');
  const paintCount = () => {
    const n = skip.checked ? preview.replayable : preview.total;
    willSend.textContent = `${num(n)} mutation${n === 1 ? '' : 's'}`;
    confirmBtn.textContent = `Replay ${num(n)} mutation${n === 1 ? '' : 's'} live`;
  };
  const errorArea = h('div', { class: 'dialog-error', role: 'alert' });
  const confirmBtn = h('button', { type: 'submit', class: 'btn btn-danger' });
  const cancelBtn = h('button', { type: 'button', class: 'btn', autofocus: true, text: 'Cancel', onclick: () => dlg.close() });
  const actions = h('div', { class: 'dialog-actions' }, cancelBtn, confirmBtn);
  skip.addEventListener('change', paintCount);

  const body = h('div', { class: 'dialog-body' },
    h('p', {}, 'A clone of push ', code(id, 'id'),
      req && req.client_id ? [' from client ', code(req.client_id)] : null,
      req ? [' captured ', timeEl(req.started_at, req.started_at_us)] : null,
      ' will run through the sync engine. Every mutation gets a fresh mutation ID, the original request stays untouched, and the clone is recorded and linked to it.'),
    kv([
      ['Will send', willSend],
      ['Mutations in the push', num(preview.total)],
      ['Replayable', num(preview.replayable)],
      ['Redacted (cannot be replayed faithfully)', num(notReplayable)],
      [partial ? `Predicted (first ${num((preview.items || []).length)} previewed)` : 'Predicted outcomes', countsLine(counts)],
    ], 'kv-grid kv-dialog'),
    h('div', { class: 'field field-check' }, skip, h('label', { for: 'replay-skip', text: 'Skip redacted mutations' })),
    h('p', { class: 'muted small', text: notReplayable
      ? 'If you do not skip them, the server refuses the replay: redacted values cannot be restored.'
      : 'No mutation of this push was redacted.' }),
    h('p', { class: 'callout callout-warn' }, h('strong', { text: 'This writes to the live database. ' }), 'Predictions are a dry run against the current state; the real outcome may differ.'),
    errorArea);

  const form = h('form', {
    method: 'dialog',
    onsubmit: async (e) => {
      e.preventDefault();
      errorArea.replaceChildren();
      confirmBtn.disabled = true;
      cancelBtn.disabled = true;
      confirmBtn.textContent = 'Replaying…';
      try {
        const res = await postJson('api/requests/' + seg(id) + '/replay',
          { confirm: true, token: preview.token, skip_redacted: skip.checked });
        forgetRequest(id);
        const mapped = res.mutation_id_map ? Object.keys(res.mutation_id_map).length : 0;
        const skipped = res.skipped || [];
        body.replaceChildren(
          h('p', { class: 'callout callout-good' }, h('strong', { text: 'Replay recorded. ' }),
            'New request: ', link('/requests/' + enc(res.replay_request_id), null, code(res.replay_request_id, 'id'))),
          kv([['Mutations replayed with fresh IDs', num(mapped)], ['Skipped', num(skipped.length)]], 'kv-grid kv-dialog'),
          skipped.length ? h('details', {}, h('summary', { text: 'Skipped mutations' }),
            h('ul', { class: 'plain-list' }, skipped.map((s) => h('li', {}, code(typeof s === 'string' ? s : JSON.stringify(s), 'id'))))) : null);
        actions.replaceChildren(
          h('button', { type: 'button', class: 'btn', text: 'Close', onclick: () => dlg.close() }),
          h('a', { class: 'btn btn-primary', href: '#/requests/' + enc(res.replay_request_id), text: 'Open the replay', onclick: () => dlg.close() }));
        ctx.onReplayed(res);
        actions.querySelector('a').focus();
      } catch (err) {
        confirmBtn.disabled = false;
        cancelBtn.disabled = false;
        paintCount();
        const stale = err && err.status === 409;
        errorArea.replaceChildren(h('div', { class: 'callout callout-bad' },
          h('p', {}, h('strong', { text: err && err.status ? `Replay refused (HTTP ${err.status}). ` : 'Replay failed. ' }), err && err.message ? err.message : String(err)),
          stale ? h('p', {}, h('button', {
            type: 'button', class: 'btn btn-small', text: 'Reload the preview (new token)',
            onclick: () => { dlg.close(); ctx.navigate(location.hash); },
          })) : null));
      }
    },
  }, h('h2', { id: 'replay-dlg-title', text: 'Replay this push live?' }), body, actions);

  const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': 'replay-dlg-title' }, form);
  paintCount();
  return dlg;
}

export async function render(ctx) {
  const id = ctx.params[0];
  const q = ctx.query;
  ctx.title('Replay ' + id);
  const [preview, req] = await Promise.all([
    getJson('api/requests/' + seg(id) + '/replay/preview', { limit: PAGE, cursor: q.get('cursor') || '' }, ctx.signal),
    loadRequest(id, ctx.signal).catch((err) => { if (ctx.signal.aborted) throw err; return null; }),
  ]);
  const items = preview.items || [];
  const path = '/requests/' + enc(id) + '/replay';
  const { pageNo, nextHref, firstHref } = pageLinks(path, q, preview.next_cursor);
  const { counts, partial } = predictedCounts(preview);
  const notReplayable = Math.max(0, (preview.total || 0) - (preview.replayable || 0));
  const resultArea = h('div', { role: 'status' });

  let dlg = null;
  let liveControl;
  if (preview.live_enabled) {
    const open = h('button', { type: 'button', class: 'btn btn-danger', text: 'Replay live…' });
    open.addEventListener('click', () => {
      if (dlg) dlg.remove();
      dlg = confirmDialog({
        ...ctx,
        onReplayed: (res) => {
          resultArea.replaceChildren(h('div', { class: 'callout callout-good' }, h('p', {},
            h('strong', { text: 'Replay recorded as ' }), link('/requests/' + enc(res.replay_request_id), null, code(res.replay_request_id, 'id')), '.')));
          open.disabled = true;
          open.title = 'The preview token was used; reload the page to replay again';
        },
      }, id, req, preview);
      ctx.root.appendChild(dlg);
      dlg.addEventListener('close', () => open.focus());
      dlg.showModal();
    });
    if (!preview.replayable) {
      open.disabled = true;
      open.title = 'No mutation of this push can be replayed';
    }
    liveControl = open;
  } else {
    liveControl = h('span', { class: 'muted small', text: 'Live replay is disabled in the server configuration (replay.live_enabled) — preview only.' });
  }
  ctx.onCleanup(() => { if (dlg && dlg.open) dlg.close(); });

  ctx.root.append(
    pageHead(h('span', {}, 'Replay preview ', h('code', { class: 'id-title', text: id })), {
      crumbs: [['Requests', '#/requests'], [id, '#/requests/' + enc(id)], ['Replay']],
      actions: liveControl,
      sub: 'A dry run: each captured mutation compared with the current database state, and what the server would most likely decide.',
    }),
    resultArea,
    panel('Summary', kv([
      ['Request', h('span', {}, link('/requests/' + enc(id), null, code(id, 'id')), req ? [' · ', badge(req.outcome), ' · ', timeEl(req.started_at, req.started_at_us)] : null)],
      ['Client', req && req.client_id ? link('/clients/' + enc(req.client_id), null, req.client_id) : null],
      ['Mutations', num(preview.total)],
      ['Replayable', num(preview.replayable)],
      ['Redacted / not replayable', notReplayable ? h('span', { class: 'tone-warn', text: num(notReplayable) }) : '0'],
      [partial ? `Predicted (this page of ${num(items.length)})` : 'Predicted', countsLine(counts)],
      ['Live replay', preview.live_enabled ? badge('yes', { label: 'enabled' }) : badge('no', { tone: 'muted', label: 'disabled' })],
    ], 'kv-grid')),
    preview.live_enabled && notReplayable
      ? h('div', { class: 'callout callout-warn' }, h('p', { text: `${num(notReplayable)} mutation${notReplayable === 1 ? ' was' : 's were'} captured with redacted values and cannot be replayed faithfully; live replay skips them (or refuses, if you choose not to skip).` }))
      : null,
    panel('Mutations', h('div', {},
      previewTable(items),
      pager({ nextHref, firstHref, info: items.length ? `Page ${pageNo} · ${items.length} of ${num(preview.total)} mutations` : null })), { id: 'preview' }));
}

