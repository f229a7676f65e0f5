// Helpers, messages, the API client and the API key: what every part of
// the page uses. The scripts are joined into the page's one inline script
// in the order internal/httpapi/webui.go lists them.
const $ = (id) => document.getElementById(id);
const KEY_STORE = 'reservd.apiKey', HOLD_STORE = 'reservd.holdId', TRIPS_STORE = 'reservd.tripIds', MAX_SEATS = 10;
const state = {
  queue: new Map(), queueing: false, flights: new Map(), flight: null, seats: [], selected: new Set(),
  hold: null, flightCursor: null, bookingCursor: null, refetching: false,
};

// ---- helpers: elements (textContent only, never innerHTML), money, time ----
function el(tag, props, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}
// minorDigits is a currency's ISO 4217 exponent (2 for USD, 0 for JPY).
function minorDigits(currency) {
  try { return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits; } catch (_) { return 2; }
}
function money(m) {
  if (!m) return '—';
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency: m.currency }).format(m.amount / 10 ** minorDigits(m.currency));
  } catch (_) { return m.amount + ' ' + m.currency + ' (minor units)'; }
}
const FMT = {
  full: { dateStyle: 'medium', timeStyle: 'short' },
  day: { weekday: 'short', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' },
  short: { month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' },
  time: { hour: 'numeric', minute: '2-digit' },
};
// timeCell shows a time in the browser's zone, the UTC time in its tooltip;
// with `from` (a departure) it shows the clock time and "+N" days after it, as on a ticket.
function timeCell(iso, fmt = 'full', from = null) {
  const d = new Date(iso);
  if (isNaN(d)) return el('time', { datetime: iso }, iso);
  let text = d.toLocaleString(undefined, FMT[fmt]);
  if (from) {
    const day = (x) => Date.UTC(x.getFullYear(), x.getMonth(), x.getDate()) / 864e5;
    const n = day(d) - day(new Date(from));
    if (n) text += ` +${n}`;
  }
  return el('time', { datetime: iso, title: 'UTC: ' + d.toISOString().replace('.000Z', 'Z') }, text);
}
function seatParts(label) { return { row: parseInt(label.replace(/\D/g, ''), 10) || 0, letter: label.slice(-1) }; }
const cabinName = (c) => c.replace('_', ' ');
function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16)); b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- messages ----
function showBanner(kind, build) {
  const box = $('bannerText');
  box.replaceChildren();
  build(box);
  $('banner').className = 'banner ' + kind;
  $('banner').hidden = false;
}
function showError(err) {
  showBanner('error', (box) => {
    box.append(el('strong', { text: err.message || 'Request failed' }), ' ', el('code', { text: '(' + (err.code || 'error') + ')' }));
    if (err.details && typeof err.details === 'object') {
      const ul = el('ul');
      for (const [k, v] of Object.entries(err.details)) ul.append(el('li', { text: k + ': ' + (typeof v === 'string' ? v : Array.isArray(v) ? v.join(', ') : JSON.stringify(v)) }));
      box.append(ul);
    }
    if (err.status === 401) box.append(el('p', { text: 'Paste a valid API key in the field at the top right.', style: 'margin:4px 0 0' }));
  });
}
let okTimer;
function showOK(text) {
  showBanner('ok', (box) => box.append(el('strong', { text })));
  clearTimeout(okTimer);
  okTimer = setTimeout(() => { if ($('banner').classList.contains('ok')) $('banner').hidden = true; }, 8000);
}
// clearError takes down an error banner: a later action that succeeded
// makes it stale. A success message stays until its own timer.
function clearError() { if ($('banner').classList.contains('error')) $('banner').hidden = true; }
$('bannerClose').addEventListener('click', () => { $('banner').hidden = true; });

// ---- API ----
class ApiError extends Error { constructor(body) { super(body.message); Object.assign(this, body); } }
async function api(method, path, body, { idem = false, quiet = false, extra = {} } = {}) {
  const headers = Object.assign({ Accept: 'application/json' }, extra);
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const key = getKey();
  if (key) headers.Authorization = 'Bearer ' + key;
  if (idem) headers['Idempotency-Key'] = uuid();
  let res, json = null;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    json = await res.json().catch(() => null);
  } catch (e) {
    const err = new ApiError({ message: 'Network error: ' + e.message, code: 'network_error' });
    if (!quiet) showError(err);
    throw err;
  }
  if (!res.ok) {
    const err = new ApiError(Object.assign({ message: res.statusText || 'Request failed', code: 'http_' + res.status }, json || {}, { status: res.status }));
    if (!quiet) showError(err);
    if (res.status === 401) askForKey();
    throw err;
  }
  return json;
}
// run wraps a UI action: disables the button while it runs and swallows API
// errors (already shown), so that no action ends in an uncaught rejection. A
// user's action takes down an earlier error banner as it starts (its own
// errors show anew); background work (user false) leaves the banner alone.
async function run(button, fn, user = true) {
  if (button) button.disabled = true;
  if (user) clearError();
  try {
    await fn();
  } catch (e) { if (!(e instanceof ApiError)) { showError({ message: String(e.message || e), code: 'client_error' }); console.error(e); } }
  finally { if (button) button.disabled = false; syncButtons(); }
}
// background runs work nobody clicked for (start-up, timers).
const background = (fn) => run(null, fn, false);

// ---- API key ----
function getKey() { try { return sessionStorage.getItem(KEY_STORE) || ''; } catch (_) { return $('apiKey').value.trim(); } }
function askForKey() { $('keyForm').classList.add('attention'); $('apiKey').focus(); }
$('apiKey').value = getKey();
$('keyForm').addEventListener('submit', (e) => {
  e.preventDefault();
  const k = $('apiKey').value.trim();
  try { k ? sessionStorage.setItem(KEY_STORE, k) : sessionStorage.removeItem(KEY_STORE); } catch (_) { /* private mode: kept in the field */ }
  $('keyForm').classList.remove('attention');
  $('banner').hidden = true;
  // A refused key shows its 401 in the banner (from api()); run() keeps it from
  // becoming an uncaught rejection.
  run($('saveKey'), async () => {
    await loadBookings(false);
    await restoreHold();
    if (k) showOK('API key saved.');
  });
});
$('forgetKey').addEventListener('click', (e) => run(e.target, async () => {
  try { sessionStorage.removeItem(KEY_STORE); sessionStorage.removeItem(HOLD_STORE); } catch (_) {}
  $('apiKey').value = '';
  setHold(null);
  await loadBookings(false);
}));
