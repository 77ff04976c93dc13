//! Running Tessera in production: stopping on SIGTERM without losing or
//! cutting off a request, TLS, the log, `/metrics` switched off. (The
//! exposition itself is parsed by Prometheus' own parser in
//! tests/clients/python/test_operations.py.)

mod common;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a load thread saw.
#[derive(Default)]
struct Outcomes {
    /// Names of dashboards whose creation was acknowledged (2xx).
    acknowledged: Vec<String>,
    /// Requests sent well before SIGTERM that got no answer.
    cut: Vec<String>,
    /// Requests after SIGTERM that were refused or cut (expected).
    refused_after_stop: usize,
}

/// A request written by hand, its body sent in two halves with a pause
/// between: it is in flight for as long as the pause lasts.
fn slow_dashboard_post(host: &str, token: &str, org: &str, name: &str) -> TcpStream {
    let body = json!({"orgID": org, "name": name}).to_string();
    let mut s = TcpStream::connect(host).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60))).ok();
    write!(
        s,
        "POST /api/v2/dashboards HTTP/1.1\r\nHost: {host}\r\nAuthorization: Token {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .expect("write head");
    let half = body.len() / 2;
    s.write_all(&body.as_bytes()[..half]).expect("write half");
    s.flush().ok();
    s
}

fn finish_slow_post(mut s: TcpStream, body: &str) -> String {
    let half = body.len() / 2;
    s.write_all(&body.as_bytes()[half..])
        .expect("write the rest");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("read the answer");
    answer
}

