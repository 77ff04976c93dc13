"""Tessera driven through InfluxData's official Python client (`influxdb-client` 1.x).

Every test talks to a real `tessera` binary (env `TESSERA_BIN`, default
`target/debug/tessera`) started on `127.0.0.1:0` with a fresh data directory.
The client is used as a user of InfluxDB would use it: its generated services
(`DashboardsService`, `OrganizationsService`, ...) and its high-level helpers
(`organizations_api()`, ...). Results are checked through the client's own
models. Where the client itself cannot handle InfluxDB's answer (see
`tests/clients/README.md`, "Known client quirks"), the call is still made
through the client, with `_preload_content=False`, and the raw JSON is read.

Tests that fail here point at the server: each asserts what InfluxDB OSS 2.x
answers (see shared/influx-api-facts.md and InfluxDB's source).
"""

import datetime
import json
import os
import pathlib
import re
import select
import shutil
import subprocess
import tempfile
import threading
import urllib.error
import urllib.request
import warnings

import pytest

from influxdb_client import (
    AddResourceMemberRequestBody,
    Authorization,
    AuthorizationPostRequest,
    AuthorizationUpdateRequest,
    Authorizations,
    AuthorizationsService,
    Cell,
    CellUpdate,
    CellWithViewProperties,
    CreateCell,
    CreateDashboardRequest,
    Dashboard,
    Dashboards,
    DashboardsService,
    DashboardWithViewProperties,
    InfluxDBClient,
    LabelMapping,
    LabelResponse,
    LabelsResponse,
    LabelsService,
    MarkdownViewProperties,
    OnboardingRequest,
    OnboardingResponse,
    Organization,
    Organizations,
    OrganizationsService,
    PasswordResetBody,
    PatchDashboardRequest,
    PatchOrganizationRequest,
    Permission,
    PermissionResource,
    PostOrganizationRequest,
    ResourceMember,
    ResourceMembers,
    ResourceOwner,
    ResourceOwners,
    SetupService,
    TemplatesService,
    User,
    UserResponse,
    Users,
    UsersService,
    View,
    VariablesService,
)
from influxdb_client.domain.label_create_request import LabelCreateRequest
from influxdb_client.rest import ApiException

REPO = pathlib.Path(__file__).resolve().parents[3]
ADMIN = "admin"
ADMIN_PASSWORD = "correct horse battery"
SETUP_ORG = "onboarded"
SETUP_BUCKET = "default"
ID_RE = re.compile(r"^[0-9a-f]{16}$")


# ---- the server ----------------------------------------------------------


def tessera_binary() -> pathlib.Path:
    path = pathlib.Path(os.environ.get("TESSERA_BIN", "target/debug/tessera"))
    if not path.is_absolute():
        here = pathlib.Path.cwd() / path
        path = here if here.exists() else REPO / path
    if not path.exists():
        pytest.exit(f"tessera binary not found at {path}; run `cargo build` or set TESSERA_BIN", 2)
    return path


