// live.js — live updates. One EventSource on {prefix}/api/events (events `request` and
// `metrics`); when it is unavailable or keeps failing, pages are asked to poll every 5 s.
import { apiUrl } from './api.js';

const POLL_MS = 5000;
const RETRY_SSE_MS = 60000;

const subscribers = new Set();
const modeListeners = new Set();
let mode = 'connecting'; // connecting | live | polling
let source = null;
let pollTimer = null;
let retryTimer = null;
let failures = 0;

function setMode(m) {
  if (m === mode) return;
  mode = m;
  for (const fn of modeListeners) fn(mode);
}

function dispatch(kind, data) {
  for (const s of Array.from(subscribers)) {
    const fn = s[kind];
    if (fn) {
      try {
        fn(data);
      } catch (err) {
        console.error('live update handler failed', err);
      }
    }
  }
}

function parse(e) {
  try {
    return JSON.parse(e.data);
  } catch (_) {
    return null;
  }
}

function startPolling() {
  setMode('polling');
  if (pollTimer) return;
  pollTimer = setInterval(() => {
    if (document.hidden) return;
    dispatch('poll');
  }, POLL_MS);
}

function stopPolling() {
  if (pollTimer) clearInterval(pollTimer);
  pollTimer = null;
}

function connect() {
  if (!('EventSource' in window)) {
    startPolling();
    return;
  }
  let opened = false;
  let es;
  try {
    es = new EventSource(apiUrl('api/events'));
  } catch (_) {
    startPolling();
    return;
  }
  source = es;
  es.addEventListener('open', () => {
    opened = true;
    failures = 0;
    stopPolling();
    setMode('live');
  });
  es.addEventListener('request', (e) => {
    const d = parse(e);
    if (d) dispatch('request', d);
  });
  es.addEventListener('metrics', (e) => {
    const d = parse(e);
    if (d) dispatch('metrics', d);
  });
  es.addEventListener('error', () => {
    if (source !== es) return;
    failures++;
    // CLOSED: the server refused the stream (401/404/wrong type) and the browser gave up.
    // CONNECTING: the browser is retrying; after 3 failed attempts (or when the stream
    // never opened at all) fall back to polling and try the stream again later.
    if (es.readyState === EventSource.CLOSED || failures >= 3 || !opened) {
      es.close();
      source = null;
      startPolling();
      if (!retryTimer) {
        retryTimer = setTimeout(() => {
          retryTimer = null;
          failures = 0;
          connect();
        }, RETRY_SSE_MS);
      }
    } else {
      setMode('connecting');
    }
  });
}

/** Start once, at boot. */
export function start() {
  if (source || pollTimer) return;
  connect();
}

/**
 * handlers: {request(summary), metrics(doc), poll()} — `poll` is called every 5 s while
 * the event stream is unavailable. Returns the unsubscribe function.
 */
export function subscribe(handlers) {
  subscribers.add(handlers);
  return () => subscribers.delete(handlers);
}

export function getMode() {
  return mode;
}

export function onMode(fn) {
  modeListeners.add(fn);
  return () => modeListeners.delete(fn);
}
