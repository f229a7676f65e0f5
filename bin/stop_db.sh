#!/usr/bin/env bash
# Stop the local Redis and/or PostgreSQL that bin/start_db.sh starts.
# PostgreSQL is a shared server: stopping it stops it for everything on this
# machine that uses it.
#
#   bin/stop_db.sh              # both
#   bin/stop_db.sh redis        # only Redis
#   bin/stop_db.sh postgres     # only PostgreSQL
#
# Environment: PGPORT [5432]  REDIS_HOST [127.0.0.1]  REDIS_PORT [6379]
set -euo pipefail

PGPORT=${PGPORT:-5432}
REDIS_HOST=${REDIS_HOST:-127.0.0.1}
REDIS_PORT=${REDIS_PORT:-6379}

log() { printf 'stop_db: %s\n' "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }
bounded() {
	local secs=$1
	shift
	if have timeout; then timeout "$secs" "$@"; else "$@"; fi
}

stop_redis() {
	if ! have redis-cli; then
		log "redis-cli not found; Redis left alone"
		return
	fi
	if [ "$(bounded 5 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" != PONG ]; then
		log "Redis is not running on $REDIS_HOST:$REDIS_PORT"
		return
	fi
	log "stopping Redis on $REDIS_HOST:$REDIS_PORT"
	# The server closes the connection as it exits, so the reply is an error by design.
	bounded 15 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
}

stop_postgres() {
	if have pg_lsclusters && have pg_ctlcluster; then
		local ver name status
		while read -r ver name _ status _; do
			if [ "$status" = online ]; then
				log "stopping PostgreSQL cluster $ver/$name"
				bounded 90 pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" stop >&2
			else
				log "PostgreSQL cluster $ver/$name is not running"
			fi
		done < <(pg_lsclusters -h | awk -v port="$PGPORT" '$3 == port')
	elif have brew; then
		local formula
		formula=$(brew list --formula 2>/dev/null | grep -E '^postgresql(@[0-9]+)?$' | sort -V | tail -n 1 || true)
		if [ -n "$formula" ]; then
			log "stopping $formula with brew services"
			bounded 60 brew services stop "$formula" >&2
		fi
	else
		log "do not know how to stop PostgreSQL here; left alone"
	fi
}

case "${1:-all}" in
all)
	stop_redis
	stop_postgres
	;;
redis) stop_redis ;;
postgres | postgresql) stop_postgres ;;
-h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' ;;
*)
	echo "stop_db: unknown argument: $1 (try --help)" >&2
	exit 2
	;;
esac
