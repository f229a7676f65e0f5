#!/usr/bin/env bash
# bench/holds.sh — POST /holds throughput on PostgreSQL, distinct seats, every
# request with its API key and its own Idempotency-Key, beside pgbench
# running the single conditional UPDATE that grants a seat, on the same
# PostgreSQL in the same run. Documented in docs/PERFORMANCE.md.
#
#   bench/holds.sh                 # or: make bench-holds
#   DURATION=30s bench/holds.sh
#
# Environment:
#   DURATION      length of each measured run (default 15s); WARMUP (default 3s)
#   CONNECTIONS   concurrent HTTP connections, and pgbench clients (default 64)
#   FLIGHTS       1000-seat flights created through the API for the hold run
#                 (default 120: 120,000 seats; the run warns if they run out)
#   PGB_SEATS     fresh seats set aside for each pgbench run, shared out
#                 equally among its clients (default 300000; the run warns if
#                 a client needs more than its share)
#   BENCH_REDIS_URL  run reservd with Redis at this redis:// URL (a key
#                 prefix of its own), as in production; unset: no Redis
#   HOLD_BATCH, HOLD_BATCH_SLOTS, HOLD_BATCH_WINDOW, HOLD_BATCH_MAX  passed on to reservd
#                 (HOLD_BATCH=off: one transaction per hold)
#   PG_URL        PostgreSQL server (default postgres://postgres@127.0.0.1:5432);
#                 the database BENCH_DB (default reservd_bench_holds) on it is
#                 dropped, recreated, and dropped again at the end
#
# Steps: build reservd and loadgen into a temporary directory; create the
# database, an admin key and 8 customer keys (`reservd keys create`); start
# reservd on 127.0.0.1 (RATE_LIMIT=0, LOG_LEVEL=warn, no Redis); create the
# flights through POST /flights; run `loadgen holds` (each request holds one
# seat nobody has held); read reservd's peak RSS (VmHWM); stop reservd; add
# fresh 1000-seat flights with SQL into the same seats table and run
# bench/holds_pgbench.sql with pgbench at CONNECTIONS clients and at 8
# clients (reservd's pool size on 2 CPUs), then bench/holds_tx_pgbench.sql
# (reservd's own statements for a hold, without reservd) at both, and
# bench/holds_batch_pgbench.sql (reservd's batch transaction, at the mean
# batch size the hold run had) at CONNECTIONS clients, each run on seats of
# its own; print a Markdown table, the CPU per hold of reservd (and Redis),
# PostgreSQL and the load generator, reservd's holds/s over its batched SQL
# replayed, and the
# targets (holds/s >= 0.5 x pgbench TPS at the same concurrency, p99 <= 50 ms,
# peak RSS <= 100 MB). "other CPU" is the share of the machine's CPU used by
# processes other than the benchmark's own during the run (noise).
# shellcheck source=bench/lib.sh
# The load generator sends many customers' holds with few API keys, so the
# per-customer caps (HOLD_MAX_SEATS_PER_FLIGHT, HOLD_MAX_ACTIVE) and the
# per-key in-flight cap (MAX_IN_FLIGHT_PER_KEY) are off, as RATE_LIMIT is.
. "$(dirname "$0")/lib.sh"

DURATION=${DURATION:-15s}
WARMUP=${WARMUP:-3s}
CONNECTIONS=${CONNECTIONS:-64}
FLIGHTS=${FLIGHTS:-120}
PGB_SEATS=${PGB_SEATS:-300000}
BENCH_DB=${BENCH_DB:-reservd_bench_holds}

need go psql pgbench curl jq
pg_check
bench_start holds
build reservd loadgen

pg_create_db
ADMIN=$(newkey --name bench-admin --admin)
KEYS=
for i in $(seq 8); do KEYS+="${KEYS:+,}$(newkey --name "bench-$i")"; done

PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
REDIS_ENV=(-u REDIS_URL)
if [[ -n ${BENCH_REDIS_URL:-} ]]; then
	REDIS_ENV=(REDIS_URL="$BENCH_REDIS_URL" REDIS_PREFIX="bench-holds-$$")
	# Redis's CPU counts as reservd's in the accounting (a local server).
	mapfile -t OWN_PIDS < <(pgrep -x redis-server || true)
