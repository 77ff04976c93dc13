//! Test harness: runs the real `tessera` binary on `127.0.0.1:0` with a fresh
//! data directory and talks to it over HTTP. Restarting kills the process
//! with SIGKILL, so every restart is also a crash test.
#![allow(dead_code)]

use reqwest::blocking::Client;
use reqwest::Method;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Server {
    pub dir: tempfile::TempDir,
    /// The PostgreSQL database this server keeps its data in, when the
    /// suite runs on PostgreSQL (`TESSERA_TEST_STORE_URL`).
    pub store_url: Option<String>,
    pub base: String,
    child: Option<Child>,
    args: Vec<String>,
    client: Client,
    /// The operator token from onboarding, sent by default.
    pub token: Option<String>,
    /// The org and user created by onboarding.
    pub org: String,
    pub user: String,
}

/// How a request authenticates.
#[derive(Clone, Debug)]
pub enum Cred {
    None,
    Token(String),
    Bearer(String),
    Cookie(String),
}

/// Requests made with a chosen credential.
pub struct As<'a> {
    pub s: &'a Server,
    pub cred: Cred,
}

pub const ADMIN: &str = "admin";
pub const ADMIN_PASSWORD: &str = "correct horse battery";
pub const SETUP_ORG: &str = "onboarded";

pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status and, for errors, the Influx envelope.
    pub fn expect(&self, status: u16) -> &Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        if status >= 400 {
            assert_envelope(self);
        }
        &self.body
    }

    pub fn expect_error(&self, status: u16, code: &str, message_starts: &str) {
        self.expect(status);
        assert_eq!(self.body["code"], code, "body: {}", self.text);
        let msg = self.body["message"].as_str().unwrap_or_default();
        assert!(
            msg.starts_with(message_starts),
            "message {msg:?} does not start with {message_starts:?}"
        );
    }
}

pub fn assert_envelope(r: &Resp) {
    let ct = r.header("content-type").unwrap_or_default();
    assert!(
        ct.starts_with("application/json"),
        "error content-type {ct:?}: {}",
        r.text
    );
    assert!(r.body["code"].is_string(), "no code in {}", r.text);
    assert!(r.body["message"].is_string(), "no message in {}", r.text);
    assert_eq!(r.header("x-platform-error-code"), r.body["code"].as_str());
}

