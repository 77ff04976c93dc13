#!/usr/bin/env bash
# Checks Tessera against its own OpenAPI document, then fuzzes it:
#   1. tests/fuzz/conformance.py  drives every operation of a fresh server
#      (success and main error paths) and validates each response: status
#      declared, content type, body against the schema, required headers.
#   2. tests/fuzz/fuzz.py  starts another fresh, onboarded server and runs
#      schemathesis over every operation of http://ADDR/api/v2/openapi.json
#      with the operator token: checks not_a_server_error (only the documented
#      501s of /api/v2/query* allowed), status_code_conformance,
#      content_type_conformance, response_schema_conformance,
#      response_headers_conformance. Bounded by
#      FUZZ_MAX_EXAMPLES per operation and phase (default 15), a fixed
#      FUZZ_SEED and a FUZZ_MAX_SECONDS cap (default 480).
# Installs what it needs into a venv under target/fuzz-venv (idempotent),
# builds the debug binary unless TESSERA_BIN names one, exits non-zero on any
# failure, and closes with `fuzz: N passed, M failed` (conforming responses
# plus schemathesis test cases; mismatches plus schemathesis failures).
#
# Env: TESSERA_BIN, CARGO (default cargo), PYTHON (default python3),
# FUZZ_MAX_EXAMPLES, FUZZ_SEED, FUZZ_MAX_SECONDS, TESSERA_TEST_LOG=1.
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT="$(pwd)"
CARGO="${CARGO:-cargo}"
PYTHON="${PYTHON:-python3}"
VENV="$ROOT/target/fuzz-venv"
REQS="$ROOT/tests/fuzz/requirements.txt"
REPORT="$ROOT/target/fuzz-report"
started=$(date +%s)

if [ -z "${TESSERA_BIN:-}" ]; then
  echo "==> cargo build (debug binary)"
  "$CARGO" build --quiet --bin tessera
  TESSERA_BIN="$ROOT/target/debug/tessera"
fi
if [ ! -x "$TESSERA_BIN" ]; then
  echo "tests/fuzz/run.sh: no tessera binary at $TESSERA_BIN" >&2
  echo "fuzz: 0 passed, 1 failed"
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

mkdir -p "$REPORT"
rm -f "$REPORT/conformance-counts" "$REPORT/counts"
export PYTHONDONTWRITEBYTECODE=1

echo "==> conformance: every operation's responses against openapi/openapi.yaml"
conf=0
CONFORMANCE_COUNTS="$REPORT/conformance-counts" "$VENV/bin/python" tests/fuzz/conformance.py || conf=$?

echo "==> schemathesis against $TESSERA_BIN"
fz=0
"$VENV/bin/python" tests/fuzz/fuzz.py || fz=$?

read -r c_pass c_fail < "$REPORT/conformance-counts" 2>/dev/null || { c_pass=0; c_fail=1; }
read -r f_pass f_fail < "$REPORT/counts" 2>/dev/null || { f_pass=0; f_fail=1; }
if [ "$conf" -ne 0 ] && [ "$c_fail" -eq 0 ]; then c_fail=1; fi
if [ "$fz" -ne 0 ] && [ "$f_fail" -eq 0 ]; then f_fail=1; fi

echo "==> conformance: $c_pass responses conformed, $c_fail mismatches (exit $conf)"
echo "==> schemathesis: $f_pass test cases passed, $f_fail failures (exit $fz); report in target/fuzz-report/"
echo "==> tests/fuzz/run.sh took $(( $(date +%s) - started ))s"
echo "fuzz: $((c_pass + f_pass)) passed, $((c_fail + f_fail)) failed"
if [ "$conf" -ne 0 ] || [ "$fz" -ne 0 ]; then
  exit 1
fi