fi
say "starting reservd on $BASE (PostgreSQL, Redis ${BENCH_REDIS_URL:-off}, HOLD_BATCH=${HOLD_BATCH:-on}, RATE_LIMIT=0, LOG_LEVEL=$LOG_LEVEL)"
start_bg reservd env "${REDIS_ENV[@]}" ADDR="127.0.0.1:$PORT" DATABASE_URL="$DB_URL" RATE_LIMIT=0 HOLD_MAX_SEATS_PER_FLIGHT=0 HOLD_MAX_ACTIVE=0 MAX_IN_FLIGHT_PER_KEY=0 "$WORK/reservd" serve
wait_up "$BASE/healthz"

say "creating $FLIGHTS flights of 1000 seats through POST /flights"
FLIGHT_IDS=$("$WORK/loadgen" mkflights -url "$BASE" -admin-key "$ADMIN" -n "$FLIGHTS" -seats 1000 | paste -sd, -)

LOAD1=$(cut -d' ' -f1 /proc/loadavg)
say "loadgen holds -c $CONNECTIONS -warmup $WARMUP -d $DURATION (load average before: $LOAD1)"
SRV_J0=$(cpu_jiffies "$SERVER_PID" "${OWN_PIDS[@]}")
measured --settle "$WORK/loadgen" holds -url "$BASE" -keys "$KEYS" -flights "$FLIGHT_IDS" -c "$CONNECTIONS" -warmup "$WARMUP" -d "$DURATION" -json
SRV_J=$(($(cpu_jiffies "$SERVER_PID" "${OWN_PIDS[@]}") - SRV_J0))
cp "$WORK/out" "$WORK/holds.json"
HOLD_OTHER=$OTHER_CPU
RSS=$(peak_rss_mb "$SERVER_PID")
# CPU per hold over the whole run (warm-up included), per hold in the
# database: reservd (with Redis, when on), PostgreSQL, the load generator.
HOLDS_MADE=$(psql "$DB_URL" -XAtqc "SELECT count(*) FROM holds")
read -r CPU_RESERVD CPU_PG CPU_LOADGEN < <(awk -v s="$SRV_J" -v o="$CPU_OURS_J" -v k="$CPU_KIDS_J" -v n="$HOLDS_MADE" -v hz="$(getconf CLK_TCK)" \
	'BEGIN { f = n > 0 ? 1000 / hz / n : 0; printf "%.3f %.3f %.3f\n", s * f, (o - s) * f, k * f }')
# The batch size reservd ran at: the batched replay below uses it.
BATCH_MEAN=$(curl -fsS "$BASE/metrics" | awk '/^reservd_hold_batch_size_sum/ { s = $2 } /^reservd_hold_batch_size_count/ { c = $2 } END { printf "%.0f", (c > 0 ? s / c : 1) }')
((BATCH_MEAN >= 1)) || BATCH_MEAN=1
# Said now, so that a pgbench run that fails (say, a server out of
# connections) does not lose it.
say "reservd: $(jq -r '.summaries[0] as $s | "\(.extra.holds_per_sec) holds/s, p50 \($s.p50_ms) ms, p99 \($s.p99_ms) ms"' "$WORK/holds.json"), peak RSS $RSS MB, other CPU $HOLD_OTHER%"
HELD_SQL=$(psql "$DB_URL" -XAtqc "SELECT count(*) FROM seats WHERE hold_id LIKE 'hld_%'")
stop_servers
if [[ $(jq -r .extra.seats_ran_out "$WORK/holds.json") == true ]]; then
	say "WARNING: the hold run used every seat before its end; raise FLIGHTS"
fi

