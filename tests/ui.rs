//! The Influx UI's side of Tessera: static assets, the SPA fallback, the small
//! endpoints every page calls, the query forwarder, and a replay of the UI's
//! dashboard flow with only a session cookie.

mod common;

use common::{Cred, Server, ADMIN, ADMIN_PASSWORD};
use serde_json::json;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};

/// A request sent byte for byte (HTTP clients normalise `..` away).
fn raw_get(base: &str, path: &str, extra: &str) -> (u16, String, Vec<u8>) {
    let addr = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{extra}\r\n"
    )
    .expect("write");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).expect("read");
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("head end");
    let head = String::from_utf8_lossy(&buf[..split]).to_string();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status");
    (status, head.to_ascii_lowercase(), buf[split + 4..].to_vec())
}

fn assets_dir() -> (tempfile::TempDir, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tmp");
    let outside = tempfile::tempdir().expect("tmp");
    let p = dir.path();
    std::fs::write(
        p.join("index.html"),
        "<!doctype html><title>Influx UI</title>",
    )
    .expect("w");
    std::fs::write(p.join("main.3f9a1c2b.js"), "console.log('plain')").expect("w");
    // A precompressed sibling: the bytes are served as they are.
    std::fs::write(p.join("main.3f9a1c2b.js.gz"), b"\x1f\x8bGZIPPED").expect("w");
    std::fs::create_dir(p.join("fonts")).expect("mkdir");
    std::fs::write(p.join("fonts/roboto.woff2"), b"wOF2").expect("w");
    std::fs::write(outside.path().join("secret.txt"), "top secret").expect("w");
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), p.join("leak.txt"))
        .expect("symlink");
    (dir, outside)
}

#[test]
fn serves_assets_with_fallback_and_caching() {
    let (dir, _outside) = assets_dir();
    let s = Server::start_with(&["--assets-path", dir.path().to_str().expect("utf8")]);
    let (st, head, body) = raw_get(&s.base, "/", "");
    assert_eq!(st, 200);
    assert!(head.contains("content-type: text/html"), "{head}");
    assert!(head.contains("cache-control: no-cache"), "{head}");
    assert_eq!(body, b"<!doctype html><title>Influx UI</title>");

    let (st, head, body) = raw_get(&s.base, "/main.3f9a1c2b.js", "");
    assert_eq!(st, 200);
    assert!(head.contains("content-type: text/javascript"), "{head}");
    assert!(
        head.contains("cache-control: public, max-age=31536000, immutable"),
        "{head}"
    );
    assert!(!head.contains("content-encoding"));
    assert_eq!(body, b"console.log('plain')");
    let (_, head, body) = raw_get(
        &s.base,
        "/main.3f9a1c2b.js",
        "Accept-Encoding: br, gzip\r\n",
    );
    assert!(head.contains("content-encoding: gzip"), "{head}");
    assert!(head.contains("vary: accept-encoding"), "{head}");
    assert_eq!(body, b"\x1f\x8bGZIPPED");
    let (_, head, _) = raw_get(
        &s.base,
        "/main.3f9a1c2b.js",
        "Accept-Encoding: gzip;q=0\r\n",
    );
    assert!(!head.contains("content-encoding"), "{head}");
    let (st, head, _) = raw_get(&s.base, "/fonts/roboto.woff2", "");
    assert_eq!(st, 200);
    assert!(head.contains("content-type: font/woff2"));

    // Client-side routes get the app.
    for path in [
        "/signin",
        "/orgs/0000000000000001/dashboards/0000000000000002",
        "/me/account",
    ] {
        let (st, head, body) = raw_get(&s.base, path, "");
        assert_eq!(st, 200, "{path}");
        assert!(head.contains("no-cache"));
        assert_eq!(body, b"<!doctype html><title>Influx UI</title>", "{path}");
    }
    // API paths never fall through (`/metrics` itself is served: tests/ops.rs).
    for path in [
        "/api/v2/nope",
        "/api/v2private/nope",
        "/metrics/nope",
        "/debug/pprof/heap",
        "/api",
    ] {
        let (st, head, body) = raw_get(&s.base, path, "");
        assert_eq!(st, 404, "{path}");
        assert!(head.contains("application/json"), "{path}: {head}");
        let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(v["message"], "path not found");
    }
    // Traversal, encoded or not, and symlinks out of the directory.
    for path in [
        "/../Cargo.toml",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/fonts/..%2f..%2fetc%2fpasswd",
        "/leak.txt",
        "/%2fetc%2fpasswd",
        "/fonts/%5c..%5csecret",
    ] {
        let (st, head, body) = raw_get(&s.base, path, "");
        assert!(st == 400 || st == 404, "{path}: {st}");
        assert!(head.contains("application/json"), "{path}: {head}");
        assert!(
            !String::from_utf8_lossy(&body).contains("top secret"),
            "{path}"
        );
        assert!(!String::from_utf8_lossy(&body).contains("root:"), "{path}");
    }
    // Writes to non-API paths are not served from the assets.
    let r = s.send(s.raw(reqwest::Method::POST, "/signin"));
    assert_eq!(r.status, 404);
}

