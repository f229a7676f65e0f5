#!/usr/bin/env bash
# bench/fastpath.sh — conflict rejections with the seat fast path on and off:
# CONNECTIONS clients (default 64) race for the SEATS seats (default 10) of a
# flight whose every seat is already held, so every answer should be 409
# seats_unavailable. Reports refusals per second, how many the fast path
# answered without the database (reservd_seat_fastpath_total{result="hit"}),
# and the database transactions spent (pg_stat_database xact_commit +
# xact_rollback of the bench database). Documented in docs/PERFORMANCE.md.
#
#   bench/fastpath.sh               # or: make bench-fastpath
#   CONFIGS="redis postgres" DURATION=30s bench/fastpath.sh
#
# Configurations (CONFIGS, default "redis postgres memory"), each on a fresh
# flight with fresh reservd processes on 127.0.0.1:
#   redis     REDIS_URL set. One instance takes every seat; two others race
#             (the load generator alternates between them): the holds are in
#             Redis, so every refusal should be a fast-path hit.
#   postgres  no REDIS_URL. Same three instances: the racers' in-process fast
#             paths never saw the holds, so every refusal is the database's.
#   memory    no REDIS_URL, one instance that takes the seats and is raced
#             against: the in-process fast path knows the holds (this is what
#             a single replica without Redis does).
#
# Environment:
#   DURATION (default 15s), CONNECTIONS (64), SEATS (10)
#   PG_URL     PostgreSQL server (default postgres://postgres@127.0.0.1:5432);
#              the database BENCH_DB (default reservd_bench_fastpath) on it is
#              dropped, recreated, and dropped again at the end
#   REDIS_ADDR Redis server (default 127.0.0.1:6379); REDIS_DB, the logical
#              database used (default 12), must be empty, and is flushed at the end
set -euo pipefail

DURATION=${DURATION:-15s}
CONNECTIONS=${CONNECTIONS:-64}
SEATS=${SEATS:-10}
CONFIGS=${CONFIGS:-redis postgres memory}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
PG_URL=${PG_URL%/}
BENCH_DB=${BENCH_DB:-reservd_bench_fastpath}
REDIS_ADDR=${REDIS_ADDR:-127.0.0.1:6379}
REDIS_DB=${REDIS_DB:-12}
export LOG_LEVEL=${LOG_LEVEL:-warn}
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
die() { echo "bench: $*" >&2; exit 1; }
say() { echo "bench: $*" >&2; }

for tool in go psql curl jq redis-cli; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done
[[ $BENCH_DB =~ ^[a-z_][a-z0-9_]*$ ]] || die "BENCH_DB must be a plain lower-case identifier"
psql "$PG_URL/postgres" -XAtqc 'SELECT 1' >/dev/null 2>&1 || die "PostgreSQL does not answer at $PG_URL"
rcli() { redis-cli -h "${REDIS_ADDR%:*}" -p "${REDIS_ADDR##*:}" -n "$REDIS_DB" "$@"; }
case " $CONFIGS " in
*" redis "*)
	[[ $(rcli PING 2>/dev/null) == PONG ]] || die "Redis does not answer at $REDIS_ADDR (or leave redis out of CONFIGS)"
	[[ $(rcli DBSIZE) == 0 ]] || die "Redis database $REDIS_DB at $REDIS_ADDR is not empty; set REDIS_DB to an unused one"
	;;
esac

