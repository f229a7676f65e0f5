#!/usr/bin/env bash
# bench/holds_sqlite.sh — POST /holds throughput on the embedded engine
# (SQLite, in-process seat keys: what `go run ./cmd/reservd` runs), with
# batching on and off, same load: distinct seats, every request with its
# API key and its own Idempotency-Key. Documented in docs/PERFORMANCE.md
# ("Batched holds").
#
#   bench/holds_sqlite.sh            # or: make bench-holds-sqlite
#   DURATION=30s bench/holds_sqlite.sh
#
# Environment:
#   DURATION      length of each measured run (default 15s); WARMUP (default 3s)
#   CONNECTIONS   concurrent HTTP connections (default 64)
#   FLIGHTS       1000-seat flights created through the API for each run (default 60)
#   MODES         the HOLD_BATCH values to run, in order (default "on off")
#
# Each mode runs on a fresh data directory: reservd serve with DATA_DIR
# there, SEED_DEMO=false, RATE_LIMIT=0 and the per-customer caps off (the
# load generator sends many customers' holds with few keys); keys made with
# `reservd keys create`; flights through POST /flights; `loadgen holds`.
# Prints a Markdown table: holds/s, latency, holds per batch, reservd's
# CPU per hold (the whole process: SQLite runs inside it), peak RSS.
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

DURATION=${DURATION:-15s}
WARMUP=${WARMUP:-3s}
CONNECTIONS=${CONNECTIONS:-64}
FLIGHTS=${FLIGHTS:-60}
MODES=${MODES:-on off}

need go curl jq
bench_start holds_sqlite
build reservd loadgen

: >"$WORK/results"
for mode in $MODES; do
	[[ $mode =~ ^(on|off)$ ]] || die "MODES: want on and/or off, not $mode"
	dir="$WORK/data-$mode"
	mkdir -p "$dir"
	embedded=(env -u DATABASE_URL -u REDIS_URL DATA_DIR="$dir" SEED_DEMO=false)
	admin=$("${embedded[@]}" "$WORK/reservd" keys create --name bench-admin --admin 2>>"$WORK/keys.log" | tail -n 1)
	keys=
	for i in $(seq 8); do keys+="${keys:+,}$("${embedded[@]}" "$WORK/reservd" keys create --name "bench-$i" 2>>"$WORK/keys.log" | tail -n 1)"; done
	port=$(free_port)
	base="http://127.0.0.1:$port"
	say "HOLD_BATCH=$mode: starting reservd on $base (embedded engine in $dir)"
	start_bg reservd "${embedded[@]}" ADDR="127.0.0.1:$port" HOLD_BATCH="$mode" RATE_LIMIT=0 HOLD_MAX_SEATS_PER_FLIGHT=0 \
		HOLD_MAX_ACTIVE=0 MAX_IN_FLIGHT_PER_KEY=0 "$WORK/reservd" serve
	wait_up "$base/healthz"
	flight_ids=$("$WORK/loadgen" mkflights -url "$base" -admin-key "$admin" -n "$FLIGHTS" -seats 1000 | paste -sd, -)
	j0=$(cpu_jiffies "$SERVER_PID")
	measured --settle "$WORK/loadgen" holds -url "$base" -keys "$keys" -flights "$flight_ids" -c "$CONNECTIONS" -warmup "$WARMUP" -d "$DURATION" -json
	j=$(($(cpu_jiffies "$SERVER_PID") - j0))
	metrics=$(curl -fsS "$base/metrics")
	made=$(awk '/^reservd_holds_total\{.*event="created"/ { n += $2 } END { printf "%d", n }' <<<"$metrics")
	batch=$(awk '/^reservd_hold_batch_size_sum/ { s = $2 } /^reservd_hold_batch_size_count/ { c = $2 } END { if (c > 0) printf "%.1f", s / c; else printf "–" }' <<<"$metrics")
	cpu=$(awk -v j="$j" -v n="$made" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f", (n > 0 ? 1000 * j / hz / n : 0) }')
	rss=$(peak_rss_mb "$SERVER_PID")
	stop_servers
	jq -e '.summaries[0].requests > 0 and (.summaries[0].status | keys == ["201"])' "$WORK/out" >/dev/null ||
		die "HOLD_BATCH=$mode: answers other than 201: $(jq -c .summaries[0].status "$WORK/out")"
	if [[ $(jq -r .extra.seats_ran_out "$WORK/out") == true ]]; then
		say "WARNING: HOLD_BATCH=$mode used every seat before the run's end; raise FLIGHTS"
	fi
	jq -r --arg m "$mode" --arg b "$batch" --arg c "$cpu" --arg r "$rss" --arg o "$OTHER_CPU" \
		'.summaries[0] as $s | "| \($m) | \(.extra.holds_per_sec) | \($s.p50_ms) | \($s.p99_ms) | \($b) | \($c) | \($r) | \($o)% |"' "$WORK/out" >>"$WORK/results"
	say "$(tail -n 1 "$WORK/results")"
done

say "done: $(nproc) CPUs, $(go env GOVERSION), $CONNECTIONS connections, $DURATION after $WARMUP of warm-up"
echo
echo "| HOLD_BATCH | holds/s | p50 (ms) | p99 (ms) | holds per batch | reservd CPU ms/hold | peak RSS (MB) | other CPU |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
cat "$WORK/results"
