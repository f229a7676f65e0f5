// Holding seats (through the waiting room when the flight is behind one),
// the current hold with its countdown, and booking it.

// ---- waiting room ----
// A hold refused with queue_token_required/invalid means the flight is on
// sale behind a queue: join it, show the position as it moves (polling
// about once a second), then show the seat map with the token in hand.
function queueToken(flightId) {
  const t = state.queue.get(flightId);
  return t && t.status === 'admitted' && t.token && Date.parse(t.expires_at) > Date.now() ? t.token : null;
}
function showQueue(t) {
  const waiting = t.status === 'waiting';
  $('queueArea').hidden = !waiting;
  $('seatArea').hidden = waiting;
  $('queuePos').textContent = t.position == null ? 'the order is drawn when the sale opens' : String(t.position);
  $('queueStatus').textContent = waiting ? '' : t.status;
}
async function joinQueue(flightId) {
  if (state.queueing) return; // already waiting in line; the loop below shows it
  state.queueing = true;
  try { await waitInQueue(flightId); } finally { state.queueing = false; }
}
async function waitInQueue(flightId) {
  let t = (await api('POST', '/flights/' + encodeURIComponent(flightId) + '/queue')).data;
  for (;;) {
    state.queue.set(flightId, t);
    if (state.flight && state.flight.id === flightId) showQueue(t);
    if (t.status !== 'waiting') break;
    await sleep(1000);
    t = (await api('GET', '/flights/' + encodeURIComponent(flightId) + '/queue/' + encodeURIComponent(t.id), undefined, { quiet: true })).data;
  }
  if (t.status === 'admitted') showOK('It is your turn: choose your seats before ' + new Date(t.expires_at).toLocaleTimeString() + '.');
  else showError({ message: 'Your turn in the waiting room has expired.', code: 'queue_expired' });
  await loadSeats().catch(() => {});
}

// ---- holding seats ----
async function createHold(body) {
  try {
    const token = queueToken(body.flight_id);
    let res;
    try {
      res = await api('POST', '/holds', body, { idem: true, quiet: true, extra: token ? { 'Queue-Token': token } : {} });
    } catch (err) {
      if (err.code === 'queue_token_required' || err.code === 'queue_token_invalid') { await joinQueue(body.flight_id); return; }
      showError(err);
      throw err;
    }
    state.selected.clear();
    setHold(res.data);
    showOK('Seats held: ' + res.data.seats.join(', '));
  } finally { await seatsTouched(body.flight_id); }
}
// seatsTouched refreshes what a change to a flight's seats makes stale: the
// open seat map (when it is that flight) and the flight's row.
async function seatsTouched(flightId) {
  if (state.flight && state.flight.id === flightId) await loadSeats().catch(() => {});
  await refreshFlightRow(flightId);
}
$('holdSelected').addEventListener('click', (e) => run(e.target, () => createHold({ flight_id: state.flight.id, seats: [...state.selected] })));
$('bestForm').addEventListener('submit', (e) => {
  e.preventDefault();
  run(e.submitter, () => createHold({ flight_id: state.flight.id, cabin: $('bestCabin').value, quantity: Number($('bestQty').value) }));
});