#[test]
fn sigterm_under_load_answers_every_request_and_keeps_every_acknowledged_write() {
    let mut s = Server::start_with(&["--shutdown-timeout", "30"]);
    let token = s.token.clone().expect("token");
    let org = s.org.clone();
    let base = s.base.clone();

    // A request that is in flight when SIGTERM arrives: its body is still
    // coming.
    let slow_name = "slow-in-flight".to_string();
    let slow_body = json!({"orgID": org, "name": slow_name}).to_string();
    let slow = slow_dashboard_post(s.host_port(), &token, &org, &slow_name);

    let stop = Arc::new(AtomicBool::new(false));
    let sigterm_at: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    let outcomes = Arc::new(Mutex::new(Outcomes::default()));
    let mut threads = Vec::new();
    for t in 0..6 {
        let (stop, sigterm_at, outcomes) = (stop.clone(), sigterm_at.clone(), outcomes.clone());
        let (token, org, base) = (token.clone(), org.clone(), base.clone());
        threads.push(std::thread::spawn(move || {
            // A connection per request: a pooled idle connection closed by
            // the server at the same moment would blur what is measured.
            let client = reqwest::blocking::Client::builder()
                .pool_max_idle_per_host(0)
                .timeout(Duration::from_secs(60))
                .build()
                .expect("client");
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                let name = format!("load-{t}-{i}");
                i += 1;
                let sent = Instant::now();
                let r = client
                    .post(format!("{base}/api/v2/dashboards"))
                    .header("Authorization", format!("Token {token}"))
                    .json(&json!({"orgID": org, "name": name}))
                    .send();
                let mut o = outcomes.lock().unwrap_or_else(|p| p.into_inner());
                match r {
                    Ok(r) if r.status().is_success() => o.acknowledged.push(name),
                    Ok(r) => panic!("{name}: unexpected {}", r.status()),
                    Err(e) => {
                        // Sent well before the signal: the server had taken
                        // it and owed it an answer.
                        let before = sigterm_at
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .is_none_or(|at| sent + Duration::from_millis(100) < at);
                        if before {
                            o.cut.push(format!("{name}: {e}"));
                        } else {
                            o.refused_after_stop += 1;
                        }
                        drop(o);
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
            }
        }));
    }

    std::thread::sleep(Duration::from_millis(1500));
    *sigterm_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    s.send_sigterm();
    // The slow request finishes its body after the signal.
    std::thread::sleep(Duration::from_millis(500));
    let answer = finish_slow_post(slow, &slow_body);
    assert!(
        answer.starts_with("HTTP/1.1 201"),
        "the request in flight at SIGTERM got: {answer:?}"
    );
    let status = s.wait_exit();
    stop.store(true, Ordering::SeqCst);
    for t in threads {
        t.join().expect("load thread");
    }
    assert_eq!(status.code(), Some(0), "exit status after SIGTERM");

    let o = outcomes.lock().unwrap_or_else(|p| p.into_inner());
    assert!(
        o.cut.is_empty(),
        "requests cut without an answer: {:?}",
        o.cut
    );
    assert!(
        o.acknowledged.len() > 10,
        "too little load: {} writes",
        o.acknowledged.len()
    );
    eprintln!(
        "acknowledged {} writes under load, {} refused after SIGTERM, 0 cut",
        o.acknowledged.len(),
        o.refused_after_stop
    );

    s.start_again();
    let listed = s.get(&format!("/api/v2/dashboards?orgID={org}"));
    let names: BTreeSet<String> = listed.expect(200)["dashboards"]
        .as_array()
        .expect("dashboards")
        .iter()
        .filter_map(|d| d["name"].as_str().map(str::to_owned))
        .collect();
    for name in o.acknowledged.iter().chain([&slow_name]) {
        assert!(names.contains(name), "acknowledged {name} lost on restart");
    }
}

/// Every line of a JSON log, parsed.
fn json_lines(log: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(log)
        .expect("log")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[test]
fn json_access_log_names_who_and_what_but_never_a_secret() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("tessera.log");
    let (_url, mut args) = fresh_store_args();
    args.extend(["--log-format", "json", "--log-level", "info"].map(String::from));
    let data = dir.path().join("data");
    let (mut child, base) = spawn_logging(&data, &args, Some(&log));
    let client = reqwest::blocking::Client::new();
    let password = "first-secret-password";
    let new_password = "second-secret-password";
    let own_token = "operator-token-that-must-not-leak";

    let setup: Value = client
        .post(format!("{base}/api/v2/setup"))
        .json(&json!({"username": "ada", "password": password, "org": "o", "bucket": "b", "token": own_token}))
        .send()
        .and_then(|r| r.error_for_status())
        .and_then(|r| r.json())
        .expect("setup");
    let user = setup["user"]["id"].as_str().expect("user").to_owned();
    let org = setup["org"]["id"].as_str().expect("org").to_owned();
    let operator_auth = setup["auth"]["id"].as_str().expect("auth").to_owned();

    // Sign in with the password; the session cookie is a secret too.
    let signin = client
        .post(format!("{base}/api/v2/signin"))
        .basic_auth("ada", Some(password))
        .send()
        .expect("signin");
    assert_eq!(signin.status(), 204);
    let cookie = signin
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("cookie")
        .to_owned();
    let session = cookie.split_once('=').expect("name=value").1.to_owned();
    let me = client
        .get(format!("{base}/api/v2/me"))
        .header("Cookie", &cookie)
        .send()
        .expect("me");
    assert_eq!(me.status(), 200);

    // A token minted, then used as Bearer.
    let minted: Value = client
        .post(format!("{base}/api/v2/authorizations"))
        .header("Authorization", format!("Token {own_token}"))
        .json(&json!({"orgID": org, "permissions": [{"action": "read", "resource": {"type": "dashboards", "orgID": org}}]}))
        .send()
        .and_then(|r| r.error_for_status())
        .and_then(|r| r.json())
        .expect("mint");
    let minted_token = minted["token"].as_str().expect("token").to_owned();
    let minted_id = minted["id"].as_str().expect("id").to_owned();
    let listed = client
        .get(format!("{base}/api/v2/dashboards?orgID={org}"))
        .header("Authorization", format!("Bearer {minted_token}"))
        .send()
        .expect("list");
    assert_eq!(listed.status(), 200);

    // Passwords changed both ways; a wrong one tried.
    let changed = client
        .put(format!("{base}/api/v2/me/password"))
        .basic_auth("ada", Some(password))
        .json(&json!({"password": new_password}))
        .send()
        .expect("me/password");
    assert_eq!(changed.status(), 204);
    let changed = client
        .post(format!("{base}/api/v2/users/{user}/password"))
        .header("Authorization", format!("Token {own_token}"))
        .json(&json!({"password": password}))
        .send()
        .expect("users/password");
    assert_eq!(changed.status(), 204);
    let wrong = client
        .post(format!("{base}/api/v2/signin"))
        .basic_auth("ada", Some(new_password))
        .send()
        .expect("signin");
    assert_eq!(wrong.status(), 401);
    let out = client
        .post(format!("{base}/api/v2/signout"))
        .header("Cookie", &cookie)
        .send()
        .expect("signout");
    assert_eq!(out.status(), 204);

    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(child.wait().expect("wait").code(), Some(0));

    let text = std::fs::read_to_string(&log).expect("log");
    for secret in [password, new_password, own_token, &minted_token, &session] {
        assert!(
            !text.contains(secret),
            "the log holds a secret {secret:?}:\n{text}"
        );
    }
    let lines = json_lines(&log);
    let access: Vec<&Value> = lines
        .iter()
        .filter(|l| l["target"] == "tessera::http")
        .collect();
    assert!(access.len() >= 9, "one line per request:\n{text}");
    for l in &access {
        for field in [
            "ts",
            "level",
            "request_id",
            "method",
            "route",
            "path",
            "status",
            "duration_ms",
            "bytes",
        ] {
            assert!(!l[field].is_null(), "{field} missing in {l}");
        }
        assert!(l["status"].is_u64() && l["duration_ms"].is_number(), "{l}");
    }
    let find = |method: &str, route: &str| {
        access
            .iter()
            .find(|l| l["method"] == method && l["route"] == route)
            .unwrap_or_else(|| panic!("no access line for {method} {route}:\n{text}"))
    };
    let bearer = find("GET", "/api/v2/dashboards");
    assert_eq!(bearer["token_id"], minted_id.as_str());
    assert_eq!(bearer["user_id"], user.as_str());
    let by_cookie = find("GET", "/api/v2/me");
    assert_eq!(by_cookie["user_id"], user.as_str());
    assert!(by_cookie["token_id"].is_null(), "{by_cookie}");
    assert_eq!(
        find("POST", "/api/v2/users/{userID}/password")["token_id"],
        operator_auth.as_str()
    );
    let messages: Vec<&str> = lines.iter().filter_map(|l| l["message"].as_str()).collect();
    assert!(
        messages.iter().any(|m| m.starts_with("shutting down")),
        "{text}"
    );
    assert!(messages.contains(&"stopped"), "{text}");
    assert!(
        !lines
            .iter()
            .any(|l| l["level"] == "warn" || l["level"] == "error"),
        "{text}"
    );
}

#[test]
fn metrics_disabled_answers_404() {
    let s = Server::start_with(&["--metrics-disabled"]);
    s.anonymous()
        .get("/metrics")
        .expect_error(404, "not found", "");
    let on = Server::start();
    let r = on.anonymous().req(Method::GET, "/metrics", None);
    assert_eq!(r.status, 200);
    assert!(r.text.contains("tessera_build_info{"), "{}", r.text);
}

/// A certificate for localhost and 127.0.0.1 made now, written as PEM
/// files; returns (cert path, key path, cert PEM).
fn certificate(dir: &std::path::Path) -> (String, String, String) {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("certificate");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, made.cert.pem()).expect("write cert");
    std::fs::write(&key, made.key_pair.serialize_pem()).expect("write key");
    (
        cert.display().to_string(),
        key.display().to_string(),
        made.cert.pem(),
    )
}

