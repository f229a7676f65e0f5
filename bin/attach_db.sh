#!/usr/bin/env bash
# Open psql on the development database: $DATABASE_URL, or the one that
# bin/start_db.sh creates (RESERVD_DB_NAME and RESERVD_DB_USER, defaults
# reservd and postgres). Extra arguments go to psql.
#
#   bin/attach_db.sh                    # interactive session
#   bin/attach_db.sh -c 'select 1'      # one statement
set -euo pipefail

url=${DATABASE_URL:-postgres://${RESERVD_DB_USER:-postgres}@127.0.0.1:5432/${RESERVD_DB_NAME:-reservd}?sslmode=disable}

case "$url" in
postgres://* | postgresql://*) ;;
*)
	echo "attach_db: error: DATABASE_URL is not a postgres:// URL." >&2
	exit 2
	;;
esac

if ! command -v psql >/dev/null 2>&1; then
	cat >&2 <<'MSG'
attach_db: error: psql not found. Install the PostgreSQL client:
  Debian/Ubuntu: sudo apt-get install -y postgresql-client
  macOS:         brew install postgresql@16
MSG
	exit 127
fi

exec psql --dbname="$url" "$@"
