#!/usr/bin/env bash
# Make sure the PostgreSQL and Redis that reservd's production mode and its
# tests need are running locally, create the development database, and print
# the environment that points reservd at them.
#
#   eval "$(bin/start_db.sh)"   # start both, create database "reservd",
#                               # export DATABASE_URL, REDIS_URL and
#                               # REDIS_PREFIX (the database's name)
#   eval "$(RESERVD_DB_NAME=reservd_alice bin/start_db.sh)"
#                               # the same with a database of your own
#   bin/start_db.sh --check     # only make sure both servers answer
#                               # (what `make test` runs first)
#
# Safe to run again and again: a server that already answers is left alone.
# Progress goes to stderr; only the export lines go to stdout.
#
# Environment (defaults in brackets):
#   PGHOST [127.0.0.1]  PGPORT [5432]  REDIS_HOST [127.0.0.1]  REDIS_PORT [6379]
#   RESERVD_DB_NAME [reservd]  the database to create and put in DATABASE_URL
#   RESERVD_DB_USER [postgres] the PostgreSQL role that creates it and that
#                              reservd connects as (password-less: trust or
#                              peer auth, or a ~/.pgpass entry)
#   DB_WAIT_SECONDS [30]  how long to wait for each server to answer
# A server that is not on this machine (another PGHOST/REDIS_HOST) is only
# checked, never started.
set -euo pipefail

PGHOST=${PGHOST:-127.0.0.1}
PGPORT=${PGPORT:-5432}
REDIS_HOST=${REDIS_HOST:-127.0.0.1}
REDIS_PORT=${REDIS_PORT:-6379}
WAIT=${DB_WAIT_SECONDS:-30}
PG_SUPERUSER=${RESERVD_DB_USER:-postgres}
DB_NAME=${RESERVD_DB_NAME:-reservd}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() {
	sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
}

check_only=false
case "${1:-}" in
"") ;;
--check) check_only=true ;;
-h | --help)
	usage
	exit 0
	;;
*)
	echo "start_db: unknown argument: $1 (try --help)" >&2
	exit 2
	;;
esac

log() { printf 'start_db: %s\n' "$*" >&2; }
die() { # first argument is the message, any further ones are indented hint lines
	printf 'start_db: error: %s\n' "$1" >&2
	shift
	if [ $# -gt 0 ]; then printf '  %s\n' "$@" >&2; fi
	exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }
is_macos() { [ "$(uname -s)" = Darwin ]; }
is_local() {
	case "$1" in
	127.0.0.1 | localhost | ::1) return 0 ;;
	*) return 1 ;;
	esac
}

# bounded SECONDS CMD...: run CMD, killing it after SECONDS where `timeout`
# exists (GNU coreutils; stock macOS lacks it, where local probes fail fast).
bounded() {
	local secs=$1
	shift
	if have timeout; then timeout "$secs" "$@"; else "$@"; fi
}

# tcp_open HOST PORT: does anything accept connections there?
tcp_open() {
	# shellcheck disable=SC2016 # $1/$2 are expanded by the inner bash
	bounded 3 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

pg_up() {
	if have pg_isready; then
		bounded 5 pg_isready -q -h "$PGHOST" -p "$PGPORT" -t 2
	else
		tcp_open "$PGHOST" "$PGPORT"
	fi
}

redis_up() {
	if have redis-cli; then
		local reply
		reply=$(bounded 5 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null) || return 1
		case "$reply" in
		PONG | NOAUTH*) return 0 ;; # NOAUTH: it answers, it just wants a password
		*) return 1 ;;
		esac
	else
		tcp_open "$REDIS_HOST" "$REDIS_PORT"
	fi
}

# wait_for NAME PROBE: poll PROBE for up to $WAIT seconds.
wait_for() {
	local name=$1 probe=$2 deadline=$((SECONDS + WAIT))
	while ! "$probe"; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			return 1
		fi
		sleep 1
	done
	log "$name is up"
}

