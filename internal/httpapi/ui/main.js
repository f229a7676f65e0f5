// Views (#flights, #trips, #flight=ID) and start-up.
function showView() {
  const trip = location.hash.startsWith('#trips'), wasTrip = !$('tripsView').hidden;
  $('flightsView').hidden = trip;
  $('tripsView').hidden = !trip;
  for (const [id, on] of [['navFlights', !trip], ['navTrips', trip]]) on ? $(id).setAttribute('aria-current', 'page') : $(id).removeAttribute('aria-current');
  // The seat map is followed only while it is in view.
  if (trip) unwatchSeats();
  else if (wasTrip && state.flight) { watchSeats(state.flight.id); background(loadSeats); }
  return trip;
}
window.addEventListener('hashchange', () => { if (!showView()) background(openFromHash); });
async function openFromHash() {
  const m = /^#flight=(\d+)$/.exec(location.hash);
  if (!m || (state.flight && String(state.flight.id) === m[1])) return;
  await selectFlight(state.flights.get(Number(m[1])) || (await api('GET', '/flights/' + m[1])).data);
}

// ---- start: flights, then a flight from the URL (#flight=ID), a saved hold, bookings, the last trip ----
(async () => {
  showView();
  if (!$('oDate').value) $('oDate').value = new Date(Date.now() + 30 * 864e5).toISOString().slice(0, 10);
  renderTripList();
  await background(() => loadFlights(false));
  await background(openFromHash);
  await background(restoreHold);
  await background(() => loadBookings(false));
  renderSelection();
})();
