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
#   RAW_DIR      if set, wrk's full output for each target is copied there
#
# It installs nothing: wrk, curl (and psql for the PostgreSQL target) must be
# on PATH. Every server listens on 127.0.0.1 only, on a free port, and runs
# one at a time; wrk shares the machine's cores with the server under test.
# Prints a Markdown table: target, req/s, p50, p99, peak RSS of the server
# process (VmHWM, which includes start-up and seeding), req/s relative to
# bare, and "other CPU": the share of the machine's CPU that processes other
# than wrk, the server and its PostgreSQL backends used during the measured
# run (0% on a quiet machine; above 10% the run is noisy and a warning says so),
# and the CPU time the system under test (server, its PostgreSQL backends, wrk)
# spent per request, with bare's divided by it: an estimate of the req/s
# ratio that a busy machine disturbs much less than req/s itself.
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

DURATION=${DURATION:-15s}
WARMUP=${WARMUP:-3s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
TARGETS=${TARGETS:-bare reservd-sqlite reservd-postgres}
BENCH_DB=${BENCH_DB:-reservd_bench}

if ! command -v wrk >/dev/null 2>&1; then
	echo "bench: wrk is not installed; install it with:" >&2
	echo "  apt-get install -y wrk" >&2
	exit 1
fi
command -v curl >/dev/null 2>&1 || die "curl is not installed (apt-get install -y curl)"
case " $TARGETS " in
*" reservd-postgres "*)
	command -v psql >/dev/null 2>&1 || die "psql is not installed (apt-get install -y postgresql-client), or leave reservd-postgres out of TARGETS"
	pg_up || die "PostgreSQL does not answer at $PG_URL (start it, set PG_URL, or leave reservd-postgres out of TARGETS)"
	;;
esac

bench_start flights
build reservd barehttp