pg_installed() {
	have pg_ctlcluster || have pg_ctl || have postgres ||
		compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null ||
		{ is_macos && [ -n "$(brew_formula '^postgresql(@[0-9]+)?$')" ]; }
}
redis_installed() {
	have redis-server || { is_macos && [ -n "$(brew_formula '^redis$')" ]; }
}

# brew_formula REGEX: newest installed Homebrew formula matching REGEX.
brew_formula() {
	have brew || return 0
	brew list --formula 2>/dev/null | grep -E "$1" | sort -V | tail -n 1 || true
}

start_postgres() {
	if have pg_ctlcluster; then
		# Debian/Ubuntu: pick the cluster that serves $PGPORT, newest version first.
		local clusters ver name owner logfile
		if have pg_lsclusters; then
			clusters=$(pg_lsclusters -h 2>/dev/null | awk -v port="$PGPORT" '$3 == port' | sort -V -r -k1,1)
		else
			clusters=$(find /etc/postgresql -mindepth 2 -maxdepth 2 -name main -printf '%P\n' 2>/dev/null |
				sort -V -r | awk -F/ '{print $1, $2, "?", "?", "postgres", "?", "?"}')
		fi
		if [ -z "$clusters" ]; then
			if ! compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; then
				missing_servers postgresql
			fi
			local newest existing cname=main
			newest=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n 1)
			existing=$(pg_lsclusters -h 2>/dev/null | awk '{printf "%s%s/%s on port %s", (NR > 1 ? ", " : ""), $1, $2, $3}')
			if [ -n "$existing" ]; then cname=reservd; fi
			die "PostgreSQL is installed but no cluster is set up for port $PGPORT." \
				"Existing clusters: ${existing:-none}" \
				"Point PGPORT at one of them, or create one: sudo pg_createcluster $newest $cname --port $PGPORT --start"
		fi
		read -r ver name _ _ owner _ logfile _ <<<"$(head -n 1 <<<"$clusters")"
		local cmd=(pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start)
		# It must run as root or the cluster's owner; sudo only where it needs no password.
		if [ "$(id -u)" -ne 0 ] && [ "$(id -un)" != "$owner" ] && have sudo; then
			cmd=(sudo -n "${cmd[@]}")
		fi
		log "starting PostgreSQL cluster $ver/$name: ${cmd[*]}"
		if ! bounded 90 "${cmd[@]}" >&2; then
			log "pg_ctlcluster failed (it must run as root or $owner); waiting anyway." \
				"Server log: ${logfile:-/var/log/postgresql/}"
		fi
	elif is_macos && [ -n "$(brew_formula '^postgresql(@[0-9]+)?$')" ]; then
		local formula
		formula=$(brew_formula '^postgresql(@[0-9]+)?$')
		log "starting PostgreSQL ($formula) with brew services"
		bounded 60 brew services start "$formula" >&2 || log "brew services start $formula failed"
	else
		die "PostgreSQL is installed but this script does not know how to start it here." \
			"Start it yourself so that it answers on $PGHOST:$PGPORT, then run this again."
	fi
}

start_redis() {
	if have redis-server; then
		local dir logfile extra=()
		if [ "$(id -u)" -eq 0 ]; then
			dir=/var/lib/redis
			logfile=/var/log/redis/ci.log
			mkdir -p "$dir" "$(dirname "$logfile")"
		else
			dir=$ROOT/data/redis
			logfile=$dir/redis.log
			mkdir -p "$dir"
			extra=(--pidfile "$dir/redis.pid")
		fi
		log "starting Redis on port $REDIS_PORT (dir $dir, log $logfile)"
		if ! bounded 10 redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" \
			--save "" --appendonly no --dir "$dir" --logfile "$logfile" ${extra[@]+"${extra[@]}"} >&2; then
			log "redis-server failed to start; waiting anyway. Log: $logfile"
		fi
	elif is_macos && [ -n "$(brew_formula '^redis$')" ]; then
		log "starting Redis with brew services"
		bounded 60 brew services start redis >&2 || log "brew services start redis failed"
	else
		die "Redis is installed but this script does not know how to start it here." \
			"Start it yourself so that it answers on $REDIS_HOST:$REDIS_PORT, then run this again."
	fi
}