// ---- the current hold ----
function setHold(h) {
  state.hold = h;
  state.refetching = false;
  try { h && h.status === 'active' ? sessionStorage.setItem(HOLD_STORE, h.id) : sessionStorage.removeItem(HOLD_STORE); } catch (_) {}
  $('noHold').hidden = !!h;
  $('holdArea').hidden = !h;
  if (!h) { syncButtons(); return; }
  $('hId').textContent = h.id;
  const f = state.flights.get(h.flight_id) || (state.flight && state.flight.id === h.flight_id ? state.flight : null);
  $('hFlight').textContent = f ? `${f.number} ${f.origin} → ${f.destination}` : '#' + h.flight_id;
  $('hSeats').textContent = h.seats.join(', ');
  $('hTotal').textContent = money(h.total);
  $('hStatus').textContent = h.status;
  $('hStatus').className = 'status ' + h.status;
  $('hExpires').replaceChildren(h.status === 'active' ? timeCell(h.expires_at) : '');
  syncButtons();
  tick();
}
// tick counts the active hold down to its expires_at, on the second
// boundaries of the time left, so that the count and the flip to expired at
// zero are on time (the API expires the hold at that instant too). The page
// shows the expiry at once, then asks the API, which has the last word.
let tickTimer;
function tick() {
  clearTimeout(tickTimer);
  const h = state.hold;
  if (!h) return;
  if (h.status !== 'active') { $('hCountdown').textContent = h.status === 'expired' ? 'expired' : '—'; return; }
  const ms = new Date(h.expires_at) - Date.now();
  if (ms > 0) {
    const s = Math.ceil(ms / 1000);
    $('hCountdown').textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')} left`;
    tickTimer = setTimeout(tick, (ms % 1000 || 1000) + 5);
    return;
  }
  setHold(Object.assign({}, h, { status: 'expired' }));
  confirmExpiry(h);
}
async function confirmExpiry(h) {
  for (let i = 0; i < 5; i++) {
    try {
      const cur = (await api('GET', '/holds/' + encodeURIComponent(h.id), undefined, { quiet: true })).data;
      if (!state.hold || state.hold.id !== h.id) return; // the page moved on
      if (cur.status === 'active' && new Date(cur.expires_at) > new Date(h.expires_at)) { setHold(cur); return; } // extended elsewhere
      if (cur.status !== 'active') { setHold(cur); break; }
    } catch (_) { /* asked again below */ }
    await sleep(1000);
  }
  await seatsTouched(h.flight_id);
}
async function restoreHold() {
  let id = null;
  try { id = sessionStorage.getItem(HOLD_STORE); } catch (_) {}
  if (!id || !getKey() || (state.hold && state.hold.id === id)) return;
  try { setHold((await api('GET', '/holds/' + encodeURIComponent(id), undefined, { quiet: true })).data); }
  catch (_) { try { sessionStorage.removeItem(HOLD_STORE); } catch (_) {} }
}
// syncButtons disables what the current selection and hold do not allow.
function syncButtons() {
  $('holdSelected').disabled = $('clearSel').disabled = state.selected.size === 0;
  $('bestBtn').disabled = !state.seats.some((s) => s.status === 'available');
  const active = !!state.hold && state.hold.status === 'active';
  for (const id of ['extendHold', 'releaseHold', 'bookBtn', 'token']) $(id).disabled = !active;
}
const holdPath = () => '/holds/' + encodeURIComponent(state.hold.id);
$('extendHold').addEventListener('click', (e) => run(e.target, async () => {
  setHold((await api('POST', holdPath() + '/extend', undefined, { idem: true })).data);
  showOK('Hold extended.');
}));
$('releaseHold').addEventListener('click', (e) => run(e.target, async () => {
  const flightId = state.hold.flight_id;
  try { setHold((await api('DELETE', holdPath(), undefined, { idem: true })).data); showOK('Hold released; the seats are free again.'); }
  finally { await seatsTouched(flightId); }
}));
$('bookForm').addEventListener('submit', (e) => {
  e.preventDefault();
  run(e.submitter, async () => {
    const flightId = state.hold.flight_id;
    const res = await api('POST', '/bookings', { hold_id: state.hold.id, payment: { token: $('token').value } }, { idem: true });
    showOK(`Booked ${res.data.seats.join(', ')} for ${money(res.data.total)} — booking ${res.data.id}.`);
    setHold((await api('GET', holdPath(), undefined, { quiet: true }).catch(() => ({ data: Object.assign({}, state.hold, { status: 'booked' }) }))).data);
    await Promise.all([loadBookings(false), seatsTouched(flightId)]);
  });
});