# pgbench: the same seats table, fresh seats, flights numbered contiguously.
PG_SECS=${DURATION%s}
[[ $PG_SECS =~ ^[0-9]+$ ]] || die "DURATION must be whole seconds (like 15s) for pgbench -T"
PGB_FLIGHTS=$((5 * (PGB_SEATS / 1000 + 1)))
say "adding $PGB_FLIGHTS flights of 1000 seats for pgbench"
psql "$DB_URL" -XAtq -v ON_ERROR_STOP=1 <<SQL >/dev/null
INSERT INTO flights (number, origin, destination, departs_at, arrives_at, currency, seats_total)
SELECT 'PB' || g, 'SFO', 'JFK', now() + interval '30 days', now() + interval '30 days 5 hours 30 minutes', 'USD', 1000
FROM generate_series(1, $PGB_FLIGHTS) g ORDER BY g;
INSERT INTO seats (flight_id, label, row_no, letter, cabin, price_amount)
SELECT f.id, r || l, r, l, 'economy', 12900
FROM flights f, generate_series(1, 100) r, unnest('{A,B,C,D,E,F,G,H,J,K}'::text[]) l
WHERE f.number LIKE 'PB%';
ANALYZE seats;
CHECKPOINT;
SQL
read -r FBASE FMAX < <(psql "$DB_URL" -XAtqF' ' -c "SELECT min(id), max(id) FROM flights WHERE number LIKE 'PB%'")
((FMAX - FBASE + 1 == PGB_FLIGHTS)) || die "the pgbench flights are not numbered contiguously"

# The replay of reservd's hold transaction looks its API key up like reservd.
read -r KEY_ID KEY_DIGEST < <(psql "$DB_URL" -XAtqF' ' -c "SELECT id, encode(digest, 'hex') FROM api_keys WHERE name = 'bench-1'")

# pgbench_run NAME CLIENTS PART SCRIPT [BATCH]: run SCRIPT on the PART-th
# (0 to 4) fifth of the pgbench flights, BATCH seats per transaction
# (default 1); TPS and latency percentiles from its per-transaction log, and
# the seats it granted.
pgbench_run() {
	local name=$1 clients=$2 fbase=$((FBASE + $3 * PGB_FLIGHTS / 5)) script=$4 batch=${5:-1} threads
	threads=$((clients < 2 ? 1 : 2))
	rm -f "$WORK"/pgb_log*
	psql "$DB_URL" -XAtqc "CHECKPOINT" >/dev/null
	say "pgbench $name: -M prepared -c $clients -j $threads -T $PG_SECS -f bench/$script"
	measured --settle pgbench -n -M prepared -c "$clients" -j "$threads" -T "$PG_SECS" -l --log-prefix="$WORK/pgb_log" \
		-D n=0 -D stride=$((PGB_SEATS / clients)) -D fbase="$fbase" -D keyid="$KEY_ID" -D digest="$KEY_DIGEST" -D batch="$batch" \
		-f "$ROOT/bench/$script" "$DB_URL"
	local tps tx granted
	tps=$(awk -F' = ' '/^tps/ { split($2, a, " "); printf "%.1f", a[1] }' "$WORK/out")
	tx=$(awk -F': ' '/actually processed/ { print $2 }' "$WORK/out")
	granted=$(psql "$DB_URL" -XAtqc "SELECT count(*) FROM seats WHERE flight_id >= $fbase AND flight_id < $fbase + $PGB_FLIGHTS / 5 AND hold_id LIKE 'pgb%'")
	# Column 3 of each log line is the transaction's latency in microseconds.
	cat "$WORK"/pgb_log* | awk '{ print $3 }' | sort -n >"$WORK/pgb_lat"
	local p50 p99 max
	read -r p50 p99 max < <(awk '{ v[NR] = $1 } END {
		r50 = int(NR * 0.50); if (r50 < NR * 0.50) r50++; r99 = int(NR * 0.99); if (r99 < NR * 0.99) r99++
		printf "%.2f %.2f %.2f\n", v[r50] / 1000, v[r99] / 1000, v[NR] / 1000 }' "$WORK/pgb_lat")
	echo "$name|$tps|$p50|$p99|$max|$tx|$granted|$OTHER_CPU|$batch" >>"$WORK/pgb_results"
}
: >"$WORK/pgb_results"
pgbench_run "pgbench -c $CONNECTIONS, conditional UPDATE" "$CONNECTIONS" 0 holds_pgbench.sql
pgbench_run "pgbench -c 8, conditional UPDATE" 8 1 holds_pgbench.sql
pgbench_run "pgbench -c $CONNECTIONS, reservd's hold statements replayed" "$CONNECTIONS" 2 holds_tx_pgbench.sql
pgbench_run "pgbench -c 8, reservd's hold statements replayed" 8 3 holds_tx_pgbench.sql
pgbench_run "pgbench -c $CONNECTIONS, reservd's batch of $BATCH_MEAN replayed" "$CONNECTIONS" 4 holds_batch_pgbench.sql "$BATCH_MEAN"
while IFS='|' read -r name tps _ _ _ tx granted _ batch; do
	((tx * batch == granted)) || say "WARNING: $name: $tx transactions but $granted seats granted (a client ran out of its share of PGB_SEATS: raise it)"
