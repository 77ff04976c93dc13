//! The Influx UI's pages beside dashboards: the resource types behind its
//! token forms and the tokens they create, the empty lists of what Tessera
//! does not run, the assets it loads, and the leftovers its users meet
//! (dashboard owner, `Allow` on 405, sessions renewed while in use).

mod common;

use common::{Cred, Server, ADMIN, ADMIN_PASSWORD};
use reqwest::Method;
use serde_json::{json, Value};
use std::io::Read;
use std::time::{Duration, Instant};

/// `AllResourceTypes` of InfluxDB 2.7's `authz.go`, in its order.
const ALL_RESOURCE_TYPES: &[&str] = &[
    "authorizations",
    "buckets",
    "dashboards",
    "orgs",
    "sources",
    "tasks",
    "telegrafs",
    "users",
    "variables",
    "scrapers",
    "secrets",
    "labels",
    "views",
    "documents",
    "notificationRules",
    "notificationEndpoints",
    "checks",
    "dbrp",
    "notebooks",
    "annotations",
    "remotes",
    "replications",
    "instance",
];

#[test]
fn resources_are_influxdbs_all_resource_types() {
    let s = Server::start();
    let r = s.get("/api/v2/resources");
    assert_eq!(r.expect(200), &json!(ALL_RESOURCE_TYPES));
    assert!(r
        .header("content-type")
        .unwrap_or("")
        .starts_with("application/json"));
    s.anonymous()
        .get("/api/v2/resources")
        .expect_error(401, "unauthorized", "unauthorized access");
}

/// What `allAccessPermissions` (src/authorizations/utils/permissions.ts)
/// builds from `/api/v2/resources`: the types sorted case-insensitively,
/// `instance` left out, `orgs` read by id, `users` read and write on oneself,
/// everything else read and write in the org.
fn all_access_body(types: &[Value], org: &str, me: &str) -> Value {
    let mut names: Vec<&str> = types.iter().filter_map(Value::as_str).collect();
    names.sort_by_key(|n| n.to_lowercase());
    let mut permissions = Vec::new();
    for t in names.into_iter().filter(|t| *t != "instance") {
        match t {
            "orgs" => {
                permissions.push(json!({"action": "read", "resource": {"type": t, "id": org}}))
            }
            "users" => {
                for action in ["read", "write"] {
                    permissions.push(json!({"action": action, "resource": {"type": t, "id": me}}));
                }
            }
            _ => {
                for action in ["read", "write"] {
                    permissions
                        .push(json!({"action": action, "resource": {"type": t, "orgID": org}}));
                }
            }
        }
    }
    json!({"orgID": org, "description": "all access from the UI", "permissions": permissions})
}

/// What `formatApiPermissions` builds when, in the Custom form, a person
/// ticks read and write on one bucket, read and write on dashboards, read on
/// orgs and users, and write on checks; the description is the UI's own.
fn custom_body(org: &str, org_name: &str, me: &str, bucket: &str) -> Value {
    json!({
        "orgID": org,
        "description": "Read Multiple Write Multiple",
        "permissions": [
            {"action": "read", "resource": {"orgID": org, "type": "buckets", "id": bucket, "name": "default"}},
            {"action": "write", "resource": {"orgID": org, "type": "buckets", "id": bucket, "name": "default"}},
            {"action": "read", "resource": {"orgID": org, "type": "dashboards"}},
            {"action": "write", "resource": {"orgID": org, "type": "dashboards"}},
            {"action": "read", "resource": {"id": org, "name": org_name, "type": "orgs"}},
            {"action": "read", "resource": {"id": me, "type": "users"}},
            {"action": "write", "resource": {"orgID": org, "type": "checks"}},
        ]
    })
}

/// The permissions as InfluxDB keeps them (`name` is not part of a
/// resource), as sorted `action type orgID id` lines. Fails on any other key.
fn without_names(permissions: &Value) -> Vec<String> {
    let mut v: Vec<String> = permissions
        .as_array()
        .expect("permissions")
        .iter()
        .map(|p| {
            let r = p["resource"].as_object().expect("resource");
            for k in r.keys() {
                assert!(["type", "orgID", "id", "name"].contains(&k.as_str()), "{p}");
            }
            let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("-");
            format!("{} {} {} {}", p["action"], s("type"), s("orgID"), s("id"))
        })
        .collect();
    v.sort();
    v
}

