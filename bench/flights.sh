#!/usr/bin/env bash
# bench/flights.sh — GET /flights/{id} throughput and latency, reservd on each
# engine beside a bare net/http JSON handler (cmd/barehttp), measured in the
# same run on the same machine. Documented in docs/PERFORMANCE.md.
#
#   bench/flights.sh                      # or: make bench-flights
#   DURATION=30s bench/flights.sh
#   TARGETS="bare reservd-sqlite" bench/flights.sh   # skip PostgreSQL
#
# Environment:
#   DURATION     length of each measured wrk run (default 15s)
#   WARMUP       length of the unmeasured warm-up run (default 3s)
#   CONNECTIONS  wrk connections (default 64); THREADS wrk threads (default 2)
#   TARGETS      any of: bare reservd-sqlite reservd-postgres (default: all three)
#   PG_URL       PostgreSQL server to use (default postgres://postgres@127.0.0.1:5432);
#                the database BENCH_DB (default reservd_bench) on it is DROPPED
#                and recreated at the start and dropped again at the end
#   LOG_LEVEL    reservd's log level (default warn: access logs cost throughput)
#
# It installs nothing: wrk, curl (and psql for the PostgreSQL target) must be
# on PATH. Every server listens on 127.0.0.1 only, on a free port, and runs
# one at a time; wrk shares the machine's cores with the server under test.
# Prints a Markdown table: target, req/s, p50, p99, peak RSS of the server
# process (VmHWM, which includes start-up and seeding), and req/s relative to
# bare.
set -euo pipefail

DURATION=${DURATION:-15s}
WARMUP=${WARMUP:-3s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
TARGETS=${TARGETS:-bare reservd-sqlite reservd-postgres}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
PG_URL=${PG_URL%/}
BENCH_DB=${BENCH_DB:-reservd_bench}
export LOG_LEVEL=${LOG_LEVEL:-warn}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

die() { echo "bench: $*" >&2; exit 1; }
say() { echo "bench: $*" >&2; }

if ! command -v wrk >/dev/null 2>&1; then
	echo "bench: wrk is not installed; install it with:" >&2
	echo "  apt-get install -y wrk" >&2
	exit 1
fi
command -v curl >/dev/null 2>&1 || die "curl is not installed (apt-get install -y curl)"
case " $TARGETS " in
*" reservd-postgres "*)
	command -v psql >/dev/null 2>&1 || die "psql is not installed (apt-get install -y postgresql-client), or leave reservd-postgres out of TARGETS"
	psql "$PG_URL/postgres" -XAtqc 'SELECT 1' >/dev/null 2>&1 ||
		die "PostgreSQL does not answer at $PG_URL (start it, set PG_URL, or leave reservd-postgres out of TARGETS)"
	;;
esac

WORK=$(mktemp -d "${TMPDIR:-/tmp}/reservd-bench.XXXXXX")
SERVER_PID=
PG_CREATED=
cleanup() {
	local rc=$?
	if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
		kill "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	if [[ -n $PG_CREATED ]]; then
		psql "$PG_URL/postgres" -XAtqc "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" >/dev/null 2>&1 || true
	fi
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "building reservd and barehttp from $ROOT"
(cd "$ROOT" && go build -o "$WORK/reservd" ./cmd/reservd && go build -o "$WORK/barehttp" ./cmd/barehttp)

# free_port prints a TCP port nobody listens on at 127.0.0.1.
free_port() {
	local p
	for _ in $(seq 100); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	die "no free port found"
}

# wait_healthy URL: wait up to 60 s for URL/healthz to answer 200, as long
# as the server process lives.
wait_healthy() {
	for _ in $(seq 600); do
		curl -fsS -o /dev/null "$1/healthz" 2>/dev/null && return
		kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; die "the server exited while starting"; }
		sleep 0.1
	done
	cat "$WORK/server.log" >&2
	die "$1/healthz did not answer within 60 s"
}

# start_server NAME CMD...: start CMD in the background, logging to server.log.
start_server() {
	local name=$1
	shift
	say "$name: starting $*"
	"$@" >"$WORK/server.log" 2>&1 &
	SERVER_PID=$!
}

stop_server() {
	kill "$SERVER_PID" 2>/dev/null || true
	wait "$SERVER_PID" 2>/dev/null || true
	SERVER_PID=
}

# peak_rss_mb PID: the process's peak resident set (VmHWM) in MB.
peak_rss_mb() {
	awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"
}

# ms VALUE: a wrk latency (850.00us, 1.23ms, 1.02s, 2.00m) in milliseconds.
ms() {
	awk -v v="$1" 'BEGIN {
		n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
		f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : -1
		if (f < 0) { print "?"; exit }
		printf "%.2f", n * f
	}'
}

