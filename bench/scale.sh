#!/usr/bin/env bash
# bench/scale.sh — POST /holds throughput with 1, 2 and 3 reservd replicas
# behind HAProxy (deploy/haproxy/haproxy.cfg as shipped) on one PostgreSQL,
# first with each replica's pool straight to PostgreSQL, then through
# PgBouncer in transaction pooling mode (DATABASE_URL through PgBouncer with
# default_query_exec_mode=exec, DATABASE_DIRECT_URL for the migrations, as
# docs/OPERATIONS.md says). Where the CPU goes is read from /proc for each
# part: the replicas, the PostgreSQL backends serving the bench database,
# HAProxy, PgBouncer and the load generator.
# Documented in docs/PERFORMANCE.md ("Replicas behind HAProxy").
#
#   bench/scale.sh                 # or: make bench-scale
#   DURATION=30s REPLICAS="1 3" MODES=direct bench/scale.sh
#
# Environment:
#   DURATION      length of each measured run (default 15s); WARMUP (default 3s)
#   PRIME         length of the unreported first run that primes the new
#                 database (default 10s)
#   CONNECTIONS   concurrent HTTP connections of the load generator (default 64)
#   REPLICAS      replica counts to run, each from 1 to 3 (default "1 2 3")
#   MODES         "direct" and/or "pgbouncer" (default both)
#   POOL          each replica's pool_max_conns (default 8: the pgx pool
#                 reservd opens on 2 CPUs)
#   PGB_POOL      PgBouncer's default_pool_size and max_db_connections: the
#                 server connections all replicas share (default 8)
#   FLIGHTS       1000-seat flights created through the API for each run
#                 (default 40: 40,000 seats; the run fails if they run out)
#   BENCH_REDIS_URL  run the replicas with Redis at this redis:// URL (a key
#                 prefix of their own), as in production; unset: no Redis
#   PG_URL        PostgreSQL server (default postgres://postgres@127.0.0.1:5432);
#                 the database BENCH_DB (default reservd_bench_scale) on it is
#                 dropped, recreated, and dropped again at the end
#
# Steps: build reservd and loadgen; create the database, an admin key and 8
# customer keys; prime the database with an unreported run (1 replica,
# direct, PRIME); then for each mode and replica count: start PgBouncer
# (mode pgbouncer), the replicas and HAProxy (the servers it does not use
# point at a closed port and are DOWN before the run); create FLIGHTS
# flights through HAProxy and ANALYZE; run `loadgen holds` through HAProxy
# (each request holds one seat nobody has held, with its own
# Idempotency-Key) while reading the CPU time of every process involved,
# PostgreSQL's commits and the replicas' holds per transaction
# (reservd_hold_batch_size); check that every request held its seat and
# that nothing but 201 was answered; stop everything. Prints a Markdown
# table; exits 1 if any run answered anything but 201, held other seats
# than it was sent for, or ran out of seats.
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

DURATION=${DURATION:-15s}
WARMUP=${WARMUP:-3s}
PRIME=${PRIME:-10s}
CONNECTIONS=${CONNECTIONS:-64}
REPLICAS=${REPLICAS:-1 2 3}
MODES=${MODES:-direct pgbouncer}
POOL=${POOL:-8}
PGB_POOL=${PGB_POOL:-8}
FLIGHTS=${FLIGHTS:-40}
BENCH_DB=${BENCH_DB:-reservd_bench_scale}

need go psql curl jq
HAPROXY=$(PATH="$PATH:/usr/sbin" command -v haproxy) || die "haproxy is not installed (bin/install_tools.sh)"
PGBOUNCER=$(PATH="$PATH:/usr/sbin" command -v pgbouncer) || die "pgbouncer is not installed (bin/install_tools.sh)"
for n in $REPLICAS; do [[ $n =~ ^[123]$ ]] || die "REPLICAS: each count must be 1, 2 or 3 (deploy/haproxy/haproxy.cfg has three servers)"; done
for m in $MODES; do [[ $m == direct || $m == pgbouncer ]] || die "MODES: direct and/or pgbouncer"; done
pg_check
bench_start scale
build reservd loadgen
HZ=$(getconf CLK_TCK)

