// app.js — shell, hash router, error banner and live-status indicator.
//
// Routes (all deep-linkable; filters live in the hash query):
//   #/                              overview            (page-overview.js)
//   #/requests                      request history     (page-requests.js)
//   #/requests/{id}                 request detail      (page-request.js)
//   #/requests/{id}/replay          replay preview/live (page-replay.js)
//   #/mutations/{id}                mutation detail     (page-mutation.js)
//   #/conflicts                     conflicts+patterns  (page-conflicts.js)
//   #/failures                      failure groups      (page-failures.js)
//   #/failures/list                 failure list
//   #/failures/groups/{fingerprint} failure group
//   #/clients, #/clients/{id}       clients             (page-clients.js)
import { h, append, loading, errorBox } from './dom.js';
import { isAbort, ApiError } from './api.js';
import { hideTip } from './charts.js';
import * as live from './live.js';
import * as overview from './page-overview.js';
import * as requests from './page-requests.js';
import * as request from './page-request.js';
import * as replay from './page-replay.js';
import * as mutation from './page-mutation.js';
import * as conflicts from './page-conflicts.js';
import * as failures from './page-failures.js';
import * as clients from './page-clients.js';

const routes = [
  { re: /^\/$/, nav: 'overview', render: overview.render },
  { re: /^\/requests$/, nav: 'requests', render: requests.render },
  { re: /^\/requests\/([^/]+)\/replay$/, nav: 'requests', render: replay.render },
  { re: /^\/requests\/([^/]+)$/, nav: 'requests', render: request.render },
  { re: /^\/mutations\/([^/]+)$/, nav: 'requests', render: mutation.render },
  { re: /^\/conflicts$/, nav: 'conflicts', render: conflicts.render },
  { re: /^\/failures$/, nav: 'failures', render: failures.renderGroups },
  { re: /^\/failures\/list$/, nav: 'failures', render: failures.renderList },
  { re: /^\/failures\/groups\/([^/]+)$/, nav: 'failures', render: failures.renderGroup },
  { re: /^\/clients$/, nav: 'clients', render: clients.renderList },
  { re: /^\/clients\/([^/]+)$/, nav: 'clients', render: clients.renderDetail },
];

const main = document.getElementById('main');
const bannerEl = document.getElementById('banner');

// ---------------------------------------------------------------- banner

export function showBanner(err) {
  if (!bannerEl || isAbort(err)) return;
  const message = err && err.message ? err.message : String(err);
  bannerEl.replaceChildren(
    h('span', { class: 'banner-icon', 'aria-hidden': 'true', text: '!' }),
    h('span', { class: 'banner-text', text: message }),
    h('button', {
      type: 'button', class: 'btn btn-small btn-quiet', text: 'Dismiss',
      onclick: () => hideBanner(),
    }));
  bannerEl.hidden = false;
}

export function hideBanner() {
  if (!bannerEl) return;
  bannerEl.hidden = true;
  bannerEl.replaceChildren();
}

// ---------------------------------------------------------------- router

let current = { path: null, controller: null, cleanups: [] };
let firstRoute = true;

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const q = raw.indexOf('?');
  const path = (q < 0 ? raw : raw.slice(0, q)) || '/';
  const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
  return { path: path.length > 1 ? path.replace(/\/+$/, '') : path, query };
}

/** Go to a hash; re-renders even when the hash did not change (e.g. "Apply" twice). */
export function navigate(hash) {
  if (location.hash === hash || (hash === '#/' && !location.hash)) route();
  else location.hash = hash;
}