#[test]
fn without_assets_the_root_explains_itself() {
    let s = Server::start();
    let (st, head, body) = raw_get(&s.base, "/", "");
    assert_eq!(st, 200);
    assert!(head.contains("text/html"));
    let page = String::from_utf8_lossy(&body);
    assert!(
        page.contains("Tessera")
            && page.contains("--assets-path")
            && page.contains("/api/v2/openapi.json")
    );
    let (st, head, _) = raw_get(&s.base, "/signin", "");
    assert_eq!(st, 404);
    assert!(head.contains("application/json"));
}

/// A one-request HTTP server standing in for InfluxDB.
fn fake_upstream() -> (String, std::thread::JoinHandle<(String, String)>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = format!("http://{}", l.local_addr().expect("addr"));
    let h = std::thread::spawn(move || {
        let (mut s, _) = l.accept().expect("accept");
        let mut r = BufReader::new(s.try_clone().expect("clone"));
        let mut head = String::new();
        let mut len = 0usize;
        loop {
            let mut line = String::new();
            r.read_line(&mut line).expect("line");
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap_or(0);
            }
            head.push_str(&line);
        }
        let mut body = vec![0u8; len];
        r.read_exact(&mut body).expect("body");
        let csv = ",result,table,_value\r\n,_result,0,42\r\n";
        write!(s, "HTTP/1.1 200 OK\r\nContent-Type: text/csv; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{csv}", csv.len()).expect("write");
        (head, String::from_utf8_lossy(&body).to_string())
    });
    (addr, h)
}

#[test]
fn queries_go_to_the_upstream_or_answer_501() {
    let s = Server::start();
    let q = json!({"query": "from(bucket: \"b\") |> range(start: -1h)", "type": "flux"});
    let r = s.post(&format!("/api/v2/query?orgID={}", s.org), &q);
    // The fix leads: a one-row cell shows only the start of the message.
    r.expect_error(
        501,
        "not implemented",
        "no query upstream: start Tessera with --query-upstream URL --query-upstream-token TOKEN (TESSERA_QUERY_UPSTREAM",
    );
    s.anonymous()
        .post("/api/v2/query", &q)
        .expect_error(401, "unauthorized", "");

    let (upstream, h) = fake_upstream();
    let s = Server::start_with(&[
        "--query-upstream",
        &upstream,
        "--query-upstream-token",
        "upstream-secret",
    ]);
    let r = s.send(
        s.authed(
            reqwest::Method::POST,
            &format!("/api/v2/query?orgID={}", s.org),
        )
        .header("content-type", "application/json")
        .header("accept", "application/csv")
        .body(q.to_string()),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
    assert_eq!(r.text, ",result,table,_value\r\n,_result,0,42\r\n");
    let (head, body) = h.join().expect("upstream");
    assert!(
        head.starts_with(&format!("POST /api/v2/query?orgID={} ", s.org)),
        "{head}"
    );
    let lower = head.to_ascii_lowercase();
    assert!(
        lower.contains("authorization: token upstream-secret"),
        "{head}"
    );
    assert!(lower.contains("accept: application/csv"), "{head}");
    assert!(
        !lower.contains(
            s.token
                .as_deref()
                .unwrap_or("-")
                .to_ascii_lowercase()
                .as_str()
        ),
        "our token leaked upstream"
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).expect("json"),
        q
    );
}

