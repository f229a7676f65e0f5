// Other airlines: an offer search across the providers (each provider's
// answer shown), booking a trip (POST /trips books the cheapest offer in the
// background), its attempts as they happen (GET /trips/{id} polled until
// the trip is final) and canceling a confirmed trip.
const TRIP_POLL_MS = 1000, FINAL_TRIP = new Set(['confirmed', 'failed', 'canceled']);
const trips = { search: null, trip: null, polling: null };

async function searchOffers() {
  const search = {
    origin: $('oOrigin').value.trim().toUpperCase(), destination: $('oDestination').value.trim().toUpperCase(),
    departure_date: $('oDate').value, adults: String(Math.max(1, Number($('oAdults').value) || 1)), currency: $('oCurrency').value,
  };
  $('providerRows').replaceChildren();
  $('offerRows').replaceChildren();
  $('offersEmpty').textContent = 'Searching…';
  $('offersEmpty').hidden = false;
  let res;
  try { res = await api('GET', '/offers?' + new URLSearchParams(search)); }
  catch (err) { $('offersEmpty').textContent = 'No offers.'; if (err.code === 'no_providers') renderProviders(err.details && err.details.providers); throw err; }
  renderProviders(res.providers);
  for (const o of res.data || []) $('offerRows').append(offerRow(o));
  $('offersEmpty').hidden = (res.data || []).length > 0;
  $('offersEmpty').textContent = 'No offers for this search.';
  trips.search = search;
  renderTripForm();
}
function renderProviders(list) {
  $('providerRows').replaceChildren(...(list || []).map((p) => el('tr', { 'data-provider': p.name },
    el('td', {}, el('strong', { text: p.name }), p.simulated ? el('span', { class: 'muted', text: ' (simulator)' }) : null),
    el('td', {}, el('span', { class: 'status ' + p.status, text: p.status.replace('_', ' ') })),
    el('td', { class: 'num', text: p.offers }),
    el('td', { class: 'num', text: p.latency_ms + ' ms' }))));
  $('providersEmpty').hidden = !!(list && list.length);
}
function offerRow(o) {
  const segs = o.segments || [];
  const first = segs[0], last = segs[segs.length - 1];
  const priceCell = el('td', { class: 'num' }, el('strong', { text: money(o.price) }));
  if (o.provider_price && o.provider_price.currency !== o.price.currency) priceCell.append(el('br'), el('span', { class: 'muted', text: money(o.provider_price) }));
  return el('tr', { 'data-offer': o.id },
    el('td', { text: o.provider }),
    el('td', { class: 'wrap', text: segs.map((s) => `${s.carrier} ${s.flight_number} ${s.origin}→${s.destination}`).join(', ') }),
    el('td', {}, first ? timeCell(first.departs_at, 'day') : '—'),
    el('td', {}, last ? timeCell(last.arrives_at, 'time', first.departs_at) : '—'),
    priceCell);
}
// renderTripForm asks for one traveller per adult of the last search.
function renderTripForm() {
  const s = trips.search;
  $('tripRoute').textContent = s ? `${s.origin} → ${s.destination} on ${s.departure_date}, ${s.adults} adult${s.adults === '1' ? '' : 's'}, priced in ${s.currency}.` : $('tripRoute').textContent;
  const rows = $('paxRows');
  const n = s ? Number(s.adults) : 0;
  while (rows.children.length > n) rows.lastChild.remove();
  while (rows.children.length < n) {
    const i = rows.children.length;
    rows.append(el('fieldset', { class: 'pax', style: 'border:0;padding:0;margin:0 0 8px' },
      el('legend', { class: 'sr-only', text: 'Traveller ' + (i + 1) }),
      el('label', {}, 'Given name', el('input', { name: 'given_name', required: true, autocomplete: 'off' })),
      el('label', {}, 'Family name', el('input', { name: 'family_name', required: true, autocomplete: 'off' })),
      el('label', {}, 'Born on', el('input', { name: 'born_on', type: 'date', required: true }))));
  }
  $('tripBook').disabled = !s;
}
async function bookTrip() {
  const s = trips.search;
  const passengers = [...$('paxRows').children].map((f) => ({
    given_name: f.querySelector('[name=given_name]').value.trim(), family_name: f.querySelector('[name=family_name]').value.trim(), born_on: f.querySelector('[name=born_on]').value,
  }));
  const body = { origin: s.origin, destination: s.destination, departure_date: s.departure_date, currency: s.currency, passengers };
  const max = $('tMaxPrice').value;
  if (max !== '') body.max_price = { amount: Math.round(Number(max) * 10 ** minorDigits(s.currency)), currency: s.currency };
  const res = await api('POST', '/trips', body, { idem: true });
  rememberTrip(res.data.id);
  showOK('Trip ' + res.data.id + ' is being booked.');
  await followTrip(res.data);
}
// followTrip shows a trip and polls it until it is final.
async function followTrip(t) {
  const id = t.id, pending = !FINAL_TRIP.has(t.status);
  trips.trip = t;
  showTrip(t);
  if (trips.polling === id) return;
  trips.polling = id;
  try {
    while (trips.trip && trips.trip.id === id && !FINAL_TRIP.has(trips.trip.status)) {
      await sleep(TRIP_POLL_MS);
      if (!trips.trip || trips.trip.id !== id) break;
      try { trips.trip = (await api('GET', '/trips/' + encodeURIComponent(id), undefined, { quiet: true })).data; showTrip(trips.trip); }
      catch (err) { if (err.status === 404 || err.status === 401) { showError(err); break; } /* else asked again */ }
    }
  } finally { if (trips.polling === id) trips.polling = null; }
  if (!pending || !trips.trip || trips.trip.id !== id) return; // announce only what happened while followed
  if (trips.trip.status === 'confirmed') showOK(`Trip confirmed with ${trips.trip.provider}: reference ${trips.trip.provider_booking_reference}.`);
  if (trips.trip.status === 'failed') showError({ message: 'The trip could not be booked with any provider; see its attempts.', code: 'trip_failed' });
}
function showTrip(t) {
  $('noTrip').hidden = true;
  $('tripArea').hidden = false;
  $('tId').textContent = t.id;
  $('tStatus').textContent = t.status;
  $('tStatus').className = 'status ' + t.status;
  $('tProvider').textContent = t.provider || '—';
  $('tRef').textContent = t.provider_booking_reference || '—';
  $('tPrice').textContent = money(t.price);
  $('tRefund').textContent = t.status === 'canceled' ? (t.refund ? money(t.refund) : 'not stated by the provider') : '—';
  const attempts = t.attempts || [];
  $('attemptRows').replaceChildren(...attempts.map((a, i) => el('tr', {},
    el('td', { text: i + 1 }), el('td', { text: a.provider }), el('td', { class: 'num', text: money(a.price) }),
    el('td', {}, el('span', { class: 'status ' + a.outcome, text: a.outcome.replace('_', ' ') })),
    el('td', { class: 'wrap', text: a.detail || '' }))));
  $('attemptsEmpty').hidden = attempts.length > 0;
  $('attemptsEmpty').textContent = FINAL_TRIP.has(t.status) ? 'No attempt was made.' : 'No attempt yet: the trip is queued.';
  $('cancelTrip').hidden = t.status !== 'confirmed';
  renderTripList();
}
function tripIds() { try { return JSON.parse(sessionStorage.getItem(TRIPS_STORE) || '[]'); } catch (_) { return []; } }
function rememberTrip(id) {
  const ids = [id, ...tripIds().filter((x) => x !== id)].slice(0, 20);
  try { sessionStorage.setItem(TRIPS_STORE, JSON.stringify(ids)); } catch (_) {}
}
function renderTripList() {
  const cur = trips.trip && trips.trip.id;
  $('tripList').replaceChildren(...tripIds().map((id) => el('li', {}, id === cur ? el('strong', { text: id }) :
    el('button', { type: 'button', class: 'link', text: id, onclick: (e) => run(e.target, async () => followTrip((await api('GET', '/trips/' + encodeURIComponent(id))).data)) }))));
}
$('offerForm').addEventListener('submit', (e) => { e.preventDefault(); run(e.submitter, searchOffers); });
$('tripForm').addEventListener('submit', (e) => { e.preventDefault(); run(e.submitter, bookTrip); });
$('cancelTrip').addEventListener('click', (e) => {
  const t = trips.trip;
  if (!t || !confirm(`Cancel trip ${t.id} with ${t.provider}? The provider refunds what its fare rules allow.`)) return;
  run(e.target, async () => {
    const res = await api('POST', '/trips/' + encodeURIComponent(t.id) + '/cancel', undefined, { idem: true });
    trips.trip = res.data;
    showTrip(res.data);
    showOK('Trip ' + t.id + ' canceled' + (res.data.refund ? '; refund ' + money(res.data.refund) : '') + '.');
  });
});
