#!/usr/bin/env bash
# Runs a command with a throw-away PostgreSQL cluster: starts it
# (tests/pg/start.sh), exports TESSERA_TEST_STORE_URL, runs the command and
# stops the cluster however the command ends.
#
#   tests/pg/with-postgres.sh cargo test --test dashboards
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
eval "$("$here/start.sh")"
trap '"$here/stop.sh" "$TESSERA_PG_DIR"' EXIT
echo "==> on PostgreSQL: $*"
"$@"
