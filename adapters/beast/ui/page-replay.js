// page-replay.js — #/requests/{id}/replay?cursor&page
// GET  api/requests/{id}/replay/preview?limit=100&cursor   (dry run + one-time token; docs/replay.md)
// GET  api/requests/{id}                                  (context: client, time, earlier replays; cached)
// POST api/requests/{id}/replay  {"confirm": true, "token": "…", "skip_redacted": bool}  → 201
//
// Every captured value (ids, payloads, reasons, server messages) reaches the DOM as text.
import { getJson, postJson, seg } from './api.js';
import {
  h, detailToggle, append, pageHead, panel, kv, table, timeEl, badge, num, link, code, idText, pager, pageLinks, enc, httpStatus,
} from './dom.js';
import { jsonBlock, diffTable } from './json.js';
import { loadRequest, forgetRequest, skippedList } from './page-request.js';

const PAGE = 100;
const OUTCOMES = [['apply', 'apply'], ['conflict', 'conflict'], ['not_found', 'not found'], ['duplicate', 'duplicate']];

const label = (v) => String(v || 'unknown').replace(/_/g, ' ');
const plural = (n, one, many = one + 's') => `${num(n)} ${n === 1 ? one : many}`;

/** Totals over the whole push (`predicted_counts`); an older server without them: this page only. */
function predictedCounts(preview) {
  if (preview.predicted_counts && typeof preview.predicted_counts === 'object') {
    return { counts: preview.predicted_counts, partial: false };
  }
  const counts = {};
  for (const it of preview.items || []) counts[it.predicted] = (counts[it.predicted] || 0) + 1;
  return { counts, partial: (preview.items || []).length < (preview.total || 0) };
}

/** "0 apply · 1 conflict · 0 not found · 1 duplicate" as badges (colour + glyph + text). */
function countsLine(counts) {
  const out = [];
  OUTCOMES.forEach(([k, text], i) => {
    if (i) out.push(' ');
    out.push(badge(k, { label: `${num(counts[k] || 0)} ${text}` }));
  });
  return h('span', { class: 'badges counts' }, out);
}

/** Predicted outcome; when a fresh id changes it (a duplicate), what the live replay would meet. */
function predictedCell(it) {
  const differs = it.replay_predicted && it.replay_predicted !== it.predicted;
  return h('span', { class: 'badges' }, badge(it.predicted, { label: label(it.predicted) }),
    differs ? [' ', h('span', { class: 'replay-predicted', title: 'A live replay sends a fresh mutation id, so the server evaluates it again' },
      h('span', { class: 'muted small', text: '→ live replay: ' }), badge(it.replay_predicted, { label: label(it.replay_predicted) }))] : null);
}

function replayableCell(it) {
  const mark = it.replayable
    ? badge('yes', { label: 'yes' })
    : it.redacted
      ? badge('redacted', { label: 'no — redacted', title: 'Values of this mutation were redacted at capture; the originals cannot be restored' })
      : badge('no', { tone: 'bad', label: 'no' });
  return h('span', { class: 'replayable-cell' }, mark,
    !it.replayable && it.not_replayable_reason ? h('span', { class: 'small muted block', text: it.not_replayable_reason }) : null);
}

function currentCell(it) {
  if (it.current_state === null || it.current_state === undefined) return h('span', { class: 'muted', text: 'no record' });
  return h('span', {}, 'updated ', timeEl(it.updated_at, it.updated_at_us, { precise: true }));
}

function detailRow(it, colspan) {
  const isDelete = it.operation === 'delete';
  return h('tr', { class: 'detail-row' }, h('td', { colspan: String(colspan) }, h('div', { class: 'detail' },
    h('h3', { class: 'sub-h', text: isDelete ? 'Fields the delete would remove' : 'Current state → captured payload' }),
    diffTable(it.diff, {
      fromLabel: 'Current state', toLabel: isDelete ? 'After the delete' : 'Captured payload',
      caption: `Differences for ${it.model} ${it.entity_id}`,
      empty: it.current_state === null || it.current_state === undefined
        ? 'No current record to compare with'
        : 'No difference: replaying would not change the fields it sends',
    }),
    h('div', { class: 'grid-2 detail-docs' },
      jsonBlock({ title: 'Current state', value: it.current_state, emptyText: 'No current record (never created, or deleted)', compact: true }),
      jsonBlock({ title: 'Captured payload', value: it.payload, emptyText: isDelete ? 'No payload (delete)' : 'No payload', compact: true })))));
}