/// The PostgreSQL server the suite runs against, if any: a URL whose
/// database the harness may create others beside (tests/pg/start.sh).
pub fn pg_server() -> Option<String> {
    std::env::var("TESSERA_TEST_STORE_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

pub fn on_postgres() -> bool {
    pg_server().is_some()
}

/// True (after saying why) when the suite runs on PostgreSQL and this test
/// is about the embedded store only.
pub fn skip_on_postgres(why: &str) -> bool {
    if on_postgres() {
        eprintln!("skipped on PostgreSQL: {why}");
        return true;
    }
    false
}

/// True (after saying why) when the suite runs on sled and this test needs
/// PostgreSQL.
pub fn skip_on_sled(why: &str) -> bool {
    if !on_postgres() {
        eprintln!("skipped on sled (set TESSERA_TEST_STORE_URL to run it): {why}");
        return true;
    }
    false
}

/// A fresh, empty database on the test PostgreSQL server; its URL.
pub fn fresh_database() -> String {
    let server = pg_server().expect("TESSERA_TEST_STORE_URL");
    let name = format!("t_{}", ulid::Ulid::new().to_string().to_lowercase());
    let mut c = postgres::Client::connect(&server, postgres::NoTls).expect("connect to PostgreSQL");
    c.batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create database");
    let (base, _) = server.rsplit_once('/').expect("URL with a database");
    format!("{base}/{name}")
}

/// Every stored user and session record, as bytes (what is at rest).
pub fn pg_user_records(url: &str) -> Vec<Vec<u8>> {
    let mut c = postgres::Client::connect(url, postgres::NoTls).expect("connect");
    let mut out = Vec::new();
    for table in ["users", "sessions", "authorizations"] {
        for row in c
            .query(&format!("SELECT body FROM {table}"), &[])
            .expect("select")
        {
            out.push(row.get::<_, Vec<u8>>(0));
        }
    }
    assert!(!out.is_empty(), "no user records found in {url}");
    out
}

/// The flags that point a server at a fresh store: nothing for sled (the
/// data directory is always passed), a new database on PostgreSQL.
pub fn fresh_store_args() -> (Option<String>, Vec<String>) {
    match pg_server() {
        Some(_) => {
            let url = fresh_database();
            (Some(url.clone()), vec!["--store-url".into(), url])
        }
        None => (None, Vec::new()),
    }
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_tessera")
}

/// Starts the binary and returns it with the URL it printed.
pub fn spawn(dir: &Path, args: &[String]) -> (Child, String) {
    spawn_logging(dir, args, None)
}

/// Starts the binary, its log going to `log` when given.
pub fn spawn_logging(dir: &Path, args: &[String], log: Option<&Path>) -> (Child, String) {
    let stderr = match log {
        Some(path) => Stdio::from(std::fs::File::create(path).expect("log file")),
        None if std::env::var_os("TESSERA_TEST_LOG").is_some() => Stdio::inherit(),
        None => Stdio::null(),
    };
    let mut child = Command::new(bin())
        .arg("--http-bind-address")
        .arg("127.0.0.1:0")
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("TESSERA_LOG_LEVEL", "warn")
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("spawn tessera");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read first line");
    let url = line
        .trim()
        .strip_prefix("tessera listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    (child, url)
}

impl Server {
    /// A fresh, onboarded server; requests carry the operator token.
    pub fn start() -> Server {
        Self::start_with(&[])
    }

    pub fn start_with(args: &[&str]) -> Server {
        let mut s = Self::start_fresh(args);
        let r = s.post(
            "/api/v2/setup",
            &serde_json::json!({"username": ADMIN, "password": ADMIN_PASSWORD, "org": SETUP_ORG, "bucket": "default", "retentionPeriodSeconds": 0}),
        );
        let body = r.expect(201).clone();
        s.token = Some(body["auth"]["token"].as_str().expect("token").to_string());
        s.org = body["org"]["id"].as_str().expect("org").to_string();
        s.user = body["user"]["id"].as_str().expect("user").to_string();
        s
    }

    /// A fresh server that has not been onboarded.
    pub fn start_fresh(args: &[&str]) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store_url, mut all) = fresh_store_args();
        all.extend(args.iter().map(|s| s.to_string()));
        let args = all;
        let (child, base) = spawn(dir.path(), &args);
        Server {
            dir,
            store_url,
            base,
            child: Some(child),
            args,
            client: Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            token: None,
            org: String::new(),
            user: String::new(),
        }
    }

    pub fn with(&self, cred: Cred) -> As<'_> {
        As { s: self, cred }
    }

    pub fn anonymous(&self) -> As<'_> {
        self.with(Cred::None)
    }

    pub fn as_token(&self, token: &str) -> As<'_> {
        self.with(Cred::Token(token.to_string()))
    }

    fn default_as(&self) -> As<'_> {
        match &self.token {
            Some(t) => self.with(Cred::Token(t.clone())),
            None => self.with(Cred::None),
        }
    }

    /// Signs in with a password and returns the session cookie value.
    pub fn sign_in(&self, user: &str, password: &str) -> Option<String> {
        let r = self.send(
            self.raw(Method::POST, "/api/v2/signin")
                .basic_auth(user, Some(password)),
        );
        if r.status != 204 {
            return None;
        }
        let set = r.header("set-cookie")?.to_string();
        let v = set.split(';').next()?.split_once('=')?.1.to_string();
        Some(v)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// Another process on the same store (PostgreSQL only: sled allows one).
    pub fn second_instance(&self) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let (child, base) = spawn(dir.path(), &self.args);
        Server {
            dir,
            store_url: self.store_url.clone(),
            base,
            child: Some(child),
            args: self.args.clone(),
            client: self.client.clone(),
            token: self.token.clone(),
            org: self.org.clone(),
            user: self.user.clone(),
        }
    }

    /// SIGKILL, then start again on the same data directory.
    pub fn crash_and_restart(&mut self) {
        self.kill();
        let (child, base) = spawn(self.dir.path(), &self.args);
        self.child = Some(child);
        self.base = base;
    }

    /// SIGKILL, then start again on the same store with `flags` added to
    /// the ones it had (they stay for later restarts).
    pub fn restart_with(&mut self, flags: &[&str]) {
        self.kill();
        self.args.extend(flags.iter().map(|f| f.to_string()));
        let (child, base) = spawn(self.dir.path(), &self.args);
        self.child = Some(child);
        self.base = base;
    }

    /// SIGTERM, as a service manager stops it; waits for the exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("a running server");
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(c.id() as libc::pid_t, libc::SIGTERM) };
        c.wait().expect("wait for the server")
    }

    /// Sends SIGTERM without waiting; `wait_exit` collects the status.
    pub fn send_sigterm(&self) {
        let c = self.child.as_ref().expect("a running server");
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(c.id() as libc::pid_t, libc::SIGTERM) };
    }

    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("a running server");
        c.wait().expect("wait for the server")
    }

    /// Starts the server again on the same store after it stopped.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "the server is still running");
        let (child, base) = spawn(self.dir.path(), &self.args);
        self.child = Some(child);
        self.base = base;
    }

    /// The host and port the server listens on.
    pub fn host_port(&self) -> &str {
        self.base.strip_prefix("http://").unwrap_or(&self.base)
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn req(&self, method: Method, path: &str, body: Option<&Value>) -> Resp {
        self.default_as().req(method, path, body)
    }

    /// A request builder already carrying the default credential.
    pub fn authed(&self, method: Method, path: &str) -> reqwest::blocking::RequestBuilder {
        self.default_as().builder(method, path)
    }

    pub fn send(&self, rb: reqwest::blocking::RequestBuilder) -> Resp {
        let r = rb.send().expect("request");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            text,
            body,
        }
    }

    pub fn raw(&self, method: Method, path: &str) -> reqwest::blocking::RequestBuilder {
        self.client
            .request(method, format!("{}{}", self.base, path))
    }

    pub fn get(&self, path: &str) -> Resp {
        self.req(Method::GET, path, None)
    }
    pub fn post(&self, path: &str, body: &Value) -> Resp {
        self.req(Method::POST, path, Some(body))
    }
    pub fn put(&self, path: &str, body: &Value) -> Resp {
        self.req(Method::PUT, path, Some(body))
    }
    pub fn patch(&self, path: &str, body: &Value) -> Resp {
        self.req(Method::PATCH, path, Some(body))
    }
    pub fn delete(&self, path: &str) -> Resp {
        self.req(Method::DELETE, path, None)
    }

    // ---- fixtures ----

    pub fn create_org(&self, name: &str) -> String {
        let r = self.post("/api/v2/orgs", &serde_json::json!({ "name": name }));
        r.expect(201)["id"].as_str().expect("org id").to_string()
    }

    pub fn create_dashboard(&self, org: &str, name: &str) -> Value {
        let r = self.post(
            "/api/v2/dashboards",
            &serde_json::json!({ "orgID": org, "name": name }),
        );
        r.expect(201).clone()
    }

    pub fn add_cell(&self, dash: &str, body: Value) -> Value {
        self.post(&format!("/api/v2/dashboards/{dash}/cells"), &body)
            .expect(201)
            .clone()
    }
}

