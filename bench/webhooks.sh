#!/usr/bin/env bash
# bench/webhooks.sh — what webhooks cost POST /holds, and how long an event
# takes from its transaction to a receiver. Two parts, on PostgreSQL, each
# run on a fresh database. Documented in docs/PERFORMANCE.md ("Events",
# "Webhooks").
#
#   bench/webhooks.sh               # or: make bench-webhooks
#   ROUNDS=3 DURATION=15s bench/webhooks.sh
#   LAT_WEBHOOK_INTERVAL=20ms LAT_PER_ENDPOINT=16 bench/webhooks.sh   # part 2 with a busier dispatcher
#
# 1. Throughput: the hold run of bench/holds.sh (one seat per request, each
#    with its own Idempotency-Key, CONNECTIONS connections), shorter, with
#    one webhook endpoint subscribed to "*" pointing at a local receiver
#    (`loadgen webhook-receiver`, which answers 200 and verifies every
#    signature) and with none, ROUNDS times in ABAB order so that a machine
#    shared with other work drifts into both alike. Every hold is made with
#    one API key, the endpoint's owner, so the endpoint is sent every event
#    (an endpoint receives only its own key's events). reservd runs with
#    the production WEBHOOK_* settings (WEBHOOK_ALLOW_PRIVATE=true aside,
#    in both configurations); export WEBHOOK_INTERVAL,
#    WEBHOOK_CONCURRENCY_PER_ENDPOINT or WEBHOOK_CONCURRENCY to try others.
#    With DELIVERY=worker both runs use the split deployment instead: the
#    replica under load has WEBHOOK_DELIVER=false, and a second reservd on
#    the same database, started with `nice -n 19` (a delivery worker that
#    takes only the CPU the API leaves), sends the events; after each run
#    the script waits up to DRAIN for the worker to deliver every event and
#    reports how long it took. CPU per hold then includes the worker's.
# 2. Commit-to-delivery latency: `loadgen holds -rate RATE` (one
#    hold.created event per hold) for LAT_DURATION with the receiver
#    subscribed; then wait up to DRAIN for every event of the key to arrive.
#    The receiver records, for each event's first arrival, the arrival time
#    minus the event's created_at (the database's clock in the writing
#    transaction; same machine), counts duplicates and bad signatures; the
#    script lists the key's events from the database and fails unless each
#    arrived at least once with a valid signature. reservd runs with
#    WEBHOOK_INTERVAL=LAT_WEBHOOK_INTERVAL and
#    WEBHOOK_CONCURRENCY_PER_ENDPOINT=LAT_PER_ENDPOINT (defaults: the
#    production 200ms and 2).
#
# Environment:
#   ROUNDS        pairs of throughput runs (default 2: ABAB)
#   DURATION      length of each measured throughput run (default 10s); WARMUP (default 3s)
#   CONNECTIONS   concurrent HTTP connections of the throughput runs (default 64)
#   FLIGHTS       1000-seat flights created through the API for each run (default 100)
#   RATE          holds (events) per second of the latency run (default 500)
#   LAT_DURATION  length of the latency run (default 10s)
#   LAT_WEBHOOK_INTERVAL, LAT_PER_ENDPOINT  see 2. above
#   DRAIN         how long to wait for the last deliveries (default 60s)
#   PART          1, 2 or both (default both)
#   DELIVERY      colocated (default: the replica under load delivers) or worker (see 1.)
#   HOLD_BATCH, HOLD_BATCH_SLOTS, HOLD_BATCH_WINDOW, HOLD_BATCH_MAX  passed on to reservd
#   PG_URL        PostgreSQL server (default postgres://postgres@127.0.0.1:5432);
#                 the database BENCH_DB (default reservd_bench_webhooks) on it is
#                 dropped, recreated for each run, and dropped at the end
#
# Exits 1 when an event of the latency run never arrived, a signature did
# not verify, a delivery was malformed, or a throughput run failed; and,
# after printing everything, when the 10% target (the outbox and webhooks
# cost at most 10% of holds/s) is NOT MET by holds/s, as bench/holds.sh
# does for its targets. The same target by CPU per hold is printed, MET or
# NOT MET, without deciding the exit status. On a shared machine the noise
# of two short runs is of that order (see "other CPU"): rerun with more
# ROUNDS before reading much into a miss.
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-3s}
CONNECTIONS=${CONNECTIONS:-64}
FLIGHTS=${FLIGHTS:-100}
RATE=${RATE:-500}
LAT_DURATION=${LAT_DURATION:-10s}
LAT_WEBHOOK_INTERVAL=${LAT_WEBHOOK_INTERVAL:-200ms}
LAT_PER_ENDPOINT=${LAT_PER_ENDPOINT:-2}
DRAIN=${DRAIN:-60s}
PART=${PART:-both}
DELIVERY=${DELIVERY:-colocated}
BENCH_DB=${BENCH_DB:-reservd_bench_webhooks}