# flight_json: a flight shaped like one of the demo catalogue's, 138 seats:
# business rows 1-3 (A C D F), economy rows 10-30 (A-F), 10-12 and 14 dearer.
flight_json() {
	local dep arr seats="" row l fare
	dep=$(date -u -d '+30 days' +%Y-%m-%dT15:00:00Z)
	arr=$(date -u -d '+30 days' +%Y-%m-%dT20:35:00Z)
	for row in 1 2 3; do
		for l in A C D F; do
			seats+="{\"seat\":\"$row$l\",\"cabin\":\"business\",\"price\":{\"amount\":89900,\"currency\":\"USD\"}},"
		done
	done
	for row in $(seq 10 30); do
		fare=12900
		if ((row <= 12 || row == 14)); then fare=15480; fi
		for l in A B C D E F; do
			seats+="{\"seat\":\"$row$l\",\"cabin\":\"economy\",\"price\":{\"amount\":$fare,\"currency\":\"USD\"}},"
		done
	done
	printf '{"number":"RV100","origin":"SFO","destination":"JFK","departs_at":"%s","arrives_at":"%s","seats":[%s]}' \
		"$dep" "$arr" "${seats%,}"
}

# measure NAME URL: warm up, run wrk, record a result line in results.
measure() {
	local name=$1 url=$2 out="$WORK/$1.wrk" code
	code=$(curl -s -o "$WORK/probe.json" -w '%{http_code}' "$url")
	[[ $code == 200 ]] || { cat "$WORK/probe.json" >&2; die "$name: GET $url answered $code, not 200"; }
	say "$name: warm-up $WARMUP"
	wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" "$url" >/dev/null
	say "$name: wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency $url"
	wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$url" >"$out"
	local rss rps p50 p99
	rss=$(peak_rss_mb "$SERVER_PID")
	rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
	p50=$(ms "$(awk '$1 == "50%" { print $2 }' "$out")")
	p99=$(ms "$(awk '$1 == "99%" { print $2 }' "$out")")
	if grep -qE 'Non-2xx|Socket errors' "$out"; then
		cat "$out" >&2
		die "$name: wrk saw errors or non-2xx answers; the numbers would mean nothing"
	fi
	[[ -n $rps ]] || { cat "$out" >&2; die "$name: could not read wrk's output"; }
	echo "$name $rps $p50 $p99 $rss" >>"$WORK/results"
}

: >"$WORK/results"
for target in $TARGETS; do
	port=$(free_port)
	base="http://127.0.0.1:$port"
	case $target in
	bare)
		start_server bare "$WORK/barehttp" -addr "127.0.0.1:$port"
		wait_healthy "$base"
		measure bare "$base/flights/1"
		;;
	reservd-sqlite)
		mkdir -p "$WORK/data"
		start_server reservd-sqlite env -u DATABASE_URL -u REDIS_URL \
			ADDR="127.0.0.1:$port" DATA_DIR="$WORK/data" SEED_DEMO=true "$WORK/reservd" serve
		wait_healthy "$base"
		measure reservd-sqlite "$base/flights/1"
		;;
	reservd-postgres)
		PG_CREATED=1
		psql "$PG_URL/postgres" -XAtqc "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" >/dev/null
		psql "$PG_URL/postgres" -XAtqc "CREATE DATABASE $BENCH_DB" >/dev/null
		db_url="$PG_URL/$BENCH_DB"
		key=$(env -u REDIS_URL DATABASE_URL="$db_url" "$WORK/reservd" keys create --name bench --admin 2>>"$WORK/server.log" | tail -n 1)
		[[ -n $key ]] || die "reservd-postgres: could not create an admin key"
		start_server reservd-postgres env -u REDIS_URL \
			ADDR="127.0.0.1:$port" DATABASE_URL="$db_url" "$WORK/reservd" serve
		wait_healthy "$base"
		flight_json >"$WORK/flight.json"
		created=$(curl -sS -X POST -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
			--data-binary "@$WORK/flight.json" "$base/flights")
		id=$(grep -o '"id":[0-9]*' <<<"$created" | head -n 1 | cut -d: -f2)
		[[ -n $id ]] || die "reservd-postgres: creating the flight failed: $created"
		measure reservd-postgres "$base/flights/$id"
		;;
	*)
		die "unknown target $target (want bare, reservd-sqlite or reservd-postgres)"
		;;
	esac
	stop_server
done

say "done: $(nproc) CPUs, $(go env GOVERSION), LOG_LEVEL=$LOG_LEVEL, wrk -t$THREADS -c$CONNECTIONS -d$DURATION"
awk '
	BEGIN {
		print "| target | req/s | p50 (ms) | p99 (ms) | peak RSS (MB) | × bare |"
		print "|---|---:|---:|---:|---:|---:|"
	}
	$1 == "bare" { bare = $2 }
	{ name[NR] = $1; rps[NR] = $2; p50[NR] = $3; p99[NR] = $4; rss[NR] = $5 }
	END {
		for (i = 1; i <= NR; i++) {
			ratio = bare > 0 ? sprintf("%.2f", rps[i] / bare) : "n/a"
			printf "| %s | %.0f | %s | %s | %s | %s |\n", name[i], rps[i], p50[i], p99[i], rss[i], ratio
		}
	}' "$WORK/results"
