// The live seat map. The open flight's seats come from the public seat
// stream, GET /flights/{id}/seats/stream (server-sent events: first
// `snapshot`, the seat map as GET /flights/{id}/seats answers it, then
// `seats`, [{"seat", "status"}] for each change). EventSource reconnects by
// itself, and each reconnection starts with a new snapshot. Where there is
// no stream (a server without it answers 404, which EventSource does not
// retry) or while it is down, the seat map is polled every POLL_MS instead,
// and the stream is tried again every STREAM_RETRY_MS.
const POLL_MS = 3000, STREAM_RETRY_MS = 30000;
// seq counts the stream's events, so that a seat map fetched meanwhile is
// known to be older than them (loadSeats).
const live = { flightId: null, source: null, on: false, poll: null, retry: null, seq: 0 };

function watchSeats(flightId) {
  if (live.flightId === flightId && (live.source || live.poll)) return;
  unwatchSeats();
  live.flightId = flightId;
  openStream();
}
function unwatchSeats() {
  if (live.source) live.source.close();
  clearInterval(live.poll);
  clearTimeout(live.retry);
  Object.assign(live, { flightId: null, source: null, on: false, poll: null, retry: null, seq: live.seq + 1 });
}
function openStream() {
  const id = live.flightId;
  if (typeof EventSource !== 'function') { startPolling(); return; }
  const es = new EventSource('/flights/' + encodeURIComponent(id) + '/seats/stream');
  live.source = es;
  const mine = () => live.source === es && live.flightId === id && state.flight && state.flight.id === id;
  es.addEventListener('snapshot', (e) => {
    if (!mine()) return;
    const seats = parseEvent(e);
    if (!seats) return;
    live.seq++;
    setSeats(Array.isArray(seats) ? seats : seats.data || []);
    setLive(true);
  });
  es.addEventListener('seats', (e) => {
    if (!mine() || !live.on) return; // changes count only on top of a snapshot
    const changes = parseEvent(e);
    if (!Array.isArray(changes)) return;
    live.seq++;
    patchSeats(changes);
  });
  es.addEventListener('error', () => {
    if (live.source !== es) return;
    setLive(false);
    if (es.readyState === EventSource.CLOSED) {
      // Refused (no such endpoint yet, or an error answer): poll, and try the stream later.
      live.source = null;
      clearTimeout(live.retry);
      live.retry = setTimeout(() => { if (live.flightId === id && !live.source) openStream(); }, STREAM_RETRY_MS);
    }
    startPolling(); // while EventSource reconnects, or instead of it
  });
}
function parseEvent(e) {
  try { return JSON.parse(e.data); } catch (_) { console.warn('seat stream: an event that is not JSON', e.type); return null; }
}
function setLive(on) {
  live.on = on;
  if (on) { clearInterval(live.poll); live.poll = null; }
  $('liveState').hidden = false;
  $('liveState').className = 'live ' + (on ? 'on' : 'off');
  $('liveState').textContent = on ? 'live' : `refreshed every ${POLL_MS / 1000} s`;
}
function startPolling() {
  if (live.poll) return;
  setLive(false);
  live.poll = setInterval(() => {
    if (live.on || document.hidden || !state.flight || state.flight.id !== live.flightId) return;
    const id = live.flightId;
    api('GET', '/flights/' + encodeURIComponent(id) + '/seats', undefined, { quiet: true })
      .then((res) => { if (state.flight && state.flight.id === id && !live.on) setSeats(res.data || []); })
      .catch(() => { /* the next poll tries again */ });
  }, POLL_MS);
}
