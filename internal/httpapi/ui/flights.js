// The flight list. A row's seat count and lowest price are live figures, so
// every change this page makes (hold, release, booking, cancellation,
// expiry) refreshes the rows of the flights it touched, and the open flight's
// row follows its seat map (refreshed by the seat stream, or by polling).
function flightQuery(cursor) {
  const q = new URLSearchParams();
  for (const f of ['origin', 'destination', 'date']) { const v = $(f).value.trim().toUpperCase(); if (v) q.set(f, f === 'date' ? $(f).value : v); }
  q.set('limit', '20');
  if (cursor) q.set('cursor', cursor);
  const s = q.toString();
  return '/flights' + (s ? '?' + s : '');
}
async function loadFlights(more) {
  const res = await api('GET', flightQuery(more ? state.flightCursor : null));
  if (!more) { $('flightRows').replaceChildren(); state.flights.clear(); }
  for (const f of res.data || []) { state.flights.set(f.id, f); $('flightRows').append(flightRow(f)); }
  state.flightCursor = res.next_cursor || null;
  $('moreFlights').hidden = !state.flightCursor;
  $('flightsEmpty').hidden = state.flights.size > 0;
}
function flightRow(f) {
  // A click anywhere on the row (or Enter on its flight-number button, which bubbles here) opens the seat map.
  return el('tr', { 'data-id': f.id, class: state.flight && state.flight.id === f.id ? 'current' : '', onclick: () => run(null, () => selectFlight(f)) },
    el('td', {}, el('button', { type: 'button', class: 'link', title: 'Show the seat map', 'aria-label': `Seat map of ${f.number} ${f.origin} to ${f.destination}, ${f.departs_at}` }, f.number)),
    el('td', { text: f.origin + ' → ' + f.destination }),
    el('td', {}, timeCell(f.departs_at, 'day')),
    el('td', {}, timeCell(f.arrives_at, 'time', f.departs_at)),
    el('td', { class: 'num seats-left', text: f.seats_available + ' / ' + f.seats_total }),
    el('td', { class: 'num', text: money(f.lowest_price) }));
}
// putFlight replaces a flight's row (if listed) with its new figures.
function putFlight(f) {
  if (state.flights.has(f.id)) state.flights.set(f.id, f);
  if (state.flight && state.flight.id === f.id) state.flight = f;
  const old = $('flightRows').querySelector(`tr[data-id="${CSS.escape(String(f.id))}"]`);
  if (old) old.replaceWith(flightRow(f));
}
// refreshFlightRow asks the API for a flight's live figures; a failure
// leaves the row as it was.
async function refreshFlightRow(id) {
  if (id == null) return;
  try { putFlight((await api('GET', '/flights/' + encodeURIComponent(id), undefined, { quiet: true })).data); } catch (_) { /* kept */ }
}
// flightFromSeats recomputes the open flight's row from its seat map, which
// is at least as fresh as the row.
function flightFromSeats() {
  const f = state.flight;
  if (!f || !state.seats.length) return;
  const free = state.seats.filter((s) => s.status === 'available');
  const low = free.reduce((m, s) => (!m || s.price.amount < m.amount ? s.price : m), null);
  if (f.seats_available === free.length && JSON.stringify(f.lowest_price) === JSON.stringify(low)) return;
  putFlight(Object.assign({}, f, { seats_available: free.length, seats_total: state.seats.length, lowest_price: low }));
}
$('searchForm').addEventListener('submit', (e) => { e.preventDefault(); run(e.submitter, () => loadFlights(false)); });
$('clearSearch').addEventListener('click', (e) => { $('searchForm').reset(); run(e.target, () => loadFlights(false)); });
$('moreFlights').addEventListener('click', (e) => run(e.target, () => loadFlights(true)));