function previewTable(items) {
  const columns = [
    { label: '#', class: 'num', cell: (it) => num(it.seq) },
    {
      label: 'Mutation', cell: (it) => (it.mutation_row_id
        ? h('a', { href: '#/mutations/' + enc(it.mutation_row_id), class: 'row-link', title: 'mutation_id ' + it.mutation_id }, code(it.mutation_id, 'id'))
        : code(it.mutation_id, 'id')),
    },
    { label: 'Model', cell: (it) => it.model },
    { label: 'Entity', cell: (it) => idText(it.entity_id) },
    { label: 'Operation', cell: (it) => it.operation },
    { label: 'Predicted', cell: predictedCell },
    { label: 'Reason', cell: (it) => (it.reason ? h('span', { class: 'small reason', text: it.reason }) : null) },
    { label: 'Current record', cell: currentCell },
    {
      label: 'Diff', class: 'num', cell: (it) => {
        const n = (it.diff || []).length;
        return n ? plural(n, 'field') : h('span', { class: 'zero', text: 'none' });
      },
    },
    { label: 'Replayable', cell: replayableCell },
    {
      label: 'Details', cell: (it) => detailToggle(`Show diff and current state of mutation ${it.seq} (${it.model} ${it.entity_id})`, () => detailRow(it, columns.length)),
    },
  ];
  return table(columns, items, {
    empty: 'This push carried no mutations', caption: 'Replay preview per mutation',
    rowClass: (it) => (it.redacted ? 'row-redacted' : !it.replayable ? 'row-unreplayable' : null),
  });
}

/** What a refusal means for the user, per docs/replay.md; `message` is the server's sentence. */
function refusal(err, { onReload, onSkip }) {
  const status = err && err.status;
  const codeName = err && err.code;
  const message = err && err.message ? err.message : String(err);
  let title = 'Replay failed.';
  let hint = null;
  let action = null;
  let retryable = true;
  if (status === 409 || codeName === 'replay_token_rejected') {
    title = 'The preview token was rejected.';
    hint = 'A token replays once and expires; it is also forgotten when the server restarts. Reload the preview to get a new token, check the predictions again and confirm.';
    action = h('button', { type: 'button', class: 'btn btn-small', id: 'replay-reload', text: 'Reload the preview (new token)', onclick: onReload });
    retryable = false;
  } else if (codeName === 'unfaithful_mutations') {
    title = 'Some mutations cannot be replayed as captured.';
    if (onSkip) {
      hint = 'The token is still valid: tick the choice to skip the mutations that cannot be replayed to replay the others, or cancel.';
    } else {
      // The preview this dialog was built from said every mutation was replayable: it is stale.
      hint = 'This preview is out of date; reload it to see which mutations cannot be replayed.';
      action = h('button', { type: 'button', class: 'btn btn-small', id: 'replay-reload', text: 'Reload the preview (new token)', onclick: onReload });
      retryable = false;
    }
  } else if (codeName === 'not_replayable') {
    title = 'This push cannot be replayed.';
    retryable = false;
  } else if (status === 403 && codeName === 'replay_disabled') {
    title = 'Live replay is disabled on this server.';
    hint = 'The server configuration (replay.live_enabled) does not allow live replays; the preview stays available.';
    retryable = false;
  } else if (status === 403) {
    title = 'The server refused the replay.';
    retryable = false;
  } else if (status === 501 || codeName === 'replay_unavailable') {
    title = 'This server cannot replay.';
    hint = 'The host application configured no replay target, so live replay is not available here.';
    retryable = false;
  } else if (status === 400) {
    title = 'The server did not accept the replay request.';
  } else if (status === 401) {
    title = 'Authentication required.';
  } else if (status === 404) {
    title = 'The captured request no longer exists.';
    retryable = false;
  } else if (status) {
    title = 'Replay failed.';
  }
  const box = h('div', { class: 'callout callout-bad', 'data-error': codeName || (status ? `http_${status}` : 'error') },
    h('p', {}, h('strong', { text: title + ' ' }), h('span', { class: 'server-message', text: message })),
    status ? h('p', { class: 'muted small', text: `HTTP ${status}${codeName ? ' · ' + codeName : ''}` }) : null,
    hint ? h('p', { class: 'small', text: hint }) : null,
    action ? h('p', {}, action) : null);
  return { box, retryable, action };
}

