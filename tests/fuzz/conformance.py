#!/usr/bin/env python3
"""Checks real responses of a fresh Tessera against its OpenAPI document.

Starts the binary (env TESSERA_BIN, default target/debug/tessera) on
127.0.0.1:0 with an empty data directory, onboards it through
POST /api/v2/setup, then drives every operation of the document it serves at
/api/v2/openapi.json, on its success path and its main error paths. Each
response is checked against the document:

* the request matches exactly one documented operation (the one expected);
* the status is declared for that operation (a 5xx may fall to `default`);
* the Content-Type is one the response declares (no body when it declares none);
* the body validates against the response schema (OpenAPI 3.0 semantics,
  formats included), and carries no field the schema does not describe;
* every header the response declares as required is present and valid;
* the status is the one InfluxDB's behaviour calls for (the expectation each
  call states).

Finally every operation in the document must have been exercised. Prints each
mismatch and a summary line; exits 1 on any mismatch.
"""

from __future__ import annotations

import base64
import json
import threading
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests
import yaml
from openapi_schema_validator import OAS30Validator, oas30_format_checker

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("TESSERA_BIN") or os.path.join(ROOT, "target", "debug", "tessera")
ADMIN, ADMIN_PASSWORD = "admin", "correct horse battery"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class Server:
    """A fresh tessera process on a free port."""

    def __init__(self, args: list[str] | None = None, tmp_root: str | None = None):
        self.dir = tempfile.mkdtemp(prefix="tessera-fuzz-", dir=tmp_root)
        env = dict(os.environ)
        env.setdefault("TESSERA_LOG_LEVEL", "warn")
        self.proc = subprocess.Popen(
            [BIN, "--http-bind-address", "127.0.0.1:0", "--data-dir", self.dir, *(args or [])],
            stdout=subprocess.PIPE,
            stderr=None if os.environ.get("TESSERA_TEST_LOG") else subprocess.DEVNULL,
            env=env,
            text=True,
        )
        line = self.proc.stdout.readline().strip()
        prefix = "tessera listening on "
        if not line.startswith(prefix):
            self.stop()
            raise SystemExit(f"conformance: unexpected first line from {BIN}: {line!r}")
        self.base = line[len(prefix):]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


# ---- the document ----------------------------------------------------------


class Document:
    def __init__(self, doc: dict):
        self.doc = doc
        self.components = doc.get("components", {})
        self.ops: dict[str, tuple[str, str, dict, list]] = {}
        self.routes: list[tuple[re.Pattern, str, str]] = []
        for path, item in doc["paths"].items():
            regex = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")
            for method in METHODS:
                if method in item:
                    op = item[method]
                    self.ops[op["operationId"]] = (method.upper(), path, op, item.get("parameters", []))
                    self.routes.append((regex, method.upper(), op["operationId"]))

    def resolve(self, obj: Any) -> Any:
        while isinstance(obj, dict) and "$ref" in obj:
            ref = obj["$ref"]
            assert ref.startswith("#/"), ref
            node: Any = self.doc
            for part in ref[2:].split("/"):
                node = node[part]
            obj = node
        return obj

    def match(self, method: str, path: str) -> list[str]:
        # A literal path wins over a template, as routers do.
        found = [(op, "{" in self.ops[op][1]) for r, m, op in self.routes if m == method and r.match(path)]
        literal = [op for op, templ in found if not templ]
        return literal or [op for op, _ in found]

    def validator(self, schema: dict) -> OAS30Validator:
        root = dict(schema)
        root["components"] = self.components
        return OAS30Validator(root, format_checker=oas30_format_checker)

    # -- undocumented fields: objects that do not allow additional properties
    #    must not carry fields their schema does not name.
    def extra_fields(self, schema: Any, value: Any, where: str = "") -> list[str]:
        schema = self.resolve(schema)
        if not isinstance(schema, dict):
            return []
        out: list[str] = []
        branches = [self.resolve(s) for key in ("allOf", "oneOf", "anyOf") for s in schema.get(key, [])]
        if isinstance(value, dict):
            props: dict = dict(schema.get("properties", {}))
            open_ended = "additionalProperties" in schema
            for b in branches:
                if isinstance(b, dict):
                    props.update(b.get("properties", {}))
                    open_ended = open_ended or "additionalProperties" in b
            if schema.get("oneOf") or schema.get("anyOf"):
                # Check only against the branches the value validates against.
                ok = [b for b in branches if self.validator(b).is_valid(value)]
                if ok:
                    return [e for b in ok[:1] for e in self.extra_fields(b, value, where)]
            if not open_ended and (props or schema.get("type") == "object"):
                for k in value:
                    if k not in props:
                        out.append(f"{where or '/'}: field {k!r} is not in the schema")
            for k, v in value.items():
                if k in props:
                    out.extend(self.extra_fields(props[k], v, f"{where}/{k}"))
        elif isinstance(value, list) and "items" in schema:
            for i, v in enumerate(value):
                out.extend(self.extra_fields(schema["items"], v, f"{where}/{i}"))
        return out


# ---- the checker -----------------------------------------------------------


