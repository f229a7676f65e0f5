#!/usr/bin/env bash
# bench/flashsale.sh — a flash sale: CLIENTS clients (default 2,000) start at
# the same instant, race for the SEATS seats (default 100) of one flight on
# PostgreSQL, and each books the seat it got. Checks afterwards that exactly
# SEATS seats are booked, none twice, through the API's seat map and in SQL.
# Documented in docs/PERFORMANCE.md.
#
#   bench/flashsale.sh               # or: make bench-flashsale
#   ROUNDS="seat quantity" bench/flashsale.sh
#
# Environment:
#   CLIENTS    concurrent clients, one connection each (default 2000)
#   SEATS      seats of each sale's flight (default 100)
#   ROUNDS     one sale per word, each on a fresh flight: "seat" holds a random
#              seat label, "quantity" holds {"cabin": "economy", "quantity": 1}
#              (default "seat seat seat quantity")
#   CUSTOMERS  customer API keys the clients share round-robin (default 20)
#   BENCH_REDIS_URL  run reservd with Redis at this redis:// URL (a key
#              prefix of its own), as in production; unset: no Redis
#   HOLD_BATCH, HOLD_BATCH_SLOTS, HOLD_BATCH_WINDOW, HOLD_BATCH_MAX  passed on to reservd
#   PG_URL     PostgreSQL server (default postgres://postgres@127.0.0.1:5432);
#              the database BENCH_DB (default reservd_bench_flashsale) on it is
#              dropped, recreated, and dropped again at the end
#
# reservd runs on 127.0.0.1 with RATE_LIMIT=0 and LOG_LEVEL=warn, with
# Redis only when BENCH_REDIS_URL is set. A round whose checks fail makes the script exit 1 after the table.
# shellcheck source=bench/lib.sh
# The load generator sends many customers' holds with few API keys, so the
# per-customer caps (HOLD_MAX_SEATS_PER_FLIGHT, HOLD_MAX_ACTIVE) and the
# in-flight and connection caps (MAX_IN_FLIGHT_PER_KEY, MAX_IN_FLIGHT,
# MAX_CONNECTIONS: 2,000 clients at once) are off, as RATE_LIMIT is.
. "$(dirname "$0")/lib.sh"

CLIENTS=${CLIENTS:-2000}
SEATS=${SEATS:-100}
ROUNDS=${ROUNDS:-seat seat seat quantity}
CUSTOMERS=${CUSTOMERS:-20}
BENCH_DB=${BENCH_DB:-reservd_bench_flashsale}

need go psql curl jq
pg_check
# Every client holds a connection to reservd, and reservd one back.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
(($(ulimit -n) >= 2 * CLIENTS + 1000)) || die "the open-file limit ($(ulimit -n)) is too low for $CLIENTS clients"

bench_start flashsale
build reservd loadgen

pg_create_db
sql() { psql "$DB_URL" -XAtqc "$1"; }
ADMIN=$(newkey --name bench-admin --admin)
KEYS=
for i in $(seq "$CUSTOMERS"); do KEYS+="${KEYS:+,}$(newkey --name "bench-$i")"; done

PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
say "starting reservd on $BASE (PostgreSQL, no Redis, RATE_LIMIT=0, LOG_LEVEL=$LOG_LEVEL, open files $(ulimit -n))"
REDIS_ENV=(-u REDIS_URL)
if [[ -n ${BENCH_REDIS_URL:-} ]]; then
	REDIS_ENV=(REDIS_URL="$BENCH_REDIS_URL" REDIS_PREFIX="bench-flashsale-$$")
	# Redis's CPU counts as reservd's in the accounting (a local server).
	mapfile -t OWN_PIDS < <(pgrep -x redis-server || true)
fi
start_bg reservd env "${REDIS_ENV[@]}" ADDR="127.0.0.1:$PORT" DATABASE_URL="$DB_URL" RATE_LIMIT=0 HOLD_MAX_SEATS_PER_FLIGHT=0 HOLD_MAX_ACTIVE=0 MAX_IN_FLIGHT_PER_KEY=0 MAX_IN_FLIGHT=0 MAX_CONNECTIONS=0 "$WORK/reservd" serve
wait_up "$BASE/healthz"