pg_create_db
ADMIN=$(newkey --name bench-admin --admin) # migrates the database first
KEYS=
for i in $(seq 8); do KEYS+="${KEYS:+,}$(newkey --name "bench-$i")"; done
REDIS_ENV=(-u REDIS_URL)
if [[ -n ${BENCH_REDIS_URL:-} ]]; then
	REDIS_ENV=(REDIS_URL="$BENCH_REDIS_URL" REDIS_PREFIX="bench-scale-$$")
fi

# start_pgbouncer: PgBouncer in transaction pooling mode in front of PG_URL;
# its address in PGB_ADDR, the bench database through it in PGB_URL, its
# PID in PGB_PID. As root it runs as postgres
# (it refuses root), in a directory of its own.
PGB_DIR=
bench_cleanup() { if [[ -n $PGB_DIR ]]; then rm -rf "$PGB_DIR"; fi; }
start_pgbouncer() {
	local dir port pg_host pg_port user
	# Outside $WORK, which only its owner may enter.
	[[ -n $PGB_DIR ]] || PGB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/reservd-bench-pgbouncer.XXXXXX")
	dir=$PGB_DIR
	chmod 777 "$dir"
	rm -f "$dir/pgbouncer.log"
	port=$(free_port)
	pg_host=$(sed -E 's#^[a-z]+://([^@/]*@)?([^:/]+).*#\2#' <<<"$PG_URL")
	pg_port=$(sed -nE 's#^[a-z]+://([^@/]*@)?[^:/]+:([0-9]+).*#\2#p' <<<"$PG_URL")
	user=$(sed -nE 's#^[a-z]+://([^:@/]+)[:@].*#\1#p' <<<"$PG_URL")
	printf '"%s" ""\n' "${user:-postgres}" >"$dir/userlist.txt"
	cat >"$dir/pgbouncer.ini" <<INI
[databases]
* = host=$pg_host port=${pg_port:-5432}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
max_client_conn = 2000
default_pool_size = $PGB_POOL
max_db_connections = $PGB_POOL
ignore_startup_parameters = extra_float_digits
logfile = $dir/pgbouncer.log
INI
	local as=()
	if (($(id -u) == 0)); then as=(-u postgres); fi
	start_bg pgbouncer "$PGBOUNCER" "${as[@]}" "$dir/pgbouncer.ini"
	PGB_PID=$SERVER_PID PGB_ADDR=127.0.0.1:$port
	PGB_URL=postgres://${user:-postgres}@$PGB_ADDR/$BENCH_DB
	local i
	for ((i = 0; i < 100; i++)); do
		# (PgBouncer refuses lib.sh's PGOPTIONS: a startup parameter.)
		PGOPTIONS='' psql "$PGB_URL" -XAtqc 'SELECT 1' >/dev/null 2>&1 && return
		kill -0 "$PGB_PID" 2>/dev/null || break
		sleep 0.1
	done
	tail -n 20 "$dir/pgbouncer.log" "$WORK/pgbouncer.log" >&2 || true
	die "pgbouncer did not answer on $PGB_ADDR"
}

# backend_ticks: "PID TICKS" of every PostgreSQL backend connected to the
# bench database (reservd's pools, or PgBouncer's server connections). Only
# these are counted as PostgreSQL's CPU: lib.sh's pg_jiffies also counts the
# server's background processes and every backend the postmaster reaped,
# which on a shared machine includes other people's test connections.
backend_ticks() {
	local p
	for p in $(pgq "SELECT pid FROM pg_stat_activity WHERE datname = '$BENCH_DB' AND backend_type = 'client backend' AND pid <> pg_backend_pid()"); do
		echo "$p $(cpu_jiffies "$p")"
	done
}
# backend_delta BEFORE AFTER: the ticks the backends spent between the two
# readings (a backend that appeared meanwhile counts from 0).
backend_delta() {
	awk 'NR == FNR { t0[$1] = $2; next } { d += $2 - ($1 in t0 ? t0[$1] : 0) } END { print d + 0 }' "$1" "$2"
}

# commits: transactions committed in the bench database so far.
commits() { pgq "SELECT xact_commit FROM pg_stat_database WHERE datname = '$BENCH_DB'"; }

# lb_status SERVER: HAProxy's status of SERVER (UP, DOWN, …) from its CSV stats.
lb_status() {
	curl -fsS "$STATS/stats;csv" | awk -F, -v s="$1" '$1 == "reservd" && $2 == s { print $18 }'
}

