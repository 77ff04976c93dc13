//! External dashboards: CRUD read back (and after a restart), validation,
//! ordering, labels, rights, org deletion, and the frame probe against
//! local HTTPS servers sending each header variant.

mod common;

use common::{Cred, Server};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const BASE: &str = "/api/v2/externalDashboards";

fn create(s: &Server, body: Value) -> Value {
    s.post(BASE, &body).expect(201).clone()
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

fn names(s: &Server, org: &str) -> Vec<String> {
    let r = s.get(&format!("{BASE}?orgID={org}"));
    r.expect(200)["externalDashboards"]
        .as_array()
        .expect("list")
        .iter()
        .map(|d| d["name"].as_str().expect("name").to_string())
        .collect()
}

#[test]
fn create_read_back_patch_restart_delete() {
    let mut s = Server::start();
    let org = s.org.clone();
    let roles = s.get(&format!("/api/v2/orgs/{org}/roles"));
    let viewer = roles.expect(200)["roles"][1].clone();
    assert_eq!(viewer["name"], "Viewer");
    let viewer = id(&viewer);
    let made = create(
        &s,
        json!({"orgID": org, "name": "Grafana prod", "description": "boilers",
               "url": "https://localhost/grafana/d/abc?orgId=1",
               "iconUrl": "https://localhost/icon.png", "displayOrder": 5,
               "roleIDs": [viewer]}),
    );
    let a = id(&made);
    assert_eq!(made["orgID"], org.as_str());
    assert_eq!(made["url"], "https://localhost/grafana/d/abc?orgId=1");
    assert_eq!(made["iconUrl"], "https://localhost/icon.png");
    assert_eq!(made["displayOrder"], 5);
    assert_eq!(made["isActive"], true);
    assert_eq!(made["roleIDs"], json!([viewer]));
    assert_eq!(made["labels"], json!([]));
    assert_eq!(made["links"]["self"], format!("{BASE}/{a}"));
    // Probed at once: localhost is private, so refused, and recorded.
    assert!(made["probedAt"].is_string(), "{made}");
    assert_eq!(made["allowInIframe"], Value::Null);
    let err = made["probeError"].as_str().expect("probe error");
    assert!(err.contains("--allow-private-probe"), "{err}");

    let got = s.get(&format!("{BASE}/{a}"));
    assert_eq!(got.expect(200), &made);

    for (name, order) in [("zeta", 1), ("alpha", 5), ("Ops wiki", 0)] {
        create(
            &s,
            json!({"orgID": org, "name": name, "url": "https://localhost/x", "displayOrder": order}),
        );
    }
    assert_eq!(
        names(&s, &org),
        ["Ops wiki", "zeta", "alpha", "Grafana prod"]
    );

    let patched = s.patch(
        &format!("{BASE}/{a}"),
        &json!({"description": "pumps", "displayOrder": 0, "isActive": false,
                "iconUrl": null, "roleIDs": []}),
    );
    let patched = patched.expect(200).clone();
    assert_eq!(patched["description"], "pumps");
    assert_eq!(patched["isActive"], false);
    assert_eq!(patched["iconUrl"], Value::Null);
    assert_eq!(patched["roleIDs"], json!([]));
    // The URL did not change: the last probe stands.
    assert_eq!(patched["probedAt"], made["probedAt"]);
    assert_eq!(patched["createdAt"], made["createdAt"]);
    assert_ne!(patched["updatedAt"], made["updatedAt"]);
    assert_eq!(
        names(&s, &org),
        ["Grafana prod", "Ops wiki", "zeta", "alpha"]
    );

    s.crash_and_restart();
    assert_eq!(s.get(&format!("{BASE}/{a}")).expect(200), &patched);
    assert_eq!(
        names(&s, &org),
        ["Grafana prod", "Ops wiki", "zeta", "alpha"]
    );

    s.delete(&format!("{BASE}/{a}")).expect(204);
    s.get(&format!("{BASE}/{a}"))
        .expect_error(404, "not found", "external dashboard not found");
    s.delete(&format!("{BASE}/{a}"))
        .expect_error(404, "not found", "external dashboard not found");
    s.get(&format!("{BASE}/zzz"))
        .expect_error(400, "invalid", "");
    s.anonymous()
        .get(&format!("{BASE}?orgID={org}"))
        .expect_error(401, "unauthorized", "");
    s.crash_and_restart();
    assert_eq!(names(&s, &org), ["Ops wiki", "zeta", "alpha"]);
}

#[test]
fn validation_and_name_conflicts() {
    let s = Server::start();
    let org = s.org.clone();
    let ok = json!({"orgID": org, "name": "wiki", "url": "https://localhost/w"});
    let with = |k: &str, v: Value| {
        let mut b = ok.clone();
        b[k] = v;
        b
    };
    let cases = [
        (
            with("url", json!("http://localhost/w")),
            "url must be an absolute https:// URL",
        ),
        (
            with("url", json!("/relative")),
            "url must be an absolute https:// URL",
        ),
        (
            with("url", json!("https://user:pw@localhost/")),
            "url must not carry credentials",
        ),
        (with("url", Value::Null), "url is required"),
        (
            with("iconUrl", json!("http://localhost/i.png")),
            "iconUrl must be an absolute https:// URL",
        ),
        (with("name", json!("  ")), "name is required"),
        (
            with("name", json!("n".repeat(256))),
            "name must be at most 255 characters",
        ),
        (
            with("description", json!("d".repeat(1001))),
            "description must be at most 1000",
        ),
        (
            with("displayOrder", json!(1001)),
            "displayOrder must be between 0 and 1000",
        ),
        (
            with("displayOrder", json!(-1)),
            "displayOrder must be between 0 and 1000",
        ),
        (with("roleIDs", json!(["nope"])), "roleIDs[0]"),
        (with("orgID", Value::Null), "orgID is required"),
    ];
    for (body, msg) in cases {
        s.post(BASE, &body).expect_error(400, "invalid", msg);
    }
    s.post(BASE, &with("orgID", json!("00000000000000aa")))
        .expect_error(404, "not found", "organization not found");
    assert!(names(&s, &org).is_empty(), "nothing refused was created");

    // Exactly at the bounds is fine.
    let edge = create(
        &s,
        json!({"orgID": org, "name": "é".repeat(255), "description": "d".repeat(1000),
               "url": "https://localhost/e", "displayOrder": 1000}),
    );
    assert_eq!(edge["displayOrder"], 1000);

    let w = create(&s, ok.clone());
    s.post(BASE, &with("name", json!("WIKI"))).expect_error(
        409,
        "conflict",
        "external dashboard with name WIKI already exists",
    );
    // The same name in another org is fine.
    let other = s.create_org("elsewhere");
    create(&s, with("orgID", json!(other)));

    let second = create(&s, with("name", json!("runbooks")));
    let path = format!("{BASE}/{}", id(&second));
    s.patch(&path, &json!({"name": "Wiki"}))
        .expect_error(409, "conflict", "");
    s.patch(&path, &json!({"url": "http://localhost/"}))
        .expect_error(400, "invalid", "url must be an absolute https:// URL");
    s.patch(&path, &json!({"displayOrder": 2000}))
        .expect_error(400, "invalid", "displayOrder");
    // Renaming to itself in another case is not a conflict.
    let r = s.patch(&format!("{BASE}/{}", id(&w)), &json!({"name": "Wiki"}));
    assert_eq!(r.expect(200)["name"], "Wiki");
    assert_eq!(s.get(&path).expect(200)["name"], "runbooks");
}

#[test]
fn labels_attach_like_dashboards() {
    let s = Server::start();
    let org = s.org.clone();
    let d = create(
        &s,
        json!({"orgID": org, "name": "w", "url": "https://localhost/w"}),
    );
    let labels = format!("{BASE}/{}/labels", id(&d));
    let l = s.post(
        "/api/v2/labels",
        &json!({"orgID": org, "name": "production", "properties": {"color": "#ff0000"}}),
    );
    let label = l.expect(201)["label"]["id"]
        .as_str()
        .expect("id")
        .to_string();

    let r = s.post(&labels, &json!({"labelID": label}));
    assert_eq!(r.expect(201)["label"]["name"], "production");
    s.post(&labels, &json!({"labelID": label}))
        .expect_error(422, "conflict", "Cannot add label");
    s.post(&labels, &json!({})).expect_error(400, "invalid", "");
    let listed = s.get(&labels);
    assert_eq!(listed.expect(200)["labels"][0]["id"], label.as_str());
    let got = s.get(&format!("{BASE}/{}", id(&d)));
    assert_eq!(got.expect(200)["labels"][0]["name"], "production");
    let list = s.get(&format!("{BASE}?orgID={org}"));
    assert_eq!(
        list.expect(200)["externalDashboards"][0]["labels"][0]["name"],
        "production"
    );

    // A label of another org does not go on.
    let other = s.create_org("elsewhere");
    let foreign = s.post("/api/v2/labels", &json!({"orgID": other, "name": "x"}));
    let foreign = foreign.expect(201)["label"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    s.post(&labels, &json!({"labelID": foreign})).expect_error(
        400,
        "invalid",
        "label and resource must belong to the same org",
    );

    s.delete(&format!("{labels}/{label}")).expect(204);
    s.delete(&format!("{labels}/{label}")).expect_error(
        404,
        "not found",
        "label mapping not found",
    );
    assert_eq!(s.get(&labels).expect(200)["labels"], json!([]));

    // Deleting the label takes it off.
    s.post(&labels, &json!({"labelID": label})).expect(201);
    s.delete(&format!("/api/v2/labels/{label}")).expect(204);
    assert_eq!(s.get(&labels).expect(200)["labels"], json!([]));
    s.get(&format!("{BASE}/0000000000000bad/labels"))
        .expect_error(404, "not found", "external dashboard not found");
}

#[test]
fn dashboards_rights_govern_them_and_org_deletion_removes_them() {
    let s = Server::start();
    let org = s.create_org("portal");
    let d = create(
        &s,
        json!({"orgID": org, "name": "w", "url": "https://localhost/w"}),
    );
    let path = format!("{BASE}/{}", id(&d));
    let token = |action: &str| -> String {
        let r = s.post(
            "/api/v2/authorizations",
            &json!({"orgID": org, "permissions": [
                {"action": action, "resource": {"type": "dashboards", "orgID": org}}]}),
        );
        r.expect(201)["token"].as_str().expect("token").to_string()
    };
    let reader = s.with(Cred::Token(token("read")));
    reader.get(&path).expect(200);
    let listed = reader.get(&format!("{BASE}?orgID={org}"));
    assert_eq!(listed.expect(200)["externalDashboards"][0]["name"], "w");
    reader
        .patch(&path, &json!({"name": "x"}))
        .expect_error(401, "unauthorized", "write:orgs/");
    reader
        .post(
            BASE,
            &json!({"orgID": org, "name": "y", "url": "https://localhost/y"}),
        )
        .expect_error(401, "unauthorized", "write:orgs/");
    reader.delete(&path).expect_error(401, "unauthorized", "");
    // A token of another org sees none of them.
    let outsider = s.with(Cred::Token(
        s.post(
            "/api/v2/authorizations",
            &json!({"orgID": s.org, "permissions": [
                {"action": "read", "resource": {"type": "dashboards", "orgID": s.org}}]}),
        )
        .expect(201)["token"]
            .as_str()
            .expect("token")
            .to_string(),
    ));
    outsider
        .get(&path)
        .expect_error(401, "unauthorized", "read:orgs/");
    let all = outsider.get(BASE);
    assert_eq!(all.expect(200)["externalDashboards"], json!([]));

    s.delete(&format!("/api/v2/orgs/{org}")).expect(204);
    s.get(&path)
        .expect_error(404, "not found", "external dashboard not found");
    assert_eq!(s.get(BASE).expect(200)["externalDashboards"], json!([]));
}

// ---- the probe -------------------------------------------------------------

/// A certificate for localhost, its PEM file (the server's --probe-ca-file)
/// and a TLS configuration serving it.
struct Tls {
    _dir: tempfile::TempDir,
    ca_file: String,
    config: Arc<rustls::ServerConfig>,
}

fn tls() -> Tls {
    use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("certificate");
    let dir = tempfile::tempdir().expect("tmp");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, made.cert.pem()).expect("write");
    let cert: CertificateDer<'static> = made.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.key_pair.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .expect("server config");
    Tls {
        ca_file: ca.display().to_string(),
        _dir: dir,
        config: Arc::new(config),
    }
}

type Respond = Arc<dyn Fn(&str, &str) -> String + Send + Sync>;

/// A local HTTPS server answering each request with `respond(method,
/// path)` (a whole response head); counts the connections it accepts.
struct Target {
    url: String,
    hits: Arc<AtomicUsize>,
}

fn target(tls: &Tls, respond: Respond) -> Target {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let hits = Arc::new(AtomicUsize::new(0));
    let (config, counted) = (tls.config.clone(), hits.clone());
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            counted.fetch_add(1, Ordering::SeqCst);
            let (config, respond) = (config.clone(), respond.clone());
            std::thread::spawn(move || serve(tcp, config, respond));
        }
    });
    Target {
        url: format!("https://localhost:{port}"),
        hits,
    }
}