function confirmDialog({ id, req, preview, items, onReplayed, onReload }) {
  const total = preview.total || 0;
  const replayable = preview.replayable || 0;
  const notReplayable = Math.max(0, total - replayable);
  const { counts, partial } = predictedCounts(preview);
  const wholePushHere = !partial && items.length === total && !preview.next_cursor;
  const skip = notReplayable ? h('input', { type: 'checkbox', id: 'replay-skip' }) : null;
  const willSend = h('strong', { class: 'will-send' });
  const errorArea = h('div', { class: 'dialog-error', role: 'alert' });
  const confirmBtn = h('button', { type: 'submit', class: 'btn btn-danger', id: 'replay-confirm' });
  const cancelBtn = h('button', { type: 'button', class: 'btn', id: 'replay-cancel', autofocus: true, text: 'Cancel', onclick: () => dlg.close() });
  const actions = h('div', { class: 'dialog-actions' }, cancelBtn, confirmBtn);
  const paintCount = () => {
    const n = skip && skip.checked ? replayable : total;
    willSend.textContent = plural(n, 'mutation');
    confirmBtn.textContent = `Replay ${plural(n, 'mutation')} live`;
  };
  let dead = false; // a refusal that no retry with this token can fix (409, 403, 501, …)
  if (skip) {
    skip.addEventListener('change', () => {
      if (!dead) { errorArea.replaceChildren(); confirmBtn.disabled = false; }
      paintCount();
    });
  }

  // What a live replay would meet: replay_predicted of what is sent (exact when the whole
  // push is on this page; otherwise the whole-push prediction under the captured ids).
  let liveCounts = null;
  if (wholePushHere) {
    liveCounts = {};
    for (const it of items) {
      if (!it.replayable) continue;
      const k = it.replay_predicted || it.predicted;
      liveCounts[k] = (liveCounts[k] || 0) + 1;
    }
  }

  const body = h('div', { class: 'dialog-body' },
    h('p', {}, 'A clone of push ', code(id, 'id'),
      req && req.client_id ? [' from client ', code(req.client_id)] : null,
      req ? [' captured ', timeEl(req.started_at, req.started_at_us)] : null,
      ' runs through the sync engine now. Every mutation gets a fresh mutation ID, the original request stays untouched, and the clone is recorded as a new request linked to it.'),
    kv([
      ['Will send', willSend],
      ['Mutations in the push', num(total)],
      ['Cannot be replayed', notReplayable ? h('span', { class: 'tone-warn', text: num(notReplayable) }) : '0'],
      [partial ? `Predicted (first ${num(items.length)} previewed)` : 'Predicted (captured IDs)', countsLine(counts)],
      liveCounts ? ['Predicted for the replay (fresh IDs)', countsLine(liveCounts)] : null,
    ], 'kv-grid kv-dialog'),
    !liveCounts && counts.duplicate
      ? h('p', { class: 'muted small', text: 'Duplicates are evaluated again under their fresh IDs; see “live replay” in the Predicted column of each page.' })
      : null,
    skip
      ? h('div', {},
        h('div', { class: 'field field-check' }, skip, h('label', { for: 'replay-skip', text: `Skip the ${plural(notReplayable, 'mutation')} that cannot be replayed` })),
        h('p', { class: 'muted small', text: 'Their captured values were redacted (or are incomplete) and cannot be restored. Without skipping them the server refuses the replay.' }))
      : h('p', { class: 'muted small', text: 'Every mutation of this push can be replayed as captured.' }),
    h('p', { class: 'callout callout-warn' }, h('strong', { text: 'This writes to the live database. ' }),
      'Predictions are a dry run against the current state; a custom resolver or validation may decide otherwise.'),
    errorArea);

  const showResult = (res) => {
    const mapped = res.mutation_id_map ? Object.keys(res.mutation_id_map).length : 0;
    const skipped = Array.isArray(res.skipped) ? res.skipped : [];
    const replayHref = '#/requests/' + enc(res.replay_request_id);
    body.replaceChildren();
    append(body, [
      h('div', { class: 'callout callout-good replay-result' }, h('p', {}, h('strong', { text: 'Replay done. ' }),
        'New request: ', h('a', { href: replayHref, class: 'replay-link' }, code(res.replay_request_id, 'id')))),
      res.recorded === false
        ? h('p', { class: 'callout callout-warn', text: 'The replay ran, but it was not stored in time (or the recorder dropped it): the new request may appear later, or not at all.' })
        : null,
      kv([
        ['HTTP status', httpStatus(res.http_status)],
        ['Outcome', res.outcome ? badge(res.outcome) : h('span', { class: 'muted', text: 'not recorded' })],
        ['Started by', res.by ? res.by : h('span', { class: 'muted', text: 'unknown' })],
        ['At', timeEl(res.at, res.at_us, { precise: true })],
        ['Replayed with fresh IDs', num(mapped)],
        ['Skipped', num(skipped.length)],
      ], 'kv-grid kv-dialog'),
      skipped.length ? h('div', {}, h('h3', { class: 'sub-h', text: 'Skipped mutations' }), skippedList(skipped)) : null,
    ]); // append() skips the nulls; the native replaceChildren would print them as "null"
    const open = h('a', { class: 'btn btn-primary', id: 'replay-open', href: replayHref, text: 'Open the replay', onclick: () => dlg.close() });
    actions.replaceChildren(h('button', { type: 'button', class: 'btn', text: 'Close', onclick: () => dlg.close() }), open);
    open.focus();
  };

  const form = h('form', {
    method: 'dialog',
    onsubmit: async (e) => {
      e.preventDefault();
      if (confirmBtn.disabled) return;
      errorArea.replaceChildren();
      confirmBtn.disabled = true;
      cancelBtn.disabled = true;
      confirmBtn.textContent = 'Replaying…';
      try {
        const res = await postJson('api/requests/' + seg(id) + '/replay',
          { confirm: true, token: preview.token, skip_redacted: !!(skip && skip.checked) });
        forgetRequest(id);
        showResult(res);
        onReplayed(res);
      } catch (err) {
        cancelBtn.disabled = false;
        paintCount();
        const r = refusal(err, {
          onReload: () => { dlg.close(); onReload(); },
          onSkip: skip && !skip.checked ? skip : null,
        });
        dead = !r.retryable;
        // Unfaithful mutations: the same request fails again until "skip" is ticked.
        confirmBtn.disabled = dead || (err && err.code === 'unfaithful_mutations');
        errorArea.replaceChildren(r.box);
        if (r.action) r.action.focus();
        else if (err && err.code === 'unfaithful_mutations' && skip) skip.focus();
        else cancelBtn.focus();
      }
    },
  }, h('h2', { id: 'replay-dlg-title', text: 'Replay this push live?' }), body, actions);

  const dlg = h('dialog', { class: 'dialog', id: 'replay-dialog', 'aria-labelledby': 'replay-dlg-title' }, form);
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
  const total = preview.total || 0;
  const notReplayable = Math.max(0, total - (preview.replayable || 0));
  const pushReason = preview.not_replayable_reason || null;
  const resultArea = h('div', { role: 'status', class: 'replay-status' });
  const earlier = req && Array.isArray(req.replays) ? req.replays.length : null;

  let dlg = null;
  let liveControl = null;
  let liveNote = null;
  if (preview.live_enabled) {
    const open = h('button', { type: 'button', class: 'btn btn-danger', id: 'replay-open-dialog', text: 'Replay live…' });
    open.addEventListener('click', () => {
      if (dlg) dlg.remove();
      dlg = confirmDialog({
        id, req, preview, items,
        onReplayed: (res) => {
          resultArea.replaceChildren(h('div', { class: 'callout callout-good' }, h('p', {},
            h('strong', { text: 'Replay recorded as ' }),
            h('a', { href: '#/requests/' + enc(res.replay_request_id), class: 'replay-link' }, code(res.replay_request_id, 'id')), '. ',
            h('span', { class: 'muted small', text: 'The preview token is used; reload this page to replay again.' }))));
          open.disabled = true;
          open.title = 'The preview token was used; reload the page to replay again';
        },
        onReload: () => ctx.navigate(location.hash),
      });
      ctx.root.appendChild(dlg);
      dlg.addEventListener('close', () => {
        const target = open.disabled ? resultArea.querySelector('a') : open;
        if (target) target.focus();
      });
      dlg.showModal();
    });
    if (pushReason || !preview.replayable) {
      open.disabled = true;
      open.title = pushReason ? 'This push cannot be replayed' : 'No mutation of this push can be replayed';
      open.setAttribute('aria-describedby', 'replay-blocked');
    }
    liveControl = open;
  } else {
    liveNote = h('div', { class: 'callout callout-info', id: 'replay-live-disabled' }, h('p', {},
      h('strong', { text: 'Live replay is disabled on this server. ' }),
      'This page is a dry run only: nothing is sent. Live replay needs replay.live_enabled in the configuration and a replay target in the host application.'));
  }
  ctx.onCleanup(() => { if (dlg && dlg.open) dlg.close(); });

  let blocked = null;
  if (pushReason) {
    blocked = h('div', { class: 'callout callout-bad', id: 'replay-blocked' }, h('p', {},
      h('strong', { text: 'This push cannot be replayed: ' }), h('span', { text: pushReason })));
  } else if (!preview.replayable && total) {
    blocked = h('div', { class: 'callout callout-bad', id: 'replay-blocked' },
      h('p', { text: 'None of the mutations of this push can be replayed as captured (see the Replayable column).' }));
  } else if (notReplayable) {
    blocked = h('div', { class: 'callout callout-warn', id: 'replay-partial' }, h('p', {
      text: `${plural(notReplayable, 'mutation')} of this push cannot be replayed as captured (see the Replayable column)`
        + (preview.live_enabled ? '; a live replay can skip them.' : '.'),
    }));
  }

  ctx.root.append(
    pageHead(h('span', {}, 'Replay preview ', h('code', { class: 'id-title', text: id })), {
      crumbs: [['Requests', '#/requests'], [id, '#/requests/' + enc(id)], ['Replay']],
      actions: liveControl,
      sub: 'A dry run: each captured mutation compared with the current database state, and what the server would decide if the push arrived again now.',
    }),
    resultArea,
    liveNote,
    blocked,
    panel('Summary', kv([
      ['Request', h('span', {}, link('/requests/' + enc(id), null, code(id, 'id')), req ? [' · ', badge(req.outcome), ' · ', timeEl(req.started_at, req.started_at_us)] : null)],
      ['Client', req && req.client_id ? link('/clients/' + enc(req.client_id), null, req.client_id) : null],
      ['Mutations', num(total)],
      ['Replayable', num(preview.replayable)],
      ['Not replayable', notReplayable ? h('span', { class: 'tone-warn', text: num(notReplayable) }) : '0'],
      [partial ? `Predicted (this page of ${num(items.length)})` : 'Predicted', countsLine(counts)],
      ['Live replay', preview.live_enabled ? badge('yes', { label: 'enabled' }) : badge('no', { tone: 'muted', label: 'disabled' })],
      preview.live_enabled && preview.token_expires_at
        ? ['Preview token valid until', timeEl(preview.token_expires_at, preview.token_expires_at_us, { precise: true })]
        : null,
      earlier !== null ? ['Earlier replays', earlier ? link('/requests/' + enc(id), null, plural(earlier, 'replay')) : '0'] : null,
    ], 'kv-grid'), { id: 'replay-summary' }),
    panel('Mutations', h('div', {},
      previewTable(items),
      pager({ nextHref, firstHref, info: items.length ? `Page ${pageNo} · ${items.length} of ${plural(total, 'mutation')}` : null })),
    { id: 'preview', meta: `${PAGE} per page` }));
}