done <"$WORK/pgb_results"

# Results.
read -r H_OK H_P50 H_P90 H_P99 H_MAX H_STATUS < <(jq -r '.summaries[0] as $s |
	"\(.extra.holds_per_sec) \($s.p50_ms) \($s.p90_ms) \($s.p99_ms) \($s.max_ms) \($s.status | to_entries | map("\(.key):\(.value)") | join(","))"' "$WORK/holds.json")
PGB_TPS=$(head -n 1 "$WORK/pgb_results" | cut -d'|' -f2)
say "done: $(nproc) CPUs, $(go env GOVERSION), $(pgq 'SHOW server_version'), seats held by the run per SQL: $HELD_SQL"
echo
echo "| run | ops/s | p50 (ms) | p90 (ms) | p99 (ms) | max (ms) | answers / transactions | peak RSS (MB) | other CPU |"
echo "|---|---:|---:|---:|---:|---:|---|---:|---:|"
echo "| reservd POST /holds, $CONNECTIONS conns | $H_OK | $H_P50 | $H_P90 | $H_P99 | $H_MAX | $H_STATUS | $RSS | ${HOLD_OTHER}% |"
while IFS='|' read -r name tps p50 p99 max tx granted other _; do
	echo "| $name | $tps | $p50 | – | $p99 | $max | $tx tx, $granted seats granted | – | ${other}% |"
done <"$WORK/pgb_results"
echo
echo "CPU per hold (ms): reservd${BENCH_REDIS_URL:+ + Redis} $CPU_RESERVD, PostgreSQL $CPU_PG, load generator $CPU_LOADGEN ($HOLDS_MADE holds, mean batch $BATCH_MEAN)"
read -r BATCH_TPS BATCH_N < <(tail -n 1 "$WORK/pgb_results" | awk -F'|' '{ print $2, $9 }')
awk -v h="$H_OK" -v t="$BATCH_TPS" -v b="$BATCH_N" 'BEGIN { printf "reservd holds/s / its batched SQL replayed in pgbench (%.0f tx/s x %d = %.0f holds/s): %.2f\n", t, b, t * b, (t * b > 0 ? h / (t * b) : 0) }'
# Each target prints MET or NOT MET; a target NOT MET makes the script exit 1
# (after printing every target), as bench/flashsale.sh does for its checks.
awk -v h="$H_OK" -v t="$PGB_TPS" -v p99="$H_P99" -v rss="$RSS" -v c="$CONNECTIONS" '
function verdict(ok) { if (!ok) missed++; return ok ? "MET" : "NOT MET" }
BEGIN {
	r = t > 0 ? h / t : 0
	printf "target holds/s >= 0.5 x pgbench TPS (c=%d): %.0f / %.0f = %.2f  %s\n", c, h, t, r, verdict(r >= 0.5)
	printf "target p99 <= 50 ms: %.2f ms  %s\n", p99, verdict(p99 <= 50)
	printf "target peak RSS <= 100 MB: %.1f MB  %s\n", rss, verdict(rss <= 100)
	exit missed > 0
}' || die "at least one target is NOT MET"
