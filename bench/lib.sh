# shellcheck shell=bash
# bench/lib.sh — what the benchmark scripts in bench/ share. Each sources it
# first thing, and then sets its own defaults:
#
#   # shellcheck source=bench/lib.sh
#   . "$(dirname "$0")/lib.sh"
#
# It turns on strict mode, sets ROOT (the repository) and the defaults every
# script documents the same way: PG_URL (default
# postgres://postgres@127.0.0.1:5432), LOG_LEVEL (default warn). The script
# sets BENCH_DB, the throwaway database reservd_bench_<name>.
#
#   say, die, need TOOL..., pg_up, pgq SQL, pg_check   messages and checks
#   bench_start NAME     the work directory $WORK and the trap that cleans up
#   build CMD...         go build ./cmd/CMD into $WORK/CMD
#   free_port            a free TCP port below the ephemeral range
#   pg_create_db, newkey ARGS...   the database BENCH_DB (DB_URL), API keys
#   start_bg NAME CMD..., wait_up URL [SECONDS], stop_servers   servers
#   peak_rss_mb PID      peak resident set (VmHWM) in MB
#   cpu_jiffies, machine_jiffies, children_jiffies, other_share, pg_jiffies,
#   measured CMD...      CPU accounting: the "other CPU" column
#
# shellcheck disable=SC2034 # variables set here for the scripts that source it
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
PG_URL=${PG_URL%/}
export LOG_LEVEL=${LOG_LEVEL:-warn}
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"

say() { echo "bench: $*" >&2; }
die() { echo "bench: $*" >&2; exit 1; }

# need TOOL...: die unless every TOOL is on PATH.
need() {
	local tool
	for tool; do
		command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
	done
}

# pgq SQL: run SQL on the server's postgres database, unaligned, tuples only.
pgq() { psql "$PG_URL/postgres" -XAtqc "$1"; }
# pg_up: PostgreSQL answers at PG_URL.
pg_up() { pgq 'SELECT 1' >/dev/null 2>&1; }
# pg_check: BENCH_DB is a plain identifier, and PostgreSQL answers.
pg_check() {
	[[ $BENCH_DB =~ ^[a-z_][a-z0-9_]*$ ]] || die "BENCH_DB must be a plain lower-case identifier"
	pg_up || die "PostgreSQL does not answer at $PG_URL"
}

# Servers started with start_bg (the trap stops them all), the last one's PID
# and log, and whether BENCH_DB was created (the trap drops it).
PIDS=()
SERVER_PID=
SERVER_LOG=
DB_CREATED=
WORK=

# bench_start NAME: make the temporary work directory $WORK and set the trap
# that, however the script ends, stops every server it started, drops
# BENCH_DB if it created it, calls bench_cleanup if the script defines one,
# prints the tail of reservd's log if the script failed, and removes $WORK.
bench_start() {
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/reservd-bench-$1.XXXXXX")
	trap bench_exit EXIT
	trap 'exit 130' INT TERM
}
bench_exit() {
	local rc=$?
	stop_servers
	if [[ -n $DB_CREATED ]]; then
		pgq "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" >/dev/null 2>&1 || true
	fi
	if declare -F bench_cleanup >/dev/null; then bench_cleanup || true; fi
	if ((rc != 0)) && [[ -s $WORK/reservd.log ]]; then
		say "reservd's log ends with:"
		tail -n 20 "$WORK/reservd.log" >&2
	fi
	rm -rf "$WORK"
	exit "$rc"
}

