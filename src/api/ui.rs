//! What the Influx UI needs around dashboards: its static files (with the
//! single-page-app fallback), the small endpoints it calls on every page, and
//! `/api/v2/query` forwarded to a real InfluxDB (Tessera stores no series).

use super::{json, resource};
use crate::auth::permission::Actor;
use crate::error::{Code, Error, Result};
use actix_web::http::{header, Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use std::path::{Component, Path, PathBuf};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/flags").get(flags))
        .service(resource("/query").post(query))
        .service(resource("/query/ast").post(query))
        .service(resource("/query/suggestions").get(query))
        .service(resource("/query/suggestions/{name}").get(query))
        .service(resource("/query/analyze").post(query));
}

/// Routes under `/api/v2private`.
pub fn configure_private(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/annotations").get(annotations));
}

async fn flags(_actor: Actor) -> Result<HttpResponse> {
    json(StatusCode::OK, &serde_json::json!({}))
}

async fn annotations(_actor: Actor) -> Result<HttpResponse> {
    json(StatusCode::OK, &serde_json::json!([]))
}

// ---- query forwarding ----------------------------------------------------

/// Where Flux queries go (`--query-upstream`, `--query-upstream-token`).
#[derive(Clone, Default)]
pub struct QueryUpstream {
    pub url: Option<String>,
    pub token: Option<String>,
}

/// Request headers passed on to the upstream; everything else (cookies, our
/// own credentials) stays here.
const FORWARDED: &[header::HeaderName] = &[
    header::CONTENT_TYPE,
    header::ACCEPT,
    header::ACCEPT_ENCODING,
];

async fn query(
    _actor: Actor,
    req: HttpRequest,
    body: web::Bytes,
    upstream: web::Data<QueryUpstream>,
) -> Result<HttpResponse> {
    let Some(base) = upstream.url.as_deref() else {
        return Err(Error::new(
            Code::NotImplemented,
            "Tessera stores dashboards, not time series: start it with --query-upstream <InfluxDB URL> \
             and --query-upstream-token <token> (or TESSERA_QUERY_UPSTREAM / TESSERA_QUERY_UPSTREAM_TOKEN) \
             to run queries against your InfluxDB",
        ));
    };
    let mut url = format!("{}{}", base.trim_end_matches('/'), req.path());
    if !req.query_string().is_empty() {
        url.push('?');
        url.push_str(req.query_string());
    }
    let client = awc::Client::builder()
        .timeout(std::time::Duration::from_secs(300))
        .finish();
    let mut out = client.request(req.method().clone(), &url);
    for name in FORWARDED {
        if let Some(v) = req.headers().get(name) {
            out = out.insert_header((name.clone(), v.clone()));
        }
    }
    if let Some(t) = &upstream.token {
        out = out.insert_header((header::AUTHORIZATION, format!("Token {t}")));
    }
    let sent = if req.method() == Method::GET {
        out.send().await
    } else {
        out.send_body(body).await
    };
    let res = sent.map_err(|e| {
        Error::new(
            Code::Unavailable,
            format!("query upstream {base} did not answer: {e}"),
        )
    })?;
    let mut back = HttpResponse::build(res.status());
    for (name, value) in res.headers() {
        if matches!(
            name.as_str(),
            "content-type"
                | "content-encoding"
                | "vary"
                | "x-influxdb-version"
                | "x-influxdb-build"
        ) || name.as_str().starts_with("x-platform")
        {
            back.insert_header((name.clone(), value.clone()));
        }
    }
    Ok(back.streaming(res))
}

// ---- static assets -------------------------------------------------------

/// The UI's build directory (`--assets-path`), canonicalised at start.
#[derive(Clone, Default)]
pub struct Assets {
    pub root: Option<PathBuf>,
}

/// Paths that belong to the API and never fall back to `index.html`.
fn is_api_path(path: &str) -> bool {
    [
        "/api/", "/api", "/health", "/ping", "/ready", "/metrics", "/debug/", "/debug",
    ]
    .iter()
    .any(|p| {
        path == *p
            || (p.ends_with('/') && path.starts_with(p))
            || path.starts_with(&format!("{p}/"))
    })
}

const NO_ASSETS_PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Tessera</title></head>
<body>
<h1>Tessera</h1>
<p>This is Tessera, a dashboards server that speaks InfluxDB 2.x's dashboards API.</p>
<p>No UI assets are configured: start it with <code>--assets-path DIR</code> (or <code>TESSERA_ASSETS_PATH</code>) pointing at a build of the Influx UI to use one.</p>
<p>The API lives under <code>/api/v2</code>; its OpenAPI document, listing every route, is at <a href="/api/v2/openapi.json">/api/v2/openapi.json</a>. Health: <a href="/health">/health</a>.</p>
</body></html>
"#;

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "ico" => "image/x-icon",
        "webp" => "image/webp",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "eot" => "application/vnd.ms-fontobject",
        "wasm" => "application/wasm",
        "txt" => "text/plain; charset=utf-8",
        "xml" => "application/xml",
        _ => "application/octet-stream",
    }
}

