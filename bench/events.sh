#!/usr/bin/env bash
# bench/events.sh — what the events outbox costs POST /holds: the same hold
# run as bench/holds.sh, on two builds of reservd, one that writes events
# (HEAD_REF, default HEAD) and one that does not (BASE_REF, default
# e66fc30, where the events table and the sequencer exist but nothing
# writes events). Runs alternate between the two builds, ROUNDS
# times in ABBA order, each on a fresh database, so that a machine shared
# with other work drifts into both alike. Documented in docs/PERFORMANCE.md
# ("Events").
#
#   bench/events.sh
#   ROUNDS=5 DURATION=20s bench/events.sh
#   HOLD_BATCH=off bench/events.sh        # one transaction per hold
#
# Environment:
#   BASE_REF, HEAD_REF  the commits compared (git revisions)
#   ROUNDS        pairs of runs (default 3)
#   DURATION      length of each measured run (default 15s); WARMUP (default 3s)
#   CONNECTIONS   concurrent HTTP connections (default 64)
#   FLIGHTS       1000-seat flights created through the API for each run (default 80)
#   HOLD_BATCH, HOLD_BATCH_SLOTS, HOLD_BATCH_WINDOW, HOLD_BATCH_MAX  passed on to reservd
#   PG_URL        PostgreSQL server (default postgres://postgres@127.0.0.1:5432);
#                 the database BENCH_DB (default reservd_bench_events) on it is
#                 dropped, recreated for each run, and dropped at the end
#
# The HEAD build runs its events_sequence job (every 100 ms) during the run,
# as in production: the cost measured is the outbox rows written in each
# hold's transaction plus the sequencer's passes.
#
# Exits 1 when the 10% target (the outbox costs at most 10% more median CPU
# per hold than the build without it) is NOT MET, after printing everything,
# as bench/holds.sh does; the target prints MET or NOT MET. On a shared
# machine the noise is of that order (see "other CPU", and an A/A run with
# BASE_REF=HEAD): rerun with more ROUNDS before reading much into a miss.
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-15s}
WARMUP=${WARMUP:-3s}
CONNECTIONS=${CONNECTIONS:-64}
FLIGHTS=${FLIGHTS:-80}
BENCH_DB=${BENCH_DB:-reservd_bench_events}
HEAD_REF=${HEAD_REF:-HEAD}
BASE_REF=${BASE_REF:-e66fc30}

need go git psql curl jq
pg_check
bench_start events

# build_ref NAME REF: build reservd and loadgen of REF into $WORK/NAME/.
build_ref() {
	local name=$1 ref=$2
	mkdir -p "$WORK/src-$name" "$WORK/$name"
	say "building $name = $(git -C "$ROOT" rev-parse --short "$ref") ($(git -C "$ROOT" log -1 --format=%s "$ref"))"
	git -C "$ROOT" archive "$ref" | tar -x -C "$WORK/src-$name"
	(cd "$WORK/src-$name" && go build -trimpath -o "$WORK/$name/reservd" ./cmd/reservd && go build -trimpath -o "$WORK/$name/loadgen" ./cmd/loadgen)
}
build_ref base "$BASE_REF"
build_ref head "$HEAD_REF"

# db_jiffies: CPU ticks of the bench database's live backends (reservd's pool).
db_jiffies() {
	local pids
	pids=$(pgq "SELECT pid FROM pg_stat_activity WHERE datname = '$BENCH_DB'" | tr '\n' ' ')
	# shellcheck disable=SC2086 # one PID a word
	cpu_jiffies $pids
}

