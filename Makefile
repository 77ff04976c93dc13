# Tessera — the two commands are `make run` and `make test`.
CARGO ?= cargo
BIND ?= 127.0.0.1:8086
DATA ?= ./data

.PHONY: run build test lint fmt bench clean

run:
	$(CARGO) run --release -- --http-bind-address $(BIND) --data-dir $(DATA)

build:
	$(CARGO) build --release

# Every test: unit tests and the HTTP integration suites against the real
# binary on the embedded store, the client suites and fuzzing; then the
# integration, client and fuzz suites again on a throw-away PostgreSQL
# cluster (installed from Debian's packages when missing, stopped at the
# end). Lints run first so CI fails on them too.
test: lint
	$(call run-tests,--lib --bins --tests)
	$(CARGO) test --benches
	$(MAKE) clients
	$(MAKE) fuzz
	$(MAKE) test-postgres

# cargo-nextest (on the toolchain image) runs the test binaries side by side,
# so a suite that waits (sessions expiring, crash cycles) overlaps the others;
# plain `cargo test` runs them one after another and is the fallback.
define run-tests
	if $(CARGO) nextest --version >/dev/null 2>&1; then \
	  $(CARGO) nextest run --no-fail-fast --test-threads 4 $(1); \
	else \
	  $(CARGO) test $(1) -- --test-threads=4; \
	fi
endef

# The suites that talk to a server, on PostgreSQL (unit tests do not depend
# on the backend and ran above).
.PHONY: test-postgres test-postgres-suites
test-postgres:
	tests/pg/with-postgres.sh $(MAKE) test-postgres-suites

# Fuzzing on PostgreSQL leaves out schemathesis' coverage phase (boundary
# values of each field: request validation, the same code on both backends)
# and so fits the time budget; the conformance pass and examples and fuzzing
# phases run in full.
test-postgres-suites:
	$(call run-tests,--tests)
	$(MAKE) clients
	FUZZ_PHASES=examples,fuzzing $(MAKE) fuzz

# The official InfluxDB client libraries (Python influxdb-client, JS
# influxdb-client-apis) against the debug binary; installs what they need.
.PHONY: clients
clients:
	CARGO="$(CARGO)" bash tests/clients/run.sh

# Every response against openapi/openapi.yaml, then schemathesis over every
# operation (bounded, seeded); installs what it needs under target/fuzz-venv.
.PHONY: fuzz
fuzz:
	CARGO="$(CARGO)" bash tests/fuzz/run.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

# STORE=postgres runs the service groups on a throw-away PostgreSQL cluster.
bench:
	if [ "$(STORE)" = postgres ]; then \
	  tests/pg/with-postgres.sh $(CARGO) bench --bench store; \
	else \
	  $(CARGO) bench --bench store; \
	fi

clean:
	$(CARGO) clean

.PHONY: bench-http crash-test bench-scaling

# Scaling curves: a page of one org and a GET while other orgs grow from 1k
# to 100k dashboards (SCALING_MAX=1000000 adds 1M), GET with views from 1 to
# 100 cells, and the time from restart to serving.
bench-scaling:
	SCALING_MAX=$(SCALING_MAX) $(CARGO) bench --bench store -- --scaling

# HTTP load benchmark: release build, a seeded store, wrk on the other core
# and the trivial baseline in the same run (docs/performance.md).
bench-http:
	CARGO="$(CARGO)" STORE="$(STORE)" benches/http_load.sh

# The crash test with hundreds of SIGKILL cycles (`make test` runs 10).
crash-test:
	TESSERA_CRASH_CYCLES=$${TESSERA_CRASH_CYCLES:-300} $(CARGO) test --test crash crash_cycles -- --nocapture