# start_server NAME LOG CMD...: start CMD in the background, logging to
# $WORK/LOG.log, and wait up to 60 s for it to answer /healthz on $base.
start_server() {
	say "$1: starting ${*:3}"
	start_bg "$2" "${@:3}"
	wait_up "$base/healthz" 60
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

# helper_pids: the PostgreSQL backends serving the server under test (their
# CPU counts as the server's), when HELPER_DB names its database.
HELPER_DB=
helper_pids() {
	[[ -n $HELPER_DB ]] || return 0
	pgq "SELECT pid FROM pg_stat_activity WHERE datname = '$HELPER_DB' AND pid <> pg_backend_pid()"
}

# measure NAME URL: warm up, run wrk, record a result line in results.
# Whatever used CPU during the run besides wrk, the server and its helpers is
# reported as "other CPU", a measure of how noisy the machine was.
measure() {
	local name=$1 url=$2 out="$WORK/$1.wrk" code helpers
	code=$(curl -s -o "$WORK/probe.json" -w '%{http_code}' "$url")
	[[ $code == 200 ]] || { cat "$WORK/probe.json" >&2; die "$name: GET $url answered $code, not 200"; }
	say "$name: warm-up $WARMUP"
	wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" "$url" >/dev/null
	helpers=$(helper_pids) # after the warm-up, which grows the pool
	say "$name: wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency $url"
	local m0 m1 ours0 ours1 kids0 kids1
	read -r -a m0 <<<"$(machine_jiffies irq)"
	# shellcheck disable=SC2086 # one PID a word
	ours0=$(cpu_jiffies "$SERVER_PID" $helpers)
	children_jiffies >"$WORK/kids"
	read -r kids0 <"$WORK/kids"
	wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$url" >"$out"
	children_jiffies >"$WORK/kids"
	read -r kids1 <"$WORK/kids"
	# shellcheck disable=SC2086
	ours1=$(cpu_jiffies "$SERVER_PID" $helpers)
	read -r -a m1 <<<"$(machine_jiffies irq)"
	local busy=$((m1[0] - m0[0])) total=$((m1[1] - m0[1])) ours=$((ours1 - ours0 + kids1 - kids0))
	local other
	other=$(other_share "$busy" "$ours" "$total")
	# CPU per request of the whole system under test (server, its PostgreSQL
	# backends and wrk), in µs: unlike req/s, it hardly moves when other
	# processes compete for the CPUs.
	local requests cpu_us
	requests=$(awk '$2 == "requests" && $3 == "in" { print $1 }' "$out")
	cpu_us=$(awk -v o="$ours" -v n="${requests:-0}" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { if (n > 0) printf "%.0f", o / hz * 1e6 / n; else print "?" }')
	local rss rps p50 p99
	rss=$(peak_rss_mb "$SERVER_PID")
	rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
	p50=$(ms "$(awk '$1 == "50%" { print $2 }' "$out")")
	p99=$(ms "$(awk '$1 == "99%" { print $2 }' "$out")")
	# Any non-2xx answer or connection error makes the run meaningless; a
	# timeout (no answer within wrk's 2 s) is a latency outlier, kept and reported.
	if grep -q 'Non-2xx' "$out" || grep -qE 'Socket errors: connect [1-9]|read [1-9]|write [1-9]' "$out"; then
		cat "$out" >&2
		die "$name: wrk saw errors or non-2xx answers; the numbers would mean nothing"
	fi
	if grep -q 'Socket errors' "$out"; then
		say "$name: WARNING: $(grep -o 'timeout [0-9]*' "$out") request(s) timed out (no answer within 2 s)"
	fi
	[[ -n $rps ]] || { cat "$out" >&2; die "$name: could not read wrk's output"; }
	if ((other > 10)); then
		say "$name: WARNING: other processes used ${other}% of the machine's CPU during the run; the numbers are noisy"
	fi
	if [[ -n ${RAW_DIR:-} ]]; then
		mkdir -p "$RAW_DIR" && cp "$out" "$RAW_DIR/$name.wrk.txt"
	fi
	echo "$name $rps $p50 $p99 $rss $other $cpu_us" >>"$WORK/results"
}

: >"$WORK/results"
for target in $TARGETS; do
	port=$(free_port)
	base="http://127.0.0.1:$port"
	case $target in
	bare)
		start_server bare barehttp "$WORK/barehttp" -addr "127.0.0.1:$port"
		measure bare "$base/flights/1"
		;;
	reservd-sqlite)
		mkdir -p "$WORK/data"
		start_server reservd-sqlite reservd env -u DATABASE_URL -u REDIS_URL \
			ADDR="127.0.0.1:$port" DATA_DIR="$WORK/data" SEED_DEMO=true "$WORK/reservd" serve
		measure reservd-sqlite "$base/flights/1"
		;;
	reservd-postgres)
		pg_create_db
		key=$(newkey --name bench --admin)
		[[ -n $key ]] || die "reservd-postgres: could not create an admin key"
		start_server reservd-postgres reservd env -u REDIS_URL \
			ADDR="127.0.0.1:$port" DATABASE_URL="$DB_URL" "$WORK/reservd" serve
		flight_json >"$WORK/flight.json"
		created=$(curl -sS -X POST -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
			--data-binary "@$WORK/flight.json" "$base/flights")
		id=$(grep -o '"id":[0-9]*' <<<"$created" | head -n 1 | cut -d: -f2)
		[[ -n $id ]] || die "reservd-postgres: creating the flight failed: $created"
		HELPER_DB=$BENCH_DB
		measure reservd-postgres "$base/flights/$id"
		HELPER_DB=
		;;
	*)
		die "unknown target $target (want bare, reservd-sqlite or reservd-postgres)"
		;;
	esac
	stop_servers
done

say "done: $(nproc) CPUs, $(go env GOVERSION), LOG_LEVEL=$LOG_LEVEL, wrk -t$THREADS -c$CONNECTIONS -d$DURATION"
awk '
	BEGIN {
		print "| target | req/s | p50 (ms) | p99 (ms) | peak RSS (MB) | × bare | other CPU | CPU µs/req | × bare by CPU |"
		print "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	}
	$1 == "bare" { bare = $2; barecpu = $7 }
	{ name[NR] = $1; rps[NR] = $2; p50[NR] = $3; p99[NR] = $4; rss[NR] = $5; other[NR] = $6; cpu[NR] = $7 }
	END {
		for (i = 1; i <= NR; i++) {
			ratio = bare > 0 ? sprintf("%.2f", rps[i] / bare) : "n/a"
			cratio = (barecpu > 0 && cpu[i] > 0) ? sprintf("%.2f", barecpu / cpu[i]) : "n/a"
			printf "| %s | %.0f | %s | %s | %s | %s | %s%% | %s | %s |\n", name[i], rps[i], p50[i], p99[i], rss[i], ratio, other[i], cpu[i], cratio
		}
	}' "$WORK/results"