WORK=$(mktemp -d "${TMPDIR:-/tmp}/reservd-bench-fastpath.XXXXXX")
SERVERS=()
DB_CREATED=
REDIS_USED=
stop_servers() {
	local p
	for p in "${SERVERS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${SERVERS[@]}"; do wait "$p" 2>/dev/null || true; done
	SERVERS=()
}
cleanup() {
	local rc=$?
	stop_servers
	if [[ -n $DB_CREATED ]]; then
		psql "$PG_URL/postgres" -XAtqc "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" >/dev/null 2>&1 || true
	fi
	if [[ -n $REDIS_USED ]]; then rcli FLUSHDB >/dev/null 2>&1 || true; fi
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
REDIS_PID=$(pgrep -o -x redis-server || true)
pg_jiffies() {
	local pids
	pids=$(psql "$PG_URL/postgres" -XAtqc "SELECT pid FROM pg_stat_activity WHERE datname = '$BENCH_DB' OR backend_type <> 'client backend'" | tr '\n' ' ')
	# shellcheck disable=SC2086 # one PID a word
	echo $(($(cpu_jiffies $pids) + $(awk '{ print $16 + $17 }' "/proc/$PM_PID/stat")))
}
# measured CMD...: run CMD (stdout to $WORK/out) and set OTHER_CPU to the
# share of the machine's CPU used meanwhile by processes other than CMD, the
# reservd instances, Redis and PostgreSQL's processes for the bench database.
measured() {
	local m0 m1 o0 o1 k0 k1
	read -r -a m0 <<<"$(machine_jiffies)"
	o0=$(($(pg_jiffies) + $(cpu_jiffies "${SERVERS[@]}" "$REDIS_PID")))
	children_jiffies >"$WORK/kids" && read -r k0 <"$WORK/kids"
	"$@" >"$WORK/out"
	children_jiffies >"$WORK/kids" && read -r k1 <"$WORK/kids"
	o1=$(($(pg_jiffies) + $(cpu_jiffies "${SERVERS[@]}" "$REDIS_PID")))
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
HOLDER=$(newkey --name bench-holder)
KEYS=
for i in $(seq 8); do KEYS+="${KEYS:+,}$(newkey --name "bench-$i")"; done
xacts() { psql "$PG_URL/postgres" -XAtqc "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '$BENCH_DB'"; }

# start_reservd REDIS(yes|no): start an instance; its base URL in STARTED.
start_reservd() {
	local port redis=()
	port=$(free_port)
	if [[ $1 == yes ]]; then
		redis=(REDIS_URL="redis://$REDIS_ADDR/$REDIS_DB")
		REDIS_USED=1
	fi
	env -u REDIS_URL ADDR="127.0.0.1:$port" DATABASE_URL="$DB_URL" RATE_LIMIT=0 "${redis[@]}" \
		"$WORK/reservd" serve >>"$WORK/reservd.log" 2>&1 &
	SERVERS+=($!)
	STARTED="http://127.0.0.1:$port"
	for _ in $(seq 300); do
		if curl -fsS -o /dev/null "$STARTED/healthz" 2>/dev/null; then
			sleep 0.2 # still alive, so the answer was ours
			kill -0 "${SERVERS[-1]}" 2>/dev/null && return
		fi
		kill -0 "${SERVERS[-1]}" 2>/dev/null || { cat "$WORK/reservd.log" >&2; die "reservd exited while starting"; }
		sleep 0.1
	done
	die "reservd did not start"
}

: >"$WORK/results"
for config in $CONFIGS; do
	case $config in
	redis | postgres)
		use_redis=no
		[[ $config == redis ]] && use_redis=yes
		start_reservd $use_redis && holder=$STARTED
		start_reservd $use_redis && racers=$STARTED
		start_reservd $use_redis && racers+=",$STARTED"
		;;
	memory)
		start_reservd no && holder=$STARTED && racers=$STARTED
		;;
	*) die "unknown configuration $config (want redis, postgres or memory)" ;;
	esac
	flight=$("$WORK/loadgen" mkflights -url "$holder" -admin-key "$ADMIN" -n 1 -seats "$SEATS")
	say "$config: ${#SERVERS[@]} instance(s); racing on $racers for the $SEATS seats of flight $flight, -c $CONNECTIONS -d $DURATION (load average $(cut -d' ' -f1 /proc/loadavg))"
	x0=$(xacts)
	measured "$WORK/loadgen" conflicts -url "$racers" -hold-url "$holder" -hold-key "$HOLDER" -keys "$KEYS" \
		-flight "$flight" -c "$CONNECTIONS" -d "$DURATION" -json
	cp "$WORK/out" "$WORK/$config.json"
	# Stopping the instances ends their database sessions, which flushes
	# their statistics into pg_stat_database.
	stop_servers
	sleep 0.5
	x1=$(xacts)
	jq -r --arg config "$config" --arg xacts $((x1 - x0)) --arg other "$OTHER_CPU" '
		.summaries[0] as $s | .extra as $x |
		($s.status["409"] // 0) as $c |
		"| \($config) | \($x.instances) | \($x.conflicts_per_sec) | \($s.p50_ms) | \($s.p99_ms) | \($s.status | to_entries | map("\(.key):\(.value)") | join(" ")) | \($x.fastpath_hits) | \($x.fastpath_misses) | \($x.fastpath_hit_share * 100 | round)% | \($xacts) | \(($xacts | tonumber) / $x.requests_sent_incl_warmup * 100 | round / 100) | \($other)% |"' \
		"$WORK/out" >>"$WORK/results"
done

say "done: $(nproc) CPUs, $(go env GOVERSION), PostgreSQL $(psql "$PG_URL/postgres" -XAtqc 'SHOW server_version'), Redis $(rcli INFO server 2>/dev/null | awk -F: '/^redis_version/ { print $2 }' | tr -d '\r')"
echo
echo "| fast path | racing instances | conflicts/s | p50 (ms) | p99 (ms) | answers | fast-path hits | misses | hit share | DB transactions | DB transactions per request | other CPU |"
echo "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|"
cat "$WORK/results"
echo
echo "DB transactions: xact_commit + xact_rollback of $BENCH_DB over the run, including each instance's start-up, the $SEATS holds that take the seats first and the background jobs (a few dozen)."