function setNav(name) {
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function notFound(ctx, path) {
  ctx.title('Not found');
  ctx.root.append(
    h('div', { class: 'page-head' }, h('h1', { tabindex: '-1', text: 'Page not found' })),
    h('div', { class: 'empty' }, h('p', { class: 'empty-title' }, 'Nothing lives at ', h('code', { text: '#' + path }), '.'),
      h('p', {}, h('a', { href: '#/', text: 'Go to the overview' }))));
}

async function route() {
  const { path, query } = parseHash();
  if (!path.startsWith('/')) return; // a plain in-page anchor, not a route
  let match = null;
  let params = [];
  for (const r of routes) {
    const m = r.re.exec(path);
    if (m) {
      match = r;
      params = m.slice(1).map((p) => {
        try { return decodeURIComponent(p); } catch (_) { return p; }
      });
      break;
    }
  }
  // Tear down the previous page: abort its fetches, unsubscribe its live handlers.
  if (current.controller) current.controller.abort();
  for (const fn of current.cleanups) {
    try { fn(); } catch (_) { /* ignore */ }
  }
  const samePath = current.path === path;
  const controller = new AbortController();
  const state = { path, controller, cleanups: [] };
  current = state;
  setNav(match ? match.nav : null);
  hideBanner();
  hideTip();

  const root = h('div', { class: 'page' });
  // Pages append optional panels that are null when there is nothing to show; the native
  // Element.append would render those as the text "null". Skip them like h() does.
  root.append = (...children) => { append(root, children); };
  const ctx = {
    params,
    query,
    path,
    signal: controller.signal,
    root,
    navigate,
    title: (t) => { document.title = `${t} · Tether sync dashboard`; },
    onCleanup: (fn) => state.cleanups.push(fn),
    live: (handlers) => state.cleanups.push(live.subscribe(handlers)),
    fail: (err) => { if (!controller.signal.aborted) showBanner(err); },
  };

  main.setAttribute('aria-busy', 'true');
  const slow = setTimeout(() => {
    if (!samePath && current === state) main.replaceChildren(loading());
  }, 150);
  try {
    if (match) await match.render(ctx);
    else notFound(ctx, path);
  } catch (err) {
    if (controller.signal.aborted || isAbort(err)) { clearTimeout(slow); return; }
    // An API answer (401, 404, …) is shown on the page; only real exceptions are logged.
    if (!(err instanceof ApiError)) console.error(err);
    showBanner(err);
    root.replaceChildren(
      h('div', { class: 'page-head' }, h('h1', { tabindex: '-1', text: document.title.split(' · ')[0] || 'Error' })),
      errorBox(err, () => route(), err && err.status === 404 ? 'Not found' : 'This page could not be loaded'));
  }
  clearTimeout(slow);
  if (controller.signal.aborted || current !== state) return;
  // Same page, new query (filters, paging): keep keyboard focus on the control that was used.
  const active = document.activeElement;
  const focusId = samePath && active && main.contains(active) ? active.id : '';
  const hadFocus = samePath && active && main.contains(active);
  main.replaceChildren(root);
  main.removeAttribute('aria-busy');
  if (!samePath) {
    window.scrollTo(0, 0);
    // Move focus to the new page's heading (announced by screen readers), except on the
    // first load, where focus stays at the top so the skip link comes first.
    const h1 = root.querySelector('h1');
    if (h1 && !firstRoute) h1.focus({ preventScroll: true });
  } else if (hadFocus) {
    const again = focusId ? document.getElementById(focusId) : null;
    const h1 = root.querySelector('h1');
    if (again) again.focus({ preventScroll: true });
    else if (h1) h1.focus({ preventScroll: true });
  }
  firstRoute = false;
}

// ---------------------------------------------------------------- live indicator

function paintLive(mode) {
  const el = document.getElementById('live-status');
  if (!el) return;
  const text = { live: 'Live', polling: 'Polling every 5 s', connecting: 'Connecting…' }[mode] || mode;
  el.className = 'live-pill live-' + mode;
  el.title = mode === 'live' ? 'Receiving live updates (Server-Sent Events)'
    : mode === 'polling' ? 'The live event stream is unavailable; refreshing every 5 seconds'
      : 'Connecting to the live event stream';
  el.replaceChildren(h('span', { class: 'live-dot', 'aria-hidden': 'true' }), text);
}

// ---------------------------------------------------------------- boot

function boot() {
  const skip = document.querySelector('.skip-link');
  if (skip) {
    skip.addEventListener('click', (e) => {
      e.preventDefault();
      const h1 = main.querySelector('h1');
      (h1 || main).focus();
    });
  }
  window.addEventListener('hashchange', route);
  window.addEventListener('unhandledrejection', (e) => {
    if (!isAbort(e.reason)) showBanner(e.reason);
  });
  live.onMode(paintLive);
  paintLive(live.getMode());
  live.start();
  route();
}

boot();