[[ $PART =~ ^(1|2|both)$ ]] || die "PART must be 1, 2 or both"
[[ $DELIVERY =~ ^(colocated|worker)$ ]] || die "DELIVERY must be colocated or worker"
[[ ${DRAIN%s} =~ ^[0-9]+$ ]] || die "DRAIN must be whole seconds (like 60s)"
need go psql curl jq
pg_check
bench_start webhooks
build reservd loadgen

# setup [ENV...]: a fresh database, an admin key and the customer key KEY
# (its id KEY_ID), reservd started on BASE with ENV, and FLIGHT_IDS.
setup() {
	pg_create_db
	local admin
	admin=$(newkey --name bench-admin --admin)
	KEY=$(newkey --name bench-1)
	KEY_ID=$(psql "$DB_URL" -XAtqc "SELECT id FROM api_keys WHERE name = 'bench-1'")
	local port
	port=$(free_port)
	BASE="http://127.0.0.1:$port"
	start_bg reservd env -u REDIS_URL "$@" ADDR="127.0.0.1:$port" DATABASE_URL="$DB_URL" RATE_LIMIT=0 HOLD_MAX_SEATS_PER_FLIGHT=0 \
		HOLD_MAX_ACTIVE=0 MAX_IN_FLIGHT_PER_KEY=0 WEBHOOK_ALLOW_PRIVATE=true "$WORK/reservd" serve
	RESERVD_PID=$SERVER_PID
	wait_up "$BASE/healthz"
	FLIGHT_IDS=$("$WORK/loadgen" mkflights -url "$BASE" -admin-key "$admin" -n "$FLIGHTS" -seats 1000 | paste -sd, -)
	psql "$DB_URL" -XAtqc "CHECKPOINT" >/dev/null
}

# worker: a second reservd on the database, at the lowest CPU priority,
# that sends the events to the endpoint (DELIVERY=worker); WORKER_PID.
worker() {
	local port
	port=$(free_port)
	start_bg worker nice -n 19 env -u REDIS_URL ADDR="127.0.0.1:$port" DATABASE_URL="$DB_URL" RATE_LIMIT=0 \
		WEBHOOK_ALLOW_PRIVATE=true WEBHOOK_DELIVER=true "$WORK/reservd" serve
	WORKER_PID=$SERVER_PID
	wait_up "http://127.0.0.1:$port/healthz"
}

# receiver: start `loadgen webhook-receiver` for KEY on RECV; it registers
# its endpoint (subscribed to "*") with reservd.
receiver() {
	local port
	port=$(free_port)
	RECV="http://127.0.0.1:$port"
	start_bg receiver "$WORK/loadgen" webhook-receiver -url "$BASE" -keys "$KEY" -listen "127.0.0.1:$port"
	wait_up "$RECV/stats"
}

# recv_distinct: the events the receiver has had so far.
recv_distinct() { curl -fsS "$RECV/stats" | jq -r .distinct; }

# key_events: the customer key's events in the database.
key_events() { psql "$DB_URL" -XAtqc "SELECT count(*) FROM events WHERE api_key_id = $KEY_ID"; }

# db_jiffies: CPU ticks of the bench database's live backends (reservd's pool).
db_jiffies() {
	local pids
	pids=$(pgq "SELECT pid FROM pg_stat_activity WHERE datname = '$BENCH_DB'" | tr '\n' ' ')
	# shellcheck disable=SC2086 # one PID a word
	cpu_jiffies $pids
}

