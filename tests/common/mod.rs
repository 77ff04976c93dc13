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
    pub base: String,
    child: Option<Child>,
    args: Vec<String>,
    client: Client,
}

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

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_tessera")
}

/// Starts the binary and returns it with the URL it printed.
pub fn spawn(dir: &Path, args: &[String]) -> (Child, String) {
    let mut child = Command::new(bin())
        .arg("--http-bind-address")
        .arg("127.0.0.1:0")
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("TESSERA_LOG_LEVEL", "warn")
        .stdout(Stdio::piped())
        .stderr(if std::env::var_os("TESSERA_TEST_LOG").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
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
    pub fn start() -> Server {
        Self::start_with(&[])
    }

    pub fn start_with(args: &[&str]) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let (child, base) = spawn(dir.path(), &args);
        Server {
            dir,
            base,
            child: Some(child),
            args,
            client: Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// SIGKILL, then start again on the same data directory.
    pub fn crash_and_restart(&mut self) {
        self.kill();
        let (child, base) = spawn(self.dir.path(), &self.args);
        self.child = Some(child);
        self.base = base;
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn req(&self, method: Method, path: &str, body: Option<&Value>) -> Resp {
        let mut rb = self
            .client
            .request(method, format!("{}{}", self.base, path));
        if let Some(b) = body {
            rb = rb
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        self.send(rb)
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