fn https_client(ca_pem: &str, max: Option<reqwest::tls::Version>) -> reqwest::blocking::Client {
    let mut b = reqwest::blocking::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).expect("CA"))
        .timeout(Duration::from_secs(20));
    if let Some(v) = max {
        b = b.max_tls_version(v);
    }
    b.build().expect("client")
}

/// A server started with extra flags; its child and URL.
fn start_with_flags(dir: &std::path::Path, flags: &[&str]) -> (std::process::Child, String) {
    let (_url, mut args) = fresh_store_args();
    args.extend(flags.iter().map(|s| s.to_string()));
    spawn(&dir.join("data"), &args)
}

fn stop(mut child: std::process::Child) {
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(child.wait().expect("wait").code(), Some(0));
}

#[test]
fn https_with_a_certificate_made_at_test_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key, ca) = certificate(dir.path());
    let (child, url) = start_with_flags(dir.path(), &["--tls-cert", &cert, "--tls-key", &key]);
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let client = https_client(&ca, None);
    let setup = client
        .post(format!("{url}/api/v2/setup"))
        .json(&json!({"username": ADMIN, "password": ADMIN_PASSWORD, "org": "o", "bucket": "b"}))
        .send()
        .expect("setup over https");
    assert_eq!(setup.status(), 201);
    let token: Value = setup.json().expect("json");
    let me = client
        .get(format!("{url}/api/v2/me"))
        .header(
            "Authorization",
            format!("Token {}", token["auth"]["token"].as_str().expect("token")),
        )
        .send()
        .expect("me");
    assert_eq!(me.status(), 200);
    // TLS 1.2 is accepted by default.
    let tls12 = https_client(&ca, Some(reqwest::tls::Version::TLS_1_2));
    assert_eq!(
        tls12
            .get(format!("{url}/health"))
            .send()
            .expect("1.2")
            .status(),
        200
    );
    // Plain HTTP on the TLS port gets no answer.
    let plain = url.replacen("https://", "http://", 1);
    assert!(reqwest::blocking::get(format!("{plain}/health"))
        .map(|r| !r.status().is_success())
        .unwrap_or(true));
    stop(child);
}