# run NAME: one hold run of build NAME on a fresh database; appends
# "NAME holds/s p50 p99 other-CPU events CPU-ms-per-hold" to $WORK/results.
run() {
	local name=$1 bin=$WORK/$1 admin keys port base flights events
	pg_create_db
	admin=$(env -u REDIS_URL DATABASE_URL="$DB_URL" "$bin/reservd" keys create --name bench-admin --admin 2>>"$WORK/keys.log" | tail -n 1)
	keys=
	for i in $(seq 8); do
		keys+="${keys:+,}$(env -u REDIS_URL DATABASE_URL="$DB_URL" "$bin/reservd" keys create --name "bench-$i" 2>>"$WORK/keys.log" | tail -n 1)"
	done
	port=$(free_port)
	base="http://127.0.0.1:$port"
	start_bg reservd env -u REDIS_URL ADDR="127.0.0.1:$port" DATABASE_URL="$DB_URL" RATE_LIMIT=0 HOLD_MAX_SEATS_PER_FLIGHT=0 \
		HOLD_MAX_ACTIVE=0 MAX_IN_FLIGHT_PER_KEY=0 "$bin/reservd" serve
	wait_up "$base/healthz"
	flights=$("$bin/loadgen" mkflights -url "$base" -admin-key "$admin" -n "$FLIGHTS" -seats 1000 | paste -sd, -)
	psql "$DB_URL" -XAtqc "CHECKPOINT" >/dev/null
	# CPU of reservd and of its database backends over the whole loadgen
	# run (warm-up included), per hold made: less sensitive than holds/s to
	# the other work of a shared machine.
	local before after holds ms
	before=$(($(cpu_jiffies "$SERVER_PID") + $(db_jiffies)))
	measured --settle "$bin/loadgen" holds -url "$base" -keys "$keys" -flights "$flights" -c "$CONNECTIONS" -warmup "$WARMUP" -d "$DURATION" -json
	after=$(($(cpu_jiffies "$SERVER_PID") + $(db_jiffies)))
	stop_servers
	read -r holds events < <(psql "$DB_URL" -XAtqF' ' -c "SELECT (SELECT count(*) FROM holds), (SELECT count(*) FROM events)")
	ms=$(awk -v j=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$holds" 'BEGIN { printf "%.3f", (n > 0 ? 1000 * j / hz / n : 0) }')
	jq -r --arg n "$name" --arg o "$OTHER_CPU" --arg e "$events" --arg ms "$ms" \
		'.summaries[0] as $s | "\($n) \(.extra.holds_per_sec) \($s.p50_ms) \($s.p99_ms) \($o) \($e) \($ms)"' "$WORK/out" >>"$WORK/results"
	if [[ $(jq -r .extra.seats_ran_out "$WORK/out") == true ]]; then
		say "WARNING: the run used every seat before its end; raise FLIGHTS"
	fi
	say "$(tail -n 1 "$WORK/results")"
}

: >"$WORK/results"
for r in $(seq "$ROUNDS"); do
	if ((r % 2)); then run base; run head; else run head; run base; fi
done

say "done: $(nproc) CPUs, $(go env GOVERSION), $(pgq 'SHOW server_version'), HOLD_BATCH=${HOLD_BATCH:-on}, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| build | run | holds/s | p50 (ms) | p99 (ms) | CPU per hold (ms, reservd + its backends) | other CPU | events written |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
awk '{ n[$1]++; printf "| %s | %d | %s | %s | %s | %s | %s%% | %s |\n", $1, n[$1], $2, $3, $4, $7, $5, $6 }' "$WORK/results"
echo
awk '{ c[$1]++; v[$1, c[$1]] = $2; w[$1, c[$1]] = $7 }
function median(a, k, i, j, t, x) {
	for (i = 1; i <= c[k]; i++) x[i] = a[k, i]
	for (i = 1; i <= c[k]; i++) for (j = i + 1; j <= c[k]; j++) if (x[j] < x[i]) { t = x[i]; x[i] = x[j]; x[j] = t }
	return c[k] % 2 ? x[(c[k] + 1) / 2] : (x[c[k] / 2] + x[c[k] / 2 + 1]) / 2
}
END {
	mb = median(v, "base"); mh = median(v, "head")
	printf "median holds/s: without events %.0f, with events %.0f: %+.1f%%\n", mb, mh, 100 * (mh / mb - 1)
	cb = median(w, "base"); ch = median(w, "head")
	cost = 100 * (ch / cb - 1)
	printf "median CPU per hold: without events %.3f ms, with events %.3f ms: the outbox costs %+.1f%% (target <= 10%%)\n", cb, ch, cost
	printf "target outbox cost <= 10%% (median CPU per hold): %+.1f%%  %s\n", cost, (cost <= 10 ? "MET" : "NOT MET")
	exit (cost > 10)
}' "$WORK/results" || die "the outbox's 10% target is NOT MET"
