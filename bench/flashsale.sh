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
#   PG_URL     PostgreSQL server (default postgres://postgres@127.0.0.1:5432);
#              the database BENCH_DB (default reservd_bench_flashsale) on it is
#              dropped, recreated, and dropped again at the end
#
# reservd runs on 127.0.0.1 with RATE_LIMIT=0 and LOG_LEVEL=warn, without
# Redis. A round whose checks fail makes the script exit 1 after the table.
set -euo pipefail

CLIENTS=${CLIENTS:-2000}
SEATS=${SEATS:-100}
ROUNDS=${ROUNDS:-seat seat seat quantity}
CUSTOMERS=${CUSTOMERS:-20}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
PG_URL=${PG_URL%/}
BENCH_DB=${BENCH_DB:-reservd_bench_flashsale}
export LOG_LEVEL=${LOG_LEVEL:-warn}
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
die() { echo "bench: $*" >&2; exit 1; }
say() { echo "bench: $*" >&2; }

for tool in go psql curl jq; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done
[[ $BENCH_DB =~ ^[a-z_][a-z0-9_]*$ ]] || die "BENCH_DB must be a plain lower-case identifier"
psql "$PG_URL/postgres" -XAtqc 'SELECT 1' >/dev/null 2>&1 || die "PostgreSQL does not answer at $PG_URL"
# Every client holds a connection to reservd, and reservd one back.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
(($(ulimit -n) >= 2 * CLIENTS + 1000)) || die "the open-file limit ($(ulimit -n)) is too low for $CLIENTS clients"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/reservd-bench-flashsale.XXXXXX")
SERVER_PID=
DB_CREATED=
cleanup() {
	local rc=$?
	if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
		kill "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	if [[ -n $DB_CREATED ]]; then
		psql "$PG_URL/postgres" -XAtqc "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" >/dev/null 2>&1 || true
	fi
	if ((rc != 0)) && [[ -s $WORK/reservd.log ]]; then
		say "reservd's log ends with:"
		tail -n 20 "$WORK/reservd.log" >&2
	fi
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "building reservd and loadgen from $ROOT"
(cd "$ROOT" && go build -o "$WORK/reservd" ./cmd/reservd && go build -o "$WORK/loadgen" ./cmd/loadgen)

free_port() {
	local p
	for _ in $(seq 100); do
		p=$((20000 + RANDOM % 12000)) # below the ephemeral ports (32768+)
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	die "no free port found"
}

# CPU accounting, to tell a quiet run from a noisy one (see bench/holds.sh).
cpu_jiffies() {
	local p stat sum=0 f
	for p in "$@"; do
		stat=$(cat "/proc/$p/stat" 2>/dev/null) || continue
		stat=${stat##*) }
		read -r -a f <<<"$stat"
		sum=$((sum + f[11] + f[12]))
	done
	echo "$sum"
}
# Busy is user + nice + system: interrupt and softirq time (loopback
# networking, heavy at thousands of requests a second) belongs to no process
# and would otherwise count as "other".
machine_jiffies() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print $2 + $3 + $4, t }' /proc/stat; }
children_jiffies() {
	times >"$WORK/times"
	awk -v hz="$(getconf CLK_TCK)" 'NR == 2 { s = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); s += a[1] * 60 + a[2] }; printf "%d\n", s * hz }' "$WORK/times"
}
PM_PID=$(awk '{ print $4 }' "/proc/$(psql "$PG_URL/postgres" -XAtqc "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'")/stat")
pg_jiffies() {
	local pids
	pids=$(psql "$PG_URL/postgres" -XAtqc "SELECT pid FROM pg_stat_activity WHERE datname = '$BENCH_DB' OR backend_type <> 'client backend'" | tr '\n' ' ')
	# shellcheck disable=SC2086 # one PID a word
	echo $(($(cpu_jiffies $pids) + $(awk '{ print $16 + $17 }' "/proc/$PM_PID/stat")))
}
# measured CMD...: run CMD (stdout to $WORK/out, exit status to CMD_RC) and
# set OTHER_CPU to the share of the machine's CPU used meanwhile by processes
# other than CMD, reservd and PostgreSQL's processes for the bench database.
measured() {
	local m0 m1 o0 o1 k0 k1
	read -r -a m0 <<<"$(machine_jiffies)"
	o0=$(($(pg_jiffies) + $(cpu_jiffies "$SERVER_PID")))
	children_jiffies >"$WORK/kids" && read -r k0 <"$WORK/kids"
	CMD_RC=0
	"$@" >"$WORK/out" || CMD_RC=$?
	children_jiffies >"$WORK/kids" && read -r k1 <"$WORK/kids"
	o1=$(($(pg_jiffies) + $(cpu_jiffies "$SERVER_PID")))
	read -r -a m1 <<<"$(machine_jiffies)"
	OTHER_CPU=$(awk -v b=$((m1[0] - m0[0])) -v o=$((o1 - o0 + k1 - k0)) -v t=$((m1[1] - m0[1])) \
		'BEGIN { x = t > 0 ? 100 * (b - o) / t : 0; printf "%.0f", x < 0 ? 0 : x }')
	((OTHER_CPU <= 10)) || say "WARNING: other processes used ${OTHER_CPU}% of the machine's CPU during the run; the numbers are noisy"
}

say "creating database $BENCH_DB"
DB_CREATED=1
psql "$PG_URL/postgres" -XAtqc "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" >/dev/null
psql "$PG_URL/postgres" -XAtqc "CREATE DATABASE $BENCH_DB" >/dev/null
DB_URL="$PG_URL/$BENCH_DB"
sql() { psql "$DB_URL" -XAtqc "$1"; }
newkey() { env -u REDIS_URL DATABASE_URL="$DB_URL" "$WORK/reservd" keys create "$@" 2>>"$WORK/keys.log" | tail -n 1; }
ADMIN=$(newkey --name bench-admin --admin)
KEYS=
for i in $(seq "$CUSTOMERS"); do KEYS+="${KEYS:+,}$(newkey --name "bench-$i")"; done

PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
say "starting reservd on $BASE (PostgreSQL, no Redis, RATE_LIMIT=0, LOG_LEVEL=$LOG_LEVEL, open files $(ulimit -n))"
env -u REDIS_URL ADDR="127.0.0.1:$PORT" DATABASE_URL="$DB_URL" RATE_LIMIT=0 "$WORK/reservd" serve >"$WORK/reservd.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 300); do
	curl -fsS -o /dev/null "$BASE/healthz" 2>/dev/null && break
	kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/reservd.log" >&2; die "reservd exited while starting"; }
	sleep 0.1
done
sleep 0.2 # still alive, so the answer was ours (not another process's on a port it just took)
if ! kill -0 "$SERVER_PID" 2>/dev/null || ! curl -fsS -o /dev/null "$BASE/healthz"; then
	cat "$WORK/reservd.log" >&2
	die "reservd did not start"
fi

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
	measured "$WORK/loadgen" flashsale -url "$BASE" -keys "$KEYS" -flight "$flight" -clients "$CLIENTS" -timeout 2m "${flag[@]}" -json
	cp "$WORK/out" "$WORK/round$n.json"
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
	jq -r --arg n "$n" --arg mode "$mode" --arg dups "$dups" --arg live "$live" --arg other "$OTHER_CPU" '
		.summaries as [$h, $b, $a] | .extra as $x |
		"| \($n) | \($mode) | \($x.clients) | \($x.sale_seconds) | \($a.rps) | \(($x.expected_booked / $x.sale_seconds * 10 | round) / 10) | \($h.p50_ms) | \($h.p99_ms) | \($b.p50_ms) | \($b.p99_ms) | \($a.p99_ms) | \($h.status | to_entries | map("\(.key):\(.value)") | join(" ")) | \($x.booked_in_seat_map) | \($live) | \($dups) | \(if $x.verified and ($dups == "0") and ($live == ($x.expected_booked | tostring)) then "yes" else "NO" end) | \($other)% |"' \
		"$WORK/out" >>"$WORK/results"
done
RSS=$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$SERVER_PID/status")
DUPS_ALL=$(sql "SELECT count(*) FROM (SELECT flight_id, seat, count(*) FROM booking_seats WHERE live GROUP BY 1, 2 HAVING count(*) > 1) d")
BOOKED_ALL=$(sql "SELECT count(*) FROM booking_seats WHERE live")

say "done: $(nproc) CPUs, $(go env GOVERSION), $(sql 'SHOW server_version'); reservd peak RSS $RSS MB"
echo
echo "| round | mode | clients | sale (s) | req/s | seats sold/s | hold p50 (ms) | hold p99 (ms) | book p50 (ms) | book p99 (ms) | all p99 (ms) | hold answers | booked (API seat map) | booked (SQL) | double-booked (SQL) | verified | other CPU |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|---:|"
cat "$WORK/results"
echo
echo "whole database: $BOOKED_ALL live booked seats over $n flights of $SEATS; seats in two live bookings: $DUPS_ALL (SELECT flight_id, seat, count(*) FROM booking_seats WHERE live GROUP BY 1,2 HAVING count(*)>1)"
echo "reservd peak RSS (VmHWM): $RSS MB"
if ((FAILED)); then
	die "at least one sale did not end with exactly $SEATS seats booked once each"
fi