#[test]
fn tls_min_version_1_3_refuses_1_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key, ca) = certificate(dir.path());
    let (child, url) = start_with_flags(
        dir.path(),
        &[
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
            "--tls-min-version",
            "1.3",
        ],
    );
    let tls13 = https_client(&ca, None);
    assert_eq!(
        tls13
            .get(format!("{url}/health"))
            .send()
            .expect("1.3")
            .status(),
        200
    );
    let tls12 = https_client(&ca, Some(reqwest::tls::Version::TLS_1_2));
    assert!(
        tls12.get(format!("{url}/health")).send().is_err(),
        "a TLS 1.2 client was served"
    );
    stop(child);
}

#[test]
fn a_certificate_or_key_that_does_not_load_stops_start_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key, _) = certificate(dir.path());
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate").expect("write");
    let other = rcgen::KeyPair::generate().expect("key");
    let other_key = dir.path().join("other-key.pem");
    std::fs::write(&other_key, other.serialize_pem()).expect("write");
    let missing = dir.path().join("missing.pem").display().to_string();
    let garbage = garbage.display().to_string();
    let other_key = other_key.display().to_string();
    let cases: [(&str, &str, &str); 4] = [
        (&missing, &key, "TLS certificate"),
        (&garbage, &key, "holds no PEM certificate"),
        (&cert, &garbage, "TLS key"),
        (&cert, &other_key, "does not fit"),
    ];
    for (c, k, says) in cases {
        let (_url, mut args) = fresh_store_args();
        args.extend(["--tls-cert", c, "--tls-key", k].map(String::from));
        let out = std::process::Command::new(bin())
            .args(["--http-bind-address", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path().join("data"))
            .args(&args)
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "started with {c} / {k}");
        assert!(err.contains(says), "for {c} / {k}, stderr: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

fn dashboard_with_cells(org: &str, name: &str) -> Value {
    let cells: Vec<Value> = (0..3)
        .map(|i| {
            json!({"x": 0, "y": i * 4, "w": 12, "h": 4, "name": format!("{name}-{i}"),
                   "properties": {"type": "markdown", "shape": "chronograf-v2", "note": format!("{name} cell {i}")}})
        })
        .collect();
    json!({"orgID": org, "name": name, "cells": cells})
}

#[test]
fn backup_under_write_load_restores_every_acknowledged_write_untorn() {
    let s = Server::start();
    let token = s.token.clone().expect("token");
    let dir = tempfile::tempdir().expect("tempdir");
    let backup_dir = dir.path().join("backup");
    let backup = |host: &str, token: &str| {
        std::process::Command::new(bin())
            .args(["backup", "--host", host, "--token", token])
            .arg(&backup_dir)
            .output()
            .expect("run backup")
    };
    if on_postgres() {
        let out = backup(&s.base, &token);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("pg_dump"), "{err}");
        return;
    }
    // Only an operator token may take one.
    let reader = s.post(
        "/api/v2/authorizations",
        &json!({"orgID": s.org, "permissions": [{"action": "read", "resource": {"type": "dashboards", "orgID": s.org}}]}),
    );
    let reader = reader.expect(201)["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let refused = backup(&s.base, &reader);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("403"));

    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
    let mut threads = Vec::new();
    for t in 0..4 {
        let (stop, acknowledged) = (stop.clone(), acknowledged.clone());
        let (token, org, base) = (token.clone(), s.org.clone(), s.base.clone());
        threads.push(std::thread::spawn(move || {
            let client = reqwest::blocking::Client::new();
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                let name = format!("load-{t}-{i}");
                i += 1;
                let r = client
                    .post(format!("{base}/api/v2/dashboards"))
                    .header("Authorization", format!("Token {token}"))
                    .json(&dashboard_with_cells(&org, &name))
                    .send()
                    .expect("the server answers while backing up");
                assert_eq!(r.status().as_u16(), 201, "{name}");
                acknowledged
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((name, Instant::now()));
            }
        }));
    }
    std::thread::sleep(Duration::from_millis(800));
    let started = Instant::now();
    let out = backup(&s.base, &token);
    assert!(
        out.status.success(),
        "backup failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::SeqCst);
    for t in threads {
        t.join().expect("load thread");
    }
    let acknowledged = acknowledged.lock().unwrap_or_else(|p| p.into_inner());
    let before: Vec<&String> = acknowledged
        .iter()
        .filter(|(_, at)| *at < started)
        .map(|(n, _)| n)
        .collect();
    assert!(before.len() >= 5, "too little load: {}", before.len());

    let manifest: Value =
        serde_json::from_slice(&std::fs::read(backup_dir.join("manifest.json")).expect("manifest"))
            .expect("manifest json");
    let count = |kind: &str| {
        manifest["files"]
            .as_array()
            .expect("files")
            .iter()
            .find(|f| f["kind"] == kind)
            .and_then(|f| f["records"].as_u64())
            .unwrap_or(0)
    };
    assert!(count("dashboards") >= before.len() as u64, "{manifest}");
    assert_eq!(count("views"), 3 * count("dashboards"), "{manifest}");
    assert!(
        count("versions") >= count("dashboards"),
        "history goes along: {manifest}"
    );

    // A damaged file is refused on restore.
    let damaged = dir.path().join("damaged");
    std::fs::create_dir(&damaged).expect("mkdir");
    for e in std::fs::read_dir(&backup_dir).expect("backup dir") {
        let e = e.expect("entry");
        std::fs::copy(e.path(), damaged.join(e.file_name())).expect("copy");
    }
    let dash_file = damaged.join("dashboards.jsonl");
    let mut text = std::fs::read_to_string(&dash_file).expect("dashboards.jsonl");
    text = text.replacen("load-", "LOAD-", 1);
    std::fs::write(&dash_file, text).expect("damage");
    let restore = |from: &std::path::Path, to: &std::path::Path, force: bool| {
        let mut c = std::process::Command::new(bin());
        c.arg("restore").arg(from).arg("--data-dir").arg(to);
        if force {
            c.arg("--force");
        }
        c.output().expect("run restore")
    };
    let out = restore(&damaged, &dir.path().join("x"), false);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("checksum"));

    let restored = dir.path().join("restored");
    let out = restore(&backup_dir, &restored, false);
    assert!(
        out.status.success(),
        "restore: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Not over a directory that holds something, unless --force.
    let again = restore(&backup_dir, &restored, false);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    let forced = restore(&backup_dir, &restored, true);
    assert!(
        forced.status.success(),
        "{}",
        String::from_utf8_lossy(&forced.stderr)
    );

    let (mut child, base) = spawn(&restored, &[]);
    let client = reqwest::blocking::Client::new();
    let get = |path: &str| -> Value {
        client
            .get(format!("{base}{path}"))
            .header("Authorization", format!("Token {token}"))
            .send()
            .and_then(|r| r.error_for_status())
            .and_then(|r| r.json())
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    };
    let list = get(&format!("/api/v2/dashboards?orgID={}", s.org));
    let dashboards = list["dashboards"].as_array().expect("dashboards");
    let names: BTreeSet<&str> = dashboards
        .iter()
        .filter_map(|d| d["name"].as_str())
        .collect();
    for name in &before {
        assert!(
            names.contains(name.as_str()),
            "{name}, acknowledged before the backup, is missing"
        );
    }
    for d in dashboards {
        let name = d["name"].as_str().expect("name");
        let full = get(&format!(
            "/api/v2/dashboards/{}?include=properties",
            d["id"].as_str().expect("id")
        ));
        let cells = full["cells"].as_array().expect("cells");
        assert_eq!(cells.len(), 3, "{name} is torn: {full}");
        for c in cells {
            let note = c["properties"]["note"].as_str().unwrap_or_default();
            assert!(
                note.starts_with(&format!("{name} cell ")),
                "{name} is torn: {c}"
            );
        }
    }
    eprintln!(
        "backup under load: {} writes acknowledged before it, {} dashboards restored, none torn",
        before.len(),
        dashboards.len()
    );
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(child.wait().expect("wait").code(), Some(0));
}

/// A one-request HTTPS server standing in for InfluxDB, with the
/// certificate in `cert`/`key`; returns its URL and what it was asked.
fn https_upstream(cert: &str, key: &str) -> (String, std::thread::JoinHandle<String>) {
    use rustls_pki_types::pem::PemObject;
    let certs = rustls_pki_types::CertificateDer::pem_file_iter(cert)
        .expect("cert")
        .collect::<Result<Vec<_>, _>>()
        .expect("cert");
    let key = rustls_pki_types::PrivateKeyDer::from_pem_file(key).expect("key");
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server config"),
    );
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("https://localhost:{}", l.local_addr().expect("addr").port());
    let h = std::thread::spawn(move || {
        let (tcp, _) = l.accept().expect("accept");
        let conn = rustls::ServerConnection::new(config).expect("tls");
        let mut s = rustls::StreamOwned::new(conn, tcp);
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            match s.read(&mut byte) {
                Ok(1) => head.push(byte[0]),
                // A client that does not trust us hangs up in the handshake.
                _ => return String::new(),
            }
        }
        let head = String::from_utf8_lossy(&head).into_owned();
        let len: usize = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse().unwrap_or(0))
            })
            .unwrap_or(0);
        let mut body = vec![0u8; len];
        s.read_exact(&mut body).expect("body");
        let csv = ",result,table,_value\r\n,_result,0,42\r\n";
        write!(s, "HTTP/1.1 200 OK\r\nContent-Type: text/csv; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{csv}", csv.len()).expect("write");
        s.flush().ok();
        s.conn.send_close_notify();
        let _ = s.flush();
        head
    });
    (url, h)
}