def essence(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


class Checker:
    def __init__(self, server: Server, doc: Document):
        self.s = server
        self.doc = doc
        self.http = requests.Session()
        self.checked = 0
        self.bad_responses = 0
        self.mismatches: list[str] = []
        self.exercised: dict[str, set[int]] = {}
        self.token: str | None = None

    def fail(self, msg: str) -> None:
        self.mismatches.append(msg)
        print(f"MISMATCH {msg}", flush=True)

    def call(
        self,
        op_id: str,
        method: str,
        path: str,
        expect: int,
        *,
        body: Any = None,
        raw: bytes | str | None = None,
        content_type: str | None = None,
        params: Any = None,
        auth: Any = "token",
        headers: dict | None = None,
    ) -> requests.Response:
        """Sends one request and checks its response against `op_id`."""
        h = dict(headers or {})
        cookies = None
        if auth == "token":
            h["Authorization"] = f"Token {self.token}"
        elif isinstance(auth, tuple) and auth[0] == "token":
            h["Authorization"] = f"Token {auth[1]}"
        elif isinstance(auth, tuple) and auth[0] == "bearer":
            h["Authorization"] = f"Bearer {auth[1]}"
        elif isinstance(auth, tuple) and auth[0] == "cookie":
            h["Cookie"] = f"influxdb-oss-session={auth[1]}"
        elif isinstance(auth, tuple) and auth[0] == "basic":
            h["Authorization"] = "Basic " + base64.b64encode(f"{auth[1]}:{auth[2]}".encode()).decode()
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        elif raw is not None:
            data = raw if isinstance(raw, bytes) else raw.encode()
        if content_type is not None:
            h["Content-Type"] = content_type
        r = self.http.request(method, self.s.base + path, data=data, params=params, headers=h,
                              cookies=cookies, allow_redirects=False, timeout=30)
        # Each call states its own credentials: keep no cookies between calls.
        self.http.cookies.clear()
        self.check(op_id, method, path, r, expect)
        return r

    def check(self, op_id: str, method: str, path: str, r: requests.Response, expect: int) -> None:
        before = len(self.mismatches)
        self._check(op_id, method, path, r, expect)
        self.checked += 1
        if len(self.mismatches) > before:
            self.bad_responses += 1

    def _check(self, op_id: str, method: str, path: str, r: requests.Response, expect: int) -> None:
        label = f"{op_id} {method} {r.request.path_url} -> {r.status_code}"
        self.exercised.setdefault(op_id, set()).add(r.status_code)
        matched = self.doc.match(method, path.split("?")[0])
        if matched != [op_id]:
            self.fail(f"{label}: request matches operations {matched}, expected [{op_id}]")
            if op_id not in self.doc.ops:
                return
        if self.s.proc.poll() is not None:
            self.fail(f"{label}: the server exited with status {self.s.proc.returncode}")
        if r.status_code != expect:
            self.fail(f"{label}: expected status {expect} (InfluxDB's behaviour); body {r.text[:300]!r}")
        _, _, op, _ = self.doc.ops[op_id]
        responses = op["responses"]
        spec = responses.get(str(r.status_code))
        if spec is None:
            # A 5xx may fall to `default`; any status may where the operation
            # passes on another server's answer (`x-tessera-passthrough`).
            if "default" in responses and (r.status_code >= 500 or op.get("x-tessera-passthrough")):
                spec = responses["default"]
            else:
                self.fail(f"{label}: status {r.status_code} is not declared (declared: {sorted(responses)})")
                return
        spec = self.doc.resolve(spec)
        for name, hspec in (spec.get("headers") or {}).items():
            hspec = self.doc.resolve(hspec)
            value = r.headers.get(name)
            if value is None:
                if hspec.get("required"):
                    self.fail(f"{label}: required header {name} missing")
                continue
            errs = list(self.doc.validator(hspec.get("schema", {})).iter_errors(value))
            if errs:
                self.fail(f"{label}: header {name}={value!r}: {errs[0].message}")
        content = spec.get("content")
        ctype = r.headers.get("Content-Type", "")
        if not content:
            if r.content:
                self.fail(f"{label}: body {r.text[:100]!r} where the document declares none")
            return
        media = None
        for declared in content:
            d = declared.lower()
            if d == essence(ctype) or d == "*/*" or (d.endswith("/*") and essence(ctype).startswith(d[:-1])):
                media = declared
                break
        if media is None:
            self.fail(f"{label}: Content-Type {ctype!r} is not declared ({sorted(content)})")
            return
        if method == "HEAD":
            return
        schema = content[media].get("schema")
        if schema is None:
            return
        if "json" in essence(ctype):
            try:
                value = r.json()
            except ValueError as e:
                self.fail(f"{label}: body is not JSON: {e}")
                return
        elif "yaml" in essence(ctype):
            try:
                value = yaml.safe_load(r.text)
            except yaml.YAMLError as e:
                self.fail(f"{label}: body is not YAML: {e}")
                return
        else:
            value = r.text
        errors = sorted(self.doc.validator(schema).iter_errors(value), key=lambda e: list(e.absolute_path))
        for e in errors[:5]:
            at = "/" + "/".join(str(p) for p in e.absolute_path)
            self.fail(f"{label}: body at {at}: {e.message[:300]}")
        if not errors:
            for extra in self.doc.extra_fields(schema, value):
                self.fail(f"{label}: body {extra}")


# ---- the scenario ----------------------------------------------------------

BAD_ID = "not-an-id"
MISSING = "0fffffffffffffff"


def scenario(c: Checker) -> None:
    # Onboarding, before and after.
    c.call("GetSetup", "GET", "/api/v2/setup", 200, auth=None)
    c.call("GetMe", "GET", "/api/v2/me", 401, auth=None)
    c.call("PostSetup", "POST", "/api/v2/setup", 400, body={}, auth=None)
    c.call("PostSetup", "POST", "/api/v2/setup", 400, raw="{nope", content_type="application/json", auth=None)
    c.call("PostSetup", "POST", "/api/v2/setup", 415, raw="<a/>", content_type="application/xml", auth=None)
    c.call("PostSetup", "POST", "/api/v2/setup", 400, auth=None,
           body={"username": ADMIN, "password": "short", "org": "o", "bucket": "b"})
    r = c.call("PostSetup", "POST", "/api/v2/setup", 201, auth=None,
               body={"username": ADMIN, "password": ADMIN_PASSWORD, "org": "onboarded",
                     "bucket": "default", "retentionPeriodSeconds": 0})
    setup = r.json()
    c.token = setup["auth"]["token"]
    org, admin, bucket, admin_auth = setup["org"]["id"], setup["user"]["id"], setup["bucket"]["id"], setup["auth"]["id"]
    c.call("GetSetup", "GET", "/api/v2/setup", 200, auth=None)
    c.call("PostSetup", "POST", "/api/v2/setup", 422, auth=None,
           body={"username": "again", "org": "again", "bucket": "again"})

    # Service endpoints and documents.
    c.call("GetHealth", "GET", "/health", 200, auth=None)
    c.call("GetPing", "GET", "/ping", 204, auth=None)
    c.call("HeadPing", "HEAD", "/ping", 204, auth=None)
    c.call("GetReady", "GET", "/ready", 200, auth=None)
    c.call("GetMetrics", "GET", "/metrics", 200, auth=None)
    c.call("GetTesseraBackup", "GET", "/api/v2/tessera/backup", 401, auth=None)
    c.call("GetTesseraBackup", "GET", "/api/v2/tessera/backup", 501 if os.environ.get("TESSERA_TEST_STORE_URL") else 200)
    c.call("GetOpenapiJson", "GET", "/api/v2/openapi.json", 200, auth=None)
    c.call("GetOpenapiYaml", "GET", "/api/v2/openapi.yaml", 200, auth=None)
    c.call("GetRoot", "GET", "/", 200, auth=None)
    c.call("HeadRoot", "HEAD", "/", 200, auth=None)

    # Sessions.
    c.call("PostSignin", "POST", "/api/v2/signin", 401, auth=None)
    c.call("PostSignin", "POST", "/api/v2/signin", 401, auth=("basic", ADMIN, "wrong password"))
    c.call("PostSignin", "POST", "/api/v2/signin", 401, auth=("basic", "nobody", ADMIN_PASSWORD))
    r = c.call("PostSignin", "POST", "/api/v2/signin", 204, auth=("basic", ADMIN, ADMIN_PASSWORD))
    session = r.cookies.get("influxdb-oss-session") or ""
    c.call("GetMe", "GET", "/api/v2/me", 200, auth=("cookie", session))
    c.call("GetMe", "GET", "/api/v2/me", 200)
    c.call("GetMe", "GET", "/api/v2/me", 200, auth=("bearer", c.token))
    c.call("GetMe", "GET", "/api/v2/me", 401, auth=("token", "no-such-token"))
    c.call("PostSignout", "POST", "/api/v2/signout", 401, auth=None)
    c.call("PostSignout", "POST", "/api/v2/signout", 204, auth=("cookie", session))
    c.call("GetMe", "GET", "/api/v2/me", 401, auth=("cookie", session))

    # Users and passwords.
    c.call("GetUsers", "GET", "/api/v2/users", 200)
    c.call("GetUsers", "GET", "/api/v2/users", 200, params={"name": ADMIN})
    c.call("GetUsers", "GET", "/api/v2/users", 200, params={"id": MISSING})
    c.call("GetUsers", "GET", "/api/v2/users", 400, params={"id": BAD_ID})
    c.call("GetUsers", "GET", "/api/v2/users", 401, auth=None)
    bob = c.call("PostUsers", "POST", "/api/v2/users", 201, body={"name": "bob", "password": "builder-123"}).json()["id"]
    carol = c.call("PostUsers", "POST", "/api/v2/users", 201, body={"name": "carol", "status": "active"}).json()["id"]
    c.call("PostUsers", "POST", "/api/v2/users", 422, body={"name": "bob"})
    c.call("PostUsers", "POST", "/api/v2/users", 400, body={})
    c.call("PostUsers", "POST", "/api/v2/users", 400, body={"name": "dave", "password": "short"})
    c.call("PostUsers", "POST", "/api/v2/users", 400, raw="[", content_type="application/json")
    c.call("PostUsers", "POST", "/api/v2/users", 401, body={"name": "eve"}, auth=None)
    c.call("GetUsersID", "GET", f"/api/v2/users/{bob}", 200)
    c.call("GetUsersID", "GET", f"/api/v2/users/{BAD_ID}", 400)
    c.call("GetUsersID", "GET", f"/api/v2/users/{MISSING}", 404)
    c.call("GetUsersID", "GET", f"/api/v2/users/{bob}", 401, auth=None)
    c.call("PatchUsersID", "PATCH", f"/api/v2/users/{carol}", 200, body={"status": "inactive"})
    c.call("PatchUsersID", "PATCH", f"/api/v2/users/{carol}", 200, body={"name": "carol2", "status": "active"})
    c.call("PatchUsersID", "PATCH", f"/api/v2/users/{carol}", 400, body={})
    c.call("PatchUsersID", "PATCH", f"/api/v2/users/{carol}", 422, body={"name": "bob"})
    c.call("PatchUsersID", "PATCH", f"/api/v2/users/{MISSING}", 404, body={"name": "x"})
    c.call("PatchUsersID", "PATCH", f"/api/v2/users/{carol}", 401, body={"name": "x"}, auth=None)
    # POST sets a password (write on the user); PUT changes one, proving the
    # current password with HTTP Basic credentials, as InfluxDB does.
    pw = f"/api/v2/users/{carol}/password"
    c.call("PostUsersIDPassword", "POST", pw, 204, body={"password": "carol-pass-1"})
    c.call("PostUsersIDPassword", "POST", pw, 400, body={"password": "short"})
    c.call("PostUsersIDPassword", "POST", f"/api/v2/users/{MISSING}/password", 404, body={"password": "long-enough"})
    c.call("PostUsersIDPassword", "POST", f"/api/v2/users/{BAD_ID}/password", 400, body={"password": "long-enough"})
    c.call("PostUsersIDPassword", "POST", pw, 401, body={"password": "long-enough"}, auth=None)
    c.call("PutUsersIDPassword", "PUT", pw, 204, body={"password": "carol-pass-2"}, auth=("basic", "carol", "carol-pass-1"))
    c.call("PutUsersIDPassword", "PUT", pw, 403, body={"password": "carol-pass-3"}, auth=("basic", "carol", "carol-pass-1"))
    c.call("PutUsersIDPassword", "PUT", pw, 400, body={"password": "short"}, auth=("basic", "carol", "carol-pass-2"))
    c.call("PutUsersIDPassword", "PUT", pw, 401, body={"password": "carol-pass-3"})
    c.call("PutUsersIDPassword", "PUT", f"/api/v2/users/{MISSING}/password", 403, body={"password": "long-enough"},
           auth=("basic", "x", "carol-pass-2"))
    c.call("PutUsersIDPassword", "PUT", f"/api/v2/users/{BAD_ID}/password", 400, body={"password": "long-enough"},
           auth=("basic", "x", "carol-pass-2"))
    me_pw = "/api/v2/me/password"
    c.call("PutMePassword", "PUT", me_pw, 204, body={"password": ADMIN_PASSWORD}, auth=("basic", ADMIN, ADMIN_PASSWORD))
    c.call("PutMePassword", "PUT", me_pw, 403, body={"password": ADMIN_PASSWORD}, auth=("basic", ADMIN, "wrong password"))
    c.call("PutMePassword", "PUT", me_pw, 403, body={"password": ADMIN_PASSWORD}, auth=("basic", "nobody", ADMIN_PASSWORD))
    admin_session = c.call("PostSignin", "POST", "/api/v2/signin", 204,
                           auth=("basic", ADMIN, ADMIN_PASSWORD)).cookies.get("influxdb-oss-session", "")
    c.call("PutMePassword", "PUT", me_pw, 204, body={"password": ADMIN_PASSWORD}, auth=("basic", "any name", ADMIN_PASSWORD),
           headers={"Cookie": f"influxdb-oss-session={admin_session}"})
    c.call("PutMePassword", "PUT", me_pw, 400, body={"password": "short"}, auth=("basic", ADMIN, ADMIN_PASSWORD))
    c.call("PutMePassword", "PUT", me_pw, 400, body={}, auth=("basic", ADMIN, ADMIN_PASSWORD))
    c.call("PutMePassword", "PUT", me_pw, 401, body={"password": "long-enough"})
    c.call("PutMePassword", "PUT", me_pw, 401, body={"password": "long-enough"}, auth=None)

    # A user without rights on the org, signed in: 401 naming the missing right.
    bob_session = c.call("PostSignin", "POST", "/api/v2/signin", 204,
                         auth=("basic", "bob", "builder-123")).cookies.get("influxdb-oss-session", "")
    c.call("GetMe", "GET", "/api/v2/me", 200, auth=("cookie", bob_session))
    c.call("GetOrgsID", "GET", f"/api/v2/orgs/{org}", 401, auth=("cookie", bob_session))
    c.call("GetUsersID", "GET", f"/api/v2/users/{carol}", 401, auth=("cookie", bob_session))
    c.call("PostUsers", "POST", "/api/v2/users", 401, body={"name": "mallory"}, auth=("cookie", bob_session))

    # Organizations.
    c.call("GetOrgs", "GET", "/api/v2/orgs", 200)
    c.call("GetOrgs", "GET", "/api/v2/orgs", 200, params={"org": "onboarded"})
    c.call("GetOrgs", "GET", "/api/v2/orgs", 404, params={"org": "nope"})
    c.call("GetOrgs", "GET", "/api/v2/orgs", 200, params={"userID": admin})
    c.call("GetOrgs", "GET", "/api/v2/orgs", 400, params={"orgID": BAD_ID})
    c.call("GetOrgs", "GET", "/api/v2/orgs", 400, params={"userID": BAD_ID})
    c.call("GetOrgs", "GET", "/api/v2/orgs", 401, auth=None)
    org2 = c.call("PostOrgs", "POST", "/api/v2/orgs", 201, body={"name": "second", "description": "d"}).json()["id"]
    c.call("PostOrgs", "POST", "/api/v2/orgs", 422, body={"name": "second"})
    c.call("PostOrgs", "POST", "/api/v2/orgs", 400, body={"name": "  "})
    c.call("PostOrgs", "POST", "/api/v2/orgs", 415, raw="x", content_type="image/png")
    c.call("PostOrgs", "POST", "/api/v2/orgs", 401, body={"name": "x"}, auth=None)
    c.call("GetOrgsID", "GET", f"/api/v2/orgs/{org2}", 200)
    c.call("GetOrgsID", "GET", f"/api/v2/orgs/{MISSING}", 404)
    c.call("GetOrgsID", "GET", f"/api/v2/orgs/{BAD_ID}", 400)
    c.call("PatchOrgsID", "PATCH", f"/api/v2/orgs/{org2}", 200, body={"description": "second org"})
    c.call("PatchOrgsID", "PATCH", f"/api/v2/orgs/{org2}", 400, body={})
    c.call("PatchOrgsID", "PATCH", f"/api/v2/orgs/{org2}", 422, body={"name": "onboarded"})
    c.call("PatchOrgsID", "PATCH", f"/api/v2/orgs/{MISSING}", 404, body={"name": "z"})
    c.call("PatchOrgsID", "PATCH", f"/api/v2/orgs/{org2}", 401, body={"name": "z"}, auth=None)

    # Dashboards, cells, views.
    c.call("PostDashboards", "POST", "/api/v2/dashboards", 400, body={"name": "no org"})
    c.call("PostDashboards", "POST", "/api/v2/dashboards", 404, body={"orgID": MISSING, "name": "x"})
    c.call("PostDashboards", "POST", "/api/v2/dashboards", 400, raw="{", content_type="application/json")
    c.call("PostDashboards", "POST", "/api/v2/dashboards", 401, body={"orgID": org, "name": "x"}, auth=None)
    c.call("PostDashboards", "POST", "/api/v2/dashboards", 413, raw=b"[" + b" " * (10 << 20) + b"]",
           content_type="application/json")
    d = c.call("PostDashboards", "POST", "/api/v2/dashboards", 201, body={
        "orgID": org, "name": "Servers", "description": "all of them",
        "cells": [{"x": 0, "y": 0, "w": 4, "h": 4, "name": "notes",
                   "properties": {"shape": "chronograf-v2", "type": "markdown", "note": "# hi"}},
                  {"x": 4, "y": 0, "w": 4, "h": 4}]}).json()
    dash = d["id"]
    cell1, cell2 = d["cells"][0]["id"], d["cells"][1]["id"]
    c.call("PostDashboards", "POST", "/api/v2/dashboards", 201, body={"orgID": org2, "name": "Other"})
    c.call("PostDashboards", "POST", "/api/v2/dashboards", 201, body={"orgID": org, "name": "Owned", "owner": admin})
    c.call("PostDashboards", "POST", "/api/v2/dashboards", 400, body={"orgID": org, "name": "x", "owner": BAD_ID})
    c.call("GetDashboards", "GET", "/api/v2/dashboards", 200, params={"ownerID": admin})
    c.call("GetDashboards", "GET", "/api/v2/dashboards", 200)
    c.call("GetDashboards", "GET", "/api/v2/dashboards", 200, params={"orgID": org, "limit": 100})
    c.call("GetDashboards", "GET", "/api/v2/dashboards", 200, params={"org": "onboarded", "descending": "True"})
    c.call("GetDashboards", "GET", "/api/v2/dashboards", 200, params={"limit": 1, "offset": 1, "sortBy": "Name"})
    c.call("GetDashboards", "GET", "/api/v2/dashboards", 200, params={"id": [dash, MISSING]})
    c.call("GetDashboards", "GET", "/api/v2/dashboards", 200, params={"owner": admin})
    c.call("GetDashboards", "GET", "/api/v2/dashboards", 400, params={"limit": 0})
    c.call("GetDashboards", "GET", "/api/v2/dashboards", 400, params={"offset": "x"})
    c.call("GetDashboards", "GET", "/api/v2/dashboards", 400, params={"descending": "maybe"})
    c.call("GetDashboards", "GET", "/api/v2/dashboards", 400, params={"orgID": BAD_ID})
    c.call("GetDashboards", "GET", "/api/v2/dashboards", 404, params={"org": "nope"})
    c.call("GetDashboards", "GET", "/api/v2/dashboards", 401, auth=None)
    c.call("GetDashboardsID", "GET", f"/api/v2/dashboards/{dash}", 200)
    c.call("GetDashboardsID", "GET", f"/api/v2/dashboards/{dash}", 200, params={"include": "properties"})
    c.call("GetDashboardsID", "GET", f"/api/v2/dashboards/{MISSING}", 404)
    c.call("GetDashboardsID", "GET", f"/api/v2/dashboards/{BAD_ID}", 400)
    c.call("GetDashboardsID", "GET", f"/api/v2/dashboards/{dash}", 401, auth=None)
    c.call("GetDashboardsID", "GET", f"/api/v2/dashboards/{dash}", 401, auth=("cookie", bob_session))
    c.call("PatchDashboardsID", "PATCH", f"/api/v2/dashboards/{dash}", 200, body={"name": "Servers (all)"})
    c.call("PatchDashboardsID", "PATCH", f"/api/v2/dashboards/{dash}", 400, body={})
    c.call("PatchDashboardsID", "PATCH", f"/api/v2/dashboards/{MISSING}", 404, body={"name": "x"})
    c.call("PatchDashboardsID", "PATCH", f"/api/v2/dashboards/{dash}", 401, body={"name": "x"}, auth=None)
    cell3 = c.call("PostDashboardsIDCells", "POST", f"/api/v2/dashboards/{dash}/cells", 201,
                   body={"x": 0, "y": 4, "w": 8, "h": 2, "usingView": cell1, "name": "copy"}).json()["id"]
    c.call("PostDashboardsIDCells", "POST", f"/api/v2/dashboards/{dash}/cells", 400, body={})
    c.call("PostDashboardsIDCells", "POST", f"/api/v2/dashboards/{dash}/cells", 400, raw="{", content_type="application/json")
    c.call("PostDashboardsIDCells", "POST", f"/api/v2/dashboards/{dash}/cells", 404, body={"x": 1, "usingView": MISSING})
    c.call("PostDashboardsIDCells", "POST", f"/api/v2/dashboards/{MISSING}/cells", 404, body={"x": 1})
    c.call("PostDashboardsIDCells", "POST", f"/api/v2/dashboards/{dash}/cells", 401, body={"x": 1}, auth=None)
    c.call("PutDashboardsIDCells", "PUT", f"/api/v2/dashboards/{dash}/cells", 201,
           body=[{"id": cell1, "x": 0, "y": 0, "w": 12, "h": 4}, {"id": cell3, "x": 0, "y": 4, "w": 12, "h": 2}])
    c.call("PutDashboardsIDCells", "PUT", f"/api/v2/dashboards/{dash}/cells", 422, body=[{"id": MISSING, "x": 0}])
    c.call("PutDashboardsIDCells", "PUT", f"/api/v2/dashboards/{dash}/cells", 400, body=[{"x": 0}])
    c.call("PutDashboardsIDCells", "PUT", f"/api/v2/dashboards/{dash}/cells", 400, body={"not": "an array"})
    c.call("PutDashboardsIDCells", "PUT", f"/api/v2/dashboards/{MISSING}/cells", 404, body=[])
    c.call("PutDashboardsIDCells", "PUT", f"/api/v2/dashboards/{dash}/cells", 401, body=[], auth=None)
    c.call("PatchDashboardsIDCellsID", "PATCH", f"/api/v2/dashboards/{dash}/cells/{cell3}", 200, body={"y": 5})
    c.call("PatchDashboardsIDCellsID", "PATCH", f"/api/v2/dashboards/{dash}/cells/{cell3}", 400, body={})
    c.call("PatchDashboardsIDCellsID", "PATCH", f"/api/v2/dashboards/{dash}/cells/{cell3}", 400, body={"w": -1})
    c.call("PatchDashboardsIDCellsID", "PATCH", f"/api/v2/dashboards/{dash}/cells/{cell2}", 404, body={"y": 1})
    c.call("PatchDashboardsIDCellsID", "PATCH", f"/api/v2/dashboards/{dash}/cells/{cell3}", 401, body={"y": 1}, auth=None)
    c.call("GetDashboardsIDCellsIDView", "GET", f"/api/v2/dashboards/{dash}/cells/{cell1}/view", 200)
    c.call("GetDashboardsIDCellsIDView", "GET", f"/api/v2/dashboards/{dash}/cells/{MISSING}/view", 404)
    c.call("GetDashboardsIDCellsIDView", "GET", f"/api/v2/dashboards/{dash}/cells/{BAD_ID}/view", 400)
    c.call("GetDashboardsIDCellsIDView", "GET", f"/api/v2/dashboards/{dash}/cells/{cell1}/view", 401, auth=None)
    xy = {"shape": "chronograf-v2", "type": "xy", "geom": "line", "position": "overlaid",
          "queries": [{"text": "from(bucket: \"b\") |> range(start: -1h)", "editMode": "advanced", "name": "",
                       "builderConfig": {"buckets": [], "tags": [], "functions": [],
                                         "aggregateWindow": {"period": "auto", "fillValues": False}}}],
          "axes": {"x": {"bounds": ["", ""], "label": "", "prefix": "", "suffix": "", "base": "10", "scale": "linear"},
                   "y": {"bounds": ["", ""], "label": "", "prefix": "", "suffix": "", "base": "10", "scale": "linear"}},
          "colors": [], "note": "", "showNoteWhenEmpty": False}
    c.call("PatchDashboardsIDCellsIDView", "PATCH", f"/api/v2/dashboards/{dash}/cells/{cell3}/view", 200,
           body={"name": "CPU", "properties": xy})
    c.call("PatchDashboardsIDCellsIDView", "PATCH", f"/api/v2/dashboards/{dash}/cells/{cell3}/view", 200,
           body={"properties": {"type": "gauge", "queries": [], "colors": []}})
    c.call("PatchDashboardsIDCellsIDView", "PATCH", f"/api/v2/dashboards/{dash}/cells/{cell3}/view", 400, body={})
    c.call("PatchDashboardsIDCellsIDView", "PATCH", f"/api/v2/dashboards/{dash}/cells/{cell3}/view", 400,
           body={"properties": {"shape": "chronograf-v2", "type": "pie"}})
    c.call("PatchDashboardsIDCellsIDView", "PATCH", f"/api/v2/dashboards/{dash}/cells/{MISSING}/view", 404,
           body={"name": "x"})
    c.call("PatchDashboardsIDCellsIDView", "PATCH", f"/api/v2/dashboards/{dash}/cells/{cell3}/view", 401,
           body={"name": "x"}, auth=None)
    c.call("GetDashboardsID", "GET", f"/api/v2/dashboards/{dash}", 200, params={"include": "properties"})

    # History, and conditional requests.
    tag = c.call("GetDashboardsID", "GET", f"/api/v2/dashboards/{dash}", 200).headers["ETag"]
    c.call("GetDashboardsID", "GET", f"/api/v2/dashboards/{dash}", 304, headers={"If-None-Match": tag})
    view_tag = c.call("GetDashboardsIDCellsIDView", "GET", f"/api/v2/dashboards/{dash}/cells/{cell3}/view",
                      200).headers["ETag"]
    c.call("GetDashboardsIDCellsIDView", "GET", f"/api/v2/dashboards/{dash}/cells/{cell3}/view", 304,
           headers={"If-None-Match": view_tag})
    c.call("PatchDashboardsID", "PATCH", f"/api/v2/dashboards/{dash}", 412, body={"name": "stale"},
           headers={"If-Match": '"0000000000000001-1"'})
    c.call("PatchDashboardsIDCellsIDView", "PATCH", f"/api/v2/dashboards/{dash}/cells/{cell3}/view", 412,
           body={"name": "stale"}, headers={"If-Match": '"stale"'})
    c.call("PutDashboardsIDCells", "PUT", f"/api/v2/dashboards/{dash}/cells", 412, body=[],
           headers={"If-Match": '"stale"'})
    c.call("PostDashboardsIDCells", "POST", f"/api/v2/dashboards/{dash}/cells", 412, body={"x": 1},
           headers={"If-Match": '"stale"'})
    c.call("PatchDashboardsIDCellsID", "PATCH", f"/api/v2/dashboards/{dash}/cells/{cell3}", 412, body={"x": 1},
           headers={"If-Match": '"stale"'})
    c.call("DeleteDashboardsIDCellsID", "DELETE", f"/api/v2/dashboards/{dash}/cells/{cell3}", 412,
           headers={"If-Match": '"stale"'})
    c.call("DeleteDashboardsID", "DELETE", f"/api/v2/dashboards/{dash}", 412, headers={"If-Match": '"stale"'})
    history = c.call("GetDashboardsIDVersions", "GET", f"/api/v2/dashboards/{dash}/versions", 200,
                     params={"limit": 2}).json()
    newest = history["versions"][0]["version"]
    c.call("GetDashboardsIDVersions", "GET", f"/api/v2/dashboards/{dash}/versions", 400, params={"limit": 0})
    c.call("GetDashboardsIDVersions", "GET", f"/api/v2/dashboards/{MISSING}/versions", 404)
    c.call("GetDashboardsIDVersions", "GET", f"/api/v2/dashboards/{dash}/versions", 401, auth=None)
    c.call("GetDashboardsIDVersionsN", "GET", f"/api/v2/dashboards/{dash}/versions/1", 200)
    c.call("GetDashboardsIDVersionsN", "GET", f"/api/v2/dashboards/{dash}/versions/{newest + 5}", 404)
    c.call("GetDashboardsIDVersionsN", "GET", f"/api/v2/dashboards/{dash}/versions/one", 400)
    c.call("GetDashboardsIDVersionsN", "GET", f"/api/v2/dashboards/{dash}/versions/1", 401, auth=None)
    c.call("GetDashboardsIDVersionsDiff", "GET", f"/api/v2/dashboards/{dash}/versions/1/diff/{newest}", 200)
    c.call("GetDashboardsIDVersionsDiff", "GET", f"/api/v2/dashboards/{dash}/versions/1/diff/{newest + 5}", 404)
    c.call("GetDashboardsIDVersionsDiff", "GET", f"/api/v2/dashboards/{dash}/versions/x/diff/1", 400)
    c.call("GetDashboardsIDVersionsDiff", "GET", f"/api/v2/dashboards/{dash}/versions/1/diff/2", 401, auth=None)
    c.call("PostDashboardsIDVersionsNRestore", "POST", f"/api/v2/dashboards/{dash}/versions/{newest}/restore", 200)
    c.call("PostDashboardsIDVersionsNRestore", "POST", f"/api/v2/dashboards/{dash}/versions/{newest}/restore", 412,
           headers={"If-Match": '"stale"'})
    c.call("PostDashboardsIDVersionsNRestore", "POST", f"/api/v2/dashboards/{dash}/versions/{newest + 5}/restore",
           404)
    c.call("PostDashboardsIDVersionsNRestore", "POST", f"/api/v2/dashboards/{dash}/versions/1/restore", 401,
           auth=None)
    c.call("PatchDashboardsID", "PATCH", f"/api/v2/dashboards/{dash}", 200,
           body={"cells": [{"id": cell1, "x": 0, "y": 0, "w": 6, "h": 4}, {"x": 6, "y": 0, "w": 6, "h": 4,
                                                                       "properties": {"type": "single-stat"}}]})

    # Labels, on their own and on the dashboard.
    label = c.call("PostLabels", "POST", "/api/v2/labels", 201,
                   body={"orgID": org, "name": "production", "properties": {"color": "#ff0000"}}).json()["label"]["id"]
    label2 = c.call("PostLabels", "POST", "/api/v2/labels", 201, body={"orgID": org2, "name": "elsewhere"}).json()["label"]["id"]
    c.call("PostLabels", "POST", "/api/v2/labels", 422, body={"orgID": org, "name": "Production"})
    c.call("PostLabels", "POST", "/api/v2/labels", 400, body={"orgID": org})
    c.call("PostLabels", "POST", "/api/v2/labels", 404, body={"orgID": MISSING, "name": "x"})
    c.call("PostLabels", "POST", "/api/v2/labels", 401, body={"orgID": org, "name": "x"}, auth=None)
    c.call("GetLabels", "GET", "/api/v2/labels", 200)
    c.call("GetLabels", "GET", "/api/v2/labels", 200, params={"orgID": org, "name": "PRODUCTION"})
    c.call("GetLabels", "GET", "/api/v2/labels", 404, params={"org": "nope"})
    c.call("GetLabels", "GET", "/api/v2/labels", 400, params={"orgID": BAD_ID})
    c.call("GetLabels", "GET", "/api/v2/labels", 401, auth=None)
    c.call("GetLabelsID", "GET", f"/api/v2/labels/{label}", 200)
    c.call("GetLabelsID", "GET", f"/api/v2/labels/{MISSING}", 404)
    c.call("GetLabelsID", "GET", f"/api/v2/labels/{BAD_ID}", 400)
    c.call("GetLabelsID", "GET", f"/api/v2/labels/{label}", 401, auth=None)
    c.call("PatchLabelsID", "PATCH", f"/api/v2/labels/{label}", 200, body={"properties": {"description": "prod"}})
    c.call("PatchLabelsID", "PATCH", f"/api/v2/labels/{label}", 200, body={})
    c.call("PatchLabelsID", "PATCH", f"/api/v2/labels/{label}", 400, body={"name": "   "})
    c.call("PatchLabelsID", "PATCH", f"/api/v2/labels/{MISSING}", 404, body={"name": "x"})
    c.call("PatchLabelsID", "PATCH", f"/api/v2/labels/{label}", 401, body={"name": "x"}, auth=None)
    c.call("PostDashboardsIDLabels", "POST", f"/api/v2/dashboards/{dash}/labels", 201, body={"labelID": label})
    c.call("PostDashboardsIDLabels", "POST", f"/api/v2/dashboards/{dash}/labels", 422, body={"labelID": label})
    c.call("PostDashboardsIDLabels", "POST", f"/api/v2/dashboards/{dash}/labels", 400, body={})
    c.call("PostDashboardsIDLabels", "POST", f"/api/v2/dashboards/{dash}/labels", 400, body={"labelID": label2})
    c.call("PostDashboardsIDLabels", "POST", f"/api/v2/dashboards/{dash}/labels", 404, body={"labelID": MISSING})
    c.call("PostDashboardsIDLabels", "POST", f"/api/v2/dashboards/{dash}/labels", 401, body={"labelID": label}, auth=None)
    c.call("GetDashboardsIDLabels", "GET", f"/api/v2/dashboards/{dash}/labels", 200)
    c.call("GetDashboardsIDLabels", "GET", f"/api/v2/dashboards/{MISSING}/labels", 404)
    c.call("GetDashboardsIDLabels", "GET", f"/api/v2/dashboards/{dash}/labels", 401, auth=None)
    c.call("GetDashboards", "GET", "/api/v2/dashboards", 200, params={"orgID": org})
    c.call("GetDashboardsID", "GET", f"/api/v2/dashboards/{dash}", 200)
    c.call("DeleteDashboardsIDLabelsID", "DELETE", f"/api/v2/dashboards/{dash}/labels/{label}", 204)
    c.call("DeleteDashboardsIDLabelsID", "DELETE", f"/api/v2/dashboards/{dash}/labels/{label}", 404)
    c.call("DeleteDashboardsIDLabelsID", "DELETE", f"/api/v2/dashboards/{dash}/labels/{BAD_ID}", 400)
    c.call("DeleteDashboardsIDLabelsID", "DELETE", f"/api/v2/dashboards/{dash}/labels/{label}", 401, auth=None)

    # Members and owners, of the org and of the dashboard.
    for kind, rid in (("Orgs", org), ("Dashboards", dash)):
        base = f"/api/v2/{kind.lower()}/{rid}"
        for role in ("Members", "Owners"):
            sub = f"{base}/{role.lower()}"
            c.call(f"Post{kind}ID{role}", "POST", sub, 201, body={"id": bob})
            c.call(f"Post{kind}ID{role}", "POST", sub, 400, body={})
            c.call(f"Post{kind}ID{role}", "POST", sub, 400, body={"id": 7})
            c.call(f"Post{kind}ID{role}", "POST", sub, 404, body={"id": MISSING})
            c.call(f"Post{kind}ID{role}", "POST", f"/api/v2/{kind.lower()}/{MISSING}/{role.lower()}", 404, body={"id": bob})
            c.call(f"Post{kind}ID{role}", "POST", sub, 401, body={"id": bob}, auth=None)
            c.call(f"Get{kind}ID{role}", "GET", sub, 200)
            c.call(f"Get{kind}ID{role}", "GET", f"/api/v2/{kind.lower()}/{MISSING}/{role.lower()}", 404)
            c.call(f"Get{kind}ID{role}", "GET", f"/api/v2/{kind.lower()}/{BAD_ID}/{role.lower()}", 400)
            c.call(f"Get{kind}ID{role}", "GET", sub, 401, auth=None)
            if role == "Members":
                # A member may now read what it could not.
                c.call(f"Get{kind}ID", "GET", base, 200, auth=("cookie", bob_session))
            c.call(f"Delete{kind}ID{role}ID", "DELETE", f"{sub}/{bob}", 204)
            c.call(f"Delete{kind}ID{role}ID", "DELETE", f"{sub}/{bob}", 204)
            c.call(f"Delete{kind}ID{role}ID", "DELETE", f"{sub}/{BAD_ID}", 400)
            c.call(f"Delete{kind}ID{role}ID", "DELETE", f"/api/v2/{kind.lower()}/{MISSING}/{role.lower()}/{bob}", 404)
            c.call(f"Delete{kind}ID{role}ID", "DELETE", f"{sub}/{bob}", 401, auth=None)

    # Custom roles and the roles members hold.
    roles = f"/api/v2/orgs/{org}/roles"
    c.call("PostOrgsIDMembers", "POST", f"/api/v2/orgs/{org}/members", 201, body={"id": bob})
    listed = c.call("GetOrgsIDRoles", "GET", roles, 200).json()
    viewer = listed["roles"][1]["id"]
    c.call("GetOrgsIDRoles", "GET", f"/api/v2/orgs/{MISSING}/roles", 404)
    c.call("GetOrgsIDRoles", "GET", f"/api/v2/orgs/{BAD_ID}/roles", 400)
    c.call("GetOrgsIDRoles", "GET", roles, 401, auth=None)
    editor_perms = [{"action": "read", "resource": {"type": "dashboards"}},
                    {"action": "write", "resource": {"type": "dashboards"}}]
    role = c.call("PostOrgsIDRoles", "POST", roles, 201,
                  body={"name": "editor", "description": "d", "permissions": editor_perms}).json()["id"]
    c.call("PostOrgsIDRoles", "POST", roles, 409, body={"name": "EDITOR", "permissions": editor_perms})
    c.call("PostOrgsIDRoles", "POST", roles, 400, body={"name": "x", "permissions": [{"action": "read", "resource": {"type": "users"}}]})
    c.call("PostOrgsIDRoles", "POST", roles, 400, raw="{nope", content_type="application/json")
    c.call("PostOrgsIDRoles", "POST", roles, 415, raw="<a/>", content_type="application/xml")
    c.call("PostOrgsIDRoles", "POST", roles, 401, body={"name": "y"}, auth=("cookie", bob_session))
    c.call("PostOrgsIDRoles", "POST", f"/api/v2/orgs/{MISSING}/roles", 404, body={"name": "x"})
    c.call("GetOrgsIDRolesID", "GET", f"{roles}/{role}", 200)
    c.call("GetOrgsIDRolesID", "GET", f"{roles}/{viewer}", 200)
    c.call("GetOrgsIDRolesID", "GET", f"{roles}/{MISSING}", 404)
    c.call("GetOrgsIDRolesID", "GET", f"{roles}/{BAD_ID}", 400)
    c.call("GetOrgsIDRolesID", "GET", f"{roles}/{role}", 401, auth=None)
    c.call("PatchOrgsIDRolesID", "PATCH", f"{roles}/{role}", 200, body={"name": "editors"})
    c.call("PatchOrgsIDRolesID", "PATCH", f"{roles}/{role}", 400, body={})
    c.call("PatchOrgsIDRolesID", "PATCH", f"{roles}/{viewer}", 403, body={"name": "mine"})
    c.call("PatchOrgsIDRolesID", "PATCH", f"{roles}/{role}", 409, body={"name": "viewer"})
    c.call("PatchOrgsIDRolesID", "PATCH", f"{roles}/{MISSING}", 404, body={"name": "n"})
    c.call("PatchOrgsIDRolesID", "PATCH", f"{roles}/{role}", 401, body={"name": "n"}, auth=None)
    held = f"/api/v2/orgs/{org}/members/{bob}/roles"
    c.call("GetOrgsIDMembersIDRoles", "GET", held, 200)
    c.call("GetOrgsIDMembersIDRoles", "GET", f"/api/v2/orgs/{org}/members/{MISSING}/roles", 404)
    c.call("GetOrgsIDMembersIDRoles", "GET", f"/api/v2/orgs/{org}/members/{BAD_ID}/roles", 400)
    c.call("GetOrgsIDMembersIDRoles", "GET", held, 401, auth=None)
    c.call("PutOrgsIDMembersIDRoles", "PUT", held, 200, body={"roleIDs": [role, viewer]})
    c.call("PutOrgsIDMembersIDRoles", "PUT", held, 400, body={"roleIDs": [MISSING]})
    c.call("PutOrgsIDMembersIDRoles", "PUT", held, 400, body={})
    c.call("PutOrgsIDMembersIDRoles", "PUT", f"/api/v2/orgs/{org}/members/{MISSING}/roles", 404, body={"roleIDs": []})
    c.call("PutOrgsIDMembersIDRoles", "PUT", held, 401, body={"roleIDs": []}, auth=None)
    c.call("PatchDashboardsID", "PATCH", f"/api/v2/dashboards/{dash}", 200, body={"description": "by an editor"},
           auth=("cookie", bob_session))
    c.call("DeleteOrgsIDRolesID", "DELETE", f"{roles}/{viewer}", 403)
    c.call("DeleteOrgsIDRolesID", "DELETE", f"{roles}/{role}", 204)
    c.call("DeleteOrgsIDRolesID", "DELETE", f"{roles}/{role}", 404)
    c.call("DeleteOrgsIDRolesID", "DELETE", f"{roles}/{BAD_ID}", 400)
    c.call("DeleteOrgsIDRolesID", "DELETE", f"{roles}/{role}", 401, auth=None)
    c.call("PatchDashboardsID", "PATCH", f"/api/v2/dashboards/{dash}", 401, body={"description": "no longer"},
           auth=("cookie", bob_session))

    # Default dashboards, the caller's and the org's.
    mine = "/api/v2/me/default-dashboard"
    c.call("GetMeDefaultDashboard", "GET", mine, 404)
    c.call("GetMeDefaultDashboard", "GET", mine, 401, auth=None)
    c.call("PutMeDefaultDashboard", "PUT", mine, 200, body={"dashboardID": dash})
    c.call("PutMeDefaultDashboard", "PUT", mine, 400, body={})
    c.call("PutMeDefaultDashboard", "PUT", mine, 404, body={"dashboardID": MISSING})
    c.call("PutMeDefaultDashboard", "PUT", mine, 415, raw="<a/>", content_type="application/xml")
    c.call("PutMeDefaultDashboard", "PUT", mine, 401, body={"dashboardID": dash}, auth=None)
    c.call("GetMeDefaultDashboard", "GET", mine, 200)
    d = c.call("GetDashboardsID", "GET", f"/api/v2/dashboards/{dash}", 200).json()
    if d.get("isDefaultForUser") is not True:
        c.fail(f"GetDashboardsID: isDefaultForUser is {d.get('isDefaultForUser')!r}, expected true")
    c.call("DeleteMeDefaultDashboard", "DELETE", mine, 204)
    c.call("DeleteMeDefaultDashboard", "DELETE", mine, 401, auth=None)
    of_org = f"/api/v2/orgs/{org}/default-dashboard"
    c.call("GetOrgsIDDefaultDashboard", "GET", of_org, 404)
    c.call("GetOrgsIDDefaultDashboard", "GET", f"/api/v2/orgs/{BAD_ID}/default-dashboard", 400)
    c.call("GetOrgsIDDefaultDashboard", "GET", of_org, 401, auth=None)
    c.call("PutOrgsIDDefaultDashboard", "PUT", of_org, 200, body={"dashboardID": dash})
    c.call("PutOrgsIDDefaultDashboard", "PUT", of_org, 400, body={"dashboardID": 7})
    c.call("PutOrgsIDDefaultDashboard", "PUT", of_org, 404, body={"dashboardID": MISSING})
    c.call("PutOrgsIDDefaultDashboard", "PUT", of_org, 401, body={"dashboardID": dash}, auth=("cookie", bob_session))
    c.call("GetOrgsIDDefaultDashboard", "GET", of_org, 200, auth=("cookie", bob_session))
    c.call("DeleteOrgsIDDefaultDashboard", "DELETE", of_org, 204)
    c.call("DeleteOrgsIDDefaultDashboard", "DELETE", f"/api/v2/orgs/{MISSING}/default-dashboard", 404)
    c.call("DeleteOrgsIDDefaultDashboard", "DELETE", of_org, 401, auth=None)
    c.call("DeleteOrgsIDMembersID", "DELETE", f"/api/v2/orgs/{org}/members/{bob}", 204)

    # API tokens.
    c.call("GetAuthorizations", "GET", "/api/v2/authorizations", 200)
    c.call("GetAuthorizations", "GET", "/api/v2/authorizations", 200, params={"user": ADMIN, "org": "onboarded"})
    c.call("GetAuthorizations", "GET", "/api/v2/authorizations", 200, params={"userID": admin, "orgID": org})
    c.call("GetAuthorizations", "GET", "/api/v2/authorizations", 404, params={"user": "nobody"})
    c.call("GetAuthorizations", "GET", "/api/v2/authorizations", 404, params={"org": "nope"})
    c.call("GetAuthorizations", "GET", "/api/v2/authorizations", 400, params={"userID": BAD_ID})
    c.call("GetAuthorizations", "GET", "/api/v2/authorizations", 401, auth=None)
    read_dash = [{"action": "read", "resource": {"type": "dashboards", "orgID": org}}]
    a = c.call("PostAuthorizations", "POST", "/api/v2/authorizations", 201,
               body={"orgID": org, "userID": bob, "description": "bob reads", "permissions": read_dash}).json()
    bob_auth, bob_token = a["id"], a["token"]
    c.call("PostAuthorizations", "POST", "/api/v2/authorizations", 400, body={"permissions": read_dash})
    c.call("PostAuthorizations", "POST", "/api/v2/authorizations", 400, body={"orgID": org, "permissions": []})
    c.call("PostAuthorizations", "POST", "/api/v2/authorizations", 400,
           body={"orgID": org, "permissions": [{"action": "read", "resource": {"type": "pies"}}]})
    c.call("PostAuthorizations", "POST", "/api/v2/authorizations", 404, body={"orgID": MISSING, "permissions": read_dash})
    c.call("PostAuthorizations", "POST", "/api/v2/authorizations", 404,
           body={"orgID": org, "userID": MISSING, "permissions": read_dash})
    c.call("PostAuthorizations", "POST", "/api/v2/authorizations", 401, body={"orgID": org, "permissions": read_dash}, auth=None)
    c.call("PostAuthorizations", "POST", "/api/v2/authorizations", 403, auth=("token", bob_token),
           body={"orgID": org, "permissions": [{"action": "write", "resource": {"type": "users"}}]})
    c.call("PostAuthorizations", "POST", "/api/v2/authorizations", 401, auth=("token", bob_token),
           body={"orgID": org, "permissions": read_dash})
    c.call("GetDashboardsID", "GET", f"/api/v2/dashboards/{dash}", 200, auth=("token", bob_token))
    c.call("DeleteDashboardsID", "DELETE", f"/api/v2/dashboards/{dash}", 401, auth=("token", bob_token))
    c.call("GetAuthorizationsID", "GET", f"/api/v2/authorizations/{bob_auth}", 200)
    c.call("GetAuthorizationsID", "GET", f"/api/v2/authorizations/{MISSING}", 404)
    c.call("GetAuthorizationsID", "GET", f"/api/v2/authorizations/{BAD_ID}", 400)
    c.call("GetAuthorizationsID", "GET", f"/api/v2/authorizations/{bob_auth}", 401, auth=None)
    c.call("PatchAuthorizationsID", "PATCH", f"/api/v2/authorizations/{bob_auth}", 200, body={"status": "inactive"})
    c.call("GetMe", "GET", "/api/v2/me", 401, auth=("token", bob_token))
    c.call("PatchAuthorizationsID", "PATCH", f"/api/v2/authorizations/{bob_auth}", 200,
           body={"status": "active", "description": "again"})
    c.call("PatchAuthorizationsID", "PATCH", f"/api/v2/authorizations/{bob_auth}", 400, body={})
    c.call("PatchAuthorizationsID", "PATCH", f"/api/v2/authorizations/{MISSING}", 404, body={"status": "active"})
    c.call("PatchAuthorizationsID", "PATCH", f"/api/v2/authorizations/{bob_auth}", 401, body={"status": "active"}, auth=None)
    c.call("DeleteAuthorizationsID", "DELETE", f"/api/v2/authorizations/{bob_auth}", 204)
    c.call("DeleteAuthorizationsID", "DELETE", f"/api/v2/authorizations/{bob_auth}", 404)
    c.call("DeleteAuthorizationsID", "DELETE", f"/api/v2/authorizations/{BAD_ID}", 400)
    c.call("DeleteAuthorizationsID", "DELETE", f"/api/v2/authorizations/{admin_auth}", 401, auth=None)
    c.call("GetMe", "GET", "/api/v2/me", 401, auth=("token", bob_token))

    # Buckets.
    c.call("GetBuckets", "GET", "/api/v2/buckets", 200)
    c.call("GetBuckets", "GET", "/api/v2/buckets", 200, params={"org": "onboarded", "name": "default", "limit": 5})
    c.call("GetBuckets", "GET", "/api/v2/buckets", 200, params={"orgID": org, "offset": 1})
    c.call("GetBuckets", "GET", "/api/v2/buckets", 400, params={"limit": 101})
    c.call("GetBuckets", "GET", "/api/v2/buckets", 400, params={"orgID": BAD_ID})
    c.call("GetBuckets", "GET", "/api/v2/buckets", 404, params={"org": "nope"})
    c.call("GetBuckets", "GET", "/api/v2/buckets", 401, auth=None)
    c.call("GetBucketsID", "GET", f"/api/v2/buckets/{bucket}", 200)
    c.call("GetBucketsID", "GET", f"/api/v2/buckets/{MISSING}", 404)
    c.call("GetBucketsID", "GET", f"/api/v2/buckets/{BAD_ID}", 400)
    c.call("GetBucketsID", "GET", f"/api/v2/buckets/{bucket}", 401, auth=None)

    # What the Influx UI loads, and queries without an upstream.
    c.call("GetFlags", "GET", "/api/v2/flags", 200)
    c.call("GetFlags", "GET", "/api/v2/flags", 401, auth=None)
    c.call("GetVariables", "GET", "/api/v2/variables", 200)
    c.call("GetVariables", "GET", "/api/v2/variables", 200, params={"orgID": org})
    c.call("GetVariables", "GET", "/api/v2/variables", 401, auth=None)
    c.call("GetResources", "GET", "/api/v2/resources", 200)
    c.call("GetResources", "GET", "/api/v2/resources", 401, auth=None)
    # What Tessera does not run: empty lists, 501 on create.
    for list_op, post_op, path in [
        ("GetChecks", "CreateCheck", "/api/v2/checks"),
        ("GetNotificationEndpoints", "CreateNotificationEndpoint", "/api/v2/notificationEndpoints"),
        ("GetNotificationRules", "CreateNotificationRule", "/api/v2/notificationRules"),
        ("GetTasks", "PostTasks", "/api/v2/tasks"),
        ("GetTelegrafs", "PostTelegrafs", "/api/v2/telegrafs"),
        ("GetScrapers", "PostScrapers", "/api/v2/scrapers"),
    ]:
        c.call(list_op, "GET", path, 200)
        c.call(list_op, "GET", path, 200, params={"orgID": org})
        c.call(list_op, "GET", path, 401, auth=None)
        c.call(post_op, "POST", path, 501, body={"orgID": org, "name": "x"})
        c.call(post_op, "POST", path, 401, body={"orgID": org, "name": "x"}, auth=None)

    # Variables.
    const_args = {"type": "constant", "values": ["a", "b"]}
    v = c.call("PostVariables", "POST", "/api/v2/variables", 201,
               body={"orgID": org, "name": "host", "selected": ["a"], "arguments": const_args})
    var = v.json()["id"]
    c.call("PostVariables", "POST", "/api/v2/variables", 201,
           body={"orgID": org, "name": "bucket", "arguments": {"type": "query", "values": {"query": "buckets()", "language": "flux"}}})
    c.call("PostVariables", "POST", "/api/v2/variables", 400, body={"orgID": org, "name": "in", "arguments": const_args})
    c.call("PostVariables", "POST", "/api/v2/variables", 400, body={"orgID": org, "name": "x"})
    c.call("PostVariables", "POST", "/api/v2/variables", 404, body={"orgID": MISSING, "name": "x", "arguments": const_args})
    c.call("PostVariables", "POST", "/api/v2/variables", 422, body={"orgID": org, "name": "HOST", "arguments": const_args})
    c.call("PostVariables", "POST", "/api/v2/variables", 401, body={"orgID": org, "name": "y", "arguments": const_args}, auth=None)
    c.call("GetVariables", "GET", "/api/v2/variables", 200, params={"org": "onboarded"})
    c.call("GetVariables", "GET", "/api/v2/variables", 200, params={"id": var, "limit": 5})
    c.call("GetVariables", "GET", "/api/v2/variables", 400, params={"orgID": BAD_ID})
    c.call("GetVariables", "GET", "/api/v2/variables", 404, params={"org": "nope"})
    c.call("GetVariablesID", "GET", f"/api/v2/variables/{var}", 200)
    c.call("GetVariablesID", "GET", f"/api/v2/variables/{MISSING}", 404)
    c.call("GetVariablesID", "GET", f"/api/v2/variables/{BAD_ID}", 400)
    c.call("GetVariablesID", "GET", f"/api/v2/variables/{var}", 401, auth=None)
    c.call("PatchVariablesID", "PATCH", f"/api/v2/variables/{var}", 200, body={"selected": ["b"]})
    c.call("PatchVariablesID", "PATCH", f"/api/v2/variables/{var}", 400, body={})
    c.call("PatchVariablesID", "PATCH", f"/api/v2/variables/{var}", 422, body={"name": "Bucket"})
    c.call("PatchVariablesID", "PATCH", f"/api/v2/variables/{MISSING}", 404, body={"name": "z"})
    c.call("PatchVariablesID", "PATCH", f"/api/v2/variables/{var}", 401, body={"name": "z"}, auth=None)
    c.call("PutVariablesID", "PUT", f"/api/v2/variables/{var}", 200,
           body={"name": "host", "arguments": {"type": "map", "values": {"k": "v"}}})
    c.call("PutVariablesID", "PUT", f"/api/v2/variables/{var}", 400, body={"name": "host"})
    c.call("PutVariablesID", "PUT", f"/api/v2/variables/{MISSING}", 404, body={"name": "q", "arguments": const_args})
    c.call("PutVariablesID", "PUT", f"/api/v2/variables/{var}", 401, body={"name": "q", "arguments": const_args}, auth=None)
    c.call("PostVariablesIDLabels", "POST", f"/api/v2/variables/{var}/labels", 201, body={"labelID": label})
    c.call("PostVariablesIDLabels", "POST", f"/api/v2/variables/{var}/labels", 422, body={"labelID": label})
    c.call("PostVariablesIDLabels", "POST", f"/api/v2/variables/{var}/labels", 400, body={})
    c.call("PostVariablesIDLabels", "POST", f"/api/v2/variables/{MISSING}/labels", 404, body={"labelID": label})
    c.call("PostVariablesIDLabels", "POST", f"/api/v2/variables/{var}/labels", 401, body={"labelID": label}, auth=None)
    c.call("GetVariablesIDLabels", "GET", f"/api/v2/variables/{var}/labels", 200)
    c.call("GetVariablesIDLabels", "GET", f"/api/v2/variables/{MISSING}/labels", 404)
    c.call("GetVariablesIDLabels", "GET", f"/api/v2/variables/{var}/labels", 401, auth=None)
    c.call("GetVariables", "GET", "/api/v2/variables", 200, params={"orgID": org})
    c.call("DeleteVariablesIDLabelsID", "DELETE", f"/api/v2/variables/{var}/labels/{label}", 204)
    c.call("DeleteVariablesIDLabelsID", "DELETE", f"/api/v2/variables/{var}/labels/{label}", 404)
    c.call("DeleteVariablesIDLabelsID", "DELETE", f"/api/v2/variables/{var}/labels/{BAD_ID}", 400)
    c.call("DeleteVariablesIDLabelsID", "DELETE", f"/api/v2/variables/{var}/labels/{label}", 401, auth=None)
    c.call("DeleteVariablesID", "DELETE", f"/api/v2/variables/{var}", 204)
    c.call("DeleteVariablesID", "DELETE", f"/api/v2/variables/{var}", 404)
    c.call("DeleteVariablesID", "DELETE", f"/api/v2/variables/{BAD_ID}", 400)
    c.call("DeleteVariablesID", "DELETE", f"/api/v2/variables/{MISSING}", 401, auth=None)
    # External dashboards. localhost is refused by the probe (no
    # --allow-private-probe): the probe fails at once and says so.
    ext_body = {"orgID": org, "name": "Grafana", "url": "https://localhost/d/1", "displayOrder": 3,
                "iconUrl": "https://localhost/i.png", "roleIDs": []}
    ext = c.call("PostExternalDashboards", "POST", "/api/v2/externalDashboards", 201, body=ext_body).json()["id"]
    if "--allow-private-probe" not in (c.call("GetExternalDashboardsID", "GET", f"/api/v2/externalDashboards/{ext}", 200)
                                       .json().get("probeError") or ""):
        c.fail("PostExternalDashboards: the probe of a private address was not refused")
    c.call("PostExternalDashboards", "POST", "/api/v2/externalDashboards", 400, body={**ext_body, "url": "http://localhost/"})
    c.call("PostExternalDashboards", "POST", "/api/v2/externalDashboards", 400, body={**ext_body, "displayOrder": 1001})
    c.call("PostExternalDashboards", "POST", "/api/v2/externalDashboards", 400,
           body={**ext_body, "name": "unknown role", "roleIDs": [MISSING]})
    c.call("PostExternalDashboards", "POST", "/api/v2/externalDashboards", 404, body={**ext_body, "orgID": MISSING})
    c.call("PostExternalDashboards", "POST", "/api/v2/externalDashboards", 409, body={**ext_body, "name": "GRAFANA"})
    c.call("PostExternalDashboards", "POST", "/api/v2/externalDashboards", 415, raw="x", content_type="image/png")
    c.call("PostExternalDashboards", "POST", "/api/v2/externalDashboards", 401, body=ext_body, auth=None)
    c.call("GetExternalDashboards", "GET", "/api/v2/externalDashboards", 200)
    c.call("GetExternalDashboards", "GET", "/api/v2/externalDashboards", 200, params={"orgID": org})
    c.call("GetExternalDashboards", "GET", "/api/v2/externalDashboards", 400, params={"orgID": BAD_ID})
    c.call("GetExternalDashboards", "GET", "/api/v2/externalDashboards", 404, params={"orgID": MISSING})
    c.call("GetExternalDashboards", "GET", "/api/v2/externalDashboards", 401, auth=None)
    c.call("GetExternalDashboardsID", "GET", f"/api/v2/externalDashboards/{MISSING}", 404)
    c.call("GetExternalDashboardsID", "GET", f"/api/v2/externalDashboards/{BAD_ID}", 400)
    c.call("GetExternalDashboardsID", "GET", f"/api/v2/externalDashboards/{ext}", 401, auth=None)
    c.call("PatchExternalDashboardsID", "PATCH", f"/api/v2/externalDashboards/{ext}", 200,
           body={"isActive": False, "iconUrl": None, "description": "boilers"})
    c.call("PatchExternalDashboardsID", "PATCH", f"/api/v2/externalDashboards/{ext}", 200, body={"url": "https://localhost/d/2"})
    c.call("PatchExternalDashboardsID", "PATCH", f"/api/v2/externalDashboards/{ext}", 400, body={"url": "ftp://localhost/"})
    c.call("PatchExternalDashboardsID", "PATCH", f"/api/v2/externalDashboards/{MISSING}", 404, body={"name": "z"})
    second = c.call("PostExternalDashboards", "POST", "/api/v2/externalDashboards", 201,
                    body={"orgID": org, "name": "Status", "url": "https://localhost/status"}).json()["id"]
    c.call("PatchExternalDashboardsID", "PATCH", f"/api/v2/externalDashboards/{second}", 409, body={"name": "grafana"})
    c.call("PatchExternalDashboardsID", "PATCH", f"/api/v2/externalDashboards/{ext}", 415, raw="x", content_type="image/png")
    c.call("PatchExternalDashboardsID", "PATCH", f"/api/v2/externalDashboards/{ext}", 401, body={"name": "z"}, auth=None)
    c.call("PostExternalDashboardsIDProbe", "POST", f"/api/v2/externalDashboards/{ext}/probe", 200)
    c.call("PostExternalDashboardsIDProbe", "POST", f"/api/v2/externalDashboards/{MISSING}/probe", 404)
    c.call("PostExternalDashboardsIDProbe", "POST", f"/api/v2/externalDashboards/{BAD_ID}/probe", 400)
    c.call("PostExternalDashboardsIDProbe", "POST", f"/api/v2/externalDashboards/{ext}/probe", 401, auth=None)
    c.call("PostExternalDashboardsIDLabels", "POST", f"/api/v2/externalDashboards/{ext}/labels", 201, body={"labelID": label})
    c.call("PostExternalDashboardsIDLabels", "POST", f"/api/v2/externalDashboards/{ext}/labels", 422, body={"labelID": label})
    c.call("PostExternalDashboardsIDLabels", "POST", f"/api/v2/externalDashboards/{ext}/labels", 400, body={})
    c.call("PostExternalDashboardsIDLabels", "POST", f"/api/v2/externalDashboards/{MISSING}/labels", 404, body={"labelID": label})
    c.call("PostExternalDashboardsIDLabels", "POST", f"/api/v2/externalDashboards/{ext}/labels", 415, raw="x", content_type="image/png")
    c.call("PostExternalDashboardsIDLabels", "POST", f"/api/v2/externalDashboards/{ext}/labels", 401, body={"labelID": label}, auth=None)
    c.call("GetExternalDashboardsIDLabels", "GET", f"/api/v2/externalDashboards/{ext}/labels", 200)
    c.call("GetExternalDashboardsIDLabels", "GET", f"/api/v2/externalDashboards/{MISSING}/labels", 404)
    c.call("GetExternalDashboardsIDLabels", "GET", f"/api/v2/externalDashboards/{BAD_ID}/labels", 400)
    c.call("GetExternalDashboardsIDLabels", "GET", f"/api/v2/externalDashboards/{ext}/labels", 401, auth=None)
    c.call("GetExternalDashboards", "GET", "/api/v2/externalDashboards", 200, params={"orgID": org})
    c.call("DeleteExternalDashboardsIDLabelsID", "DELETE", f"/api/v2/externalDashboards/{ext}/labels/{label}", 204)
    c.call("DeleteExternalDashboardsIDLabelsID", "DELETE", f"/api/v2/externalDashboards/{ext}/labels/{label}", 404)
    c.call("DeleteExternalDashboardsIDLabelsID", "DELETE", f"/api/v2/externalDashboards/{ext}/labels/{BAD_ID}", 400)
    c.call("DeleteExternalDashboardsIDLabelsID", "DELETE", f"/api/v2/externalDashboards/{ext}/labels/{label}", 401, auth=None)
    c.call("DeleteExternalDashboardsID", "DELETE", f"/api/v2/externalDashboards/{ext}", 204)
    c.call("DeleteExternalDashboardsID", "DELETE", f"/api/v2/externalDashboards/{ext}", 404)
    c.call("DeleteExternalDashboardsID", "DELETE", f"/api/v2/externalDashboards/{BAD_ID}", 400)
    c.call("DeleteExternalDashboardsID", "DELETE", f"/api/v2/externalDashboards/{second}", 401, auth=None)

    c.call("GetAnnotations", "GET", "/api/v2private/annotations", 200)
    c.call("GetAnnotations", "GET", "/api/v2private/annotations", 401, auth=None)
    query = {"query": "from(bucket: \"default\") |> range(start: -1h)", "type": "flux"}
    c.call("PostQuery", "POST", "/api/v2/query", 501, body=query, params={"orgID": org})
    c.call("PostQuery", "POST", "/api/v2/query", 401, body=query, auth=None)
    c.call("PostQueryAst", "POST", "/api/v2/query/ast", 501, body={"query": "1 + 1"})
    c.call("PostQueryAst", "POST", "/api/v2/query/ast", 401, body={"query": "1 + 1"}, auth=None)
    c.call("PostQueryAnalyze", "POST", "/api/v2/query/analyze", 501, body=query)
    c.call("PostQueryAnalyze", "POST", "/api/v2/query/analyze", 401, body=query, auth=None)
    c.call("GetQuerySuggestions", "GET", "/api/v2/query/suggestions", 501)
    c.call("GetQuerySuggestions", "GET", "/api/v2/query/suggestions", 401, auth=None)
    c.call("GetQuerySuggestionsName", "GET", "/api/v2/query/suggestions/range", 501)
    c.call("GetQuerySuggestionsName", "GET", "/api/v2/query/suggestions/range", 401, auth=None)

    # Templates and stacks.
    tpl = [{"apiVersion": "influxdata.com/v2alpha1", "kind": "Label", "metadata": {"name": "tpl-label"}, "spec": {"name": "from-template"}},
           {"apiVersion": "influxdata.com/v2alpha1", "kind": "Dashboard", "metadata": {"name": "tpl-dash"},
            "spec": {"name": "From template", "associations": [{"kind": "Label", "name": "tpl-label"}],
                     "charts": [{"kind": "Markdown", "name": "note", "note": "hi", "width": 2, "height": 2}]}},
           {"apiVersion": "influxdata.com/v2alpha1", "kind": "Telegraf", "metadata": {"name": "tpl-telegraf"}, "spec": {"config": "x"}}]
    c.call("ApplyTemplate", "POST", "/api/v2/templates/apply", 200, body={"orgID": org, "dryRun": True, "template": {"contents": tpl}})
    applied = c.call("ApplyTemplate", "POST", "/api/v2/templates/apply", 201, body={"orgID": org, "template": {"contents": tpl}}).json()
    stack = applied["stackID"]
    tpl_dash = "%016x" % applied["summary"]["dashboards"][0]["id"]
    c.call("ApplyTemplate", "POST", "/api/v2/templates/apply", 201,
           raw="orgID: %s\nstackID: %s\ntemplate:\n  contents: %s\n" % (org, stack, json.dumps(json.dumps(tpl))),
           content_type="application/x-yaml")
    c.call("ApplyTemplate", "POST", "/api/v2/templates/apply", 422, body={"orgID": org, "template": {"contents": [{"kind": "Nope"}]}})
    c.call("ApplyTemplate", "POST", "/api/v2/templates/apply", 422, body={"orgID": MISSING, "template": {"contents": tpl}})
    c.call("ApplyTemplate", "POST", "/api/v2/templates/apply", 400, body={"orgID": BAD_ID})
    c.call("ApplyTemplate", "POST", "/api/v2/templates/apply", 400, body={"orgID": org, "template": {"contentType": "yaml", "contents": "a: [b"}})
    c.call("ApplyTemplate", "POST", "/api/v2/templates/apply", 404, body={"orgID": org, "stackID": MISSING, "template": {"contents": tpl}})
    c.call("ApplyTemplate", "POST", "/api/v2/templates/apply", 415, raw="x", content_type="image/png")
    c.call("ApplyTemplate", "POST", "/api/v2/templates/apply", 401, body={"orgID": org}, auth=None)
    c.call("ExportTemplate", "POST", "/api/v2/templates/export", 200, body={"resources": [{"kind": "Dashboard", "id": tpl_dash}]})
    c.call("ExportTemplate", "POST", "/api/v2/templates/export", 200, body={"stackID": stack})
    c.call("ExportTemplate", "POST", "/api/v2/templates/export", 200, body={"orgIDs": [{"orgID": org, "resourceFilters": {"byResourceKind": ["Label"]}}]})
    c.call("ExportTemplate", "POST", "/api/v2/templates/export", 422, body={})
    c.call("ExportTemplate", "POST", "/api/v2/templates/export", 400, body={"resources": [{"kind": "Nope", "id": tpl_dash}]})
    c.call("ExportTemplate", "POST", "/api/v2/templates/export", 404, body={"resources": [{"kind": "Dashboard", "id": MISSING}]})
    c.call("ExportTemplate", "POST", "/api/v2/templates/export", 401, body={"stackID": stack}, auth=None)
    c.call("ListStacks", "GET", "/api/v2/stacks", 200, params={"orgID": org})
    c.call("ListStacks", "GET", "/api/v2/stacks", 200, params={"orgID": org, "stackID": stack, "name": ""})
    c.call("ListStacks", "GET", "/api/v2/stacks", 400)
    c.call("ListStacks", "GET", "/api/v2/stacks", 404, params={"orgID": MISSING})
    c.call("ListStacks", "GET", "/api/v2/stacks", 401, params={"orgID": org}, auth=None)
    made = c.call("CreateStack", "POST", "/api/v2/stacks", 201, body={"orgID": org, "name": "empty"}).json()["id"]
    c.call("CreateStack", "POST", "/api/v2/stacks", 400, body={"orgID": BAD_ID})
    c.call("CreateStack", "POST", "/api/v2/stacks", 422, body={"orgID": MISSING})
    c.call("CreateStack", "POST", "/api/v2/stacks", 401, body={"orgID": org}, auth=None)
    c.call("ReadStack", "GET", f"/api/v2/stacks/{stack}", 200)
    c.call("ReadStack", "GET", f"/api/v2/stacks/{MISSING}", 404)
    c.call("ReadStack", "GET", f"/api/v2/stacks/{BAD_ID}", 400)
    c.call("ReadStack", "GET", f"/api/v2/stacks/{stack}", 401, auth=None)
    c.call("UpdateStack", "PATCH", f"/api/v2/stacks/{made}", 200, body={"name": "renamed", "additionalResources": [{"resourceID": tpl_dash, "kind": "Dashboard"}]})
    c.call("UpdateStack", "PATCH", f"/api/v2/stacks/{MISSING}", 404, body={})
    c.call("UpdateStack", "PATCH", f"/api/v2/stacks/{BAD_ID}", 400, body={})
    c.call("UpdateStack", "PATCH", f"/api/v2/stacks/{made}", 401, body={}, auth=None)
    c.call("UninstallStack", "POST", f"/api/v2/stacks/{stack}/uninstall", 200, params={"orgID": org})
    c.call("UninstallStack", "POST", f"/api/v2/stacks/{MISSING}/uninstall", 404, params={"orgID": org})
    c.call("UninstallStack", "POST", f"/api/v2/stacks/{stack}/uninstall", 400)
    c.call("UninstallStack", "POST", f"/api/v2/stacks/{stack}/uninstall", 401, params={"orgID": org}, auth=None)
    c.call("DeleteStack", "DELETE", f"/api/v2/stacks/{stack}", 204, params={"orgID": org})
    c.call("DeleteStack", "DELETE", f"/api/v2/stacks/{MISSING}", 204, params={"orgID": org})
    c.call("DeleteStack", "DELETE", f"/api/v2/stacks/{stack}", 400)
    c.call("DeleteStack", "DELETE", f"/api/v2/stacks/{stack}", 401, params={"orgID": org}, auth=None)

    # Atomic clone, in the org and into another (labels by name).
    c.call("PostDashboardsIDClone", "POST", f"/api/v2/dashboards/{dash}/clone", 201, body={})
    c.call("PostDashboardsIDClone", "POST", f"/api/v2/dashboards/{dash}/clone", 201,
           body={"name": "cloned", "orgID": org2, "description": "copy"})
    c.call("PostDashboardsIDClone", "POST", f"/api/v2/dashboards/{dash}/clone", 400, body={"name": " "})
    c.call("PostDashboardsIDClone", "POST", f"/api/v2/dashboards/{dash}/clone", 400, raw="{")
    c.call("PostDashboardsIDClone", "POST", f"/api/v2/dashboards/{MISSING}/clone", 404, body={})
    c.call("PostDashboardsIDClone", "POST", f"/api/v2/dashboards/{BAD_ID}/clone", 400, body={})
    c.call("PostDashboardsIDClone", "POST", f"/api/v2/dashboards/{dash}/clone", 401, body={}, auth=None)

    # Deletions last.
    c.call("DeleteDashboardsIDCellsID", "DELETE", f"/api/v2/dashboards/{dash}/cells/{cell1}", 204)
    c.call("DeleteDashboardsIDCellsID", "DELETE", f"/api/v2/dashboards/{dash}/cells/{cell1}", 404)
    c.call("DeleteDashboardsIDCellsID", "DELETE", f"/api/v2/dashboards/{dash}/cells/{BAD_ID}", 400)
    c.call("DeleteDashboardsIDCellsID", "DELETE", f"/api/v2/dashboards/{dash}/cells/{cell1}", 401, auth=None)
    c.call("DeleteLabelsID", "DELETE", f"/api/v2/labels/{label}", 204)
    c.call("DeleteLabelsID", "DELETE", f"/api/v2/labels/{label}", 404)
    c.call("DeleteLabelsID", "DELETE", f"/api/v2/labels/{BAD_ID}", 400)
    c.call("DeleteLabelsID", "DELETE", f"/api/v2/labels/{label2}", 401, auth=None)
    c.call("DeleteDashboardsID", "DELETE", f"/api/v2/dashboards/{dash}", 204)
    c.call("DeleteDashboardsID", "DELETE", f"/api/v2/dashboards/{dash}", 404)
    c.call("DeleteDashboardsID", "DELETE", f"/api/v2/dashboards/{BAD_ID}", 400)
    c.call("DeleteDashboardsID", "DELETE", f"/api/v2/dashboards/{MISSING}", 401, auth=None)
    # The deleted dashboard is in the trash: list, restore, delete again, purge.
    c.call("GetTrashDashboards", "GET", "/api/v2/trash/dashboards", 200, params={"orgID": org})
    c.call("GetTrashDashboards", "GET", "/api/v2/trash/dashboards", 400)
    c.call("GetTrashDashboards", "GET", "/api/v2/trash/dashboards", 400, params={"orgID": BAD_ID})
    c.call("GetTrashDashboards", "GET", "/api/v2/trash/dashboards", 404, params={"orgID": MISSING})
    c.call("GetTrashDashboards", "GET", "/api/v2/trash/dashboards", 401, params={"orgID": org}, auth=None)
    c.call("PostTrashDashboardsIDRestore", "POST", f"/api/v2/trash/dashboards/{dash}/restore", 401, auth=None)
    c.call("PostTrashDashboardsIDRestore", "POST", f"/api/v2/trash/dashboards/{dash}/restore", 200)
    c.call("PostTrashDashboardsIDRestore", "POST", f"/api/v2/trash/dashboards/{dash}/restore", 404)
    c.call("PostTrashDashboardsIDRestore", "POST", f"/api/v2/trash/dashboards/{BAD_ID}/restore", 400)
    c.call("DeleteDashboardsID", "DELETE", f"/api/v2/dashboards/{dash}", 204)
    c.call("DeleteTrashDashboardsID", "DELETE", f"/api/v2/trash/dashboards/{dash}", 401, auth=None)
    c.call("DeleteTrashDashboardsID", "DELETE", f"/api/v2/trash/dashboards/{dash}", 204)
    c.call("DeleteTrashDashboardsID", "DELETE", f"/api/v2/trash/dashboards/{dash}", 404)
    c.call("DeleteTrashDashboardsID", "DELETE", f"/api/v2/trash/dashboards/{BAD_ID}", 400)
    c.call("DeleteUsersID", "DELETE", f"/api/v2/users/{carol}", 204)
    c.call("DeleteUsersID", "DELETE", f"/api/v2/users/{carol}", 404)
    c.call("DeleteUsersID", "DELETE", f"/api/v2/users/{BAD_ID}", 400)
    c.call("DeleteUsersID", "DELETE", f"/api/v2/users/{bob}", 401, auth=None)
    c.call("DeleteOrgsID", "DELETE", f"/api/v2/orgs/{org2}", 204)
    c.call("DeleteOrgsID", "DELETE", f"/api/v2/orgs/{org2}", 404)
    c.call("DeleteOrgsID", "DELETE", f"/api/v2/orgs/{BAD_ID}", 400)
    c.call("DeleteOrgsID", "DELETE", f"/api/v2/orgs/{org}", 401, auth=None)


# ---- queries forwarded to an upstream ---------------------------------------


class FakeInflux(threading.Thread):
    """A stand-in for the InfluxDB that /api/v2/query* is forwarded to: answers
    what InfluxDB answers and records what it was sent."""

    TOKEN = "upstream-token"

    def __init__(self) -> None:
        super().__init__(daemon=True)
        seen = self.seen = []

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def reply(self, status: int, ctype: str, body: str) -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                if status >= 400:
                    self.send_header("X-Platform-Error-Code", "invalid")
                self.end_headers()
                self.wfile.write(data)

            def handle_one(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                seen.append((self.command, self.path, dict(self.headers), body))
                path = self.path.split("?")[0]
                if self.headers.get("Authorization") != f"Token {FakeInflux.TOKEN}":
                    return self.reply(401, "application/json; charset=utf-8",
                                      '{"code":"unauthorized","message":"unauthorized access"}')
                if "bad flux" in body:
                    return self.reply(400, "application/json; charset=utf-8",
                                      '{"code":"invalid","message":"compilation failed: error at @1:1-1:4"}')
                if path == "/api/v2/query":
                    return self.reply(200, "text/csv; charset=utf-8",
                                      ",result,table,_value\r\n,_result,0,1\r\n\r\n")
                answers = {
                    "/api/v2/query/ast": '{"ast":{"type":"Package","package":"main","files":[]}}',
                    "/api/v2/query/analyze": '{"errors":[]}',
                    "/api/v2/query/suggestions": '{"funcs":[{"name":"range","params":{"start":"invalid"}}]}',
                    "/api/v2/query/suggestions/range": '{"name":"range","params":{"start":"invalid"}}',
                }
                if path in answers:
                    return self.reply(200, "application/json; charset=utf-8", answers[path])
                return self.reply(404, "application/json; charset=utf-8", '{"code":"not found","message":"path not found"}')

            do_GET = do_POST = handle_one

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def run(self) -> None:
        self.httpd.serve_forever()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def onboard(c: Checker) -> None:
    r = c.call("PostSetup", "POST", "/api/v2/setup", 201, auth=None,
               body={"username": ADMIN, "password": ADMIN_PASSWORD, "org": "onboarded", "bucket": "default"})
    c.token = r.json()["auth"]["token"]


def upstream_scenario(c: Checker) -> None:
    """With --query-upstream: the five query operations are forwarded."""
    fake = FakeInflux()
    fake.start()
    server = Server(["--query-upstream", fake.url, "--query-upstream-token", FakeInflux.TOKEN])
    c.s = server
    try:
        onboard(c)
        query = {"query": "from(bucket: \"default\") |> range(start: -1h)", "type": "flux"}
        r = c.call("PostQuery", "POST", "/api/v2/query", 200, body=query, params={"org": "onboarded"},
                   headers={"Accept": "application/csv", "Cookie": "influxdb-oss-session=abc"})
        if not r.text.startswith(",result"):
            c.fail(f"PostQuery: the upstream's CSV did not come back: {r.text[:100]!r}")
        c.call("PostQuery", "POST", "/api/v2/query", 400, body={"query": "bad flux", "type": "flux"})
        c.call("PostQuery", "POST", "/api/v2/query", 401, body=query, auth=None)
        c.call("PostQueryAst", "POST", "/api/v2/query/ast", 200, body={"query": "1 + 1"})
        c.call("PostQueryAnalyze", "POST", "/api/v2/query/analyze", 200, body=query)
        c.call("GetQuerySuggestions", "GET", "/api/v2/query/suggestions", 200)
        c.call("GetQuerySuggestionsName", "GET", "/api/v2/query/suggestions/range", 200)
        # What reached the upstream: its own token, never the caller's
        # credentials; the body, path and query string as sent.
        method, path, headers, body = fake.seen[0]
        lower = {k.lower(): v for k, v in headers.items()}
        if (method, path) != ("POST", "/api/v2/query?org=onboarded"):
            c.fail(f"PostQuery: the upstream got {method} {path}")
        if lower.get("authorization") != f"Token {FakeInflux.TOKEN}" or "cookie" in lower:
            c.fail(f"PostQuery: the upstream got credentials {lower.get('authorization')!r}, cookie {lower.get('cookie')!r}")
        if json.loads(body or "null") != query:
            c.fail(f"PostQuery: the upstream got body {body[:100]!r}")
    finally:
        server.stop()
        fake.stop()
    # An upstream that does not answer: 503 unavailable.
    server = Server(["--query-upstream", "http://127.0.0.1:9", "--query-upstream-token", "t"])
    c.s = server
    try:
        onboard(c)
        c.call("PostQuery", "POST", "/api/v2/query", 503, body={"query": "1", "type": "flux"})
        c.call("GetQuerySuggestions", "GET", "/api/v2/query/suggestions", 503)
    finally:
        server.stop()


def rate_limit_scenario(c: Checker) -> None:
    """With --rate-limit-token-per-minute: a spent budget answers 429."""
    server = Server(["--rate-limit-token-per-minute", "2"])
    c.s = server
    try:
        onboard(c)
        r = c.call("GetExternalDashboards", "GET", "/api/v2/externalDashboards", 200)
        for h in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
            if not r.headers.get(h, "").isdigit():
                c.fail(f"GetExternalDashboards: {h} missing or not a number: {r.headers.get(h)!r}")
        c.call("GetExternalDashboards", "GET", "/api/v2/externalDashboards", 200)
        for op, method, path in [
            ("GetExternalDashboards", "GET", "/api/v2/externalDashboards"),
            ("PostExternalDashboards", "POST", "/api/v2/externalDashboards"),
        ]:
            c.call(op, method, path, 429, body={} if method == "POST" else None,
                   headers={"X-Request-Id": "rate-limited"})
    finally:
        server.stop()


def main() -> int:
    if not os.access(BIN, os.X_OK):
        print(f"conformance: no tessera binary at {BIN} (set TESSERA_BIN or run cargo build)", file=sys.stderr)
        return 2
    started = time.monotonic()
    server = Server()
    try:
        served = requests.get(server.base + "/api/v2/openapi.json", timeout=30).json()
        with open(os.path.join(ROOT, "openapi", "openapi.yaml")) as f:
            on_disk = yaml.safe_load(f)
        doc = Document(served)
        c = Checker(server, doc)
        if json.loads(json.dumps(on_disk, default=str)) != served:
            c.fail("the served /api/v2/openapi.json differs from openapi/openapi.yaml (rebuild the binary)")
        for run in (scenario, upstream_scenario, rate_limit_scenario):
            try:
                run(c)
            except Exception as e:  # a response the scenario could not use
                traceback.print_exc()
                c.fail(f"{run.__name__} stopped: {e!r}")
        missing = sorted(set(doc.ops) - set(c.exercised))
        for op in missing:
            c.fail(f"{op}: operation never exercised")
    finally:
        server.stop()
    print(
        f"conformance: {c.checked} responses checked over {len(c.exercised)}/{len(doc.ops)} operations "
        f"in {time.monotonic() - started:.1f}s; {c.bad_responses} did not conform; {len(c.mismatches)} mismatches",
        flush=True,
    )
    counts = os.environ.get("CONFORMANCE_COUNTS")
    if counts:
        # Responses that conformed, and mismatches (each one a failure), for run.sh.
        with open(counts, "w") as f:
            f.write(f"{c.checked - c.bad_responses} {len(c.mismatches)}\n")
    return 1 if c.mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
