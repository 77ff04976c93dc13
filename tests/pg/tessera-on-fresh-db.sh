#!/usr/bin/env bash
# Stands in for the tessera binary in the client and fuzz suites when they run
# on PostgreSQL: each server they start gets a fresh database of the test
# server (TESSERA_TEST_STORE_URL, from tests/pg/start.sh), as each gets a
# fresh data directory on sled. TESSERA_REAL_BIN is the binary.
set -euo pipefail
db="t_$(date +%s%N)_$$"
psql -q -X "$TESSERA_TEST_STORE_URL" -c "CREATE DATABASE $db" >/dev/null
exec "$TESSERA_REAL_BIN" --store-url "${TESSERA_TEST_STORE_URL%/*}/$db" "$@"