fn sign_in_as(s: &Server, user: &str, password: &str) -> Cred {
    Cred::Cookie(s.sign_in(user, password).expect("sign in"))
}

#[test]
fn the_uis_token_forms_create_tokens() {
    let s = Server::start();
    let bucket = common::id_of(&s.get("/api/v2/buckets").expect(200)["buckets"][0]);
    // Bob owns the org without being the operator, as most UI users do.
    let bob = common::id_of(s.post("/api/v2/users", &json!({"name": "bob"})).expect(201));
    s.post(
        &format!("/api/v2/users/{bob}/password"),
        &json!({"password": "bobspassword"}),
    )
    .expect(204);
    s.post(
        &format!("/api/v2/orgs/{}/owners", s.org),
        &json!({ "id": bob }),
    )
    .expect(201);

    for (who, password) in [(ADMIN, ADMIN_PASSWORD), ("bob", "bobspassword")] {
        let ui = s.with(sign_in_as(&s, who, password));
        let me = common::id_of(ui.get("/api/v2/me").expect(200));
        let types = ui.get("/api/v2/resources").expect(200).clone();
        let types = types.as_array().expect("types").clone();
        for body in [
            all_access_body(&types, &s.org, &me),
            custom_body(&s.org, common::SETUP_ORG, &me, &bucket),
        ] {
            let r = ui.post("/api/v2/authorizations", &body);
            let created = r.expect(201).clone();
            assert_eq!(created["status"], "active", "{who}");
            assert_eq!(created["description"], body["description"]);
            assert!(created["token"].as_str().is_some_and(|t| !t.is_empty()));
            assert_eq!(
                without_names(&created["permissions"]),
                without_names(&body["permissions"]),
                "{who}"
            );
            let id = common::id_of(&created);
            let back = ui
                .get(&format!("/api/v2/authorizations/{id}"))
                .expect(200)
                .clone();
            assert_eq!(
                without_names(&back["permissions"]),
                without_names(&body["permissions"]),
                "{who}"
            );
            // The token works for what Tessera stores: its org and dashboards.
            let token = s.as_token(created["token"].as_str().unwrap_or_default());
            token.get(&format!("/api/v2/orgs/{}", s.org)).expect(200);
            token
                .get(&format!("/api/v2/dashboards?orgID={}", s.org))
                .expect(200);
        }
    }
}

/// Each list as InfluxDB 2.7 answers it when empty, for `?orgID=O`.
fn empty_lists(org: &str) -> Vec<(&'static str, Value)> {
    vec![
        (
            "/api/v2/checks",
            json!({"checks": [], "links": {"self": format!("/api/v2/checks?orgID={org}")}}),
        ),
        (
            "/api/v2/notificationEndpoints",
            json!({"notificationEndpoints": [], "links": {"self": format!("/api/v2/notificationEndpoints?orgID={org}")}}),
        ),
        (
            "/api/v2/notificationRules",
            json!({"notificationRules": [], "links": {"self": format!("/api/v2/notificationRules?orgID={org}")}}),
        ),
        (
            "/api/v2/tasks",
            json!({"links": {"self": format!("/api/v2/tasks?orgID={org}")}, "tasks": []}),
        ),
        ("/api/v2/telegrafs", json!({"configurations": []})),
        (
            "/api/v2/scrapers",
            json!({"links": {"self": "/api/v2/scrapers"}, "configurations": []}),
        ),
    ]
}

#[test]
fn what_tessera_does_not_run_lists_empty_and_refuses_creation() {
    let s = Server::start();
    let ui = s.with(sign_in_as(&s, ADMIN, ADMIN_PASSWORD));
    for (path, want) in empty_lists(&s.org) {
        let with_org = format!("{path}?orgID={}", s.org);
        let r = s.get(&with_org);
        assert_eq!(r.expect(200), &want, "{path}");
        // Key order as InfluxDB writes it.
        assert_eq!(r.text, want.to_string(), "{path}");
        assert_eq!(ui.get(&with_org).expect(200), &want, "{path}");
        s.anonymous()
            .get(&with_org)
            .expect_error(401, "unauthorized", "unauthorized access");

        let body = json!({"orgID": s.org, "name": "x"});
        let r = s.post(path, &body);
        r.expect_error(
            501,
            "not implemented",
            "Tessera stores dashboards; it does not ",
        );
        s.anonymous()
            .post(path, &body)
            .expect_error(401, "unauthorized", "unauthorized access");
    }
    s.post("/api/v2/tasks", &json!({})).expect_error(
        501,
        "not implemented",
        "Tessera stores dashboards; it does not run tasks",
    );
    // Without a query string the self link is the bare path.
    assert_eq!(
        s.get("/api/v2/checks").expect(200)["links"]["self"],
        "/api/v2/checks"
    );
}