fn serve(tcp: std::net::TcpStream, config: Arc<rustls::ServerConfig>, respond: Respond) {
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
    let Ok(conn) = rustls::ServerConnection::new(config) else {
        return;
    };
    let mut s = rustls::StreamOwned::new(conn, tcp);
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut first = head.lines().next().unwrap_or_default().split(' ');
    let (method, path) = (first.next().unwrap_or(""), first.next().unwrap_or(""));
    let answer = respond(method, path);
    let _ = s.write_all(answer.as_bytes());
    let _ = s.flush();
    s.conn.send_close_notify();
    let _ = s.flush();
}

fn answer(status: &str, headers: &[(&str, &str)]) -> String {
    let mut out = format!("HTTP/1.1 {status}\r\n");
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("Content-Length: 0\r\nConnection: close\r\n\r\n");
    out
}

fn respond(f: impl Fn(&str, &str) -> String + Send + Sync + 'static) -> Respond {
    Arc::new(f)
}

fn fixed(headers: &'static [(&'static str, &'static str)]) -> Respond {
    respond(move |_, _| answer("200 OK", headers))
}

#[test]
fn probe_reads_each_header_variant() {
    let tls = tls();
    let s = Server::start_with(&["--allow-private-probe", "--probe-ca-file", &tls.ca_file]);
    let org = s.org.clone();
    let cases: Vec<(&str, Respond, Value, &str, Value)> = vec![
        ("none", fixed(&[]), json!(true), "any", Value::Null),
        (
            "xfo deny",
            fixed(&[("X-Frame-Options", "DENY")]),
            json!(false),
            "deny",
            Value::Null,
        ),
        (
            "xfo sameorigin",
            fixed(&[("X-Frame-Options", "SAMEORIGIN")]),
            json!(false),
            "sameorigin",
            Value::Null,
        ),
        (
            "csp none",
            fixed(&[(
                "Content-Security-Policy",
                "default-src 'self'; frame-ancestors 'none'",
            )]),
            json!(false),
            "deny",
            Value::Null,
        ),
        (
            "csp self",
            fixed(&[("Content-Security-Policy", "frame-ancestors 'self'")]),
            json!(false),
            "sameorigin",
            Value::Null,
        ),
        (
            "csp list",
            fixed(&[
                ("X-Frame-Options", "DENY"),
                (
                    "Content-Security-Policy",
                    "frame-ancestors https://a.example https://b.example",
                ),
            ]),
            json!(false),
            "allowlist",
            json!(["https://a.example", "https://b.example"]),
        ),
        (
            "csp any https",
            fixed(&[("Content-Security-Policy", "frame-ancestors https:")]),
            json!(true),
            "allowlist",
            json!(["https:"]),
        ),
        (
            "head refused",
            respond(|method: &str, _: &str| {
                if method == "HEAD" {
                    answer("405 Method Not Allowed", &[])
                } else {
                    answer("200 OK", &[("X-Frame-Options", "SAMEORIGIN")])
                }
            }),
            json!(false),
            "sameorigin",
            Value::Null,
        ),
        (
            "two redirects",
            respond(|_: &str, path: &str| match path {
                "/" => answer("302 Found", &[("Location", "/one")]),
                "/one" => answer("301 Moved Permanently", &[("Location", "/two")]),
                _ => answer("200 OK", &[("X-Frame-Options", "DENY")]),
            }),
            json!(false),
            "deny",
            Value::Null,
        ),
    ];
    for (name, respond, allow, policy, ancestors) in cases {
        let t = target(&tls, respond);
        let d = create(
            &s,
            json!({"orgID": org, "name": name, "url": format!("{}/", t.url)}),
        );
        assert_eq!(d["probeError"], Value::Null, "{name}: {d}");
        assert_eq!(d["allowInIframe"], allow, "{name}");
        assert_eq!(d["framePolicy"], policy, "{name}");
        assert_eq!(d["frameAncestors"], ancestors, "{name}");
        assert!(d["probedAt"].is_string(), "{name}");
        assert!(t.hits.load(Ordering::SeqCst) >= 1, "{name}");
        // Read back as recorded.
        let got = s.get(&format!("{BASE}/{}", id(&d)));
        assert_eq!(got.expect(200)["framePolicy"], policy, "{name}");
    }

    // Failures are recorded, and the create still succeeds.
    let failing: Vec<(&str, String, &str)> = vec![
        ("unreachable", "https://localhost:1/".into(), "localhost"),
        (
            "redirect loop",
            format!(
                "{}/",
                target(
                    &tls,
                    respond(|_, _| answer("302 Found", &[("Location", "/again")]))
                )
                .url
            ),
            "more than 3 redirects",
        ),
        (
            "to plain http",
            format!(
                "{}/",
                target(
                    &tls,
                    respond(|_, _| answer("302 Found", &[("Location", "http://localhost/")]))
                )
                .url
            ),
            "",
        ),
        (
            "not found",
            format!(
                "{}/",
                target(&tls, respond(|_, _| answer("404 Not Found", &[]))).url
            ),
            "404",
        ),
    ];
    for (name, url, says) in failing {
        let d = create(&s, json!({"orgID": org, "name": name, "url": url}));
        let err = d["probeError"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: {d}"));
        assert!(err.contains(says), "{name}: {err}");
        assert_eq!(d["allowInIframe"], Value::Null, "{name}");
        assert_eq!(d["framePolicy"], Value::Null, "{name}");
    }

    // Probing again, and a new URL probed on PATCH.
    let deny = target(&tls, fixed(&[("X-Frame-Options", "DENY")]));
    let open = target(&tls, fixed(&[]));
    let d = create(
        &s,
        json!({"orgID": org, "name": "moving", "url": format!("{}/", deny.url)}),
    );
    let path = format!("{BASE}/{}", id(&d));
    let again = s.post(&format!("{path}/probe"), &json!({}));
    let again = again.expect(200).clone();
    assert_eq!(again["framePolicy"], "deny");
    assert!(again["probedAt"].as_str() >= d["probedAt"].as_str());
    assert_eq!(deny.hits.load(Ordering::SeqCst), 2);
    let moved = s.patch(&path, &json!({"url": format!("{}/", open.url)}));
    let moved = moved.expect(200).clone();
    assert_eq!(moved["framePolicy"], "any");
    assert_eq!(moved["allowInIframe"], true);
    assert_eq!(open.hits.load(Ordering::SeqCst), 1);
    s.post(&format!("{BASE}/0000000000000bad/probe"), &json!({}))
        .expect_error(404, "not found", "external dashboard not found");
}

#[test]
fn private_addresses_are_not_probed_without_the_flag() {
    let tls = tls();
    let s = Server::start_with(&["--probe-ca-file", &tls.ca_file]);
    let t = target(&tls, fixed(&[("X-Frame-Options", "DENY")]));
    let port = t.url.rsplit(':').next().expect("port").to_string();
    for (name, url) in [
        ("by name", format!("{}/", t.url)),
        ("by address", format!("https://127.0.0.1:{port}/")),
        ("v6", format!("https://[::1]:{port}/")),
    ] {
        let d = create(&s, json!({"orgID": s.org, "name": name, "url": url}));
        let err = d["probeError"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: {d}"));
        assert!(err.contains("--allow-private-probe"), "{name}: {err}");
        assert_eq!(d["allowInIframe"], Value::Null);
    }
    assert_eq!(t.hits.load(Ordering::SeqCst), 0, "no request reached it");
}