# throughput NAME: one hold run, with the receiver's endpoint (NAME
# webhook) or without (NAME none); appends "NAME holds/s p50 p99 other
# events delivered-during-run pending-after peak-RSS CPU-ms-per-hold" to
# $WORK/results. CPU per hold is that of reservd and its database backends
# over the whole loadgen run (warm-up included) per hold made, the
# receiver's excluded: less sensitive than holds/s to the other work of a
# shared machine (bench/events.sh's measure).
throughput() {
	local name=$1 delivered=- pending=- events rss before after holds cpums drain=-
	WORKER_PID=
	if [[ $DELIVERY == worker ]]; then
		setup WEBHOOK_DELIVER=false
		worker
	else
		setup
	fi
	if [[ $name == webhook ]]; then receiver; fi
	say "run $name ($DELIVERY): loadgen holds -c $CONNECTIONS -warmup $WARMUP -d $DURATION (load average $(cut -d' ' -f1 /proc/loadavg))"
	# shellcheck disable=SC2086 # WORKER_PID: one PID, or none
	before=$(($(cpu_jiffies "$RESERVD_PID" $WORKER_PID) + $(db_jiffies)))
	measured --settle "$WORK/loadgen" holds -url "$BASE" -keys "$KEY" -flights "$FLIGHT_IDS" -c "$CONNECTIONS" -warmup "$WARMUP" -d "$DURATION" -json
	# shellcheck disable=SC2086 # as above
	after=$(($(cpu_jiffies "$RESERVD_PID" $WORKER_PID) + $(db_jiffies)))
	holds=$(psql "$DB_URL" -XAtqc "SELECT count(*) FROM holds")
	cpums=$(awk -v j=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$holds" 'BEGIN { printf "%.3f", (n > 0 ? 1000 * j / hz / n : 0) }')
	if [[ $name == webhook ]]; then
		delivered=$(recv_distinct)
		pending=$(psql "$DB_URL" -XAtqc "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'")
	fi
	events=$(key_events)
	if [[ $name == webhook && $DELIVERY == worker ]]; then
		# The worker catches up once the load is over: every event must arrive.
		local t0=$SECONDS deadline=$((SECONDS + ${DRAIN%s}))
		while (($(recv_distinct) < events)); do
			((SECONDS < deadline)) || die "run $name: the worker delivered $(recv_distinct) of $events events within $DRAIN of the run's end"
			sleep 0.2
		done
		drain=$((SECONDS - t0))
	fi
	rss=$(peak_rss_mb "$RESERVD_PID")
	stop_servers
	jq -e '.summaries[0].requests > 0 and (.summaries[0].status | keys == ["201"])' "$WORK/out" >/dev/null ||
		die "run $name: answers other than 201: $(jq -c .summaries[0].status "$WORK/out")"
	if [[ $(jq -r .extra.seats_ran_out "$WORK/out") == true ]]; then
		say "WARNING: the run used every seat before its end; raise FLIGHTS"
	fi
	jq -r --arg n "$name" --arg o "$OTHER_CPU" --arg e "$events" --arg d "$delivered" --arg p "$pending" --arg r "$rss" --arg c "$cpums" --arg dr "$drain" \
		'.summaries[0] as $s | "\($n) \(.extra.holds_per_sec) \($s.p50_ms) \($s.p99_ms) \($o) \($e) \($d) \($p) \($r) \($c) \($dr)"' "$WORK/out" >>"$WORK/results"
	say "$(tail -n 1 "$WORK/results")"
}

# latency: the paced run with the receiver, the drain, and the report.
latency() {
	setup WEBHOOK_INTERVAL="$LAT_WEBHOOK_INTERVAL" WEBHOOK_CONCURRENCY_PER_ENDPOINT="$LAT_PER_ENDPOINT"
	receiver
	say "latency run: loadgen holds -rate $RATE -c 32 -d $LAT_DURATION (WEBHOOK_INTERVAL=$LAT_WEBHOOK_INTERVAL, WEBHOOK_CONCURRENCY_PER_ENDPOINT=$LAT_PER_ENDPOINT)"
	measured --settle "$WORK/loadgen" holds -url "$BASE" -keys "$KEY" -flights "$FLIGHT_IDS" -c 32 -rate "$RATE" -d "$LAT_DURATION" -json
	cp "$WORK/out" "$WORK/lat_holds.json"
	LAT_OTHER=$OTHER_CPU
	local want got t0 deadline
	t0=$EPOCHREALTIME
	want=$(key_events)
	say "waiting up to $DRAIN for the $want events to arrive"
	deadline=$((SECONDS + ${DRAIN%s}))
	while ((SECONDS < deadline)); do
		got=$(recv_distinct)
		((got < want)) || break
		sleep 0.1
	done
	# wall-clock time from the load's end to the last arrival (or to DRAIN)
	LAT_DRAIN=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	psql "$DB_URL" -XAtqc "SELECT id FROM events WHERE api_key_id = $KEY_ID" >"$WORK/event_ids"
	curl -fsS --data-binary @"$WORK/event_ids" "$RECV/report" >"$WORK/report.json"
	# The log row of each first attempt is written (created_at, its
	# transaction's start) once the stream that sent it records: commit,
	# sequencer, stream claim, send and the receiver's answer, recording.
	LOG_LAG=$(psql "$DB_URL" -XAtqF' ' -c "SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1),
		round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1), round(max(ms)::numeric, 1)
		FROM (SELECT 1000 * extract(epoch FROM d.created_at - e.created_at) AS ms
			FROM webhook_deliveries d JOIN events e ON e.id = d.event_id WHERE d.attempt = 1) x")
	stop_servers
}

: >"$WORK/results"
TARGET_MISSED=
if [[ $PART != 2 ]]; then
	for r in $(seq "$ROUNDS"); do
		throughput none
		throughput webhook
		: "$r"
	done
fi
if [[ $PART != 1 ]]; then latency; fi

say "done: $(nproc) CPUs, $(go env GOVERSION), $(pgq 'SHOW server_version'), HOLD_BATCH=${HOLD_BATCH:-on}, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
if [[ $PART != 2 ]]; then
	echo "delivery: $DELIVERY"
	echo "| endpoint | run | holds/s | p50 (ms) | p99 (ms) | CPU per hold (ms, reservd + its backends) | other CPU | events | delivered during the run | pending after | drained after (s) | peak RSS (MB) |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	awk '{ n[$1]++; printf "| %s | %d | %s | %s | %s | %s | %s%% | %s | %s | %s | %s | %s |\n", ($1 == "none" ? "none" : "one, \"*\""), n[$1], $2, $3, $4, $10, $5, $6, $7, $8, $11, $9 }' "$WORK/results"
	echo
	awk '{ c[$1]++; h[$1] += $2; p[$1] += $4; u[$1] += $10 }
	END {
		un = u["none"] / c["none"]; uw = u["webhook"] / c["webhook"]
		hn = h["none"] / c["none"]; hw = h["webhook"] / c["webhook"]; pn = p["none"] / c["none"]; pw = p["webhook"] / c["webhook"]
		d = 100 * (hw / hn - 1)
		printf "mean holds/s: no endpoint %.0f, one endpoint %.0f: %+.1f%%; mean p99: %.2f ms vs %.2f ms: %+.1f%%\n", hn, hw, d, pn, pw, 100 * (pw / pn - 1)
		printf "mean CPU per hold: no endpoint %.3f ms, one endpoint %.3f ms: %+.1f%%\n", un, uw, 100 * (uw / un - 1)
		printf "target webhooks cost <= 10%%: by holds/s %s, by CPU per hold %s\n", (-d <= 10 ? "MET" : "NOT MET"), (100 * (uw / un - 1) <= 10 ? "MET" : "NOT MET")
		exit (-d > 10)
	}' "$WORK/results" || TARGET_MISSED=1
	echo
