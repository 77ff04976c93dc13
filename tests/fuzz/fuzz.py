#!/usr/bin/env python3
"""Fuzzes a fresh, onboarded Tessera with schemathesis over its own document.

Starts the binary (env TESSERA_BIN) on 127.0.0.1:0, onboards it, creates the
resources the fuzzer works on (see `fixtures`), writes a schemathesis config
that points every path parameter at a real resource and authenticates with the
operator token, then runs `schemathesis run http://ADDR/api/v2/openapi.json`
over every operation with the checks not_a_server_error,
status_code_conformance, content_type_conformance,
response_schema_conformance and response_headers_conformance (FUZZ_CHECKS
overrides the list; the five /api/v2/query* operations and the creations
of what Tessera does not run may answer their documented 501). Bounded: a
fixed number of examples per operation and phase (FUZZ_MAX_EXAMPLES,
default 15), a fixed seed (FUZZ_SEED), one worker (FUZZ_WORKERS), and a
wall-clock cap on the whole run (FUZZ_MAX_SECONDS,
default 480). FUZZ_REAL_IDS=0 lets it generate path IDs instead of using
the fixtures' (mostly 400s and 404s; for exploring).

Writes its config, log and JUnit report to target/fuzz-report/, and there
`counts` (test cases passed, failures) for run.sh. Exits non-zero on any
failure, on a timeout, or when schemathesis errors.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conformance import ADMIN, ADMIN_PASSWORD, ROOT, Server  # noqa: E402

VENV_BIN = os.path.dirname(sys.executable)
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "15"))
SEED = int(os.environ.get("FUZZ_SEED", "20261125"))
WORKERS = os.environ.get("FUZZ_WORKERS", "1")
MAX_SECONDS = int(os.environ.get("FUZZ_MAX_SECONDS", "480"))
# The coverage phase sends boundary values of every parameter and body field:
# request validation, which runs before any store is touched.
PHASES = os.environ.get("FUZZ_PHASES", "examples,coverage,fuzzing")
REPORT_DIR = os.path.join(ROOT, "target", "fuzz-report")
CHECKS = os.environ.get("FUZZ_CHECKS") or ",".join([
    "not_a_server_error", "status_code_conformance", "content_type_conformance",
    "response_schema_conformance", "response_headers_conformance",
])
FUZZ_PASSWORD = "fuzzer-password-1"
# Operations that answer 501 by design: no query upstream is configured, and
# creating what Tessera does not run.
NOT_IMPLEMENTED = ["PostQuery", "PostQueryAst", "PostQueryAnalyze", "GetQuerySuggestions", "GetQuerySuggestionsName",
                   "CreateCheck", "CreateNotificationEndpoint", "CreateNotificationRule", "PostTasks",
                   "PostTelegrafs", "PostScrapers"]


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def fixtures(base: str) -> tuple[str, dict, list[tuple[str, dict]]]:
    """Onboards and creates what the fuzzer works on.

    Returns the operator token, the default path parameters, and per-operation
    overrides. Operations that destroy a resource (DELETE, and the grid
    replacements that drop cells) get their own resource, so that the
    operations that read and change it keep finding theirs.
    """
    h = requests.Session()
    r = h.post(f"{base}/api/v2/setup", json={"username": ADMIN, "password": ADMIN_PASSWORD,
                                             "org": "onboarded", "bucket": "default"}, timeout=30)
    r.raise_for_status()
    setup = r.json()
    token = setup["auth"]["token"]
    h.headers["Authorization"] = f"Token {token}"

    def post(path: str, body: dict) -> dict:
        r = h.post(base + path, json=body, timeout=30)
        if r.status_code != 201:
            raise SystemExit(f"fuzz: fixture POST {path} answered {r.status_code}: {r.text}")
        return r.json()

    # The fuzzer's org: never the setup org (deleting that would take the
    # operator token with it).
    org = post("/api/v2/orgs", {"name": "fuzz"})["id"]
    victim_org = post("/api/v2/orgs", {"name": "fuzz-victim"})["id"]
    user = post("/api/v2/users", {"name": "fuzzer", "password": FUZZ_PASSWORD})["id"]
    # Users whose passwords the password routes may change (once the fuzzer
    # has changed one, the next tries answer 403, which is documented).
    post("/api/v2/users", {"name": "fuzz-me", "password": FUZZ_PASSWORD})
    pw_user = post("/api/v2/users", {"name": "fuzz-pw", "password": FUZZ_PASSWORD})["id"]
    victim_user = post("/api/v2/users", {"name": "fuzz-victim"})["id"]
    props = {"shape": "chronograf-v2", "type": "markdown", "note": "fuzz"}

    def dashboard(name: str) -> tuple[str, str]:
        d = post("/api/v2/dashboards", {"orgID": org, "name": name,
                                        "cells": [{"x": 0, "y": 0, "w": 4, "h": 4, "name": "c", "properties": props}]})
        return d["id"], d["cells"][0]["id"]

    dash, cell = dashboard("fuzz")              # read and patched; grid replaced
    cells_dash, cells_cell = dashboard("fuzz-cells")  # cell and view operations
    victim_dash, victim_cell = dashboard("fuzz-victim")  # deleted, and its cell
    # Dashboards in the trash: one the restore route brings back, one the
    # purge route drops (each once; afterwards both answer 404).
    trash_restore, _ = dashboard("fuzz-trash-restore")
    trash_purge, _ = dashboard("fuzz-trash-purge")
    for trashed in (trash_restore, trash_purge):
        r = h.delete(f"{base}/api/v2/dashboards/{trashed}", timeout=30)
        if r.status_code != 204:
            raise SystemExit(f"fuzz: fixture DELETE dashboard answered {r.status_code}: {r.text}")
    label = post("/api/v2/labels", {"orgID": org, "name": "fuzz"})["label"]["id"]
    victim_label = post("/api/v2/labels", {"orgID": org, "name": "fuzz-victim"})["label"]["id"]
    post(f"/api/v2/dashboards/{dash}/labels", {"labelID": label})
    constant = {"type": "constant", "values": ["a", "b"]}
    variable = post("/api/v2/variables", {"orgID": org, "name": "fuzz", "arguments": constant})["id"]
    victim_variable = post("/api/v2/variables", {"orgID": org, "name": "fuzz_victim", "arguments": constant})["id"]
    post(f"/api/v2/variables/{variable}/labels", {"labelID": label})
    # External dashboards: one read, patched, probed and labelled; one
    # deleted. The server runs with --probe-disabled: generated URLs are
    # never fetched.
    external = post("/api/v2/externalDashboards", {"orgID": org, "name": "fuzz", "url": "https://localhost/fuzz"})["id"]
    victim_external = post("/api/v2/externalDashboards",
                           {"orgID": org, "name": "fuzz-victim", "url": "https://localhost/victim"})["id"]
    post(f"/api/v2/externalDashboards/{external}/labels", {"labelID": label})
    perms = [{"action": "read", "resource": {"type": "dashboards", "orgID": org}}]
    auth = post("/api/v2/authorizations", {"orgID": org, "userID": user, "permissions": perms})["id"]
    victim_auth = post("/api/v2/authorizations", {"orgID": org, "userID": user, "permissions": perms})["id"]
    bucket = setup["bucket"]["id"]
    # The fuzz user belongs to the fuzz org, so the member-roles routes find
    # a member; a custom role to read and change, and one to delete.
    post(f"/api/v2/orgs/{org}/members", {"id": user})
    editor = [{"action": "read", "resource": {"type": "dashboards"}},
              {"action": "write", "resource": {"type": "dashboards"}}]
    role = post(f"/api/v2/orgs/{org}/roles", {"name": "fuzz", "permissions": editor})["id"]
    victim_role = post(f"/api/v2/orgs/{org}/roles", {"name": "fuzz-victim", "permissions": editor})["id"]

    params = {
        "orgID": org, "dashboardID": dash, "cellID": cell, "labelID": label, "userID": user,
        "authID": auth, "bucketID": bucket, "name": "range", "variableID": variable, "roleID": role,
        "externalDashboardID": external,
    }
    per_op: list[tuple[str, dict]] = [
        ("DeleteOrgsID", {"parameters": {"orgID": victim_org}}),
        ("DeleteUsersID", {"parameters": {"userID": victim_user}}),
        ("DeleteDashboardsID", {"parameters": {"dashboardID": victim_dash}}),
        ("DeleteDashboardsIDCellsID", {"parameters": {"dashboardID": victim_dash, "cellID": victim_cell}}),
        ("PostTrashDashboardsIDRestore", {"parameters": {"dashboardID": trash_restore}}),
        ("DeleteTrashDashboardsID", {"parameters": {"dashboardID": trash_purge}}),
        ("DeleteLabelsID", {"parameters": {"labelID": victim_label}}),
        ("DeleteAuthorizationsID", {"parameters": {"authID": victim_auth}}),
        ("DeleteVariablesID", {"parameters": {"variableID": victim_variable}}),
        ("DeleteExternalDashboardsID", {"parameters": {"externalDashboardID": victim_external}}),
        ("DeleteOrgsIDRolesID", {"parameters": {"roleID": victim_role}}),
        ("PatchDashboardsIDCellsID", {"parameters": {"dashboardID": cells_dash, "cellID": cells_cell}}),
        ("GetDashboardsIDCellsIDView", {"parameters": {"dashboardID": cells_dash, "cellID": cells_cell}}),
        ("PatchDashboardsIDCellsIDView", {"parameters": {"dashboardID": cells_dash, "cellID": cells_cell}}),
        ("PostDashboardsIDCells", {"parameters": {"dashboardID": cells_dash}}),
        # The routes that take HTTP Basic get the fuzz user's credentials
        # instead of the token (the token would make them all 401).
        ("PostSignin", {"headers": {"Authorization": basic("fuzzer", FUZZ_PASSWORD)}}),
        ("PutMePassword", {"headers": {"Authorization": basic("fuzz-me", FUZZ_PASSWORD)}}),
        ("PutUsersIDPassword", {"headers": {"Authorization": basic("fuzz-pw", FUZZ_PASSWORD)},
                                "parameters": {"userID": pw_user}}),
    ]
    # 501 is these operations' documented answer; every other 5xx still fails.
    # On PostgreSQL the backup endpoint answers its documented 501 (pg_dump is
    # the tool there); on sled a 501 from it still fails.
    not_implemented = NOT_IMPLEMENTED + (["GetTesseraBackup"] if os.environ.get("TESSERA_TEST_STORE_URL") else [])
    per_op += [(op, {"checks": {"not_a_server_error": {"expected-statuses": ["2xx", "3xx", "4xx", "501"]}}})
               for op in not_implemented]
    return token, params, per_op


def toml_value(v) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{toml_value(k)} = {toml_value(x)}" for k, x in v.items()) + " }"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(path: str, token: str, params: dict, per_op: list[tuple[str, dict]]) -> None:
    lines = [
        f"seed = {SEED}",
        f"workers = {WORKERS}",
        "request-timeout = 30",
        "headers = " + toml_value({"Authorization": f"Token {token}"}),
        "",
        "[cache]",
        "enabled = false",
        "",
        "[generation]",
        f"max-examples = {MAX_EXAMPLES}",
        "database = \"none\"",
        "",
        "[parameters]",
    ]
    lines += [f"{toml_value(k)} = {toml_value(v)}" for k, v in params.items()]
    for op, settings in per_op:
        lines += ["", "[[operations]]", f"include-operation-id = {toml_value(op)}"]
        for key in ("headers", "parameters", "checks"):
            if key in settings:
                merged = dict(params, **settings[key]) if key == "parameters" else settings[key]
                lines.append(f"{key} = {toml_value(merged)}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def failed_operations(path: str) -> list[str]:
    """The operations schemathesis's JUnit report marks failed or errored."""
    if not os.path.exists(path):
        return []
    return [case.get("name", "?") for case in ET.parse(path).iter("testcase")
            if case.find("failure") is not None or case.find("error") is not None]


