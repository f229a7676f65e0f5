// My bookings: the key's bookings, newest first, each cancelable while confirmed.
async function loadBookings(more) {
  if (!more) { $('bookingRows').replaceChildren(); state.bookingCursor = null; }
  $('moreBookings').hidden = true;
  if (!getKey()) { $('bookingsEmpty').hidden = false; $('bookingsEmpty').textContent = 'Save an API key to see your bookings.'; return; }
  const res = await api('GET', '/bookings' + (more && state.bookingCursor ? '?cursor=' + encodeURIComponent(state.bookingCursor) : ''));
  for (const b of res.data || []) $('bookingRows').append(bookingRow(b));
  state.bookingCursor = res.next_cursor || null;
  $('moreBookings').hidden = !state.bookingCursor;
  $('bookingsEmpty').hidden = $('bookingRows').children.length > 0;
  $('bookingsEmpty').textContent = 'No bookings yet.';
}
function bookingRow(b) {
  const f = state.flights.get(b.flight_id);
  const cancel = el('button', { type: 'button', class: 'danger', 'aria-label': 'Cancel booking ' + b.id }, 'Cancel');
  cancel.addEventListener('click', () => {
    if (!confirm(`Cancel booking ${b.id} (${b.seats.join(', ')})? It is refunded.`)) return;
    run(cancel, async () => {
      const res = await api('POST', '/bookings/' + encodeURIComponent(b.id) + '/cancel', undefined, { idem: true });
      tr.replaceWith(bookingRow(res.data));
      showOK('Booking ' + b.id + ' canceled and refunded.');
      await seatsTouched(b.flight_id);
    });
  });
  const tr = el('tr', {},
    el('td', {}, el('strong', { text: f ? `${f.number} ${f.origin} → ${f.destination}` : 'Flight #' + b.flight_id }), el('br'), el('code', { class: 'small', text: b.id })),
    el('td', { class: 'wrap', text: b.seats.join(', ') }),
    el('td', { class: 'num', text: money(b.total) }),
    el('td', {}, el('span', { class: 'status ' + b.status, text: b.status })),
    el('td', {}, timeCell(b.created_at, 'short')),
    el('td', {}, b.status === 'confirmed' ? cancel : ''));
  return tr;
}
$('refreshBookings').addEventListener('click', (e) => run(e.target, () => loadBookings(false)));
$('moreBookings').addEventListener('click', (e) => run(e.target, () => loadBookings(true)));