#[test]
fn https_query_upstream_with_its_own_ca() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key, _) = certificate(dir.path());
    let (upstream, h) = https_upstream(&cert, &key);
    let s = Server::start_with(&[
        "--query-upstream",
        &upstream,
        "--query-upstream-token",
        "upstream-secret",
        "--query-upstream-ca",
        &cert,
    ]);
    let q = json!({"query": "from(bucket: \"b\") |> range(start: -1h)", "type": "flux"});
    let r = s.post(&format!("/api/v2/query?orgID={}", s.org), &q);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.text, ",result,table,_value\r\n,_result,0,42\r\n");
    let head = h.join().expect("upstream");
    assert!(head.starts_with("POST /api/v2/query?orgID="), "{head}");
    assert!(head
        .to_ascii_lowercase()
        .contains("authorization: token upstream-secret"));

    // Without the CA, the upstream's certificate is not trusted.
    let (upstream, _h) = https_upstream(&cert, &key);
    let s = Server::start_with(&["--query-upstream", &upstream]);
    let r = s.post(&format!("/api/v2/query?orgID={}", s.org), &q);
    assert_eq!(r.status, 503, "{}", r.text);

    // A CA file that does not load stops start-up.
    let out = std::process::Command::new(bin())
        .args(["--http-bind-address", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .args(["--query-upstream", &upstream, "--query-upstream-ca"])
        .arg(dir.path().join("missing.pem"))
        .args(fresh_store_args().1)
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("query upstream CA"));
}