fi
if [[ $PART != 1 ]]; then
	jq -r --arg o "$LAT_OTHER" --arg d "$LAT_DRAIN" --slurpfile h "$WORK/lat_holds.json" '
		"latency run: \($h[0].summaries[0].status["201"] // 0) holds at \($h[0].extra.holds_per_sec)/s (asked \($h[0].extra.rate)), hold p99 \($h[0].summaries[0].p99_ms) ms, other CPU \($o)%, drained \($d) s after the run\n" +
		"| events | arrived | duplicates | bad signatures | malformed | missing | p50 (ms) | p90 (ms) | p99 (ms) | max (ms) |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n" +
		"| \(.expected) | \(.latency.requests) | \(.duplicates) | \(.bad_signature) | \(.malformed) | \(.missing) | \(.latency.p50_ms) | \(.latency.p90_ms) | \(.latency.p99_ms) | \(.latency.max_ms) |"' "$WORK/report.json"
	read -r f50 f99 fmax <<<"$LOG_LAG"
	echo "event created_at to its first attempt's log row (sequencer, stream, send, record): p50 $f50 ms, p99 $f99 ms, max $fmax ms"
	echo "by second of created_at (events: p50 / max ms): $(jq -r '[.by_second[] | "\(.name | ltrimstr("second ")): \(.requests) \(.p50_ms)/\(.max_ms)"] | join(", ")' "$WORK/report.json")"
	jq -e '.expected > 0 and .missing == 0 and .bad_signature == 0 and .malformed == 0' "$WORK/report.json" >/dev/null ||
		die "not every event arrived once with a valid signature: $(jq -c '{expected, missing, missing_ids, bad_signature, malformed}' "$WORK/report.json")"
fi
# The holds/s target decides last, once everything is printed.
if [[ -n $TARGET_MISSED ]]; then
	die "the webhooks' 10% target is NOT MET by holds/s"
fi