class Tessera:
    """A `tessera` process on a free port with its own data directory."""

    def __init__(self):
        self.data_dir = tempfile.mkdtemp(prefix="tessera-py-")
        log = None if os.environ.get("TESSERA_TEST_LOG") else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [str(tessera_binary()), "--http-bind-address", "127.0.0.1:0", "--data-dir", self.data_dir],
            stdout=subprocess.PIPE,
            stderr=log,
            env={**os.environ, "TESSERA_LOG_LEVEL": "warn"},
            text=True,
        )
        readable, _, _ = select.select([self.proc.stdout], [], [], 30)
        line = self.proc.stdout.readline() if readable else ""
        prefix = "tessera listening on "
        if not line.startswith(prefix):
            self.stop()
            raise RuntimeError(f"unexpected first line from tessera: {line!r}")
        self.url = line[len(prefix):].strip()
        # Keep reading stdout so the process can never block on a full pipe.
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        shutil.rmtree(self.data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def tessera():
    server = Tessera()
    yield server
    server.stop()


@pytest.fixture()
def fresh_tessera():
    server = Tessera()
    yield server
    server.stop()


class Env:
    """What onboarding returned, and a token client."""

    def __init__(self, url: str, onboarding: OnboardingResponse):
        self.url = url
        self.onboarding = onboarding
        self.token = onboarding.auth.token
        self.org_id = onboarding.org.id
        self.user_id = onboarding.user.id
        self.client = InfluxDBClient(url=url, token=self.token, timeout=10_000)
        self.dashboards = DashboardsService(self.client.api_client)
        self.orgs = OrganizationsService(self.client.api_client)
        self.users = UsersService(self.client.api_client)
        self.auths = AuthorizationsService(self.client.api_client)


@pytest.fixture(scope="module")
def env(tessera):
    with InfluxDBClient(url=tessera.url) as anonymous:
        setup = SetupService(anonymous.api_client)
        assert setup.get_setup().allowed is True
        onboarding = setup.post_setup(
            OnboardingRequest(
                username=ADMIN,
                password=ADMIN_PASSWORD,
                org=SETUP_ORG,
                bucket=SETUP_BUCKET,
                retention_period_seconds=0,
            )
        )
    e = Env(tessera.url, onboarding)
    yield e
    e.client.close()


@pytest.fixture(scope="module")
def labels_endpoint(env):
    """Skips label tests while `GET /api/v2/labels` is 404 (not implemented yet)."""
    req = urllib.request.Request(f"{env.url}/api/v2/labels?orgID={env.org_id}", headers={"Authorization": f"Token {env.token}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            status = r.status
    except urllib.error.HTTPError as e:
        status = e.code
    if status == 404:
        pytest.skip("GET /api/v2/labels answers 404: labels are not implemented yet")
    return LabelsService(env.client.api_client)


# ---- helpers --------------------------------------------------------------


def raw_json(resp, status=200):
    """The body of a `_preload_content=False` answer, after checking its status."""
    body = resp.data
    assert resp.status == status, f"status {resp.status}, body {body!r}"
    assert resp.headers.get("Content-Type", "").startswith("application/json")
    return json.loads(body)


def expect_api_error(call, status, code, message_prefix=""):
    """Runs `call`, which must raise the client's ApiException with the Influx envelope."""
    with pytest.raises(ApiException) as info:
        call()
    e = info.value
    assert e.status == status, f"status {e.status}, body {e.body!r}"
    body = json.loads(e.body)
    assert body["code"] == code, body
    assert body["message"].startswith(message_prefix), body
    assert e.headers.get("X-Platform-Error-Code") == code
    # The client's own error message is the envelope's message.
    assert e.message == body["message"]
    return body


def rfc3339_key(ts):
    """Orders RFC 3339 UTC timestamps whose fractions have different lengths."""
    head, _, frac = ts.rstrip("Z").partition(".")
    return head, frac.ljust(9, "0")


def unique(prefix):
    unique.n = getattr(unique, "n", 0) + 1
    return f"{prefix}-{os.getpid()}-{unique.n}"


def new_dashboard(env, name=None, org_id=None, description="") -> Dashboard:
    return env.dashboards.post_dashboards(
        CreateDashboardRequest(org_id=org_id or env.org_id, name=name or unique("dash"), description=description)
    )


XY_PROPERTIES = {
    "shape": "chronograf-v2",
    "type": "xy",
    "queries": [
        {
            "text": 'from(bucket: "default") |> range(start: v.timeRangeStart) |> filter(fn: (r) => r._measurement == "cpu")',
            "editMode": "advanced",
            "name": "",
            "builderConfig": {
                "buckets": [],
                "tags": [{"key": "_measurement", "values": [], "aggregateFunctionType": "filter"}],
                "functions": [{"name": "mean"}],
                "aggregateWindow": {"period": "auto", "fillValues": False},
            },
        }
    ],
    "colors": [{"id": "base", "type": "scale", "hex": "#31C0F6", "name": "Nineteen Eighty Four", "value": 0}],
    "axes": {
        "x": {"bounds": ["", ""], "label": "", "prefix": "", "suffix": "", "base": "10", "scale": "linear"},
        "y": {"bounds": ["", ""], "label": "", "prefix": "", "suffix": "%", "base": "10", "scale": "linear"},
    },
    "geom": "line",
    "position": "overlaid",
    "note": "",
    "showNoteWhenEmpty": False,
    "xColumn": "_time",
    "yColumn": "_value",
    "hoverDimension": "auto",
    "legendColorizeRows": True,
    "legendOpacity": 1.0,
    "legendOrientationThreshold": 100000000,
}

MARKDOWN_PROPERTIES = {
    "shape": "chronograf-v2",
    "type": "markdown",
    "note": "# Notes\n\nwritten by the Python client",
}


# ---- service endpoints and setup -----------------------------------------


def test_ping_version_build_health_ready(env):
    assert env.client.ping() is True
    assert env.client.version() not in ("", None, "unknown")
    assert env.client.build() == "OSS"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        health = env.client.health()
    # health() turns any failure into status "fail", so "pass" proves it parsed.
    assert health.status == "pass", health.message
    assert health.name == "influxdb"
    ready = env.client.ready()
    assert ready.status == "ready"
    assert isinstance(ready.started, datetime.datetime)
    assert ready.up


def test_onboarding_through_setup_service(env):
    o = env.onboarding
    assert isinstance(o, OnboardingResponse)
    assert isinstance(o.user, UserResponse) and o.user.name == ADMIN and ID_RE.match(o.user.id)
    assert isinstance(o.org, Organization) and o.org.name == SETUP_ORG and ID_RE.match(o.org.id)
    assert o.bucket.name == SETUP_BUCKET and o.bucket.org_id == o.org.id
    assert o.bucket.retention_rules[0].every_seconds == 0
    assert isinstance(o.auth, Authorization) and o.auth.token
    assert o.auth.org_id == o.org.id and o.auth.user_id == o.user.id
    with InfluxDBClient(url=env.url) as anonymous:
        setup = SetupService(anonymous.api_client)
        assert setup.get_setup().allowed is False
        expect_api_error(
            lambda: setup.post_setup(OnboardingRequest(username="x", password="yyyyyyyy", org="o", bucket="b")),
            422,
            "conflict",
            "onboarding has already been completed",
        )


def test_onboarding_with_own_token_and_retention(fresh_tessera):
    with InfluxDBClient(url=fresh_tessera.url) as anonymous:
        o = SetupService(anonymous.api_client).post_setup(
            OnboardingRequest(
                username="operator",
                password="a long enough password",
                org="acme",
                bucket="metrics",
                retention_period_seconds=7 * 86400,
                token="my-own-operator-token",
            )
        )
    assert o.auth.token == "my-own-operator-token"
    assert o.bucket.retention_rules[0].every_seconds == 7 * 86400
    with InfluxDBClient(url=fresh_tessera.url, token="my-own-operator-token") as c:
        assert c.users_api().me().name == "operator"
        bucket = c.buckets_api().find_bucket_by_id(o.bucket.id)
        assert bucket.name == "metrics" and bucket.org_id == o.org.id


# ---- dashboards ----------------------------------------------------------


def test_dashboard_create_get_patch_delete(env):
    d = new_dashboard(env, name="Python dashboard", description="made by influxdb-client")
    assert isinstance(d, Dashboard)
    assert ID_RE.match(d.id)
    assert d.org_id == env.org_id
    assert d.name == "Python dashboard"
    assert d.description == "made by influxdb-client"
    assert d.cells == []
    assert d.labels == []
    assert d.meta["createdAt"] and d.meta["updatedAt"]
    base = f"/api/v2/dashboards/{d.id}"
    assert d.links == {
        "self": base,
        "cells": f"{base}/cells",
        "members": f"{base}/members",
        "owners": f"{base}/owners",
        "labels": f"{base}/labels",
        "org": f"/api/v2/orgs/{env.org_id}",
    }

    got = env.dashboards.get_dashboards_id(d.id)
    assert isinstance(got, DashboardWithViewProperties)
    assert (got.id, got.org_id, got.name, got.description) == (d.id, d.org_id, d.name, d.description)

    patched = env.dashboards.patch_dashboards_id(
        d.id, patch_dashboard_request=PatchDashboardRequest(name="Renamed", description="new words")
    )
    assert isinstance(patched, Dashboard)
    assert (patched.id, patched.name, patched.description) == (d.id, "Renamed", "new words")
    assert patched.meta["createdAt"] == d.meta["createdAt"]
    assert rfc3339_key(patched.meta["updatedAt"]) >= rfc3339_key(d.meta["updatedAt"])
    only_name = env.dashboards.patch_dashboards_id(d.id, patch_dashboard_request=PatchDashboardRequest(name="Renamed again"))
    assert (only_name.name, only_name.description) == ("Renamed again", "new words")
    expect_api_error(
        lambda: env.dashboards.patch_dashboards_id(d.id, patch_dashboard_request=PatchDashboardRequest()),
        400,
        "invalid",
        "must update at least one attribute",
    )

    assert env.dashboards.delete_dashboards_id(d.id) is None
    expect_api_error(lambda: env.dashboards.get_dashboards_id(d.id), 404, "not found", "dashboard not found")
    expect_api_error(lambda: env.dashboards.delete_dashboards_id(d.id), 404, "not found", "dashboard not found")


def test_dashboard_errors(env):
    expect_api_error(
        lambda: env.dashboards.get_dashboards_id("abc"), 400, "invalid", "id must have a length of 16 bytes"
    )
    expect_api_error(lambda: env.dashboards.get_dashboards_id("zzzzzzzzzzzzzzzz"), 400, "invalid", "invalid ID")
    expect_api_error(
        lambda: env.dashboards.get_dashboards_id("0a0a0a0a0a0a0a0a"), 404, "not found", "dashboard not found"
    )
    # The client refuses a request without org_id, so send the bare minimum it allows.
    expect_api_error(
        lambda: env.dashboards.post_dashboards({"name": "no org"}), 400, "invalid"
    )
    with InfluxDBClient(url=env.url, token="not-a-token") as stranger:
        expect_api_error(
            lambda: DashboardsService(stranger.api_client).get_dashboards(), 401, "unauthorized", "unauthorized access"
        )


def test_get_dashboards_filters_and_paging(env):
    org = env.client.organizations_api().create_organization(name=unique("listing-org"))
    made = [new_dashboard(env, name=f"list-{i}", org_id=org.id) for i in range(3)]
    ids = [d.id for d in made]

    by_org = env.dashboards.get_dashboards(org_id=org.id)
    assert isinstance(by_org, Dashboards)
    assert [d.id for d in by_org.dashboards] == ids
    assert all(isinstance(d, Dashboard) and d.org_id == org.id for d in by_org.dashboards)
    assert by_org.links._self.startswith("/api/v2/dashboards")

    # With an org filter InfluxDB returns the whole org, whatever limit says.
    assert [d.id for d in env.dashboards.get_dashboards(org_id=org.id, limit=1).dashboards] == ids
    assert [d.id for d in env.dashboards.get_dashboards(org=org.name).dashboards] == ids
    assert [d.id for d in env.dashboards.get_dashboards(org_id=org.id, descending=True).dashboards] == ids[::-1]
    assert [
        d.id for d in env.dashboards.get_dashboards(org_id=org.id, sort_by="CreatedAt", descending=False).dashboards
    ] == ids
    assert [
        d.id for d in env.dashboards.get_dashboards(org_id=org.id, sort_by="UpdatedAt", descending=True).dashboards
    ] == ids[::-1]

    # id: the client sends the repr of the list.
    assert [d.id for d in env.dashboards.get_dashboards(id=[ids[0], ids[2]]).dashboards] == [ids[0], ids[2]]
    assert [d.id for d in env.dashboards.get_dashboards(id=[ids[1]]).dashboards] == [ids[1]]
    # id wins over org_id.
    assert [d.id for d in env.dashboards.get_dashboards(id=[ids[1]], org_id=env.org_id).dashboards] == [ids[1]]

    # Paging over every dashboard (no org filter).
    everything = [d.id for d in env.dashboards.get_dashboards(limit=100).dashboards]
    assert everything == sorted(everything)
    assert set(ids) <= set(everything)
    page = env.dashboards.get_dashboards(limit=2, offset=1)
    assert [d.id for d in page.dashboards] == everything[1:3]
    assert page.links.prev is not None
    assert page.links.next is not None
    first = env.dashboards.get_dashboards(limit=100)
    assert first.links.prev is None and first.links.next is None
    desc = env.dashboards.get_dashboards(limit=2, descending=True)
    assert [d.id for d in desc.dashboards] == everything[::-1][:2]

    expect_api_error(lambda: env.dashboards.get_dashboards(org="no such org"), 404, "not found")
    # The client itself checks the limit before sending anything.
    with pytest.raises(ValueError):
        env.dashboards.get_dashboards(limit=101)


def test_get_dashboards_by_owner(env):
    alice = env.client.users_api().create_user(unique("owner-alice"))
    d1 = new_dashboard(env)
    d2 = new_dashboard(env)
    new_dashboard(env)
    assert env.dashboards.get_dashboards(owner=alice.id).dashboards == []
    env.dashboards.post_dashboards_id_owners(d1.id, AddResourceMemberRequestBody(id=alice.id))
    env.dashboards.post_dashboards_id_owners(d2.id, AddResourceMemberRequestBody(id=alice.id))
    owned = env.dashboards.get_dashboards(owner=alice.id)
    assert [d.id for d in owned.dashboards] == [d1.id, d2.id]
    # Members are not owners.
    bob = env.client.users_api().create_user(unique("member-bob"))
    env.dashboards.post_dashboards_id_members(d1.id, AddResourceMemberRequestBody(id=bob.id))
    assert env.dashboards.get_dashboards(owner=bob.id).dashboards == []


def test_cells_and_views(env):
    d = new_dashboard(env, name="with cells")
    ds = env.dashboards

    c1 = ds.post_dashboards_id_cells(d.id, CreateCell(name="CPU", x=0, y=0, w=4, h=4))
    assert isinstance(c1, Cell)
    assert ID_RE.match(c1.id)
    assert (c1.x, c1.y, c1.w, c1.h) == (0, 0, 4, 4)
    assert c1.links._self == f"/api/v2/dashboards/{d.id}/cells/{c1.id}"
    assert c1.links.view == f"/api/v2/dashboards/{d.id}/cells/{c1.id}/view"

    # View.properties has no typed model on the way back: the client hands
    # over the JSON object as a plain dict (quirk), which is compared as is.
    view = ds.get_dashboards_id_cells_id_view(d.id, c1.id)
    assert isinstance(view, View)
    assert (view.id, view.name) == (c1.id, "CPU")
    assert view.links._self == f"/api/v2/dashboards/{d.id}/cells/{c1.id}"

    patched_view = ds.patch_dashboards_id_cells_id_view(d.id, c1.id, View(name="CPU usage", properties=XY_PROPERTIES))
    assert isinstance(patched_view, View)
    assert patched_view.name == "CPU usage"
    assert patched_view.properties == XY_PROPERTIES
    again = ds.get_dashboards_id_cells_id_view(d.id, c1.id)
    assert again.properties == XY_PROPERTIES and again.name == "CPU usage"
    # The same answer read raw, without the client's models.
    raw = raw_json(ds.get_dashboards_id_cells_id_view(d.id, c1.id, _preload_content=False))
    assert raw == {
        "id": c1.id,
        "name": "CPU usage",
        "properties": XY_PROPERTIES,
        "links": {"self": f"/api/v2/dashboards/{d.id}/cells/{c1.id}"},
    }
    # Only the name: properties stay.
    renamed = ds.patch_dashboards_id_cells_id_view(d.id, c1.id, {"name": "CPU %"})
    assert renamed.name == "CPU %" and renamed.properties == XY_PROPERTIES

    # A cell copying another cell's view.
    c2 = ds.post_dashboards_id_cells(d.id, CreateCell(x=4, y=0, w=4, h=4, using_view=c1.id))
    assert isinstance(c2, Cell) and c2.id != c1.id
    copied = ds.get_dashboards_id_cells_id_view(d.id, c2.id)
    assert copied.id == c2.id
    assert copied.name == "CPU %" and copied.properties == XY_PROPERTIES

    # Properties built with the client's own typed model.
    c3 = ds.post_dashboards_id_cells(d.id, CreateCell(name="Notes", x=0, y=4, w=8, h=2))
    notes = MarkdownViewProperties(type="markdown", shape="chronograf-v2", note=MARKDOWN_PROPERTIES["note"])
    v3 = ds.patch_dashboards_id_cells_id_view(d.id, c3.id, View(name="Notes", properties=notes))
    assert v3.properties == MARKDOWN_PROPERTIES

    moved = ds.patch_dashboards_id_cells_id(d.id, c1.id, CellUpdate(x=1, y=2, w=3, h=5))
    assert isinstance(moved, Cell)
    assert (moved.id, moved.x, moved.y, moved.w, moved.h) == (c1.id, 1, 2, 3, 5)
    partly = ds.patch_dashboards_id_cells_id(d.id, c1.id, CellUpdate(w=6))
    assert (partly.x, partly.y, partly.w, partly.h) == (1, 2, 6, 5)

    plain = ds.get_dashboards_id(d.id)
    assert isinstance(plain, DashboardWithViewProperties)
    assert [c.id for c in plain.cells] == [c1.id, c2.id, c3.id]
    assert all(isinstance(c, CellWithViewProperties) for c in plain.cells)
    assert (plain.cells[0].x, plain.cells[0].w) == (1, 6)
    assert all(c.properties is None and c.name is None for c in plain.cells)

    # With include=properties every cell carries its view.
    full = ds.get_dashboards_id(d.id, include="properties")
    cells = {c.id: c for c in full.cells}
    assert cells[c1.id].name == "CPU %" and cells[c1.id].properties == XY_PROPERTIES
    assert cells[c2.id].properties == XY_PROPERTIES
    assert cells[c3.id].name == "Notes" and cells[c3.id].properties == MARKDOWN_PROPERTIES
    assert (cells[c1.id].x, cells[c1.id].w) == (1, 6)

    # PUT cells: InfluxDB answers 201 {cells, links}, the client expects a Dashboard (quirk).
    resp = ds.put_dashboards_id_cells(
        d.id,
        [Cell(id=c1.id, x=0, y=0, w=6, h=3), Cell(id=c3.id, x=6, y=0, w=6, h=3)],
        _preload_content=False,
    )
    replaced = raw_json(resp, 201)
    assert [(c["id"], c["x"], c["y"], c["w"], c["h"]) for c in replaced["cells"]] == [
        (c1.id, 0, 0, 6, 3),
        (c3.id, 6, 0, 6, 3),
    ]
    assert replaced["links"]["self"] == f"/api/v2/dashboards/{d.id}/cells"
    after = ds.get_dashboards_id(d.id)
    assert [c.id for c in after.cells] == [c1.id, c3.id]
    # c2 was left out, so it is gone with its view.
    expect_api_error(lambda: ds.get_dashboards_id_cells_id_view(d.id, c2.id), 404, "not found")
    expect_api_error(
        lambda: ds.put_dashboards_id_cells(d.id, [Cell(id="0a0a0a0a0a0a0a0a", x=0, y=0, w=1, h=1)]),
        422,
        "conflict",
        "cannot replace cells that were not already present",
    )

    assert ds.delete_dashboards_id_cells_id(d.id, c3.id) is None
    expect_api_error(lambda: ds.get_dashboards_id_cells_id_view(d.id, c3.id), 404, "not found")
    expect_api_error(lambda: ds.delete_dashboards_id_cells_id(d.id, c3.id), 404, "not found", "cell not found")
    expect_api_error(
        lambda: ds.patch_dashboards_id_cells_id(d.id, c3.id, CellUpdate(x=1)), 404, "not found", "cell not found"
    )
    expect_api_error(lambda: ds.post_dashboards_id_cells(d.id, CreateCell()), 400, "invalid", "req body is empty")
    expect_api_error(
        lambda: ds.post_dashboards_id_cells("0a0a0a0a0a0a0a0a", CreateCell(name="x", x=0, y=0, w=1, h=1)),
        404,
        "not found",
        "dashboard not found",
    )
    assert [c.id for c in ds.get_dashboards_id(d.id).cells] == [c1.id]


def test_put_cells_typed_call_fails_in_the_client(env):
    """The typed `put_dashboards_id_cells` expects a Dashboard but InfluxDB
    answers {cells, links}: the client raises after the server did the work
    (quirk). Pinned here so a client upgrade that fixes it is noticed."""
    d = new_dashboard(env)
    c = env.dashboards.post_dashboards_id_cells(d.id, CreateCell(name="typed", x=0, y=0, w=2, h=2))
    with pytest.raises(ValueError, match="org_id"):
        env.dashboards.put_dashboards_id_cells(d.id, [Cell(id=c.id, x=3, y=3, w=3, h=3)])
    moved = env.dashboards.get_dashboards_id(d.id).cells[0]
    assert (moved.id, moved.x, moved.y, moved.w, moved.h) == (c.id, 3, 3, 3, 3)


def test_dashboard_members_and_owners(env):
    d = new_dashboard(env)
    ds = env.dashboards
    users = env.client.users_api()
    alice = users.create_user(unique("alice"))
    bob = users.create_user(unique("bob"))

    m = ds.post_dashboards_id_members(d.id, AddResourceMemberRequestBody(id=alice.id))
    assert isinstance(m, ResourceMember)
    assert (m.id, m.name, m.role, m.status) == (alice.id, alice.name, "member", "active")
    assert m.links._self == f"/api/v2/users/{alice.id}"
    members = ds.get_dashboards_id_members(d.id)
    assert isinstance(members, ResourceMembers)
    assert [(u.id, u.role) for u in members.users] == [(alice.id, "member")]
    assert members.links._self == f"/api/v2/dashboards/{d.id}/members"

    o = ds.post_dashboards_id_owners(d.id, AddResourceMemberRequestBody(id=bob.id))
    assert isinstance(o, ResourceOwner)
    assert (o.id, o.name, o.role) == (bob.id, bob.name, "owner")
    owners = ds.get_dashboards_id_owners(d.id)
    assert isinstance(owners, ResourceOwners)
    assert bob.id in [u.id for u in owners.users]
    assert all(u.role == "owner" for u in owners.users)
    assert alice.id not in [u.id for u in owners.users]

    assert ds.delete_dashboards_id_members_id(alice.id, d.id) is None
    assert alice.id not in [u.id for u in ds.get_dashboards_id_members(d.id).users]
    # Removing someone who is not a member is fine.
    assert ds.delete_dashboards_id_members_id(alice.id, d.id) is None
    assert ds.delete_dashboards_id_owners_id(bob.id, d.id) is None
    assert bob.id not in [u.id for u in ds.get_dashboards_id_owners(d.id).users]

    expect_api_error(
        lambda: ds.post_dashboards_id_members(d.id, {}), 400, "invalid", "user id missing or invalid"
    )
    expect_api_error(lambda: ds.get_dashboards_id_members("0a0a0a0a0a0a0a0a"), 404, "not found", "dashboard not found")


def test_dashboard_labels(env, labels_endpoint):
    d = new_dashboard(env)
    ds = env.dashboards
    created = labels_endpoint.post_labels(
        LabelCreateRequest(org_id=env.org_id, name=unique("label"), properties={"color": "#326BBA", "description": "py"})
    )
    assert isinstance(created, LabelResponse)
    label = created.label
    assert ID_RE.match(label.id) and label.org_id == env.org_id
    assert env.client.labels_api().find_label_by_id(label.id).id == label.id

    mapped = ds.post_dashboards_id_labels(d.id, LabelMapping(label_id=label.id))
    assert isinstance(mapped, LabelResponse)
    assert mapped.label.id == label.id and mapped.label.name == label.name
    assert mapped.label.properties["color"] == "#326BBA"
    listed = ds.get_dashboards_id_labels(d.id)
    assert isinstance(listed, LabelsResponse)
    assert [lb.id for lb in listed.labels] == [label.id]
    assert [lb.id for lb in ds.get_dashboards_id(d.id).labels] == [label.id]

    expect_api_error(
        lambda: ds.post_dashboards_id_labels(d.id, LabelMapping(label_id=label.id)),
        422,
        "conflict",
        "Cannot add label, label already exists on resource",
    )
    expect_api_error(lambda: ds.post_dashboards_id_labels(d.id, {}), 400, "invalid", "label id is required")

    assert ds.delete_dashboards_id_labels_id(d.id, label.id) is None
    assert ds.get_dashboards_id_labels(d.id).labels == []
    assert ds.get_dashboards_id(d.id).labels == []


def test_variables_service(env, labels_endpoint):
    svc = VariablesService(env.client.api_client)
    name = unique("host").replace("-", "_")
    body = {"orgID": env.org_id, "name": name, "selected": ["a"], "arguments": {"type": "constant", "values": ["a", "b"]}}
    created = svc.post_variables(body)
    assert ID_RE.match(created.id) and created.org_id == env.org_id and created.name == name
    assert created.selected == ["a"]
    assert created.links._self == f"/api/v2/variables/{created.id}"
    query = svc.post_variables(
        {"orgID": env.org_id, "name": name + "_q", "arguments": {"type": "query", "values": {"query": "buckets()", "language": "flux"}}}
    )
    mapped = svc.post_variables(
        {"orgID": env.org_id, "name": name + "_m", "arguments": {"type": "map", "values": {"k": "v"}}}
    )
    listed = svc.get_variables(org_id=env.org_id)
    ids = [v.id for v in listed.variables]
    assert ids[-3:] == [created.id, query.id, mapped.id]
    # The client has no discriminator for `VariableProperties`: arguments
    # come back as the plain JSON object, as view properties do.
    got = svc.get_variables_id(created.id)
    assert got.name == name and got.arguments == {"type": "constant", "values": ["a", "b"]}
    got_q = svc.get_variables_id(query.id)
    assert got_q.arguments == {"type": "query", "values": {"query": "buckets()", "language": "flux"}}

    patched = svc.patch_variables_id(created.id, {"selected": ["b"]})
    assert patched.selected == ["b"]
    replaced = svc.put_variables_id(
        created.id, {"orgID": env.org_id, "name": name, "arguments": {"type": "constant", "values": ["c"]}}
    )
    assert replaced.arguments == {"type": "constant", "values": ["c"]}
    expect_api_error(
        lambda: svc.post_variables({"orgID": env.org_id, "name": "or", "arguments": {"type": "constant", "values": []}}),
        400,
        "invalid",
        '"or" is a protected variable name',
    )
    expect_api_error(
        lambda: svc.post_variables({"orgID": env.org_id, "name": name.upper(), "arguments": {"type": "constant", "values": []}}),
        422,
        "conflict",
        "variable is not unique",
    )

    label = labels_endpoint.post_labels(LabelCreateRequest(org_id=env.org_id, name=unique("vlabel"))).label
    on = svc.post_variables_id_labels(created.id, LabelMapping(label_id=label.id))
    assert on.label.id == label.id
    assert [lb.id for lb in svc.get_variables_id_labels(created.id).labels] == [label.id]
    assert [lb.id for lb in svc.get_variables_id(created.id).labels] == [label.id]
    assert svc.delete_variables_id_labels_id(created.id, label.id) is None

    for v in (created, query, mapped):
        assert svc.delete_variables_id(v.id) is None
    expect_api_error(lambda: svc.get_variables_id(created.id), 404, "not found", "variable not found")


def small_template(suffix):
    """A Label, a Variable and a Dashboard whose chart carries the label."""
    return [
        {"apiVersion": "influxdata.com/v2alpha1", "kind": "Label", "metadata": {"name": f"lbl-{suffix}"},
         "spec": {"name": f"team-{suffix}", "color": "#326BBA"}},
        {"apiVersion": "influxdata.com/v2alpha1", "kind": "Variable", "metadata": {"name": f"var-{suffix}"},
         "spec": {"name": "host_" + suffix.replace("-", "_"), "type": "constant", "values": ["a", "b"]}},
        {"apiVersion": "influxdata.com/v2alpha1", "kind": "Dashboard", "metadata": {"name": f"dash-{suffix}"},
         "spec": {"name": f"Templated {suffix}", "associations": [{"kind": "Label", "name": f"lbl-{suffix}"}],
                  "charts": [{"kind": "Markdown", "name": "note", "note": "hello", "width": 4, "height": 2}]}},
    ]


def test_templates_and_stacks_services(env):
    svc = TemplatesService(env.client.api_client)
    suffix = unique("t")
    template = small_template(suffix)

    dry = svc.apply_template({"orgID": env.org_id, "dryRun": True, "template": {"contents": template}})
    assert [d.name for d in dry.summary.dashboards] == [f"Templated {suffix}"]
    assert env.dashboards.get_dashboards(org_id=env.org_id).dashboards is not None
    assert not [d for d in env.dashboards.get_dashboards(org_id=env.org_id).dashboards if d.name == f"Templated {suffix}"]

    applied = svc.apply_template({"orgID": env.org_id, "template": {"contents": template}})
    assert ID_RE.match(applied.stack_id)
    assert [lb.name for lb in applied.summary.labels] == [f"team-{suffix}"]
    assert [v.name for v in applied.summary.variables] == ["host_" + suffix.replace("-", "_")]
    made = [d for d in env.dashboards.get_dashboards(org_id=env.org_id).dashboards if d.name == f"Templated {suffix}"]
    assert len(made) == 1 and [lb.name for lb in made[0].labels] == [f"team-{suffix}"]

    stacks = svc.list_stacks(org_id=env.org_id)
    assert applied.stack_id in [st.id for st in stacks.stacks]
    stack = svc.read_stack(applied.stack_id)
    assert {r.kind for r in stack.events[-1].resources} == {"Label", "Variable", "Dashboard"}
    renamed = svc.update_stack(applied.stack_id, patch_stack_request={"name": f"stack-{suffix}"})
    assert renamed.events[-1].name == f"stack-{suffix}"

    exported = svc.export_template(template_export_by_id={"resources": [{"kind": "Dashboard", "id": made[0].id}]})
    kinds = sorted(o["kind"] for o in exported)
    assert kinds == ["Dashboard", "Label"]
    dash = [o for o in exported if o["kind"] == "Dashboard"][0]
    assert dash["spec"]["name"] == f"Templated {suffix}"
    assert dash["spec"]["charts"][0]["note"] == "hello"

    # The clients' uninstall call sends no orgID, which InfluxDB requires too.
    expect_api_error(lambda: svc.uninstall_stack(applied.stack_id), 400, "invalid", "the orgID query param is required")
    assert svc.delete_stack(applied.stack_id, env.org_id) is None
    expect_api_error(lambda: svc.read_stack(applied.stack_id), 404, "not found")
    created = svc.create_stack(post_stack_request={"orgID": env.org_id, "name": f"empty-{suffix}"})
    assert ID_RE.match(created.id) and created.org_id == env.org_id
    assert svc.delete_stack(created.id, env.org_id) is None
    expect_api_error(
        lambda: svc.apply_template({"orgID": env.org_id, "template": {"contents": [{"kind": "Widget"}]}}),
        422,
        "unprocessable entity",
    )


# ---- orgs, users, authorizations -------------------------------------------


def test_organizations_service(env):
    svc = env.orgs
    name = unique("org")
    org = svc.post_orgs(PostOrganizationRequest(name=name, description="from python"))
    assert isinstance(org, Organization)
    assert ID_RE.match(org.id) and org.name == name and org.description == "from python"
    assert org.links.dashboards and org.links._self == f"/api/v2/orgs/{org.id}"

    listed = svc.get_orgs()
    assert isinstance(listed, Organizations)
    assert {SETUP_ORG, name} <= {o.name for o in listed.orgs}
    assert [o.id for o in svc.get_orgs(org=name).orgs] == [org.id]
    assert [o.id for o in svc.get_orgs(org_id=org.id).orgs] == [org.id]
    assert svc.get_orgs_id(org.id).name == name

    patched = svc.patch_orgs_id(org.id, PatchOrganizationRequest(name=name + "-renamed", description="changed"))
    assert (patched.id, patched.name, patched.description) == (org.id, name + "-renamed", "changed")

    carol = env.client.users_api().create_user(unique("carol"))
    member = svc.post_orgs_id_members(org.id, AddResourceMemberRequestBody(id=carol.id))
    assert isinstance(member, ResourceMember) and (member.id, member.role) == (carol.id, "member")
    assert carol.id in [u.id for u in svc.get_orgs_id_members(org.id).users]
    owner = svc.post_orgs_id_owners(org.id, AddResourceMemberRequestBody(id=carol.id))
    assert isinstance(owner, ResourceOwner) and owner.role == "owner"
    assert carol.id in [u.id for u in svc.get_orgs_id_owners(org.id).users]
    assert svc.delete_orgs_id_owners_id(carol.id, org.id) is None
    assert carol.id not in [u.id for u in svc.get_orgs_id_owners(org.id).users]
    assert svc.delete_orgs_id_members_id(carol.id, org.id) is None
    assert carol.id not in [u.id for u in svc.get_orgs_id_members(org.id).users]

    assert svc.delete_orgs_id(org.id) is None
    expect_api_error(lambda: svc.get_orgs_id(org.id), 404, "not found")


def test_orgs_filtered_by_user(env):
    """`GET /api/v2/orgs?userID=` returns the orgs the user belongs to."""
    api = env.client.organizations_api()
    dave = env.client.users_api().create_user(unique("dave"))
    org = api.create_organization(name=unique("dave-org"))
    env.orgs.post_orgs_id_members(org.id, AddResourceMemberRequestBody(id=dave.id))
    assert [o.id for o in api.find_organizations(user_id=dave.id)] == [org.id]


def test_organizations_api(env):
    api = env.client.organizations_api()
    name = unique("org-api")
    org = api.create_organization(name=name)
    assert isinstance(org, Organization) and org.name == name
    assert api.find_organization(org.id).id == org.id
    assert org.id in [o.id for o in api.find_organizations()]
    assert [o.id for o in api.find_organizations(org=name)] == [org.id]
    org.description = "updated through organizations_api()"
    updated = api.update_organization(org)
    assert updated.description == "updated through organizations_api()" and updated.name == name
    assert api.me().name == ADMIN
    assert api.delete_organization(org.id) is None
    expect_api_error(lambda: api.find_organization(org.id), 404, "not found")


def test_users_service(env):
    svc = env.users
    name = unique("erin")
    u = svc.post_users(User(name=name))
    assert isinstance(u, UserResponse)
    assert ID_RE.match(u.id) and u.name == name and u.status == "active"
    assert u.links._self == f"/api/v2/users/{u.id}"

    listed = svc.get_users()
    assert isinstance(listed, Users)
    assert {ADMIN, name} <= {x.name for x in listed.users}
    assert [x.id for x in svc.get_users(name=name).users] == [u.id]
    assert [x.id for x in svc.get_users(id=u.id).users] == [u.id]
    assert svc.get_users_id(u.id).name == name

    renamed = svc.patch_users_id(u.id, User(name=name + "-2"))
    assert (renamed.id, renamed.name) == (u.id, name + "-2")

    assert svc.post_users_id_password(u.id, PasswordResetBody(password="first password!")) is None
    with InfluxDBClient(url=env.url, username=name + "-2", password="first password!") as session:
        own = UsersService(session.api_client)
        assert own.get_me().id == u.id
        # PUT .../password proves the old password with HTTP Basic: the
        # client sends its configured username and password.
        assert own.put_users_id_password(u.id, PasswordResetBody(password="second password!")) is None
    with InfluxDBClient(url=env.url, username=name + "-2", password="second password!") as session:
        own = UsersService(session.api_client)
        me = own.get_me()
        assert isinstance(me, UserResponse) and me.id == u.id
        assert own.put_me_password(PasswordResetBody(password="third password!")) is None
    with InfluxDBClient(url=env.url, username=name + "-2", password="second password!") as stale:
        expect_api_error(lambda: stale.users_api().me(), 401, "unauthorized")
    with InfluxDBClient(url=env.url, username=name + "-2", password="third password!") as session:
        assert session.users_api().me().id == u.id

    me = svc.get_me()
    assert me.name == ADMIN and me.id == env.user_id

    assert svc.delete_users_id(u.id) is None
    expect_api_error(lambda: svc.get_users_id(u.id), 404, "not found")


def test_password_change_checks_old_password(env):
    """InfluxDB changes a password with PUT only when HTTP Basic carries the
    current one (403 "your username or password is incorrect" otherwise)."""
    name = unique("grace")
    u = env.users.post_users(User(name=name))
    env.users.post_users_id_password(u.id, PasswordResetBody(password="grace's password"))
    with InfluxDBClient(url=env.url, username=name, password="grace's password") as session:
        own = UsersService(session.api_client)
        assert own.get_me().id == u.id  # signed in
        session.api_client.configuration.password = "not her password"
        expect_api_error(
            lambda: own.put_me_password(PasswordResetBody(password="stolen password")),
            403,
            "forbidden",
            "your username or password is incorrect",
        )
        expect_api_error(
            lambda: own.put_users_id_password(u.id, PasswordResetBody(password="stolen password")),
            403,
            "forbidden",
            "your username or password is incorrect",
        )
    with InfluxDBClient(url=env.url, username=name, password="grace's password") as session:
        assert session.users_api().me().id == u.id


def test_users_api(env):
    api = env.client.users_api()
    name = unique("frank")
    u = api.create_user(name)
    assert isinstance(u, UserResponse) and u.name == name
    assert [x.id for x in api.find_users(name=name).users] == [u.id]
    assert [x.id for x in api.find_users(id=u.id).users] == [u.id]
    u.name = name + "-renamed"
    updated = api.update_user(u)
    assert updated.name == name + "-renamed"
    assert api.update_password(u, "frank's password") is None
    with InfluxDBClient(url=env.url, username=updated.name, password="frank's password") as session:
        me = session.users_api().me()
        assert me.id == u.id and me.name == updated.name
    assert api.me().name == ADMIN
    assert api.delete_user(u) is None
    expect_api_error(lambda: env.users.get_users_id(u.id), 404, "not found")


def dashboards_permissions(org_id, *actions):
    return [Permission(action=a, resource=PermissionResource(type="dashboards", org_id=org_id)) for a in actions]


def test_authorizations_service(env):
    svc = env.auths
    created = svc.post_authorizations(
        AuthorizationPostRequest(
            org_id=env.org_id, description="read dashboards", permissions=dashboards_permissions(env.org_id, "read")
        )
    )
    assert isinstance(created, Authorization)
    assert ID_RE.match(created.id) and created.token
    assert created.org_id == env.org_id and created.user_id == env.user_id
    assert created.org == SETUP_ORG and created.user == ADMIN
    assert created.status == "active" and created.description == "read dashboards"
    assert created.permissions[0].action == "read"
    assert created.permissions[0].resource.type == "dashboards"
    assert created.permissions[0].resource.org_id == env.org_id
    assert isinstance(created.created_at, datetime.datetime)

    listed = svc.get_authorizations()
    assert isinstance(listed, Authorizations)
    assert {env.onboarding.auth.id, created.id} <= {a.id for a in listed.authorizations}
    # Tokens are shown only when created.
    assert all(a.token is None for a in listed.authorizations)
    for filt in ({"user_id": env.user_id}, {"user": ADMIN}, {"org_id": env.org_id}, {"org": SETUP_ORG}):
        assert created.id in [a.id for a in svc.get_authorizations(**filt).authorizations], filt
    got = svc.get_authorizations_id(created.id)
    assert (got.id, got.description, got.token) == (created.id, "read dashboards", None)

    # The token reads dashboards and cannot write them.
    d = new_dashboard(env)
    with InfluxDBClient(url=env.url, token=created.token) as reader:
        rs = DashboardsService(reader.api_client)
        assert rs.get_dashboards_id(d.id).id == d.id
        assert d.id in [x.id for x in rs.get_dashboards(org_id=env.org_id).dashboards]
        expect_api_error(
            lambda: rs.post_dashboards(CreateDashboardRequest(org_id=env.org_id, name="nope")), 401, "unauthorized"
        )
        expect_api_error(lambda: rs.delete_dashboards_id(d.id), 401, "unauthorized")

        patched = svc.patch_authorizations_id(
            created.id, AuthorizationUpdateRequest(status="inactive", description="switched off")
        )
        assert (patched.status, patched.description) == ("inactive", "switched off")
        expect_api_error(lambda: rs.get_dashboards_id(d.id), 401, "unauthorized")

    assert svc.delete_authorizations_id(created.id) is None
    expect_api_error(lambda: svc.get_authorizations_id(created.id), 404, "not found")


def test_authorizations_api(env):
    api = env.client.authorizations_api()
    org = Organization(id=env.org_id, name=SETUP_ORG)
    a = api.create_authorization(org_id=env.org_id, permissions=dashboards_permissions(env.org_id, "read", "write"))
    assert isinstance(a, Authorization) and a.token and len(a.permissions) == 2
    assert api.find_authorization_by_id(a.id).id == a.id
    assert a.id in [x.id for x in api.find_authorizations()]
    assert a.id in [x.id for x in api.find_authorizations_by_user(User(id=env.user_id, name=ADMIN))]
    assert a.id in [x.id for x in api.find_authorizations_by_user_id(env.user_id)]
    assert a.id in [x.id for x in api.find_authorizations_by_user_name(ADMIN)]
    assert a.id in [x.id for x in api.find_authorizations_by_org(org)]
    assert a.id in [x.id for x in api.find_authorizations_by_org_name(SETUP_ORG)]
    assert a.id in [x.id for x in api.find_authorizations_by_org_id(env.org_id)]

    with InfluxDBClient(url=env.url, token=a.token) as writer:
        d = DashboardsService(writer.api_client).post_dashboards(
            CreateDashboardRequest(org_id=env.org_id, name="written with a minted token")
        )
        assert d.org_id == env.org_id

    a.description = "described later"
    updated = api.update_authorization(a)
    assert updated.description == "described later" and updated.status == "active"

    clone = api.clone_authorization(a)
    assert clone.id != a.id and clone.token and clone.token != a.token
    assert [(p.action, p.resource.type) for p in clone.permissions] == [(p.action, p.resource.type) for p in a.permissions]
    assert api.clone_authorization(a.id).id not in (a.id, clone.id)

    assert api.delete_authorization(a) is None
    assert api.delete_authorization(clone.id) is None
    expect_api_error(lambda: api.find_authorization_by_id(a.id), 404, "not found")


# ---- sessions --------------------------------------------------------------


def test_session_sign_in_and_out(env):
    client = InfluxDBClient(url=env.url, username=ADMIN, password=ADMIN_PASSWORD)
    try:
        me = client.users_api().me()
        assert me.name == ADMIN and me.id == env.user_id
        cookie = client.api_client.cookie
        assert cookie and cookie.startswith("influxdb-oss-session=")
        ds = DashboardsService(client.api_client)
        d = ds.post_dashboards(CreateDashboardRequest(org_id=env.org_id, name="made in a session"))
        assert ds.get_dashboards_id(d.id).name == "made in a session"
        assert d.id in [x.id for x in ds.get_dashboards(org_id=env.org_id).dashboards]
    finally:
        client.close()  # signs out

    # The signed-out session no longer works.
    with InfluxDBClient(url=env.url) as stale:
        stale.api_client.cookie = cookie
        expect_api_error(lambda: UsersService(stale.api_client).get_me(), 401, "unauthorized")


def test_session_wrong_password(env):
    with InfluxDBClient(url=env.url, username=ADMIN, password="not the password") as client:
        expect_api_error(lambda: client.users_api().me(), 401, "unauthorized")