def run_schemathesis(cmd: list[str], log_path: str) -> tuple[int, list[str]]:
    """Runs schemathesis, echoing and keeping its output, within MAX_SECONDS."""
    lines: list[str] = []
    deadline = time.monotonic() + MAX_SECONDS
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPORT_DIR)
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            log.write(line)
            sys.stdout.write(line)
            if time.monotonic() > deadline:
                proc.kill()
                print(f"fuzz: schemathesis did not finish within {MAX_SECONDS}s", flush=True)
                proc.wait()
                return 124, lines
        return proc.wait(), lines


def main() -> int:
    started = time.monotonic()
    # The data directory on tmpfs when there is one: every write waits for an
    # fsync, and the fuzzer writes thousands of times.
    shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    server = Server(["--probe-disabled"], tmp_root=shm)
    os.makedirs(REPORT_DIR, exist_ok=True)
    junit = os.path.join(REPORT_DIR, "junit.xml")
    config = os.path.join(REPORT_DIR, "schemathesis.toml")
    for stale in (junit,):
        if os.path.exists(stale):
            os.remove(stale)
    try:
        token, params, per_op = fixtures(server.base)
        if os.environ.get("FUZZ_REAL_IDS", "1") == "0":
            # Exploration: let schemathesis generate every path ID itself.
            params = {}
            per_op = [(op, {k: v for k, v in s.items() if k != "parameters"}) for op, s in per_op]
            per_op = [(op, s) for op, s in per_op if s]
        write_config(config, token, params, per_op)
        cmd = [
            os.path.join(VENV_BIN, "schemathesis"), "--config-file", config, "run",
            f"{server.base}/api/v2/openapi.json",
            "--url", server.base,
            "--checks", CHECKS,
            "--phases", PHASES,
            # Every path, explicitly: without a filter schemathesis leaves out
            # the operation that serves the document it loaded
            # (GET /api/v2/openapi.json).
            "--include-path-regex", "^/",
            "--max-examples", str(MAX_EXAMPLES),
            "--seed", str(SEED),
            "--workers", WORKERS,
            "--no-color",
            "--report", "junit",
            "--report-junit-path", junit,
        ]
        print("fuzz: schemathesis " + " ".join(cmd[1:]), flush=True)
        code, lines = run_schemathesis(cmd, os.path.join(REPORT_DIR, "schemathesis.log"))
        if server.proc.poll() is not None:
            print(f"fuzz: the server exited with status {server.proc.returncode}", flush=True)
            code = code or 1
    finally:
        server.stop()
    text = "".join(lines)
    generated = re.search(r"(\d+) generated", text)
    unique = re.search(r"(\d+) unique failures?", text)
    cases = int(generated.group(1)) if generated else 0
    failures = int(unique.group(1)) if unique else 0
    if code != 0 and failures == 0:
        failures = 1
    for op in failed_operations(junit):
        print(f"fuzz: FAILED {op}")
    print(f"fuzz: schemathesis exited {code} after {time.monotonic() - started:.0f}s; "
          f"test cases {cases}, unique failures {failures}", flush=True)
    # Read by run.sh for its closing line.
    with open(os.path.join(REPORT_DIR, "counts"), "w") as f:
        f.write(f"{max(cases - failures, 0)} {failures}\n")
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
