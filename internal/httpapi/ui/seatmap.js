// The seat map of the open flight: seats by row with their prices (a colour
// per price tier, listed in the legend), the selection, and best available
// for the cabins this flight has.
const MAX_TIERS = 6;
async function selectFlight(f) {
  if (!state.flight || state.flight.id !== f.id) { state.selected.clear(); state.seats = []; }
  state.flight = f;
  history.replaceState(null, '', '#flight=' + encodeURIComponent(f.id));
  for (const tr of $('flightRows').children) tr.classList.toggle('current', tr.dataset.id === String(f.id));
  $('seatHint').hidden = true;
  const q = state.queue.get(f.id);
  $('queueArea').hidden = !(q && q.status === 'waiting');
  $('seatArea').hidden = !$('queueArea').hidden;
  $('seatTitle').textContent = 'Seat map — ' + f.number;
  const info = $('flightInfo');
  info.replaceChildren(el('strong', { text: f.origin + ' → ' + f.destination }), ' · departs ', timeCell(f.departs_at, 'day'), ' · arrives ', timeCell(f.arrives_at, 'time', f.departs_at));
  watchSeats(f.id); // live.js: the stream, or polling
  await loadSeats();
}
async function loadSeats() {
  if (!state.flight) return;
  const id = state.flight.id, seq = live.seq;
  const res = await api('GET', '/flights/' + encodeURIComponent(id) + '/seats');
  if (!state.flight || state.flight.id !== id) return;
  // A stream event that came while this answer was on its way is newer than it.
  if (live.on && live.flightId === id && live.seq !== seq) return;
  setSeats(res.data || []);
}
// setSeats shows a whole seat map; patchSeats changes the status of some seats.
function setSeats(seats) {
  state.seats = seats;
  seatsChanged();
}
function patchSeats(changes) {
  const by = new Map(changes.map((c) => [c.seat, c.status]));
  let changed = false;
  state.seats = state.seats.map((s) => {
    const st = by.get(s.seat);
    if (!st || st === s.status) return s;
    changed = true;
    return Object.assign({}, s, { status: st });
  });
  if (changed) seatsChanged();
}
function seatsChanged() {
  const free = new Set(state.seats.filter((s) => s.status === 'available').map((s) => s.seat));
  for (const s of [...state.selected]) if (!free.has(s)) state.selected.delete(s);
  renderSeats();
  flightFromSeats();
}
// priceTiers ranks the flight's distinct prices, cheapest first, in at most
// MAX_TIERS tiers (neighbouring prices share one when there are more).
function priceTiers(seats) {
  const amounts = [...new Set(seats.map((s) => s.price.amount))].sort((a, b) => a - b);
  const per = Math.ceil(amounts.length / MAX_TIERS) || 1;
  const tierOf = new Map(amounts.map((a, i) => [a, Math.floor(i / per)]));
  const tiers = [];
  for (const s of seats) {
    const t = tierOf.get(s.price.amount);
    const tier = tiers[t] || (tiers[t] = { min: s.price, max: s.price, cabins: new Set(), free: 0 });
    if (s.price.amount < tier.min.amount) tier.min = s.price;
    if (s.price.amount > tier.max.amount) tier.max = s.price;
    tier.cabins.add(cabinName(s.cabin));
    if (s.status === 'available') tier.free++;
  }
  return { tierOf, tiers };
}
function renderTiers(tiers) {
  $('priceTiers').replaceChildren(el('strong', { text: 'Prices:' }), ...tiers.map((t, i) => el('span', { class: 'tier', 'data-tier': i },
    el('i', { style: `background:var(--tier${i})` }),
    money(t.min) + (t.max.amount !== t.min.amount ? '–' + money(t.max) : '') + ' ' + [...t.cabins].join(', '),
    el('span', { class: 'muted', text: ` (${t.free} free)` }))));
}
// renderCabins offers best available in the cabins this flight has, each
// with its free seats; a cabin with none cannot be chosen. The choice stays
// while its cabin has seats, else it is the cabin of the cheapest free seat.
function renderCabins() {
  const sel = $('bestCabin'), was = sel.value;
  const cabins = new Map();
  let cheapest = null;
  for (const s of state.seats) {
    const free = s.status === 'available';
    cabins.set(s.cabin, (cabins.get(s.cabin) || 0) + (free ? 1 : 0));
    if (free && (!cheapest || s.price.amount < cheapest.price.amount)) cheapest = s;
  }
  sel.replaceChildren(...[...cabins].map(([c, n]) => el('option', { value: c, disabled: n === 0, text: `${cabinName(c)[0].toUpperCase()}${cabinName(c).slice(1)} (${n} free)` })));
  sel.value = cabins.get(was) ? was : cheapest ? cheapest.cabin : '';
}
function renderSeats() {
  const map = $('seatMap');
  // The map is rebuilt on every change (live ones included): keep the
  // keyboard focus on the seat that had it.
  const focused = map.contains(document.activeElement) ? document.activeElement.dataset.seat : null;
  const { tierOf, tiers } = priceTiers(state.seats);
  renderTiers(tiers);
  renderCabins();
  const letters = [...new Set(state.seats.map((s) => seatParts(s.seat).letter))].sort();
  const aisle = Math.ceil(letters.length / 2); // a gap column after the first half
  const cols = ['rowno', ...letters.slice(0, aisle), 'aisle', ...letters.slice(aisle)];
  map.style.gridTemplateColumns = cols.map((c) => (c === 'rowno' ? '28px' : c === 'aisle' ? '16px' : 'auto')).join(' ');
  map.replaceChildren();
  const rows = new Map();
  for (const s of state.seats) { const { row } = seatParts(s.seat); if (!rows.has(row)) rows.set(row, []); rows.get(row).push(s); }
  let cabin = null;
  for (const c of cols) map.append(el('div', { class: 'colhead', text: c.length === 1 ? c : '' }));
  for (const row of [...rows.keys()].sort((a, b) => a - b)) {
    const seats = rows.get(row);
    if (seats[0].cabin !== cabin) { cabin = seats[0].cabin; map.append(el('div', { class: 'cabin', text: cabinName(cabin) })); }
    const byLetter = new Map(seats.map((s) => [seatParts(s.seat).letter, s]));
    for (const c of cols) {
      if (c === 'rowno') { map.append(el('div', { class: 'rowno', text: row })); continue; }
      const s = byLetter.get(c);
      if (!s) { map.append(el('div')); continue; }
      const sel = state.selected.has(s.seat);
      map.append(el('button', {
        type: 'button', class: `seat ${s.status} ${s.cabin} tier${tierOf.get(s.price.amount)}${sel ? ' selected' : ''}`, disabled: s.status !== 'available',
        'data-seat': s.seat, 'data-status': s.status, 'data-price': money(s.price),
        'aria-pressed': sel ? 'true' : 'false', title: `${s.seat} · ${cabinName(s.cabin)} · ${money(s.price)} · ${s.status}`,
        'aria-label': `Seat ${s.seat}, ${cabinName(s.cabin)}, ${money(s.price)}, ${s.status}`, onclick: () => toggleSeat(s.seat),
      }, s.seat));
    }
  }
  if (focused) { const b = map.querySelector(`[data-seat="${CSS.escape(focused)}"]`); if (b) b.focus(); }
  renderSelection();
}
function toggleSeat(label) {
  if (state.selected.has(label)) state.selected.delete(label);
  else if (state.selected.size >= MAX_SEATS) { showError({ message: `You can hold at most ${MAX_SEATS} seats at once.`, code: 'too_many_seats' }); return; }
  else state.selected.add(label);
  renderSeats();
}
function renderSelection() {
  const sel = state.seats.filter((s) => state.selected.has(s.seat));
  const cur = sel.length ? sel[0].price.currency : null;
  const total = sel.every((s) => s.price.currency === cur) ? { amount: sel.reduce((a, s) => a + s.price.amount, 0), currency: cur } : null;
  $('selection').textContent = sel.length
    ? `Selected ${sel.length}: ${sel.map((s) => s.seat + ' ' + money(s.price)).join(', ')}${total ? ' — total ' + money(total) : ''}`
    : 'Click available seats to select up to ' + MAX_SEATS + '.';
  syncButtons();
}
$('clearSel').addEventListener('click', () => { state.selected.clear(); renderSeats(); });
$('refreshSeats').addEventListener('click', (e) => run(e.target, loadSeats));
