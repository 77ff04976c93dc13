#!/usr/bin/env bash
# Drives Tessera through InfluxData's official client libraries:
#   Python  influxdb-client                (tests/clients/python, pytest)
#   JS      @influxdata/influxdb-client-apis (tests/clients/js, node --test)
# Installs what it needs (a venv under target/clients-venv, node_modules inside
# tests/clients/js), builds the debug binary unless TESSERA_BIN names one, runs
# both suites, and exits non-zero if either fails.
#
# Env: TESSERA_BIN (binary to test), CARGO (default cargo), PYTHON (default
# python3), TESSERA_TEST_LOG=1 (show the server's log).
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT="$(pwd)"
CARGO="${CARGO:-cargo}"
PYTHON="${PYTHON:-python3}"
VENV="$ROOT/target/clients-venv"
REQS="$ROOT/tests/clients/python/requirements.txt"

if [ -z "${TESSERA_BIN:-}" ]; then
  echo "==> cargo build (debug binary)"
  "$CARGO" build --quiet --bin tessera
  TESSERA_BIN="$ROOT/target/debug/tessera"
fi
if [ ! -x "$TESSERA_BIN" ]; then
  echo "tests/clients/run.sh: no tessera binary at $TESSERA_BIN" >&2
  exit 1
fi
# On PostgreSQL (TESSERA_TEST_STORE_URL, see tests/pg/start.sh) every server
# the suites start gets a fresh database, as it gets a fresh directory on sled.
if [ -n "${TESSERA_TEST_STORE_URL:-}" ]; then
  echo "==> store: PostgreSQL (a fresh database per server)"
  export TESSERA_REAL_BIN="$TESSERA_BIN"
  TESSERA_BIN="$ROOT/tests/pg/tessera-on-fresh-db.sh"
fi
export TESSERA_BIN

echo "==> Python venv $VENV"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.requirements.sha256"
want="$(sha256sum "$REQS" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQS"
  echo "$want" > "$stamp"
fi

echo "==> npm ci (tests/clients/js)"
(cd tests/clients/js && npm ci --no-audit --no-fund --loglevel=error)

status=0

echo "==> Python: influxdb-client against $TESSERA_BIN"
py=0
PYTHONDONTWRITEBYTECODE=1 "$VENV/bin/python" -m pytest tests/clients/python \
  -q -rfEs -o cache_dir="$ROOT/target/clients-pytest-cache" || py=$?

echo "==> JavaScript: @influxdata/influxdb-client-apis against $TESSERA_BIN"
js=0
(cd tests/clients/js && node --test) || js=$?

verdict() { if [ "$1" -eq 0 ]; then echo ok; else echo "FAILED (exit $1)"; fi; }
echo "==> client suites: python $(verdict $py), js $(verdict $js)"
if [ $py -ne 0 ] || [ $js -ne 0 ]; then
  status=1
fi
exit $status
