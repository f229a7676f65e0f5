#!/usr/bin/env bash
# bench/offers.sh — GET /offers: search latency with three simulated providers
# (cmd/providersim), one of them black-holed, at CONNECTIONS concurrent
# searches (default 32), every search distinct so that none is answered
# from the cache; then one search repeated (cache hits) beside a bare
# net/http JSON handler (cmd/barehttp), in the same run. Documented in
# docs/PERFORMANCE.md.
#
#   bench/offers.sh                  # or: make bench-offers
#   BLACK_HOLE=kiwi DURATION=30s bench/offers.sh
#
# Environment:
#   DURATION          length of each measured run (default 15s); WARMUP (default
#                     3s) precedes the cache-hit and bare runs only: the distinct
#                     run starts cold, as the black hole's circuit breaker would
#   CONNECTIONS       concurrent searches (default 32)
#   BLACK_HOLE        the provider that never answers: duffel, amadeus or kiwi
#                     (default duffel)
#   SEARCH_BUDGET     reservd's budget for one search (default 3s);
#   PROVIDER_TIMEOUT  for one provider call (default 2s)
#   PG_URL            PostgreSQL server (default postgres://postgres@127.0.0.1:5432);
#                     the database BENCH_DB (default reservd_bench_offers) on it
#                     is dropped, recreated, and dropped again at the end
#
# reservd runs on 127.0.0.1 with RATE_LIMIT=0 and LOG_LEVEL=warn, no Redis
# (the search cache is in process), its providers pointed at providersim.
set -euo pipefail

DURATION=${DURATION:-15s}
WARMUP=${WARMUP:-3s}
CONNECTIONS=${CONNECTIONS:-32}
BLACK_HOLE=${BLACK_HOLE:-duffel}
export SEARCH_BUDGET=${SEARCH_BUDGET:-3s}
export PROVIDER_TIMEOUT=${PROVIDER_TIMEOUT:-2s}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
PG_URL=${PG_URL%/}
BENCH_DB=${BENCH_DB:-reservd_bench_offers}
export LOG_LEVEL=${LOG_LEVEL:-warn}
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
die() { echo "bench: $*" >&2; exit 1; }
say() { echo "bench: $*" >&2; }

