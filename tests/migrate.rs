//! `tessera migrate`: sled → PostgreSQL → sled gives the same API answers
//! (PostgreSQL only; run with TESSERA_TEST_STORE_URL, as `make test` does).

mod common;

use reqwest::blocking::Client;
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Child, Command};

struct Up {
    child: Child,
    base: String,
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &Path, store: &[String]) -> Up {
    let (child, base) = common::spawn(dir, store);
    Up { child, base }
}

fn call(
    c: &Client,
    base: &str,
    auth: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Value {
    let mut rb = c.request(method.parse().expect("method"), format!("{base}{path}"));
    rb = match auth.strip_prefix("sess:") {
        Some(session) => rb.header("cookie", format!("influxdb-oss-session={session}")),
        None => rb.header("authorization", format!("Token {auth}")),
    };
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let r = rb.send().expect("request");
    let status = r.status().as_u16();
    let v: Value = r.json().unwrap_or(Value::Null);
    assert!(status < 300, "{method} {path}: {status} {v}");
    v
}

fn migrate(from: &str, to: &str, force: bool) -> (bool, String) {
    let mut cmd = Command::new(common::bin());
    cmd.args(["migrate", "--from", from, "--to", to]);
    if force {
        cmd.arg("--force");
    }
    let out = cmd.output().expect("run migrate");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Everything a client could ask about the data.
fn answers(c: &Client, base: &str, token: &str, session: &str) -> Vec<Value> {
    let get = |path: &str| call(c, base, token, "GET", path, None);
    let mut out = vec![
        get("/api/v2/orgs"),
        get("/api/v2/users"),
        get("/api/v2/authorizations"),
        get("/api/v2/buckets"),
        get("/api/v2/labels"),
        get("/api/v2/variables"),
        get("/api/v2/dashboards"),
        get("/api/v2/externalDashboards"),
        call(
            c,
            base,
            &format!("sess:{session}"),
            "GET",
            "/api/v2/me",
            None,
        ),
    ];
    out.push(get("/api/v2/me/default-dashboard"));
    let orgs = out[0]["orgs"].as_array().cloned().unwrap_or_default();
    let users = out[1]["users"].as_array().cloned().unwrap_or_default();
    for o in orgs {
        let id = o["id"].as_str().expect("org id");
        out.push(get(&format!("/api/v2/trash/dashboards?orgID={id}")));
        out.push(get(&format!("/api/v2/orgs/{id}/roles")));
        out.push(get(&format!("/api/v2/orgs/{id}/default-dashboard")));
        for u in &users {
            let user = u["id"].as_str().expect("user id");
            out.push(get(&format!("/api/v2/orgs/{id}/members/{user}/roles")));
        }
    }
    let dashboards = out[6]["dashboards"].as_array().cloned().unwrap_or_default();
    assert!(dashboards.len() > 1, "{:?}", out[6]);
    for d in dashboards {
        let id = d["id"].as_str().expect("id");
        out.push(get(&format!("/api/v2/dashboards/{id}?include=properties")));
        out.push(get(&format!("/api/v2/dashboards/{id}/members")));
        out.push(get(&format!("/api/v2/dashboards/{id}/owners")));
        // Histories move too: the list and the oldest version rebuilt.
        let versions = get(&format!("/api/v2/dashboards/{id}/versions"));
        assert!(
            versions["versions"]
                .as_array()
                .is_some_and(|v| !v.is_empty()),
            "dashboard {id} has a history: {versions}"
        );
        out.push(versions);
        out.push(get(&format!("/api/v2/dashboards/{id}/versions/1")));
    }
    out
}

#[test]
fn sled_to_postgres_to_sled_gives_the_same_answers() {
    if common::skip_on_sled("migrating to PostgreSQL needs one") {
        return;
    }
    let c = Client::new();
    let tmp = tempfile::tempdir().expect("tmp");
    let (dir1, dir2) = (tmp.path().join("one"), tmp.path().join("two"));
    let pg = common::fresh_database();

    // A sled store with some of everything.
    let (token, session) = {
        let s = serve(&dir1, &[]);
        let b = &s.base;
        let setup = call(
            &c,
            b,
            "",
            "POST",
            "/api/v2/setup",
            Some(
                json!({"username": "ada", "password": "lovelace-123", "org": "engines", "bucket": "telemetry"}),
            ),
        );
        let token = setup["auth"]["token"].as_str().expect("token").to_string();
        let org = setup["org"]["id"].as_str().expect("org").to_string();
        let label = call(
            &c,
            b,
            &token,
            "POST",
            "/api/v2/labels",
            Some(json!({"orgID": org, "name": "prod", "properties": {"color": "#f00"}})),
        );
        let label = label["label"]["id"].as_str().expect("label").to_string();
        let bob = call(
            &c,
            b,
            &token,
            "POST",
            "/api/v2/users",
            Some(json!({"name": "bob", "password": "builder-123"})),
        );
        let bob = bob["id"].as_str().expect("bob").to_string();
        for (name, template) in common::template_dashboards().into_iter().take(3) {
            let mut body = template.clone();
            body["orgID"] = json!(org);
            body["name"] = json!(name);
            let d = call(&c, b, &token, "POST", "/api/v2/dashboards", Some(body));
            let id = d["id"].as_str().expect("id").to_string();
            call(
                &c,
                b,
                &token,
                "POST",
                &format!("/api/v2/dashboards/{id}/labels"),
                Some(json!({"labelID": label})),
            );
            call(
                &c,
                b,
                &token,
                "POST",
                &format!("/api/v2/dashboards/{id}/members"),
                Some(json!({"id": bob})),
            );
        }
        // Teams: a private dashboard, a custom role bob holds, defaults.
        let private = call(
            &c,
            b,
            &token,
            "POST",
            "/api/v2/dashboards",
            Some(json!({"orgID": org, "name": "Private", "private": true})),
        );
        let private = private["id"].as_str().expect("id").to_string();
        call(
            &c,
            b,
            &token,
            "POST",
            &format!("/api/v2/orgs/{org}/members"),
            Some(json!({"id": bob})),
        );
        let role = call(
            &c,
            b,
            &token,
            "POST",
            &format!("/api/v2/orgs/{org}/roles"),
            Some(json!({"name": "editor", "permissions": [
                {"action": "write", "resource": {"type": "dashboards"}}]})),
        );
        let role = role["id"].as_str().expect("role").to_string();
        call(
            &c,
            b,
            &token,
            "PUT",
            &format!("/api/v2/orgs/{org}/members/{bob}/roles"),
            Some(json!({"roleIDs": [role]})),
        );
        call(
            &c,
            b,
            &token,
            "PUT",
            "/api/v2/me/default-dashboard",
            Some(json!({"dashboardID": private})),
        );
        call(
            &c,
            b,
            &token,
            "PUT",
            &format!("/api/v2/orgs/{org}/default-dashboard"),
            Some(json!({"dashboardID": private})),
        );
        // One in the trash.
        let scrapped = call(
            &c,
            b,
            &token,
            "POST",
            "/api/v2/dashboards",
            Some(json!({"orgID": org, "name": "Scrapped"})),
        );
        let scrapped = scrapped["id"].as_str().expect("id").to_string();
        call(
            &c,
            b,
            &token,
            "DELETE",
            &format!("/api/v2/dashboards/{scrapped}"),
            None,
        );
        let v = call(
            &c,
            b,
            &token,
            "POST",
            "/api/v2/variables",
            Some(
                json!({"orgID": org, "name": "host", "arguments": {"type": "constant", "values": ["a", "b"]}}),
            ),
        );
        let v = v["id"].as_str().expect("variable").to_string();
        call(
            &c,
            b,
            &token,
            "POST",
            &format!("/api/v2/variables/{v}/labels"),
            Some(json!({"labelID": label})),
        );
        let ext = call(
            &c,
            b,
            &token,
            "POST",
            "/api/v2/externalDashboards",
            Some(
                json!({"orgID": org, "name": "Grafana", "url": "https://localhost/d/1",
                        "displayOrder": 7, "roleIDs": [role]}),
            ),
        );
        let ext = ext["id"].as_str().expect("external dashboard").to_string();
        call(
            &c,
            b,
            &token,
            "POST",
            &format!("/api/v2/externalDashboards/{ext}/labels"),
            Some(json!({"labelID": label})),
        );
        call(
            &c,
            b,
            &token,
            "POST",
            "/api/v2/authorizations",
            Some(json!({"orgID": org, "description": "wallboard",
            "permissions": [{"action": "read", "resource": {"type": "dashboards", "orgID": org}}]})),
        );
        let r = c
            .post(format!("{b}/api/v2/signin"))
            .basic_auth("ada", Some("lovelace-123"))
            .send()
            .expect("signin");
        let cookie = r.headers()["set-cookie"]
            .to_str()
            .expect("cookie")
            .to_string();
        let session = cookie
            .split(';')
            .next()
            .and_then(|kv| kv.split_once('='))
            .expect("session")
            .1
            .to_string();
        (token, session)
    };
    let before = {
        let s = serve(&dir1, &[]);
        answers(&c, &s.base, &token, &session)
    };

    let d1 = dir1.to_string_lossy().into_owned();
    let d2 = dir2.to_string_lossy().into_owned();
    let (ok, out) = migrate(&d1, &pg, false);
    assert!(ok, "{out}");
    assert!(
        out.contains("dashboards")
            && out.contains("views")
            && out.contains("external dashboards")
            && out.contains("verified"),
        "{out}"
    );
    for kind in ["roles", "role assignments", "default dashboards"] {
        assert!(out.contains(kind), "{kind} in {out}");
    }
    eprintln!("{out}");
    let on_pg = {
        let s = serve(&dir2, &["--store-url".into(), pg.clone()]);
        let a = answers(&c, &s.base, &token, &session);
        // The copy is a working store: new IDs do not collide.
        let o = call(&c, &s.base, &token, "GET", "/api/v2/orgs", None);
        let org = o["orgs"][0]["id"].as_str().expect("org").to_string();
        call(
            &c,
            &s.base,
            &token,
            "POST",
            "/api/v2/dashboards",
            Some(json!({"orgID": org, "name": "after"})),
        );
        a
    };
    assert_eq!(before, on_pg, "PostgreSQL answers differently");

    // Into a non-empty target: refused, unless forced.
    let (ok, out) = migrate(&d1, &pg, false);
    assert!(!ok && out.contains("--force"), "{out}");
    let (ok, out) = migrate(&d1, &pg, true);
    assert!(ok, "{out}");

    let (ok, out) = migrate(&pg, &d2, false);
    assert!(ok, "{out}");
    let back = {
        let s = serve(&dir2, &[]);
        answers(&c, &s.base, &token, &session)
    };
    assert_eq!(
        before, back,
        "sled answers differently after the round trip"
    );
}
