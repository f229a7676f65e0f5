#!/usr/bin/env bash
# bench/offers.sh — GET /offers: search latency with every provider of
# internal/provider/registry simulated (cmd/providersim), one of them
# black-holed, at CONNECTIONS concurrent searches (default 32), every search
# distinct so that none is answered from the cache, one way for one adult,
# then round trips (back a week later) for 2 adults and a child; then one
# search repeated (cache hits) beside a bare net/http JSON handler
# (cmd/barehttp), in the same run.
# Documented in docs/PERFORMANCE.md.
#
#   bench/offers.sh                  # or: make bench-offers
#   BLACK_HOLE=kiwi DURATION=30s bench/offers.sh
#
# Environment:
#   DURATION          length of each measured run (default 15s); WARMUP (default
#                     3s) precedes the cache-hit and bare runs only: the distinct
#                     run starts cold, as the black hole's circuit breaker would
#   CONNECTIONS       concurrent searches (default 32)
#   ROUND_TRIP        0 skips the round-trip run (default 1)
#   BLACK_HOLE        the provider that never answers, one of the names
#                     `providersim -names` prints (duffel, amadeus, kiwi);
#                     default the first, duffel
#   SEARCH_BUDGET     reservd's budget for one search (default 3s);
#   PROVIDER_TIMEOUT  for one provider call (default 2s)
#   PG_URL            PostgreSQL server (default postgres://postgres@127.0.0.1:5432);
#                     the database BENCH_DB (default reservd_bench_offers) on it
#                     is dropped, recreated, and dropped again at the end
#
# reservd runs on 127.0.0.1 with RATE_LIMIT=0 and LOG_LEVEL=warn, no Redis
# (the search cache is in process), its providers pointed at providersim by
# the settings `providersim -env` writes (each provider's base URL and
# credentials its simulator accepts): the script names no provider.
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

DURATION=${DURATION:-15s}
WARMUP=${WARMUP:-3s}
CONNECTIONS=${CONNECTIONS:-32}
ROUND_TRIP=${ROUND_TRIP:-1}
export SEARCH_BUDGET=${SEARCH_BUDGET:-3s}
export PROVIDER_TIMEOUT=${PROVIDER_TIMEOUT:-2s}
BENCH_DB=${BENCH_DB:-reservd_bench_offers}

need go psql curl jq
[[ $BENCH_DB =~ ^[a-z_][a-z0-9_]*$ ]] || die "BENCH_DB must be a plain lower-case identifier"
pg_up || die "PostgreSQL does not answer at $PG_URL"

bench_start offers
build reservd providersim barehttp loadgen