# missing_servers DEBIAN_PACKAGE...: say exactly what to install, and stop.
missing_servers() {
	local apt=("$@") brew=() services=() p
	for p in "$@"; do
		case "$p" in
		postgresql) brew+=(postgresql@16) services+=("brew services start postgresql@16") ;;
		redis-server) brew+=(redis) services+=("brew services start redis") ;;
		esac
	done
	{
		echo "start_db: error: not installed: ${apt[*]} (reservd's production mode and tests need PostgreSQL and Redis)."
		echo "Install, then run bin/start_db.sh again:"
		echo "  Debian/Ubuntu: sudo apt-get install -y ${apt[*]}"
		echo "  macOS:         brew install ${brew[*]}"
		for p in "${services[@]}"; do
			echo "                 $p"
		done
	} >&2
	exit 1
}

ensure() {
	local name=$1 host=$2 port=$3 probe=$4 start=$5
	if "$probe"; then
		log "$name is up on $host:$port"
		return
	fi
	is_local "$host" ||
		die "$name is not answering on $host:$port, which is not this machine, so it is not started here."
	"$start"
	wait_for "$name" "$probe" ||
		die "$name did not answer on $host:$port within ${WAIT}s (see the messages above)."
}

# Both names go into SQL and into a URL unquoted: keep them to plain identifiers.
for pair in "RESERVD_DB_NAME=$DB_NAME" "RESERVD_DB_USER=$PG_SUPERUSER"; do
	[[ ${pair#*=} =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] ||
		die "${pair%%=*} must be letters, digits and underscores, not starting with a digit: '${pair#*=}'"
done

# Everything missing is reported at once, before anything is started.
missing=()
pg_up || pg_installed || ! is_local "$PGHOST" || missing+=(postgresql)
redis_up || redis_installed || ! is_local "$REDIS_HOST" || missing+=(redis-server)
if [ "${#missing[@]}" -gt 0 ]; then
	missing_servers "${missing[@]}"
fi

ensure PostgreSQL "$PGHOST" "$PGPORT" pg_up start_postgres
ensure Redis "$REDIS_HOST" "$REDIS_PORT" redis_up start_redis

if "$check_only"; then
	exit 0
fi

if ! have psql || ! have createdb; then
	die "psql/createdb not found: install the PostgreSQL client" \
		"(Debian/Ubuntu: sudo apt-get install -y postgresql-client; macOS: brew install postgresql@16)."
fi

# -w: never prompt for a password (that would hang); PGCONNECT_TIMEOUT bounds the connect.
export PGCONNECT_TIMEOUT=${PGCONNECT_TIMEOUT:-5}
db_exists() {
	[ "$(bounded 15 psql -w -h "$PGHOST" -p "$PGPORT" -U "$PG_SUPERUSER" -d postgres -tAc \
		"SELECT 1 FROM pg_database WHERE datname='$DB_NAME'")" = 1 ]
}
if db_exists; then
	log "database $DB_NAME exists"
else
	log "creating database $DB_NAME"
	# A concurrent run may win the race; that is fine as long as the database exists.
	bounded 15 createdb -w -h "$PGHOST" -p "$PGPORT" -U "$PG_SUPERUSER" "$DB_NAME" >&2 || db_exists ||
		die "could not create database $DB_NAME as $PG_SUPERUSER on $PGHOST:$PGPORT."
fi

url_host() { case "$1" in *:*) printf '[%s]' "$1" ;; *) printf '%s' "$1" ;; esac }
# Quoted, so that `eval` in any shell (zsh included) leaves the '?' alone.
printf "export DATABASE_URL='postgres://%s@%s:%s/%s?sslmode=disable'\n" \
	"$PG_SUPERUSER" "$(url_host "$PGHOST")" "$PGPORT" "$DB_NAME"
printf "export REDIS_URL='redis://%s:%s/0'\n" "$(url_host "$REDIS_HOST")" "$REDIS_PORT"
# Two deployments sharing one Redis must not share its keys (a seat key of
# one would refuse the same seat label in the other): one prefix per database.
printf "export REDIS_PREFIX='%s'\n" "$DB_NAME"
