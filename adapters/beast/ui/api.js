// api.js — where the dashboard lives and how it talks to the JSON API.
//
// The page is served at `{prefix}/`. The server replaces the `{{PREFIX}}` placeholder of
// <meta name="tether-prefix"> with the configured prefix; location.pathname is the
// authority when the two disagree (a reverse proxy may mount the dashboard elsewhere).

function computeBase() {
  const path = location.pathname;
  const meta = document.querySelector('meta[name="tether-prefix"]');
  let prefix = meta ? meta.getAttribute('content') || '' : '';
  if (prefix.includes('{{')) prefix = '';               // placeholder not filled in
  prefix = prefix.replace(/\/+$/, '');
  if (prefix.startsWith('/') && (path === prefix || path.startsWith(prefix + '/'))) return prefix;
  // Index is served at `{prefix}/`: everything up to the last `/` is the prefix.
  return path.slice(0, path.lastIndexOf('/'));
}

export const BASE = computeBase();

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/** "k=v&…" of the non-empty params (true is sent as 1); "" when there are none. */
export function queryString(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === '' || v === false) continue;
    q.set(k, v === true ? '1' : String(v));
  }
  return q.toString();
}

/** URL of `path` (relative to the prefix, e.g. "api/requests") with the non-empty params. */
export function apiUrl(path, params) {
  const qs = queryString(params);
  return `${BASE}/${path}${qs ? '?' + qs : ''}`;
}

async function failure(res) {
  let body = null;
  try {
    body = await res.json();
  } catch (_) {
    body = null;
  }
  const code = body && typeof body.error === 'string' ? body.error : `http_${res.status}`;
  let message = body && typeof body.message === 'string' && body.message
    ? body.message
    : `The server answered HTTP ${res.status}${res.statusText ? ' ' + res.statusText : ''}.`;
  if (res.status === 401) {
    // A bearer-token setup signs browsers in with a link ({prefix}/?token=…) that sets a
    // cookie; when the cookie is gone (expired, cleared, token rotated) that link is the way back.
    const challenge = res.headers.get('WWW-Authenticate') || '';
    message = /^\s*Bearer/i.test(challenge)
      ? `Authentication required: your dashboard sign-in is missing or no longer valid. Open the sign-in link you were given (${BASE}/?token=…) again, then reload this page.`
      : 'Authentication required: sign in to the host application (or provide its credentials) and reload this page.';
    if (body && body.message) message += ` (${body.message})`;
  }
  return new ApiError(res.status, code, message);
}

async function send(url, init) {
  let res;
  try {
    res = await fetch(url, { credentials: 'same-origin', cache: 'no-store', ...init });
  } catch (err) {
    if (err && err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network', 'Network error: the dashboard server could not be reached.');
  }
  if (!res.ok) throw await failure(res);
  if (res.status === 204) return null;
  try {
    return await res.json();
  } catch (err) {
    if (err && err.name === 'AbortError') throw err;
    throw new ApiError(res.status, 'bad_json', 'The server sent a response that is not valid JSON.');
  }
}

/** GET a JSON document. `path` is relative to the prefix ("metrics", "api/requests/…"). */
export function getJson(path, params, signal) {
  return send(apiUrl(path, params), { method: 'GET', headers: { Accept: 'application/json' }, signal });
}

/** POST a JSON body; resolves with the parsed answer (201/200) or throws ApiError. */
export function postJson(path, body, signal) {
  return send(apiUrl(path), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify(body),
    signal,
  });
}

export function isAbort(err) {
  return !!err && err.name === 'AbortError';
}

/** Path segment encoding for ids in API paths. */
export const seg = encodeURIComponent;