# build CMD...: build ./cmd/CMD of the repository into $WORK/CMD, each CMD.
build() {
	local list=$1 i
	for ((i = 2; i < $#; i++)); do list+=", ${!i}"; done
	if (($# > 1)); then list+=" and ${!#}"; fi
	say "building $list from $ROOT"
	(cd "$ROOT" && for c in "$@"; do go build -o "$WORK/$c" "./cmd/$c"; done)
}

# free_port: print a TCP port that no socket uses and nothing answers on at
# 127.0.0.1, from 10000 up to below the ephemeral range
# (/proc/sys/net/ipv4/ip_local_port_range, 32768 and up by default), so
# that no outgoing connection can take it before the server binds it.
free_port() {
	local lo=32768 hi p
	read -r lo _ 2>/dev/null </proc/sys/net/ipv4/ip_local_port_range || true
	hi=$((lo <= 32768 ? lo - 1 : 32767))
	((hi >= 11000)) || hi=32767 # an odd range: keep 10000-32767
	for _ in $(seq 100); do
		p=$((10000 + RANDOM % (hi - 10000 + 1)))
		port_used "$p" || { echo "$p"; return; }
	done
	die "no free port found"
}
# port_used PORT: a TCP socket is bound to PORT, or something answers there.
port_used() {
	awk -v p="$(printf ':%04X$' "$1")" '$2 ~ p { found = 1; exit } END { exit !found }' \
		/proc/net/tcp /proc/net/tcp6 2>/dev/null ||
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# pg_create_db: drop and create the database BENCH_DB; its URL in DB_URL.
pg_create_db() {
	say "creating database $BENCH_DB"
	DB_CREATED=1
	pgq "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" >/dev/null
	pgq "CREATE DATABASE $BENCH_DB" >/dev/null
	DB_URL="$PG_URL/$BENCH_DB"
}
# newkey ARGS...: `reservd keys create ARGS...` on DB_URL; prints the key.
newkey() { env -u REDIS_URL DATABASE_URL="$DB_URL" "$WORK/reservd" keys create "$@" 2>>"$WORK/keys.log" | tail -n 1; }

# start_bg NAME CMD...: start CMD in the background, its output appended to
# $WORK/NAME.log; its PID in SERVER_PID, and added to PIDS.
start_bg() {
	local name=$1
	shift
	"$@" >>"$WORK/$name.log" 2>&1 &
	SERVER_PID=$!
	SERVER_LOG=$WORK/$name.log
	PIDS+=("$SERVER_PID")
}
# wait_up URL [SECONDS]: wait up to SECONDS (default 30) for URL to answer
# 200 while the server started last lives. After an answer the server must
# still live 0.2 s later: then the answer was its own, not that of another
# process on a port it just took. If it exits, print its log and die.
wait_up() {
	local url=$1 secs=${2:-30} pid=$SERVER_PID log=$SERVER_LOG i
	for ((i = 0; i < secs * 10; i++)); do
		if curl -fsS -o /dev/null "$url" 2>/dev/null; then
			sleep 0.2
			kill -0 "$pid" 2>/dev/null && return
		fi
		kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; die "$(basename "$log" .log) exited while starting"; }
		sleep 0.1
	done
	cat "$log" >&2
	die "$url did not answer within $secs s"
}
# stop_servers: stop every server start_bg started, and wait for them.
stop_servers() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	PIDS=()
	SERVER_PID=
}

# peak_rss_mb PID: the process's peak resident set (VmHWM) in MB.
peak_rss_mb() { awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

# CPU accounting, to tell a quiet run from a noisy one.
#
# cpu_jiffies PID...: CPU time (user + system, in clock ticks) of the processes.
cpu_jiffies() {
	local p stat sum=0 f
	for p in "$@"; do
		stat=$(cat "/proc/$p/stat" 2>/dev/null) || continue # it may have exited
		# the fields after the ") " that ends the command name: utime is the
		# 12th of them, stime the 13th
		stat=${stat##*) }
		read -r -a f <<<"$stat"
		sum=$((sum + f[11] + f[12]))
	done
	echo "$sum"
}
# machine_jiffies [irq]: "busy total" clock ticks of all CPUs since boot.
# Busy is user + nice + system: interrupt and softirq time (loopback
# networking, heavy at thousands of requests a second) belongs to no process
# and would otherwise count as "other". With irq, busy is all but idle and
# iowait (bench/flights.sh's measure).
# shellcheck disable=SC2120 # only bench/flights.sh passes irq
machine_jiffies() {
	awk -v irq="${1:-}" '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print (irq != "" ? t - $5 - $6 : $2 + $3 + $4), t }' /proc/stat
}
# children_jiffies: CPU ticks of this shell's reaped children (the load
# generator, wrk, pgbench). `times` must run in this shell, not in a pipe or
# a $(...) subshell.
children_jiffies() {
	times >"$WORK/times"
	awk -v hz="$(getconf CLK_TCK)" 'NR == 2 { s = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); s += a[1] * 60 + a[2] }; printf "%d\n", s * hz }' "$WORK/times"
}
# other_share BUSY OURS TOTAL: the percentage of the TOTAL ticks that were
# busy but not ours, rounded, 0 at least.
other_share() {
	awk -v b="$1" -v o="$2" -v t="$3" 'BEGIN { x = t > 0 ? 100 * (b - o) / t : 0; printf "%.0f", x < 0 ? 0 : x }'
}
# pg_jiffies: CPU ticks of the bench database's live backends and
# PostgreSQL's other processes, plus those of every backend the postmaster
# (PM_PID) has reaped (its cutime + cstime), so that a backend that ends
# during a run (pgbench's) is counted in full. Another user's backend that
# ends during a run counts too: "other CPU" errs low.
PM_PID=
pg_jiffies() {
	local pids
	pids=$(pgq "SELECT pid FROM pg_stat_activity WHERE datname = '$BENCH_DB' OR backend_type <> 'client backend'" | tr '\n' ' ')
	# shellcheck disable=SC2086 # one PID a word
	echo $(($(cpu_jiffies $pids) + $(awk '{ print $16 + $17 }' "/proc/$PM_PID/stat")))
}
# measured [--keep-going] [--settle] CMD...: run CMD (stdout to $WORK/out)
# and set OTHER_CPU to the share of the machine's CPU used meanwhile by
# processes other than CMD, the servers in PIDS, those in OWN_PIDS (Redis)
# and PostgreSQL's processes for the bench database: 0% on a quiet machine.
# --keep-going: a failing CMD does not end the script; its exit status is in
# CMD_RC. --settle: wait 0.2 s after CMD, for the postmaster to reap the
# backends of a finished pgbench. It also sets CPU_OURS_J (CPU ticks of
# the servers, OWN_PIDS and PostgreSQL's processes) and CPU_KIDS_J (of CMD).
OWN_PIDS=()
measured() {
	local keep='' settle='' m0 m1 o0 o1 k0 k1
	while [[ $1 == --* ]]; do
		case $1 in
		--keep-going) keep=1 ;;
		--settle) settle=1 ;;
		*) die "measured: unknown option $1" ;;
		esac
		shift
	done
	[[ -n $PM_PID ]] ||
		PM_PID=$(awk '{ print $4 }' "/proc/$(pgq "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'")/stat")
	read -r -a m0 <<<"$(machine_jiffies)"
	o0=$(($(pg_jiffies) + $(cpu_jiffies "${PIDS[@]}" "${OWN_PIDS[@]}")))
	children_jiffies >"$WORK/kids" && read -r k0 <"$WORK/kids"
	CMD_RC=0
	if [[ -n $keep ]]; then
		"$@" >"$WORK/out" || CMD_RC=$?
	else
		"$@" >"$WORK/out"
	fi
	if [[ -n $settle ]]; then sleep 0.2; fi
	children_jiffies >"$WORK/kids" && read -r k1 <"$WORK/kids"
	o1=$(($(pg_jiffies) + $(cpu_jiffies "${PIDS[@]}" "${OWN_PIDS[@]}")))
	read -r -a m1 <<<"$(machine_jiffies)"
	OTHER_CPU=$(other_share $((m1[0] - m0[0])) $((o1 - o0 + k1 - k0)) $((m1[1] - m0[1])))
	CPU_OURS_J=$((o1 - o0)) CPU_KIDS_J=$((k1 - k0))
	((OTHER_CPU <= 10)) || say "WARNING: other processes used ${OTHER_CPU}% of the machine's CPU during the run; the numbers are noisy"
}
