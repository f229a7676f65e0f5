#!/usr/bin/env bash
# bench/streams.sh — 1,000 concurrent seat-map streams
# (GET /flights/{id}/seats/stream) on one reservd replica on PostgreSQL:
# resident memory per open stream, and the fan-out latency from a hold's
# commit to the first and the last client's receipt of the change.
# Documented in docs/PERFORMANCE.md ("Streams").
#
#   bench/streams.sh                 # or: make bench-streams
#   CLIENTS=2000 ROUNDS=40 bench/streams.sh
#
# Environment:
#   CLIENTS       streams to open, all on one flight (default 1000)
#   ROUNDS        holds made one at a time, each at a random moment (default 20)
#   STREAM_POLL_INTERVAL  passed on to reservd (default 500ms)
#   PG_URL        PostgreSQL server (default postgres://postgres@127.0.0.1:5432);
#                 the database BENCH_DB (default reservd_bench_streams) on it is
#                 dropped, recreated, and dropped again at the end
#
# Steps: build reservd and loadgen; create the database, an admin key and a
# customer key; start reservd (RATE_LIMIT=0, MAX_CONNECTIONS=4096); create one
# 100-seat flight; run `loadgen seatstream`, which reads reservd's VmRSS,
# opens CLIENTS streams (50 connecting at a time) and waits for every
# snapshot, reads VmRSS again 2 s later, then ROUNDS times holds a free seat
# (POST /holds, timed from its 201: the commit is before it) and waits for
# every client to see it held, releasing it after. "missed" counts receipts
# that did not come within 5 s.
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

CLIENTS=${CLIENTS:-1000}
ROUNDS=${ROUNDS:-20}
BENCH_DB=${BENCH_DB:-reservd_bench_streams}

need go psql curl
pg_check
bench_start streams
build reservd loadgen
pg_create_db
ADMIN=$(newkey --name bench-admin --admin)
KEY=$(newkey --name bench-streams)

PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
say "starting reservd on $BASE (PostgreSQL, no Redis, STREAM_POLL_INTERVAL=${STREAM_POLL_INTERVAL:-500ms})"
start_bg reservd env -u REDIS_URL ADDR="127.0.0.1:$PORT" DATABASE_URL="$DB_URL" RATE_LIMIT=0 \
	MAX_CONNECTIONS=4096 STREAM_MAX_TOTAL=$((CLIENTS + 100)) "$WORK/reservd" serve
wait_up "$BASE/healthz"
FLIGHT=$("$WORK/loadgen" mkflights -url "$BASE" -admin-key "$ADMIN" -n 1 -seats 100)

LOAD1=$(cut -d' ' -f1 /proc/loadavg)
say "loadgen seatstream -clients $CLIENTS -rounds $ROUNDS (load average before: $LOAD1)"
"$WORK/loadgen" seatstream -url "$BASE" -keys "$KEY" -flight "$FLIGHT" -clients "$CLIENTS" -rounds "$ROUNDS" -pid "$SERVER_PID"
say "reservd peak RSS $(peak_rss_mb "$SERVER_PID") MB"