for tool in go psql curl jq; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done
[[ $BENCH_DB =~ ^[a-z_][a-z0-9_]*$ ]] || die "BENCH_DB must be a plain lower-case identifier"
case $BLACK_HOLE in duffel | amadeus | kiwi) ;; *) die "BLACK_HOLE must be duffel, amadeus or kiwi" ;; esac
psql "$PG_URL/postgres" -XAtqc 'SELECT 1' >/dev/null 2>&1 || die "PostgreSQL does not answer at $PG_URL"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/reservd-bench-offers.XXXXXX")
PIDS=()
RESERVD_PID=
DB_CREATED=
cleanup() {
	local rc=$? p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
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

say "building reservd, providersim, barehttp and loadgen from $ROOT"
(cd "$ROOT" && for c in reservd providersim barehttp loadgen; do go build -o "$WORK/$c" "./cmd/$c"; done)

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
# wait_up URL PID: wait up to 30 s for URL to answer 200 while PID lives.
wait_up() {
	for _ in $(seq 300); do
		if curl -fsS -o /dev/null "$1" 2>/dev/null; then
			sleep 0.2 # still alive, so the answer was ours
			kill -0 "$2" 2>/dev/null && return
		fi
		kill -0 "$2" 2>/dev/null || { cat "$WORK"/*.log >&2; die "a server exited while starting"; }
		sleep 0.1
	done
	die "$1 did not answer within 30 s"
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
# measured CMD...: run CMD (stdout to $WORK/out) and set OTHER_CPU to the
# share of the machine's CPU used meanwhile by processes other than CMD, the
# servers started here and PostgreSQL's processes for the bench database.
measured() {
	local m0 m1 o0 o1 k0 k1
	read -r -a m0 <<<"$(machine_jiffies)"
	o0=$(($(pg_jiffies) + $(cpu_jiffies "${PIDS[@]}")))
	children_jiffies >"$WORK/kids" && read -r k0 <"$WORK/kids"
	"$@" >"$WORK/out"
	children_jiffies >"$WORK/kids" && read -r k1 <"$WORK/kids"
	o1=$(($(pg_jiffies) + $(cpu_jiffies "${PIDS[@]}")))
	read -r -a m1 <<<"$(machine_jiffies)"
	OTHER_CPU=$(awk -v b=$((m1[0] - m0[0])) -v o=$((o1 - o0 + k1 - k0)) -v t=$((m1[1] - m0[1])) \
		'BEGIN { x = t > 0 ? 100 * (b - o) / t : 0; printf "%.0f", x < 0 ? 0 : x }')
	((OTHER_CPU <= 10)) || say "WARNING: other processes used ${OTHER_CPU}% of the machine's CPU during the run; the numbers are noisy"
}

# The three simulators, one process; one black-holed.
declare -A SIM
for p in duffel amadeus kiwi; do SIM[$p]=127.0.0.1:$(free_port); done
say "starting providersim: duffel ${SIM[duffel]}, amadeus ${SIM[amadeus]}, kiwi ${SIM[kiwi]}"
"$WORK/providersim" -duffel "${SIM[duffel]}" -amadeus "${SIM[amadeus]}" -kiwi "${SIM[kiwi]}" >"$WORK/providersim.log" 2>&1 &
PIDS+=($!)
for p in duffel amadeus kiwi; do wait_up "http://${SIM[$p]}/_sim/stats" "${PIDS[-1]}"; done
curl -fsS -o /dev/null -X PUT "http://${SIM[$BLACK_HOLE]}/_sim/knobs" -d '{"black_hole": true}'
say "$BLACK_HOLE is black-holed: $(curl -fsS "http://${SIM[$BLACK_HOLE]}/_sim/knobs")"

say "creating database $BENCH_DB"
DB_CREATED=1
psql "$PG_URL/postgres" -XAtqc "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" >/dev/null
psql "$PG_URL/postgres" -XAtqc "CREATE DATABASE $BENCH_DB" >/dev/null
DB_URL="$PG_URL/$BENCH_DB"
KEY=$(env -u REDIS_URL DATABASE_URL="$DB_URL" "$WORK/reservd" keys create --name bench 2>>"$WORK/keys.log" | tail -n 1)

PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
say "starting reservd on $BASE (SEARCH_BUDGET=$SEARCH_BUDGET, PROVIDER_TIMEOUT=$PROVIDER_TIMEOUT, RATE_LIMIT=0, no Redis)"
env -u REDIS_URL ADDR="127.0.0.1:$PORT" DATABASE_URL="$DB_URL" RATE_LIMIT=0 \
	DUFFEL_BASE_URL="http://${SIM[duffel]}" DUFFEL_ACCESS_TOKEN=duffel_test_bench \
	AMADEUS_BASE_URL="http://${SIM[amadeus]}" AMADEUS_CLIENT_ID=bench AMADEUS_CLIENT_SECRET=bench \
	KIWI_BASE_URL="http://${SIM[kiwi]}" KIWI_API_KEY=bench \
	"$WORK/reservd" serve >"$WORK/reservd.log" 2>&1 &
PIDS+=($!)
RESERVD_PID=${PIDS[-1]}
wait_up "$BASE/healthz" "$RESERVD_PID"

: >"$WORK/results"
# row NAME: one table row per summary of $WORK/out.
row() {
	jq -r --arg other "$OTHER_CPU" '.summaries[] |
		"| \(.name) | \(.requests) | \(.rps) | \(.p50_ms) | \(.p90_ms) | \(.p99_ms) | \(.max_ms) | \(.status | to_entries | map("\(.key):\(.value)") | join(" ")) | \($other)% |"' \
		"$WORK/out" >>"$WORK/results"
}

say "distinct searches: loadgen offers -c $CONNECTIONS -d $DURATION (load average $(cut -d' ' -f1 /proc/loadavg))"
measured "$WORK/loadgen" offers -url "$BASE" -keys "$KEY" -c "$CONNECTIONS" -d "$DURATION" -json
cp "$WORK/out" "$WORK/distinct.json"
row
say "one search repeated (cache hits): loadgen offers -same -c $CONNECTIONS -warmup $WARMUP -d $DURATION"
measured "$WORK/loadgen" offers -same -url "$BASE" -keys "$KEY" -c "$CONNECTIONS" -warmup "$WARMUP" -d "$DURATION" -json
cp "$WORK/out" "$WORK/same.json"
row
RSS=$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$RESERVD_PID/status")

BARE_PORT=$(free_port)
"$WORK/barehttp" -addr "127.0.0.1:$BARE_PORT" >"$WORK/barehttp.log" 2>&1 &
PIDS+=($!)
wait_up "http://127.0.0.1:$BARE_PORT/healthz" "${PIDS[-1]}"
say "bare net/http: loadgen get -c $CONNECTIONS -warmup $WARMUP -d $DURATION"
measured "$WORK/loadgen" get -name "barehttp GET /flights/1" -url "http://127.0.0.1:$BARE_PORT/flights/1" -c "$CONNECTIONS" -warmup "$WARMUP" -d "$DURATION" -json
cp "$WORK/out" "$WORK/bare.json"
row

BYTES=$(curl -fsS -H "Authorization: Bearer $KEY" "$BASE/offers?origin=SFO&destination=JFK&departure_date=$(date -u -d '+30 days' +%F)&adults=1&currency=USD" | wc -c)
say "done: $(nproc) CPUs, $(go env GOVERSION); reservd peak RSS $RSS MB; a cached search answer is $BYTES bytes"
echo
echo "| run | requests | req/s | p50 (ms) | p90 (ms) | p99 (ms) | max (ms) | answers | other CPU |"
echo "|---|---:|---:|---:|---:|---:|---:|---|---:|"
cat "$WORK/results"
echo
jq -r -n --slurpfile d "$WORK/distinct.json" --slurpfile s "$WORK/same.json" --slurpfile bare "$WORK/bare.json" \
	--arg budget "$SEARCH_BUDGET" --arg hole "$BLACK_HOLE" --arg rss "$RSS" '
	($budget | if endswith("ms") then rtrimstr("ms") | tonumber elif endswith("s") then rtrimstr("s") | tonumber * 1000 else error("SEARCH_BUDGET: use s or ms") end) as $b |
	$d[0].summaries[0] as $all |
	([$d[0].summaries[1:][] | select(.name | contains($hole + "=timeout"))] | first) as $waited |
	"target distinct-search p99 <= SEARCH_BUDGET + 50 ms = \($b + 50) ms: p99 \($all.p99_ms) ms  \(if $all.p99_ms <= $b + 50 then "MET" else "NOT MET" end)",
	(if $waited then "  searches that waited for the black hole (\($waited.name)): \($waited.requests), p99 \($waited.p99_ms) ms, max \($waited.max_ms) ms  \(if $waited.p99_ms <= $b + 50 then "within" else "OVER" end) the budget + 50 ms" else empty end),
	"cache hits: \($s[0].summaries[0].rps) searches/s = \(($s[0].summaries[0].rps / $bare[0].summaries[0].rps * 100 | round) / 100) x bare net/http (\($bare[0].summaries[0].rps) req/s)",
	"reservd peak RSS (VmHWM): \($rss) MB"'