#[test]
fn method_not_allowed_names_the_allowed_methods() {
    let s = Server::start();
    for (method, path, allow) in [
        (
            Method::DELETE,
            "/api/v2/dashboards".to_string(),
            "GET, POST",
        ),
        (
            Method::PUT,
            format!("/api/v2/orgs/{}", s.org),
            "GET, PATCH, DELETE",
        ),
        (Method::PATCH, "/api/v2/checks".to_string(), "GET, POST"),
        (Method::GET, "/api/v2/signin".to_string(), "POST"),
        (Method::POST, "/ping".to_string(), "GET, HEAD"),
    ] {
        let r = s.req(method.clone(), &path, None);
        r.expect_error(
            405,
            "method not allowed",
            &format!("method {method} not allowed"),
        );
        assert_eq!(r.header("allow"), Some(allow), "{method} {path}");
    }
}

#[test]
fn dashboards_keep_the_owner_they_were_created_with() {
    let s = Server::start();
    let bob = common::id_of(s.post("/api/v2/users", &json!({"name": "bob"})).expect(201));
    let owned = s
        .post(
            "/api/v2/dashboards",
            &json!({"orgID": s.org, "name": "bob's", "owner": bob}),
        )
        .expect(201)
        .clone();
    // InfluxDB keeps `owner` and does not return it.
    assert!(owned.get("owner").is_none(), "{owned}");
    let plain = s.create_dashboard(&s.org, "nobody's");
    let names = |q: &str| -> Vec<String> {
        let mut v: Vec<String> = s.get(&format!("/api/v2/dashboards?{q}")).expect(200)
            ["dashboards"]
            .as_array()
            .expect("list")
            .iter()
            .map(|d| d["name"].as_str().unwrap_or_default().to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(&format!("ownerID={bob}")), ["bob's"]);
    assert_eq!(names(&format!("owner={bob}")), ["bob's"]);
    // The creator's owner mapping still counts.
    assert_eq!(names(&format!("ownerID={}", s.user)), ["bob's", "nobody's"]);
    // A restart keeps it.
    let mut s = s;
    s.crash_and_restart();
    assert_eq!(
        s.get(&format!("/api/v2/dashboards?ownerID={bob}"))
            .expect(200)["dashboards"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert!(s
        .get(&format!("/api/v2/dashboards/{}", common::id_of(&plain)))
        .expect(200)
        .get("owner")
        .is_none());
    s.post(
        "/api/v2/dashboards",
        &json!({"orgID": s.org, "name": "x", "owner": "not-an-id"}),
    )
    .expect_error(400, "invalid", "failed to unmarshal json");
}

fn cookie_expiry(set_cookie: &str) -> std::time::SystemTime {
    let expires = set_cookie
        .split(';')
        .find_map(|p| p.trim().strip_prefix("Expires="))
        .expect("Expires");
    httpdate(expires)
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn httpdate(s: &str) -> std::time::SystemTime {
    let parts: Vec<&str> = s.split_whitespace().collect();
    let day: i64 = parts[1].parse().expect("day");
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == parts[2])
    .expect("month") as i64
        + 1;
    let year: i64 = parts[3].parse().expect("year");
    let hms: Vec<i64> = parts[4]
        .split(':')
        .map(|x| x.parse().expect("time"))
        .collect();
    // Days from the civil date (Howard Hinnant's algorithm).
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    let secs = days * 86400 + hms[0] * 3600 + hms[1] * 60 + hms[2];
    std::time::UNIX_EPOCH + Duration::from_secs(secs as u64)
}

#[test]
fn sessions_in_use_are_renewed_and_idle_ones_end() {
    // A one-minute session: every use falls within InfluxDB's five-minute
    // renewal window.
    let mut s = Server::start_with(&["--session-length", "1"]);
    let signed_in = Instant::now();
    let sign_in = |s: &Server| -> (String, std::time::SystemTime) {
        let r = s.send(
            s.raw(Method::POST, "/api/v2/signin")
                .basic_auth(ADMIN, Some(ADMIN_PASSWORD)),
        );
        assert_eq!(r.status, 204);
        let set = r.header("set-cookie").expect("cookie").to_string();
        let id = set
            .split(';')
            .next()
            .and_then(|kv| kv.split_once('='))
            .map(|(_, v)| v.to_string())
            .expect("session id");
        (id, cookie_expiry(&set))
    };
    let (used, first_expiry) = sign_in(&s);
    let (idle, _) = sign_in(&s);

    let r = s.with(Cred::Cookie(used.clone())).get("/api/v2/me");
    r.expect(200);
    let set = r.header("set-cookie").expect("renewed cookie").to_string();
    assert!(
        set.starts_with(&format!("influxdb-oss-session={used};")),
        "{set}"
    );
    assert!(
        set.contains("Path=/api/") && set.contains("HttpOnly"),
        "{set}"
    );
    assert!(
        cookie_expiry(&set) >= first_expiry + Duration::from_secs(3 * 60),
        "{set}"
    );
    // Just renewed: the next request writes nothing and sends no cookie.
    let r = s.with(Cred::Cookie(used.clone())).get("/api/v2/me");
    r.expect(200);
    assert!(r.header("set-cookie").is_none());

    // The renewal is durable; past the original end only the used session lives.
    s.crash_and_restart();
    let past_end = Duration::from_secs(63);
    if let Some(wait) = past_end.checked_sub(signed_in.elapsed()) {
        std::thread::sleep(wait);
    }
    s.with(Cred::Cookie(used.clone()))
        .get("/api/v2/me")
        .expect(200);
    s.with(Cred::Cookie(idle))
        .get("/api/v2/me")
        .expect_error(401, "unauthorized", "");
    s.with(Cred::Cookie(used))
        .get(&format!("/api/v2/dashboards?orgID={}", s.org))
        .expect(200);
}

#[test]
fn long_sessions_are_not_rewritten_on_every_request() {
    let s = Server::start();
    let ui = s.with(sign_in_as(&s, ADMIN, ADMIN_PASSWORD));
    for _ in 0..3 {
        let r = ui.get("/api/v2/me");
        r.expect(200);
        assert!(r.header("set-cookie").is_none());
    }
}

// ---- assets ------------------------------------------------------------------

const INDEX: &str = "<!doctype html><title>Influx UI</title>";

fn bundle() -> String {
    (0..2000)
        .map(|i| format!("export const widget{i} = () => render('cell', {i});\n"))
        .collect()
}

fn build_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path();
    std::fs::write(p.join("index.html"), INDEX).expect("w");
    std::fs::create_dir(p.join("static")).expect("mkdir");
    std::fs::write(p.join("static/4f1c0a9d7e.js"), bundle()).expect("w");
    std::fs::write(p.join("static/4f1c0a9d7e.css"), "body{margin:0}").expect("w");
    std::fs::write(p.join("static/font.woff2"), vec![7u8; 4096]).expect("w");
    dir
}

fn get(
    s: &Server,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
) -> reqwest::blocking::Response {
    let client = reqwest::blocking::Client::builder()
        .no_gzip()
        .no_brotli()
        .build()
        .expect("client");
    let mut rb = client.request(method, format!("{}{path}", s.base));
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    rb.send().expect("request")
}

fn header(r: &reqwest::blocking::Response, name: &str) -> Option<String> {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

#[test]
fn missing_files_are_404_and_client_routes_get_the_app() {
    let dir = build_dir();
    let s = Server::start_with(&["--assets-path", dir.path().to_str().expect("utf8")]);
    for path in [
        "/static/abc123.js",
        "/static/abc123",
        "/favicon.ico",
        "/orgs/0000000000000001/old-chunk.js",
    ] {
        let r = s.send(s.raw(Method::GET, path));
        r.expect_error(404, "not found", "file not found");
    }
    for path in [
        "/some/client/route",
        "/signin",
        "/orgs/0000000000000001/dashboards",
    ] {
        let r = get(&s, Method::GET, path, &[]);
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(header(&r, "cache-control").as_deref(), Some("no-cache"));
        assert_eq!(r.text().expect("body"), INDEX, "{path}");
    }
}

#[test]
fn assets_are_compressed_once_and_revalidated() {
    let dir = build_dir();
    let s = Server::start_with(&["--assets-path", dir.path().to_str().expect("utf8")]);
    let original = bundle().into_bytes();
    let path = "/static/4f1c0a9d7e.js";

    let plain = get(&s, Method::GET, path, &[]);
    assert_eq!(plain.status(), 200);
    assert!(header(&plain, "content-encoding").is_none());
    assert_eq!(
        header(&plain, "cache-control").as_deref(),
        Some("public, max-age=31536000, immutable")
    );
    let plain_tag = header(&plain, "etag").expect("etag");
    assert_eq!(plain.bytes().expect("body").as_ref(), &original[..]);

    let mut tags = vec![plain_tag.clone()];
    for (accept, coding) in [("gzip, deflate, br", "br"), ("gzip", "gzip")] {
        let r = get(&s, Method::GET, path, &[("accept-encoding", accept)]);
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "content-encoding").as_deref(), Some(coding));
        assert_eq!(header(&r, "vary").as_deref(), Some("Accept-Encoding"));
        let tag = header(&r, "etag").expect("etag");
        let length: usize = header(&r, "content-length")
            .and_then(|v| v.parse().ok())
            .expect("length");
        let body = r.bytes().expect("body").to_vec();
        assert_eq!(body.len(), length);
        assert!(body.len() < original.len() / 4, "{coding}: {}", body.len());
        let mut back = Vec::new();
        match coding {
            "gzip" => flate2::read::GzDecoder::new(&body[..]).read_to_end(&mut back),
            _ => brotli::Decompressor::new(&body[..], 4096).read_to_end(&mut back),
        }
        .expect("decompress");
        assert_eq!(back, original, "{coding}");
        // The same bytes again: compressed once, kept.
        let again = get(&s, Method::GET, path, &[("accept-encoding", accept)]);
        assert_eq!(header(&again, "etag").as_deref(), Some(tag.as_str()));
        assert_eq!(again.bytes().expect("body").to_vec(), body);

        // HEAD answers the same length, without a body.
        let head = get(&s, Method::HEAD, path, &[("accept-encoding", accept)]);
        assert_eq!(head.status(), 200);
        assert_eq!(
            header(&head, "content-length").and_then(|v| v.parse().ok()),
            Some(length)
        );
        assert_eq!(header(&head, "content-encoding").as_deref(), Some(coding));

        // Revalidation.
        let r = get(
            &s,
            Method::GET,
            path,
            &[("accept-encoding", accept), ("if-none-match", &tag)],
        );
        assert_eq!(r.status(), 304, "{coding}");
        assert_eq!(header(&r, "etag").as_deref(), Some(tag.as_str()));
        assert!(r.bytes().expect("body").is_empty());
        tags.push(tag);
    }
    tags.sort();
    tags.dedup();
    assert_eq!(tags.len(), 3, "one tag per representation: {tags:?}");

    let head = get(&s, Method::HEAD, path, &[]);
    assert_eq!(
        header(&head, "content-length").and_then(|v| v.parse().ok()),
        Some(original.len())
    );
    let r = get(
        &s,
        Method::GET,
        path,
        &[("if-none-match", "\"something-else\"")],
    );
    assert_eq!(r.status(), 200);
    let r = get(&s, Method::GET, path, &[("if-none-match", &plain_tag)]);
    assert_eq!(r.status(), 304);

    // index.html revalidates too, and is never cached without asking.
    let index = get(&s, Method::GET, "/", &[]);
    let tag = header(&index, "etag").expect("etag");
    assert_eq!(header(&index, "cache-control").as_deref(), Some("no-cache"));
    let r = get(&s, Method::GET, "/signin", &[("if-none-match", &tag)]);
    assert_eq!(r.status(), 304);

    // A changed file is read again.
    std::fs::write(
        dir.path().join("index.html"),
        "<!doctype html><title>v2</title>",
    )
    .expect("w");
    let r = get(&s, Method::GET, "/", &[("if-none-match", &tag)]);
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().expect("body"), "<!doctype html><title>v2</title>");

    // Already compressed formats are sent as they are.
    let r = get(
        &s,
        Method::GET,
        "/static/font.woff2",
        &[("accept-encoding", "br, gzip")],
    );
    assert!(header(&r, "content-encoding").is_none());
    assert_eq!(r.bytes().expect("body").len(), 4096);
}
