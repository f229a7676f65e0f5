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
#                 (default 40: 40,000 seats; the run warns if they run out)
#   PGB_SEATS     fresh seats set aside for each pgbench run, shared out
#                 equally among its clients (default 300000; the run warns if
#                 a client needs more than its share)
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
# (reservd's own statements for a hold, without reservd) at both, each run
# on seats of its own; print a Markdown table and the
# targets (holds/s >= 0.5 x pgbench TPS at the same concurrency, p99 <= 50 ms,
# peak RSS <= 200 MB). "other CPU" is the share of the machine's CPU used by
# processes other than the benchmark's own during the run (noise).
set -euo pipefail

DURATION=${DURATION:-15s}
WARMUP=${WARMUP:-3s}
CONNECTIONS=${CONNECTIONS:-64}
FLIGHTS=${FLIGHTS:-40}
PGB_SEATS=${PGB_SEATS:-300000}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
PG_URL=${PG_URL%/}
BENCH_DB=${BENCH_DB:-reservd_bench_holds}
export LOG_LEVEL=${LOG_LEVEL:-warn}
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
die() { echo "bench: $*" >&2; exit 1; }
say() { echo "bench: $*" >&2; }

for tool in go psql pgbench curl jq; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done
[[ $BENCH_DB =~ ^[a-z_][a-z0-9_]*$ ]] || die "BENCH_DB must be a plain lower-case identifier"
psql "$PG_URL/postgres" -XAtqc 'SELECT 1' >/dev/null 2>&1 || die "PostgreSQL does not answer at $PG_URL"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/reservd-bench-holds.XXXXXX")
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