# run MODE N [DURATION]: one measured run; appends a line to $WORK/results,
# unless DURATION is given (the priming run).
run() {
	local mode=$1 n=$2 dur=${3:-$DURATION} db_url direct=() i r
	say "== $mode, $n replica(s)"
	RESERVD_PIDS=() PGB_PID=
	if [[ $mode == pgbouncer ]]; then
		start_pgbouncer
		db_url="$PGB_URL?default_query_exec_mode=exec&pool_max_conns=$POOL"
		direct=(DATABASE_DIRECT_URL="$DB_URL")
	else
		db_url="$DB_URL?pool_max_conns=$POOL"
	fi
	local servers=()
	for ((i = 1; i <= 3; i++)); do servers+=("127.0.0.1:$(free_port)"); done
	for ((i = 0; i < n; i++)); do
		start_bg "reservd-$((i + 1))" env -u PGOPTIONS "${REDIS_ENV[@]}" ADDR="${servers[i]}" DATABASE_URL="$db_url" "${direct[@]}" \
			RATE_LIMIT=0 HOLD_MAX_SEATS_PER_FLIGHT=0 HOLD_MAX_ACTIVE=0 MAX_IN_FLIGHT_PER_KEY=0 "$WORK/reservd" serve
		RESERVD_PIDS+=("$SERVER_PID")
		wait_up "http://${servers[i]}/readyz"
	done
	local bind stats
	bind=127.0.0.1:$(free_port) stats=127.0.0.1:$(free_port)
	STATS=http://$stats
	start_bg haproxy env -i RESERVD_LB_BIND="$bind" HAPROXY_STATS_BIND="$stats" \
		RESERVD_1="${servers[0]}" RESERVD_2="${servers[1]}" RESERVD_3="${servers[2]}" \
		"$HAPROXY" -db -f "$ROOT/deploy/haproxy/haproxy.cfg"
	local lb_pid=$SERVER_PID want got
	# The servers it does not use point at closed ports: wait until HAProxy
	# has them DOWN and the used ones UP, so that no request is redispatched.
	for ((i = 0; i < 150; i++)); do
		got='' want=''
		for ((r = 1; r <= 3; r++)); do
			got+="$(lb_status "reservd-$r" 2>/dev/null || true) "
			want+="$( ((r <= n)) && echo UP || echo DOWN) "
		done
		[[ $got == "$want" ]] && break
		kill -0 "$lb_pid" 2>/dev/null || { cat "$WORK/haproxy.log" >&2; die "haproxy exited"; }
		sleep 0.1
	done
	[[ $got == "$want" ]] || die "HAProxy servers are '$got', want '$want'"

	local flight_ids
	flight_ids=$("$WORK/loadgen" mkflights -url "http://$bind" -admin-key "$ADMIN" -n "$FLIGHTS" -seats 1000 | paste -sd, -)
	# Fresh statistics, as a database in service has: the first run's seats
	# land in tables the planner still thinks empty.
	psql "$DB_URL" -XAtqc "ANALYZE" >/dev/null
	# CPU ticks of each part before and after the run.
	local pg rs0 rs1 lb0 lb1 pb0 pb1 t0 t1
	backend_ticks >"$WORK/pg0"
	rs0=$(cpu_jiffies "${RESERVD_PIDS[@]}") lb0=$(cpu_jiffies "$lb_pid") pb0=$(cpu_jiffies "$PGB_PID")
	local xact0 xact1
	xact0=$(commits)
	t0=$(date +%s%N)
	children_jiffies >"$WORK/gen0"
	measured "$WORK/loadgen" holds -url "http://$bind" -keys "$KEYS" -flights "$flight_ids" -c "$CONNECTIONS" -warmup "$WARMUP" -d "$dur" -json
	children_jiffies >"$WORK/gen1"
	t1=$(date +%s%N)
	backend_ticks >"$WORK/pg1"
	rs1=$(cpu_jiffies "${RESERVD_PIDS[@]}") lb1=$(cpu_jiffies "$lb_pid") pb1=$(cpu_jiffies "$PGB_PID")
	xact1=$(commits)
	pg=$(backend_delta "$WORK/pg0" "$WORK/pg1")
	# Holds per hold transaction (group commit, HOLD_BATCH) over every
	# replica, from their reservd_hold_batch_size histograms.
	local batch
	batch=$(for ((i = 0; i < n; i++)); do curl -fsS "http://${servers[i]}/metrics"; done |
		awk '/^reservd_hold_batch_size_sum / { s += $2 } /^reservd_hold_batch_size_count / { c += $2 } END { printf "%.1f", (c > 0 ? s / c : 0) }')
	local gen0 gen1
	read -r gen0 <"$WORK/gen0"
	read -r gen1 <"$WORK/gen1"
	cp "$WORK/out" "$WORK/holds-$mode-$n.json"

	# Every 201 is a held seat of this run's flights, and nothing else was answered.
	# (The warm-up's holds are held too: compare with every request sent.)
	local ok status sent held ran_out
	IFS='|' read -r ok status sent ran_out < <(jq -r '.summaries[0] as $s | "\($s.status["201"] // 0)|\($s.status // {} | to_entries | map("\(.key):\(.value)") | join(","))|\(.extra.seats_requested)|\(.extra.seats_ran_out)"' "$WORK/out")
	held=$(psql "$DB_URL" -XAtqc "SELECT count(*) FROM seats WHERE flight_id IN ($flight_ids) AND hold_id IS NOT NULL")
	stop_servers
	# CPU in cores (ticks / (HZ × seconds)) over the whole loadgen run.
	local secs
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
	cores() { awk -v j="$1" -v hz="$HZ" -v s="$secs" 'BEGIN { printf "%.2f", j / hz / s }'; }
	# CPU milliseconds per seat held in the run (warm-up included, as the
	# ticks are): less at the mercy of other processes than holds/s.
	per_hold() { awk -v j="$1" -v hz="$HZ" -v h="$held" 'BEGIN { printf "%.2f", (h > 0 ? 1000 * j / hz / h : 0) }'; }
	local line
	local commits_per_sec
	commits_per_sec=$(awk -v x=$((xact1 - xact0)) -v s="$secs" 'BEGIN { printf "%.0f", x / s }')
	line="$mode|$n|$(jq -r '.summaries[0] as $s | "\(.extra.holds_per_sec)|\($s.p50_ms)|\($s.p99_ms)"' "$WORK/out")|$batch|$commits_per_sec|$(per_hold $((rs1 - rs0)))|$(per_hold "$pg")|$(cores $((rs1 - rs0)))|$(cores "$pg")|$(cores $((lb1 - lb0)))|$(
		if [[ -n $PGB_PID ]]; then cores $((pb1 - pb0)); else echo –; fi
	)|$(cores $((gen1 - gen0)))|$OTHER_CPU|$status|$held"
	if [[ -z ${3:-} ]]; then echo "$line" >>"$WORK/results"; fi
	say "$line"
	if [[ $status != "201:$ok" || $sent != "$held" || $ran_out == true ]]; then
		FAILED+=("$mode with $n replica(s): answers $status, $sent requests (warm-up included) but $held seats held in the database, seats ran out: $ran_out")
	fi
}

