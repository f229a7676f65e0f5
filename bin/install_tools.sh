#!/usr/bin/env bash
# Install the Debian packages that reservd's tests drive as real processes:
# HAProxy (load balancer in front of the replicas), PgBouncer (transaction
# pooling in front of PostgreSQL) and Chromium (the web UI's browser tests in
# internal/browsertest, headless). `make test` runs this before `go test`; the
# tests that need these tools fail naming this script when they are missing,
# never skip.
#
#   bin/install_tools.sh          # install what is missing (apt-get, as root or with sudo)
#   bin/install_tools.sh --check  # only report what is missing; exit 1 if anything is
#
# Safe to run again and again: a tool already on PATH (or in /usr/sbin) is
# left alone, and apt-get runs only when something is missing.
set -euo pipefail

log() { printf 'install_tools: %s\n' "$*" >&2; }

# Each tool's command (or absolute path) and the Debian package that ships it.
# The browser tests run /usr/bin/chromium itself, so it is checked by path.
tools=(haproxy:haproxy pgbouncer:pgbouncer /usr/bin/chromium:chromium)

find_tool() {
	case "$1" in
	/*) [ -x "$1" ] ;;
	*) PATH="$PATH:/usr/sbin:/sbin" command -v "$1" >/dev/null 2>&1 ;;
	esac
}

missing=()
for entry in "${tools[@]}"; do
	cmd=${entry%%:*} pkg=${entry#*:}
	if ! find_tool "$cmd"; then missing+=("$pkg"); fi
done

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

case "${1:-}" in
--check)
	log "missing: ${missing[*]} (install with: bin/install_tools.sh)"
	exit 1
	;;
"") ;;
*)
	log "unknown argument: $1"
	exit 2
	;;
esac

if ! command -v apt-get >/dev/null 2>&1; then
	log "missing: ${missing[*]}; this machine has no apt-get: install them with its package manager"
	exit 1
fi
sudo=()
if [ "$(id -u)" != 0 ]; then
	if ! command -v sudo >/dev/null 2>&1; then
		log "missing: ${missing[*]}; run as root or install sudo"
		exit 1
	fi
	sudo=(sudo)
fi
log "installing ${missing[*]} with apt-get"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq >&2
# The packages' own services are not wanted: the tests start their own
# processes on free ports. policy-rc.d keeps Debian's maintainer scripts from
# starting them (and from failing where there is no init system).
policy=/usr/sbin/policy-rc.d
made_policy=false
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
	"${sudo[@]}" chmod +x "$policy"
	made_policy=true
fi
status=0
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || status=$?
if $made_policy; then "${sudo[@]}" rm -f "$policy"; fi
exit $status
