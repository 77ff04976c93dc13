#!/usr/bin/env bash
# Stops a cluster started by tests/pg/start.sh and removes its directory.
set -uo pipefail
DIR=${1:-${TESSERA_PG_DIR:-}}
[ -n "$DIR" ] && [ -d "$DIR/data" ] || exit 0
BIN=${TESSERA_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V -r | head -1)}
runuser -u postgres -- "$BIN/pg_ctl" -D "$DIR/data" -m immediate -w stop >/dev/null 2>&1
rm -rf "$DIR"