#[test]
fn one_blocking_thread_queues_concurrent_writes_and_keeps_each() {
    // The smallest pool: writes wait for its thread instead of failing.
    let mut s = Server::start_with(&["--blocking-threads", "1", "--http-workers", "1"]);
    let org = s.create_org("acme");
    let written: BTreeSet<String> = std::thread::scope(|scope| {
        let writers: Vec<_> = (0..8)
            .map(|w| {
                let (s, org) = (&s, &org);
                scope.spawn(move || {
                    (0..5)
                        .map(|i| {
                            let name = format!("writer {w} dashboard {i}");
                            assert_eq!(s.create_dashboard(org, &name)["name"], name);
                            name
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        writers
            .into_iter()
            .flat_map(|h| h.join().expect("writer"))
            .collect()
    });
    assert_eq!(written.len(), 40);
    s.crash_and_restart();
    let listed = s
        .get(&format!("/api/v2/dashboards?orgID={org}"))
        .expect(200)["dashboards"]
        .as_array()
        .expect("dashboards")
        .iter()
        .map(|d| d["name"].as_str().expect("name").to_string())
        .collect::<BTreeSet<_>>();
    assert_eq!(listed, written);
}

#[test]
fn thread_counts_actix_cannot_run_are_refused() {
    // actix panics on 0 workers or more than 512; a blocking pool of no
    // threads would never run a write.
    for (flag, value) in [
        ("--blocking-threads", "0"),
        ("--http-workers", "0"),
        ("--http-workers", "513"),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = std::process::Command::new(bin())
            .args([flag, value, "--http-bind-address", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(dir.path())
            .output()
            .expect("run tessera");
        assert!(!out.status.success(), "{flag} {value} was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("invalid value '{value}' for '{flag}")),
            "{flag} {value}: {err}"
        );
        assert!(
            std::fs::read_dir(dir.path()).expect("dir").next().is_none(),
            "a refused start wrote to the data directory"
        );
    }
}