# The providers, as the registry lists them; BLACK_HOLE defaults to the first.
mapfile -t PROVIDERS < <("$WORK/providersim" -names)
((${#PROVIDERS[@]} > 0)) || die "providersim -names listed no provider"
BLACK_HOLE=${BLACK_HOLE:-${PROVIDERS[0]}}
[[ " ${PROVIDERS[*]} " == *" $BLACK_HOLE "* ]] || die "BLACK_HOLE must be one of: ${PROVIDERS[*]}"

# Every provider's simulator, one process, each on a free port (a flag named
# after its provider); one black-holed. Once they listen, providersim writes
# the settings that point reservd at them to $WORK/providers.env.
declare -A SIM
SIM_ARGS=()
SIM_LIST=
for p in "${PROVIDERS[@]}"; do
	SIM[$p]=127.0.0.1:$(free_port)
	SIM_ARGS+=("-$p" "${SIM[$p]}")
	SIM_LIST+="${SIM_LIST:+, }$p ${SIM[$p]}"
done
say "starting providersim: $SIM_LIST"
start_bg providersim "$WORK/providersim" "${SIM_ARGS[@]}" -env "$WORK/providers.env"
for p in "${PROVIDERS[@]}"; do wait_up "http://${SIM[$p]}/_sim/stats"; done
mapfile -t PROVIDER_ENV <"$WORK/providers.env"
((${#PROVIDER_ENV[@]} > 0)) || die "providersim wrote no provider settings"
curl -fsS -o /dev/null -X PUT "http://${SIM[$BLACK_HOLE]}/_sim/knobs" -d '{"black_hole": true}'
say "$BLACK_HOLE is black-holed: $(curl -fsS "http://${SIM[$BLACK_HOLE]}/_sim/knobs")"

pg_create_db
KEY=$(newkey --name bench)

PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
say "starting reservd on $BASE (SEARCH_BUDGET=$SEARCH_BUDGET, PROVIDER_TIMEOUT=$PROVIDER_TIMEOUT, RATE_LIMIT=0, no Redis)"
start_bg reservd env -u REDIS_URL ADDR="127.0.0.1:$PORT" DATABASE_URL="$DB_URL" RATE_LIMIT=0 \
	"${PROVIDER_ENV[@]}" "$WORK/reservd" serve
RESERVD_PID=$SERVER_PID
wait_up "$BASE/healthz"

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
echo '{"summaries": [{"p99_ms": 0, "rps": 0}]}' >"$WORK/round.json"
if [[ $ROUND_TRIP != 0 ]]; then
	say "distinct round trips for 2 adults and a child: loadgen offers -return-days 7 -adults 2 -children 1 -c $CONNECTIONS -d $DURATION"
	measured "$WORK/loadgen" offers -return-days 7 -adults 2 -children 1 -url "$BASE" -keys "$KEY" -c "$CONNECTIONS" -d "$DURATION" -json
	cp "$WORK/out" "$WORK/round.json"
	row
fi
say "one search repeated (cache hits): loadgen offers -same -c $CONNECTIONS -warmup $WARMUP -d $DURATION"
measured "$WORK/loadgen" offers -same -url "$BASE" -keys "$KEY" -c "$CONNECTIONS" -warmup "$WARMUP" -d "$DURATION" -json
cp "$WORK/out" "$WORK/same.json"
row
RSS=$(peak_rss_mb "$RESERVD_PID")

BARE_PORT=$(free_port)
start_bg barehttp "$WORK/barehttp" -addr "127.0.0.1:$BARE_PORT"
wait_up "http://127.0.0.1:$BARE_PORT/healthz"
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
jq -r -n --slurpfile d "$WORK/distinct.json" --slurpfile r "$WORK/round.json" --slurpfile s "$WORK/same.json" --slurpfile bare "$WORK/bare.json" \
	--arg budget "$SEARCH_BUDGET" --arg hole "$BLACK_HOLE" --arg rss "$RSS" '
	($budget | if endswith("ms") then rtrimstr("ms") | tonumber elif endswith("s") then rtrimstr("s") | tonumber * 1000 else error("SEARCH_BUDGET: use s or ms") end) as $b |
	$d[0].summaries[0] as $all |
	([$d[0].summaries[1:][] | select(.name | contains($hole + "=timeout"))] | first) as $waited |
	"target distinct-search p99 <= SEARCH_BUDGET + 50 ms = \($b + 50) ms: p99 \($all.p99_ms) ms  \(if $all.p99_ms <= $b + 50 then "MET" else "NOT MET" end)",
	(if $waited then "  searches that waited for the black hole (\($waited.name)): \($waited.requests), p99 \($waited.p99_ms) ms, max \($waited.max_ms) ms  \(if $waited.p99_ms <= $b + 50 then "within" else "OVER" end) the budget + 50 ms" else empty end),
	(if $r[0].summaries[0].rps > 0 then "round trips (2 adults + 1 child), distinct: p99 \($r[0].summaries[0].p99_ms) ms, \($r[0].summaries[0].rps) searches/s  \(if $r[0].summaries[0].p99_ms <= $b + 50 then "within" else "OVER" end) the budget + 50 ms" else empty end),
	"cache hits: \($s[0].summaries[0].rps) searches/s = \(($s[0].summaries[0].rps / $bare[0].summaries[0].rps * 100 | round) / 100) x bare net/http (\($bare[0].summaries[0].rps) req/s)",
	"reservd peak RSS (VmHWM): \($rss) MB"'
# The target above prints MET or NOT MET; NOT MET makes the script exit 1, as
# bench/flashsale.sh does for its checks.
jq -e -n --slurpfile d "$WORK/distinct.json" --arg budget "$SEARCH_BUDGET" '
	($budget | if endswith("ms") then rtrimstr("ms") | tonumber elif endswith("s") then rtrimstr("s") | tonumber * 1000 else error("SEARCH_BUDGET: use s or ms") end) as $b |
	$d[0].summaries[0].p99_ms <= $b + 50' >/dev/null || die "the distinct-search p99 target is NOT MET"