impl As<'_> {
    pub fn builder(&self, method: Method, path: &str) -> reqwest::blocking::RequestBuilder {
        let rb = self.s.raw(method, path);
        match &self.cred {
            Cred::None => rb,
            Cred::Token(t) => rb.header("authorization", format!("Token {t}")),
            Cred::Bearer(t) => rb.header("authorization", format!("Bearer {t}")),
            Cred::Cookie(c) => rb.header("cookie", format!("influxdb-oss-session={c}")),
        }
    }

    pub fn req(&self, method: Method, path: &str, body: Option<&Value>) -> Resp {
        let mut rb = self.builder(method, path);
        if let Some(b) = body {
            rb = rb
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        self.s.send(rb)
    }

    pub fn get(&self, path: &str) -> Resp {
        self.req(Method::GET, path, None)
    }
    pub fn post(&self, path: &str, body: &Value) -> Resp {
        self.req(Method::POST, path, Some(body))
    }
    pub fn put(&self, path: &str, body: &Value) -> Resp {
        self.req(Method::PUT, path, Some(body))
    }
    pub fn patch(&self, path: &str, body: &Value) -> Resp {
        self.req(Method::PATCH, path, Some(body))
    }
    pub fn delete(&self, path: &str) -> Resp {
        self.req(Method::DELETE, path, None)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

pub fn is_platform_id(s: &str) -> bool {
    s.len() == 16
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && s != "0000000000000000"
}

/// Dashboards converted from InfluxData's community templates.
pub fn template_dashboards() -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dashboards");
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            let text = std::fs::read_to_string(e.path()).expect("fixture");
            out.push((
                e.file_name().to_string_lossy().into_owned(),
                serde_json::from_str(&text).expect("fixture json"),
            ));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// One realistic view-properties object per chart type.
pub fn view_fixtures() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/views");
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            let name = e
                .file_name()
                .to_string_lossy()
                .trim_end_matches(".json")
                .to_string();
            out.push((name, std::fs::read_to_string(e.path()).expect("fixture")));
        }
    }
    out.sort();
    out
}