# cpu_jiffies PID...: user + system clock ticks of the processes.
cpu_jiffies() {
	local p stat sum=0 f
	for p in "$@"; do
		stat=$(cat "/proc/$p/stat" 2>/dev/null) || continue # it may have exited
		stat=${stat##*) }
		read -r -a f <<<"$stat"
		sum=$((sum + f[11] + f[12]))
	done
	echo "$sum"
}
# machine_jiffies: "busy total" clock ticks of all CPUs since boot.
# Busy is user + nice + system: interrupt and softirq time (loopback
# networking, heavy at thousands of requests a second) belongs to no process
# and would otherwise count as "other".
machine_jiffies() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print $2 + $3 + $4, t }' /proc/stat; }
# children_jiffies: CPU ticks of this shell's reaped children (loadgen,
# pgbench). `times` must run in this shell, not in a subshell.
children_jiffies() {
	times >"$WORK/times"
	awk -v hz="$(getconf CLK_TCK)" 'NR == 2 { s = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); s += a[1] * 60 + a[2] }; printf "%d\n", s * hz }' "$WORK/times"
}
# pg_jiffies: CPU ticks of the bench database's live backends plus those of
# every backend the postmaster has reaped (its cutime + cstime), so that a
# backend that ends during a run (pgbench's) is counted in full. Another
# user's backend that ends during a run counts too: "other CPU" errs low.
PM_PID=$(awk '{ print $4 }' "/proc/$(psql "$PG_URL/postgres" -XAtqc "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'")/stat")
pg_jiffies() {
	local pids
	pids=$(psql "$PG_URL/postgres" -XAtqc "SELECT pid FROM pg_stat_activity WHERE datname = '$BENCH_DB' OR backend_type <> 'client backend'" | tr '\n' ' ')
	# shellcheck disable=SC2086 # one PID a word
	echo $(($(cpu_jiffies $pids) + $(awk '{ print $16 + $17 }' "/proc/$PM_PID/stat")))
}

# measured CMD...: run CMD (stdout to $WORK/out) and set OTHER_CPU to the
# share of the machine's CPU that processes other than CMD, reservd and the
# bench database's backends used meanwhile: 0% on a quiet machine.
measured() {
	local m0 m1 o0 o1 k0 k1
	read -r -a m0 <<<"$(machine_jiffies)"
	o0=$(($(pg_jiffies) + $(cpu_jiffies $SERVER_PID)))
	children_jiffies >"$WORK/kids" && read -r k0 <"$WORK/kids"
	"$@" >"$WORK/out"
	sleep 0.2 # let the postmaster reap the backends of a finished pgbench
	children_jiffies >"$WORK/kids" && read -r k1 <"$WORK/kids"
	o1=$(($(pg_jiffies) + $(cpu_jiffies $SERVER_PID)))
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
newkey() { env -u REDIS_URL DATABASE_URL="$DB_URL" "$WORK/reservd" keys create "$@" 2>>"$WORK/keys.log" | tail -n 1; }
ADMIN=$(newkey --name bench-admin --admin)
KEYS=
for i in $(seq 8); do KEYS+="${KEYS:+,}$(newkey --name "bench-$i")"; done

PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
say "starting reservd on $BASE (PostgreSQL, no Redis, RATE_LIMIT=0, LOG_LEVEL=$LOG_LEVEL)"
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

say "creating $FLIGHTS flights of 1000 seats through POST /flights"
FLIGHT_IDS=$("$WORK/loadgen" mkflights -url "$BASE" -admin-key "$ADMIN" -n "$FLIGHTS" -seats 1000 | paste -sd, -)

LOAD1=$(cut -d' ' -f1 /proc/loadavg)
say "loadgen holds -c $CONNECTIONS -warmup $WARMUP -d $DURATION (load average before: $LOAD1)"
measured "$WORK/loadgen" holds -url "$BASE" -keys "$KEYS" -flights "$FLIGHT_IDS" -c "$CONNECTIONS" -warmup "$WARMUP" -d "$DURATION" -json
cp "$WORK/out" "$WORK/holds.json"
HOLD_OTHER=$OTHER_CPU
RSS=$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$SERVER_PID/status")
HELD_SQL=$(psql "$DB_URL" -XAtqc "SELECT count(*) FROM seats WHERE hold_id LIKE 'hld_%'")
kill "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=
if [[ $(jq -r .extra.seats_ran_out "$WORK/holds.json") == true ]]; then
	say "WARNING: the hold run used every seat before its end; raise FLIGHTS"
fi

# pgbench: the same seats table, fresh seats, flights numbered contiguously.
PG_SECS=${DURATION%s}
[[ $PG_SECS =~ ^[0-9]+$ ]] || die "DURATION must be whole seconds (like 15s) for pgbench -T"
PGB_FLIGHTS=$((4 * (PGB_SEATS / 1000 + 1)))
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

# pgbench_run NAME CLIENTS PART SCRIPT: run SCRIPT on the PART-th (0 to 3)
# quarter of the pgbench flights; TPS and latency percentiles from its
# per-transaction log, and the seats it granted.
pgbench_run() {
	local name=$1 clients=$2 fbase=$((FBASE + $3 * PGB_FLIGHTS / 4)) script=$4 threads
	threads=$((clients < 2 ? 1 : 2))
	rm -f "$WORK"/pgb_log*
	psql "$DB_URL" -XAtqc "CHECKPOINT" >/dev/null
	say "pgbench $name: -M prepared -c $clients -j $threads -T $PG_SECS -f bench/$script"
	measured pgbench -n -M prepared -c "$clients" -j "$threads" -T "$PG_SECS" -l --log-prefix="$WORK/pgb_log" \
		-D n=0 -D stride=$((PGB_SEATS / clients)) -D fbase="$fbase" -D keyid="$KEY_ID" -D digest="$KEY_DIGEST" \
		-f "$ROOT/bench/$script" "$DB_URL"
	local tps tx granted
	tps=$(awk -F' = ' '/^tps/ { split($2, a, " "); printf "%.1f", a[1] }' "$WORK/out")
	tx=$(awk -F': ' '/actually processed/ { print $2 }' "$WORK/out")
	granted=$(psql "$DB_URL" -XAtqc "SELECT count(*) FROM seats WHERE flight_id >= $fbase AND flight_id < $fbase + $PGB_FLIGHTS / 4 AND hold_id LIKE 'pgb%'")
	# Column 3 of each log line is the transaction's latency in microseconds.
	cat "$WORK"/pgb_log* | awk '{ print $3 }' | sort -n >"$WORK/pgb_lat"
	local p50 p99 max
	read -r p50 p99 max < <(awk '{ v[NR] = $1 } END {
		r50 = int(NR * 0.50); if (r50 < NR * 0.50) r50++; r99 = int(NR * 0.99); if (r99 < NR * 0.99) r99++
		printf "%.2f %.2f %.2f\n", v[r50] / 1000, v[r99] / 1000, v[NR] / 1000 }' "$WORK/pgb_lat")
	echo "$name|$tps|$p50|$p99|$max|$tx|$granted|$OTHER_CPU" >>"$WORK/pgb_results"
}
: >"$WORK/pgb_results"
pgbench_run "pgbench -c $CONNECTIONS, conditional UPDATE" "$CONNECTIONS" 0 holds_pgbench.sql
pgbench_run "pgbench -c 8, conditional UPDATE" 8 1 holds_pgbench.sql
pgbench_run "pgbench -c $CONNECTIONS, reservd's hold statements replayed" "$CONNECTIONS" 2 holds_tx_pgbench.sql
pgbench_run "pgbench -c 8, reservd's hold statements replayed" 8 3 holds_tx_pgbench.sql
while IFS='|' read -r name tps _ _ _ tx granted _; do
	((tx == granted)) || say "WARNING: $name: $tx transactions but $granted seats granted (a client ran out of its share of PGB_SEATS: raise it)"
done <"$WORK/pgb_results"

# Results.
read -r H_OK H_P50 H_P90 H_P99 H_MAX H_STATUS < <(jq -r '.summaries[0] as $s |
	"\(.extra.holds_per_sec) \($s.p50_ms) \($s.p90_ms) \($s.p99_ms) \($s.max_ms) \($s.status | to_entries | map("\(.key):\(.value)") | join(","))"' "$WORK/holds.json")
PGB_TPS=$(head -n 1 "$WORK/pgb_results" | cut -d'|' -f2)
say "done: $(nproc) CPUs, $(go env GOVERSION), $(psql "$PG_URL/postgres" -XAtqc 'SHOW server_version'), seats held by the run per SQL: $HELD_SQL"
echo
echo "| run | ops/s | p50 (ms) | p90 (ms) | p99 (ms) | max (ms) | answers / transactions | peak RSS (MB) | other CPU |"
echo "|---|---:|---:|---:|---:|---:|---|---:|---:|"
echo "| reservd POST /holds, $CONNECTIONS conns | $H_OK | $H_P50 | $H_P90 | $H_P99 | $H_MAX | $H_STATUS | $RSS | ${HOLD_OTHER}% |"
while IFS='|' read -r name tps p50 p99 max tx granted other; do
	echo "| $name | $tps | $p50 | – | $p99 | $max | $tx tx, $granted seats granted | – | ${other}% |"
done <"$WORK/pgb_results"
echo
awk -v h="$H_OK" -v t="$PGB_TPS" -v p99="$H_P99" -v rss="$RSS" -v c="$CONNECTIONS" 'BEGIN {
	r = t > 0 ? h / t : 0
	printf "target holds/s >= 0.5 x pgbench TPS (c=%d): %.0f / %.0f = %.2f  %s\n", c, h, t, r, (r >= 0.5 ? "MET" : "NOT MET")
	printf "target p99 <= 50 ms: %.2f ms  %s\n", p99, (p99 <= 50 ? "MET" : "NOT MET")
	printf "target peak RSS <= 200 MB: %.1f MB  %s\n", rss, (rss <= 200 ? "MET" : "NOT MET")
}'
