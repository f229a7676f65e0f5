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
# shellcheck source=bench/lib.sh
# The load generator sends many customers' holds with few API keys, so the
# per-customer caps (HOLD_MAX_SEATS_PER_FLIGHT, HOLD_MAX_ACTIVE) and the
# per-key in-flight cap (MAX_IN_FLIGHT_PER_KEY) are off, as RATE_LIMIT is.
. "$(dirname "$0")/lib.sh"

DURATION=${DURATION:-15s}
CONNECTIONS=${CONNECTIONS:-64}
SEATS=${SEATS:-10}
CONFIGS=${CONFIGS:-redis postgres memory}
BENCH_DB=${BENCH_DB:-reservd_bench_fastpath}
REDIS_ADDR=${REDIS_ADDR:-127.0.0.1:6379}
REDIS_DB=${REDIS_DB:-12}

need go psql curl jq redis-cli
pg_check
rcli() { redis-cli -h "${REDIS_ADDR%:*}" -p "${REDIS_ADDR##*:}" -n "$REDIS_DB" "$@"; }
case " $CONFIGS " in
*" redis "*)
	[[ $(rcli PING 2>/dev/null) == PONG ]] || die "Redis does not answer at $REDIS_ADDR (or leave redis out of CONFIGS)"
	[[ $(rcli DBSIZE) == 0 ]] || die "Redis database $REDIS_DB at $REDIS_ADDR is not empty; set REDIS_DB to an unused one"
	;;
esac

REDIS_USED=
# bench_cleanup, called by lib.sh's trap: empty the Redis database used.
bench_cleanup() {
	if [[ -n $REDIS_USED ]]; then rcli FLUSHDB >/dev/null 2>&1 || true; fi
}
bench_start fastpath
build reservd loadgen

# Redis's CPU counts as the benchmark's own in the "other CPU" column.
REDIS_PID=$(pgrep -o -x redis-server || true)
if [[ -n $REDIS_PID ]]; then OWN_PIDS=("$REDIS_PID"); fi

pg_create_db
ADMIN=$(newkey --name bench-admin --admin)
HOLDER=$(newkey --name bench-holder)
KEYS=
for i in $(seq 8); do KEYS+="${KEYS:+,}$(newkey --name "bench-$i")"; done
xacts() { pgq "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '$BENCH_DB'"; }

# start_reservd REDIS(yes|no): start an instance; its base URL in STARTED.
start_reservd() {
	local port redis=()
	port=$(free_port)
	if [[ $1 == yes ]]; then
		redis=(REDIS_URL="redis://$REDIS_ADDR/$REDIS_DB")
		REDIS_USED=1
	fi
	start_bg reservd env -u REDIS_URL ADDR="127.0.0.1:$port" DATABASE_URL="$DB_URL" RATE_LIMIT=0 HOLD_MAX_SEATS_PER_FLIGHT=0 HOLD_MAX_ACTIVE=0 MAX_IN_FLIGHT_PER_KEY=0 "${redis[@]}" \
		"$WORK/reservd" serve
	STARTED="http://127.0.0.1:$port"
	wait_up "$STARTED/healthz"
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
	say "$config: ${#PIDS[@]} instance(s); racing on $racers for the $SEATS seats of flight $flight, -c $CONNECTIONS -d $DURATION (load average $(cut -d' ' -f1 /proc/loadavg))"
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

say "done: $(nproc) CPUs, $(go env GOVERSION), PostgreSQL $(pgq 'SHOW server_version'), Redis $(rcli INFO server 2>/dev/null | awk -F: '/^redis_version/ { print $2 }' | tr -d '\r')"
echo
echo "| fast path | racing instances | conflicts/s | p50 (ms) | p99 (ms) | answers | fast-path hits | misses | hit share | DB transactions | DB transactions per request | other CPU |"
echo "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|"
cat "$WORK/results"
echo
echo "DB transactions: xact_commit + xact_rollback of $BENCH_DB over the run, including each instance's start-up, the $SEATS holds that take the seats first and the background jobs (a few dozen)."