#[test]
fn the_ui_dashboard_flow_with_a_session_cookie() {
    let s = Server::start();
    let ui = s.with(Cred::Cookie(
        s.sign_in(ADMIN, ADMIN_PASSWORD).expect("sign in"),
    ));
    let anon = s.anonymous();
    // Sign-in flow.
    assert_eq!(anon.get("/api/v2/setup").expect(200)["allowed"], false);
    anon.get("/api/v2/me").expect_error(401, "unauthorized", "");
    assert_eq!(ui.get("/api/v2/me").expect(200)["name"], ADMIN);
    assert_eq!(ui.get("/api/v2/flags").expect(200).clone(), json!({}));
    let orgs = ui.get("/api/v2/orgs").expect(200).clone();
    let org = orgs["orgs"][0]["id"].as_str().expect("org").to_string();
    // Dashboards page.
    assert_eq!(
        ui.get(&format!("/api/v2/dashboards?orgID={org}&limit=100"))
            .expect(200)["dashboards"],
        json!([])
    );
    // Creating: the UI sends cells: [].
    let d = ui
        .post(
            "/api/v2/dashboards",
            &json!({"orgID": org, "name": "Name this Dashboard", "cells": []}),
        )
        .expect(201)
        .clone();
    let id = d["id"].as_str().expect("id").to_string();
    let base = format!("/api/v2/dashboards/{id}");
    assert_eq!(
        ui.patch(&base, &json!({"name": "Plant floor"})).expect(200)["name"],
        "Plant floor"
    );
    // Add a note cell the way the UI does, then set its view.
    let cell = ui.post(&format!("{base}/cells"), &json!({"id": "fe8d1a92", "x": 0, "y": 0, "w": 4, "h": 4, "links": {"self": "", "view": ""}, "status": "Loading", "name": "Name this Cell"})).expect(201).clone();
    let cid = cell["id"].as_str().expect("cell").to_string();
    let note = json!({"shape": "chronograf-v2", "type": "markdown", "note": "**Plant** status"});
    let v = ui
        .patch(
            &format!("{base}/cells/{cid}/view"),
            &json!({"id": cid, "name": "Notes", "properties": note, "status": "Done", "links": {}}),
        )
        .expect(200)
        .clone();
    assert_eq!(v["properties"], note);
    // Rearranging: every cell carries name, dashboardID, status, i and links.
    let grid = json!([{"id": cid, "x": 2, "y": 1, "w": 8, "h": 3, "name": "Notes", "dashboardID": id, "status": "Done", "i": cid, "links": {"self": "", "view": ""}}]);
    assert_eq!(
        ui.put(&format!("{base}/cells"), &grid).expect(201)["cells"][0]["w"],
        8
    );
    // Opening the dashboard.
    let full = ui
        .get(&format!("{base}?include=properties"))
        .expect(200)
        .clone();
    assert_eq!(full["cells"][0]["properties"], note);
    assert_eq!(full["cells"][0]["name"], "Notes");
    assert_eq!(
        (
            full["cells"][0]["x"].as_i64(),
            full["cells"][0]["w"].as_i64()
        ),
        (Some(2), Some(8))
    );
    let vars = ui
        .get(&format!("/api/v2/variables?orgID={org}"))
        .expect(200)
        .clone();
    assert_eq!(vars["variables"], json!([]));
    assert!(vars["links"]["self"]
        .as_str()
        .unwrap_or("")
        .starts_with("/api/v2/variables"));
    let buckets = ui
        .get(&format!("/api/v2/buckets?orgID={org}"))
        .expect(200)
        .clone();
    assert_eq!(buckets["buckets"][0]["name"], "default");
    assert!(buckets["buckets"][0]["retentionRules"].is_array());
    let bid = buckets["buckets"][0]["id"]
        .as_str()
        .expect("bucket")
        .to_string();
    assert_eq!(
        ui.get(&format!("/api/v2/buckets/{bid}")).expect(200)["id"],
        bid.as_str()
    );
    ui.get("/api/v2/buckets/00000000000000aa")
        .expect_error(404, "not found", "bucket not found");
    assert_eq!(
        ui.get("/api/v2private/annotations?stream=default")
            .expect(200)
            .clone(),
        json!([])
    );
    ui.post(
        &format!("/api/v2/query?orgID={org}"),
        &json!({"query": "x"}),
    )
    .expect_error(501, "not implemented", "");
    assert_eq!(s.get("/health").expect(200)["status"], "pass");
    // Deleting.
    assert_eq!(ui.delete(&base).status, 204);
    ui.get(&base)
        .expect_error(404, "not found", "dashboard not found");
    assert_eq!(
        ui.req(reqwest::Method::POST, "/api/v2/signout", None)
            .status,
        204
    );
    ui.get("/api/v2/me").expect_error(401, "unauthorized", "");
}