FAILED=0
n=0
: >"$WORK/results"
for mode in $ROUNDS; do
	n=$((n + 1))
	case $mode in
	seat) flag=() ;;
	quantity) flag=(-quantity) ;;
	*) die "unknown round $mode (want seat or quantity)" ;;
	esac
	flight=$("$WORK/loadgen" mkflights -url "$BASE" -admin-key "$ADMIN" -n 1 -seats "$SEATS")
	say "round $n ($mode): $CLIENTS clients for the $SEATS seats of flight $flight (load average $(cut -d' ' -f1 /proc/loadavg))"
	srv0=$(cpu_jiffies "$SERVER_PID" "${OWN_PIDS[@]}")
	measured --keep-going "$WORK/loadgen" flashsale -url "$BASE" -keys "$KEYS" -flight "$flight" -clients "$CLIENTS" -timeout 2m "${flag[@]}" -json
	srv=$(($(cpu_jiffies "$SERVER_PID" "${OWN_PIDS[@]}") - srv0))
	cp "$WORK/out" "$WORK/round$n.json"
	# CPU per request (holds and bookings) of the sale, from /proc: reservd
	# (with Redis when on), PostgreSQL, the load generator (which also opens
	# the CLIENTS connections and reads the seat map once).
	reqs=$(jq '.summaries[2].requests' "$WORK/out")
	cpu=$(awk -v s="$srv" -v o="$CPU_OURS_J" -v k="$CPU_KIDS_J" -v n="$reqs" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { f = (n > 0 ? 1000 / hz / n : 0); printf "%.2f | %.2f | %.2f", s * f, (o - s) * f, k * f }')
	[[ -s $WORK/out ]] || die "round $n: loadgen printed nothing"
	# The checks in SQL: no seat in two live bookings (anywhere in the
	# database), and exactly SEATS seats booked on this flight.
	dups=$(sql "SELECT count(*) FROM (SELECT flight_id, seat, count(*) FROM booking_seats WHERE live GROUP BY 1, 2 HAVING count(*) > 1) d")
	live=$(sql "SELECT count(*) FROM booking_seats WHERE live AND flight_id = $flight")
	taken=$(sql "SELECT count(*) FROM seats WHERE flight_id = $flight AND booking_id IS NOT NULL")
	ok=$(jq -r .extra.verified "$WORK/out")
	if [[ $CMD_RC != 0 || $ok != true || $dups != 0 || $live != "$SEATS" || $taken != "$SEATS" ]]; then
		FAILED=1
		say "round $n: CHECK FAILED (loadgen exit $CMD_RC, API verified $ok, SQL: $dups double-booked seats, $live live booking seats, $taken seats booked)"
	fi
	jq -r --arg n "$n" --arg mode "$mode" --arg dups "$dups" --arg live "$live" --arg other "$OTHER_CPU" --arg cpu "$cpu" '
		.summaries as [$h, $b, $a] | .extra as $x |
		"| \($n) | \($mode) | \($x.clients) | \($x.sale_seconds) | \($a.rps) | \(($x.expected_booked / $x.sale_seconds * 10 | round) / 10) | \($h.p50_ms) | \($h.p99_ms) | \($b.p50_ms) | \($b.p99_ms) | \($a.p99_ms) | \($h.status | to_entries | map("\(.key):\(.value)") | join(" ")) | \($x.booked_in_seat_map) | \($live) | \($dups) | \(if $x.verified and ($dups == "0") and ($live == ($x.expected_booked | tostring)) then "yes" else "NO" end) | \($cpu) | \($other)% |"' \
		"$WORK/out" >>"$WORK/results"
done
RSS=$(peak_rss_mb "$SERVER_PID")
DUPS_ALL=$(sql "SELECT count(*) FROM (SELECT flight_id, seat, count(*) FROM booking_seats WHERE live GROUP BY 1, 2 HAVING count(*) > 1) d")
BOOKED_ALL=$(sql "SELECT count(*) FROM booking_seats WHERE live")

say "done: $(nproc) CPUs, $(go env GOVERSION), $(sql 'SHOW server_version'); reservd peak RSS $RSS MB"
echo
echo "| round | mode | clients | sale (s) | req/s | seats sold/s | hold p50 (ms) | hold p99 (ms) | book p50 (ms) | book p99 (ms) | all p99 (ms) | hold answers | booked (API seat map) | booked (SQL) | double-booked (SQL) | verified | CPU ms/request: reservd${BENCH_REDIS_URL:+ + Redis} | PostgreSQL | load generator | other CPU |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|---:|---:|---:|---:|"
cat "$WORK/results"
echo
echo "whole database: $BOOKED_ALL live booked seats over $n flights of $SEATS; seats in two live bookings: $DUPS_ALL (SELECT flight_id, seat, count(*) FROM booking_seats WHERE live GROUP BY 1,2 HAVING count(*)>1)"
echo "reservd peak RSS (VmHWM): $RSS MB"
if ((FAILED)); then
	die "at least one sale did not end with exactly $SEATS seats booked once each"
fi