/// Bundlers put a content hash in file names (`main.3f9a1c2b.js`,
/// `app-4f1c0a9d.css`): those files never change and may be cached for ever.
fn is_hashed(name: &str) -> bool {
    name.split(['.', '-', '_']).any(|part| {
        part.len() >= 8
            && part.chars().all(|c| c.is_ascii_hexdigit())
            && part.chars().any(|c| c.is_ascii_digit())
    })
}

/// Maps a URL path to a file under `root`, refusing anything that could
/// leave it: `..`, encoded separators, absolute parts, and symlinks out.
fn resolve(root: &Path, url_path: &str) -> Result<Option<PathBuf>> {
    let refused = || Error::new(Code::Invalid, "path is not allowed");
    // An encoded separator has no business in a file path.
    let lower = url_path.to_ascii_lowercase();
    if lower.contains("%2f") || lower.contains("%5c") {
        return Err(refused());
    }
    let decoded = percent_encoding::percent_decode_str(url_path)
        .decode_utf8()
        .map_err(|_| refused())?;
    if decoded.contains('\0') || decoded.contains('\\') {
        return Err(refused());
    }
    let rel = Path::new(decoded.trim_start_matches('/'));
    let mut clean = PathBuf::new();
    for c in rel.components() {
        match c {
            Component::Normal(p) => clean.push(p),
            Component::CurDir => {}
            _ => return Err(refused()),
        }
    }
    let candidate = root.join(&clean);
    let Ok(real) = candidate.canonicalize() else {
        return Ok(None);
    };
    if !real.starts_with(root) {
        return Err(refused());
    }
    Ok(real.is_file().then_some(real))
}

fn accepts(req: &HttpRequest, coding: &str) -> bool {
    req.headers()
        .get_all(header::ACCEPT_ENCODING)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|part| {
            let mut it = part.trim().split(';');
            let name = it.next().unwrap_or("").trim();
            let q_zero = it.any(|p| p.trim().replace(' ', "") == "q=0");
            (name.eq_ignore_ascii_case(coding) || name == "*") && !q_zero
        })
}

/// A file read from disk, ready to send.
struct FileReply {
    bytes: Vec<u8>,
    content_type: &'static str,
    cache: &'static str,
    encoding: Option<&'static str>,
}

/// Reads `file`, or its precompressed sibling when the client takes it.
fn load_file(file: &Path, br: bool, gzip: bool) -> Result<FileReply> {
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let cache = if name == "index.html" {
        "no-cache"
    } else if is_hashed(name) {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=3600"
    };
    let mut chosen = (file.to_path_buf(), None);
    for (ok, coding, ext) in [(br, "br", "br"), (gzip, "gzip", "gz")] {
        let sibling = PathBuf::from(format!("{}.{ext}", file.display()));
        if ok && sibling.is_file() {
            chosen = (sibling, Some(coding));
            break;
        }
    }
    Ok(FileReply {
        bytes: std::fs::read(&chosen.0).map_err(Error::internal)?,
        content_type: content_type(file),
        cache,
        encoding: chosen.1,
    })
}

/// Everything no route matched: the UI's files for GET/HEAD outside the API,
/// the JSON 404 for everything else.
pub async fn fallback(req: HttpRequest, assets: web::Data<Assets>) -> Result<HttpResponse> {
    let path = req.path().to_string();
    let is_head = req.method() == Method::HEAD;
    if !(is_head || req.method() == Method::GET) || is_api_path(&path) {
        return Err(Error::not_found("path not found"));
    }
    let Some(root) = assets.root.clone() else {
        if path == "/" {
            return Ok(HttpResponse::Ok()
                .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
                .body(NO_ASSETS_PAGE));
        }
        return Err(Error::not_found("path not found"));
    };
    let (br, gzip) = (accepts(&req, "br"), accepts(&req, "gzip"));
    let reply = web::block(move || {
        // Client-side routes (/signin, /orgs/…/dashboards/…) get the app.
        let file = match resolve(&root, &path)? {
            Some(f) => f,
            None => {
                resolve(&root, "/index.html")?.ok_or_else(|| Error::not_found("path not found"))?
            }
        };
        load_file(&file, br, gzip)
    })
    .await
    .map_err(Error::internal)??;
    let mut res = HttpResponse::Ok();
    res.insert_header((header::CONTENT_TYPE, reply.content_type))
        .insert_header((header::CACHE_CONTROL, reply.cache))
        .insert_header((header::VARY, "Accept-Encoding"))
        .insert_header(("X-Content-Type-Options", "nosniff"));
    if let Some(coding) = reply.encoding {
        res.insert_header((header::CONTENT_ENCODING, coding));
    }
    if is_head {
        return Ok(res.finish());
    }
    Ok(res.body(reply.bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_paths_and_hashes() {
        for p in [
            "/api/v2/x",
            "/api",
            "/health",
            "/ping",
            "/ready",
            "/metrics",
            "/debug/pprof",
            "/api/v2private/x",
        ] {
            assert!(is_api_path(p), "{p}");
        }
        for p in [
            "/",
            "/signin",
            "/orgs/1/dashboards/2",
            "/healthy",
            "/apiary",
        ] {
            assert!(!is_api_path(p), "{p}");
        }
        assert!(is_hashed("main.3f9a1c2b.js"));
        assert!(is_hashed("app-4f1c0a9d7e.css"));
        assert!(!is_hashed("index.html"));
        assert!(!is_hashed("favicon.ico"));
    }
}