FAILED=()
: >"$WORK/results"
# The first run on the new database is slower whatever it runs (PostgreSQL
# spent twice the CPU per hold in it, run first with 1 replica or with 2):
# prime it with an unreported run.
say "priming: one replica for $PRIME, not reported"
run direct 1 "$PRIME"
for mode in $MODES; do
	for n in $REPLICAS; do run "$mode" "$n"; done
done

say "done: $(nproc) CPUs, $(go env GOVERSION), $(pgq 'SHOW server_version'), $("$HAPROXY" -v | head -n 1), $("$PGBOUNCER" -V | head -n 1); POOL=$POOL PGB_POOL=$PGB_POOL CONNECTIONS=$CONNECTIONS DURATION=$DURATION"
echo
echo "| database path | replicas | holds/s | p50 (ms) | p99 (ms) | holds per transaction | PostgreSQL commits/s | reservd CPU ms/hold | PostgreSQL backends' CPU ms/hold | reservd CPU (cores) | PostgreSQL backends' CPU | HAProxy CPU | PgBouncer CPU | loadgen CPU | other CPU | answers (measured) | seats held (warm-up too) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|"
while IFS='|' read -r mode n hps p50 p99 batch cps rsh pgh rs pg lb pb gen other status held; do
	echo "| $mode | $n | $hps | $p50 | $p99 | $batch | $cps | $rsh | $pgh | $rs | $pg | $lb | $pb | $gen | ${other}% | $status | $held |"
done <"$WORK/results"
echo
if ((${#FAILED[@]} > 0)); then
	printf 'FAILED: %s\n' "${FAILED[@]}" >&2
	exit 1
fi
