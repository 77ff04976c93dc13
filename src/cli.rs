//! Client commands against a running server: `tessera apply` and
//! `tessera export`, as `influx apply` and `influx export` do.

use crate::config::Remote;
use serde_json::{json, Value};
use std::fmt::Write;
use std::time::Duration;

fn client(remote: &Remote) -> awc::Client {
    awc::Client::builder()
        .timeout(Duration::from_secs(120))
        .add_default_header(("Authorization", format!("Token {}", remote.token)))
        .finish()
}

fn url(remote: &Remote, path: &str) -> String {
    format!("{}{path}", remote.host.trim_end_matches('/'))
}

/// Sends a request and returns the status and the decoded body, or the
/// server's error message.
async fn call(req: awc::ClientRequest, body: Option<Value>) -> Result<(u16, Value), String> {
    let mut resp = match body {
        Some(b) => req.send_json(&b).await,
        None => req.send().await,
    }
    .map_err(|e| format!("request failed: {e}"))?;
    let bytes = resp
        .body()
        .limit(64 << 20)
        .await
        .map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if status >= 400 && v.get("errors").is_none() {
        let msg = v["message"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned());
        return Err(format!("{status}: {msg}"));
    }
    Ok((status, v))
}

async fn org_id(remote: &Remote, name: Option<&str>) -> Result<String, String> {
    let c = client(remote);
    let path = match name {
        Some(n) => {
            let q: String = form_urlencoded::byte_serialize(n.as_bytes()).collect();
            format!("/api/v2/orgs?org={q}")
        }
        None => "/api/v2/orgs".to_string(),
    };
    let (_, v) = call(c.get(url(remote, &path)), None).await?;
    let orgs = v["orgs"].as_array().cloned().unwrap_or_default();
    match (orgs.as_slice(), name) {
        ([one], _) => Ok(one["id"].as_str().unwrap_or_default().to_string()),
        ([], Some(n)) => Err(format!("organization {n:?} not found")),
        _ => Err("the token sees several organizations; pass --org".into()),
    }
}

/// The summary table: one line per resource.
pub fn summary_table(report: &Value) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<10} {:<32} {:<18} {:<8}",
        "KIND", "NAME", "ID", "STATUS"
    );
    let diff = &report["diff"];
    for (key, kind) in [
        ("labels", "Label"),
        ("buckets", "Bucket"),
        ("variables", "Variable"),
        ("dashboards", "Dashboard"),
    ] {
        for d in diff[key].as_array().into_iter().flatten() {
            let id = d["id"]
                .as_u64()
                .filter(|id| *id != 0)
                .map(|id| format!("{id:016x}"))
                .unwrap_or_else(|| "-".into());
            let _ = writeln!(
                out,
                "{:<10} {:<32} {:<18} {:<8}",
                kind,
                d["new"]["name"].as_str().unwrap_or_default(),
                id,
                d["stateStatus"].as_str().unwrap_or_default()
            );
        }
    }
    for s in report["summary"]["skippedResources"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let _ = writeln!(
            out,
            "{:<10} {:<32} {:<18} {:<8}",
            s["kind"].as_str().unwrap_or_default(),
            s["name"].as_str().unwrap_or_default(),
            "-",
            "skipped"
        );
    }
    for e in report["errors"].as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "error: kind={} fields={} reason={}",
            e["kind"], e["fields"], e["reason"]
        );
    }
    if let Some(stack) = report["stackID"].as_str().filter(|s| !s.is_empty()) {
        let _ = writeln!(out, "stack: {stack}");
    }
    out
}

pub async fn apply(
    remote: &Remote,
    files: &[String],
    org: Option<&str>,
    dry_run: bool,
    stack_id: Option<&str>,
) -> Result<String, String> {
    let org = org_id(remote, org).await?;
    let mut templates = Vec::new();
    let mut remotes = Vec::new();
    for f in files {
        if f.starts_with("http://") || f.starts_with("https://") {
            remotes.push(json!({"url": f}));
            continue;
        }
        let text = std::fs::read_to_string(f).map_err(|e| format!("{f}: {e}"))?;
        let ct = if f.ends_with(".json") { "json" } else { "yaml" };
        templates.push(json!({"contentType": ct, "sources": [f], "contents": text}));
    }
    let mut body =
        json!({"orgID": org, "dryRun": dry_run, "templates": templates, "remotes": remotes});
    if let Some(s) = stack_id {
        body["stackID"] = json!(s);
    }
    let c = client(remote);
    let (status, report) = call(c.post(url(remote, "/api/v2/templates/apply")), Some(body)).await?;
    let table = summary_table(&report);
    if status >= 400 {
        return Err(table);
    }
    Ok(table)
}

pub async fn export(
    remote: &Remote,
    dashboards: &[String],
    json_out: bool,
) -> Result<String, String> {
    let resources: Vec<Value> = dashboards
        .iter()
        .map(|id| json!({"kind": "Dashboard", "id": id}))
        .collect();
    let c = client(remote);
    let req = c
        .post(url(remote, "/api/v2/templates/export"))
        .insert_header((
            "Accept",
            if json_out {
                "application/json"
            } else {
                "application/x-yaml"
            },
        ));
    let mut resp = req
        .send_json(&json!({"resources": resources}))
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let bytes = resp
        .body()
        .limit(64 << 20)
        .await
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if !resp.status().is_success() {
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        return Err(format!(
            "{}: {}",
            resp.status().as_u16(),
            v["message"].as_str().unwrap_or(&text)
        ));
    }
    Ok(text)
}

/// `tessera backup --host`: asks a running server for a snapshot and writes
/// it into `dir` once every file checks out against the manifest.
pub async fn backup_online(
    host: &str,
    token: &str,
    dir: &std::path::Path,
) -> Result<String, String> {
    let remote = Remote {
        host: host.to_owned(),
        token: token.to_owned(),
    };
    let mut resp = client(&remote)
        .get(url(&remote, "/api/v2/tessera/backup"))
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let bytes = resp
        .body()
        .limit(4 << 30)
        .await
        .map_err(|e| e.to_string())?;
    if !resp.status().is_success() {
        let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let msg = v["message"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned());
        return Err(format!("{}: {msg}", resp.status().as_u16()));
    }
    let snapshot = crate::store::backup::Snapshot::from_bundle(&bytes)?;
    snapshot.write_dir(dir)?;
    Ok(backup_report(&snapshot.manifest, dir))
}

/// What `tessera backup` prints: each kind's count, and where it went.
pub fn backup_report(m: &crate::store::backup::Manifest, dir: &std::path::Path) -> String {
    let mut out = format!("{:<16} {:>8}  file\n", "KIND", "RECORDS");
    for f in &m.files {
        let _ = writeln!(out, "{:<16} {:>8}  {}", f.kind, f.records, f.file);
    }
    let _ = writeln!(
        out,
        "backed up into {} (checksums in {})",
        dir.display(),
        crate::store::backup::MANIFEST
    );
    out
}
