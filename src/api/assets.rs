//! The Influx UI's static files (`--assets-path`): the single-page-app
//! fallback, compression done once per file and kept in memory, ETags and
//! cache lifetimes. Everything no route matched lands here.

use crate::error::{Code, Error, Result};
use actix_web::http::{header, Method};
use actix_web::{web, HttpRequest, HttpResponse};
use sha2::Digest;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

/// The UI's build directory, canonicalised at start, with the bytes served
/// from it so far.
pub struct Assets {
    root: Option<PathBuf>,
    cache: EncodedCache,
}

impl Assets {
    pub fn new(root: Option<PathBuf>) -> Self {
        Assets {
            root,
            cache: EncodedCache::default(),
        }
    }
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

/// The folder the UI's build puts its bundles in.
const STATIC_DIR: &str = "/static/";

/// A path naming a file (`/static/abc123.js`, `/favicon.ico`): when it is
/// missing the answer is 404, never the app, or a browser would run
/// `index.html` as a stale chunk after a redeploy.
fn looks_like_file(path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or("");
    let has_extension = last
        .rsplit_once('.')
        .is_some_and(|(stem, ext)| !stem.is_empty() && !ext.is_empty());
    has_extension || path.starts_with(STATIC_DIR)
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

fn extension(path: &Path) -> &str {
    path.extension().and_then(|e| e.to_str()).unwrap_or("")
}

fn content_type(path: &Path) -> &'static str {
    match extension(path) {
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

/// Text-like formats worth compressing; images and fonts already are.
fn compressible(path: &Path) -> bool {
    matches!(
        extension(path),
        "js" | "mjs" | "css" | "html" | "htm" | "json" | "svg" | "wasm" | "map" | "txt" | "xml"
    )
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

fn cache_control(url_path: &str, file: &Path) -> &'static str {
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name == "index.html" {
        "no-cache"
    } else if is_hashed(name) || url_path.starts_with(STATIC_DIR) {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=3600"
    }
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

// ---- encodings -----------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Encoding {
    Identity,
    Gzip,
    Br,
}

impl Encoding {
    fn token(self) -> Option<&'static str> {
        match self {
            Encoding::Identity => None,
            Encoding::Gzip => Some("gzip"),
            Encoding::Br => Some("br"),
        }
    }

    /// The precompressed sibling's suffix.
    fn sibling_suffix(self) -> &'static str {
        match self {
            Encoding::Identity => "",
            Encoding::Gzip => "gz",
            Encoding::Br => "br",
        }
    }
}

fn accepts(req: &HttpRequest, coding: &str) -> bool {
    req.headers()
        .get_all(header::ACCEPT_ENCODING)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|part| {
            let mut it = part.trim().split(';');
            let name = it.next().unwrap_or("").trim();
            let q_zero = it.any(|p| {
                p.trim()
                    .replace(' ', "")
                    .strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    == Some(0.0)
            });
            (name.eq_ignore_ascii_case(coding) || name == "*") && !q_zero
        })
}

/// The encodings the client takes, best first (brotli is smaller than gzip
/// for the UI's bundles), ending with the file as it is.
fn acceptable_encodings(req: &HttpRequest) -> Vec<Encoding> {
    let mut v = Vec::with_capacity(3);
    if accepts(req, "br") {
        v.push(Encoding::Br);
    }
    if accepts(req, "gzip") {
        v.push(Encoding::Gzip);
    }
    v.push(Encoding::Identity);
    v
}

/// Done once per file, but on a first request: on 13.6 MB of JavaScript,
/// quality 5 took 1.7 s for a result a fifth smaller than gzip's, 9 took
/// 5.8 s for a further fifth, 11 takes minutes.
const BROTLI_QUALITY: u32 = 5;
const BROTLI_WINDOW: u32 = 22;

fn compress(bytes: &[u8], encoding: Encoding) -> Result<Vec<u8>> {
    match encoding {
        Encoding::Identity => Ok(bytes.to_vec()),
        Encoding::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(bytes).map_err(Error::internal)?;
            enc.finish().map_err(Error::internal)
        }
        Encoding::Br => {
            let mut out = Vec::new();
            {
                let mut w = brotli::CompressorWriter::new(
                    &mut out,
                    64 * 1024,
                    BROTLI_QUALITY,
                    BROTLI_WINDOW,
                );
                w.write_all(bytes).map_err(Error::internal)?;
            }
            Ok(out)
        }
    }
}

// ---- the in-memory copy ------------------------------------------------------

/// One file in one encoding, as sent.
struct Encoded {
    bytes: web::Bytes,
    /// What the file on disk looked like when read; a change means re-read.
    stamp: (SystemTime, u64),
    /// `None` when compressing did not make the file smaller.
    encoding: Option<&'static str>,
    etag: String,
}

type Slot = Arc<Mutex<Option<Arc<Encoded>>>>;

/// The slots, and the bytes they hold in all.
#[derive(Default)]
struct Slots {
    by_file: HashMap<(PathBuf, Encoding), Slot>,
    bytes: usize,
}

/// Past this many bytes the cache starts over; a bound, not a tuning knob
/// (the Influx UI build is about 12 MB plus its compressed copies).
const MAX_CACHED_BYTES: usize = 256 << 20;

/// Files served so far, by path and encoding. Each entry has its own slot,
/// so two first requests for one file compress it once between them.
#[derive(Default)]
struct EncodedCache {
    slots: Mutex<Slots>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn stamp(file: &Path) -> Result<(SystemTime, u64)> {
    let meta = std::fs::metadata(file).map_err(Error::internal)?;
    Ok((
        meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        meta.len(),
    ))
}

impl EncodedCache {
    fn get(&self, file: &Path, encoding: Encoding) -> Result<Arc<Encoded>> {
        let slot = {
            let mut st = lock(&self.slots);
            st.by_file
                .entry((file.to_path_buf(), encoding))
                .or_default()
                .clone()
        };
        let current = stamp(file)?;
        let mut held = lock(&slot);
        if let Some(e) = held.as_ref().filter(|e| e.stamp == current) {
            return Ok(e.clone());
        }
        let fresh = Arc::new(self.load(file, encoding, current)?);
        *held = Some(fresh.clone());
        drop(held);
        let mut st = lock(&self.slots);
        st.bytes += fresh.bytes.len();
        if st.bytes > MAX_CACHED_BYTES {
            st.by_file.clear();
            st.bytes = 0;
        }
        Ok(fresh)
    }

    /// Reads the file, or its `.br`/`.gz` sibling when the build ships one,
    /// or compresses it here.
    fn load(&self, file: &Path, encoding: Encoding, stamp: (SystemTime, u64)) -> Result<Encoded> {
        let original = if encoding == Encoding::Identity {
            let bytes = std::fs::read(file).map_err(Error::internal)?;
            let etag = etag(&bytes);
            return Ok(Encoded {
                bytes: bytes.into(),
                stamp,
                encoding: None,
                etag,
            });
        } else {
            self.get(file, Encoding::Identity)?
        };
        let sibling = PathBuf::from(format!("{}.{}", file.display(), encoding.sibling_suffix()));
        // A sibling the build ships is sent as it is; our own compression
        // only when it pays.
        let coded = if sibling.is_file() {
            Some(std::fs::read(&sibling).map_err(Error::internal)?)
        } else if compressible(file) {
            Some(compress(&original.bytes, encoding)?).filter(|c| c.len() < original.bytes.len())
        } else {
            None
        };
        let Some(coded) = coded else {
            return Ok(Encoded {
                bytes: original.bytes.clone(),
                stamp,
                encoding: None,
                etag: original.etag.clone(),
            });
        };
        let token = encoding.token();
        Ok(Encoded {
            bytes: coded.into(),
            stamp,
            encoding: token,
            // One tag per representation, derived from the content's.
            etag: format!(
                "{}-{}\"",
                original.etag.trim_end_matches('"'),
                token.unwrap_or("")
            ),
        })
    }
}

fn etag(bytes: &[u8]) -> String {
    let digest = sha2::Sha256::digest(bytes);
    let mut hex = [0u8; 64];
    crate::id::hex_into(&digest, &mut hex);
    let hex: String = hex[..32].iter().map(|&b| char::from(b)).collect();
    format!("\"{hex}\"")
}

/// Whether `If-None-Match` names the representation about to be sent.
fn not_modified(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == etag)
}

/// Everything no route matched: the UI's files for GET/HEAD outside the API,
/// the JSON 404 for everything else.
pub async fn fallback(req: HttpRequest, assets: web::Data<Assets>) -> Result<HttpResponse> {
    let path = req.path().to_string();
    if !(req.method() == Method::HEAD || req.method() == Method::GET) || is_api_path(&path) {
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
    let encodings = acceptable_encodings(&req);
    let served = web::block(move || {
        let file = match resolve(&root, &path)? {
            Some(f) => f,
            None if looks_like_file(&path) => return Err(Error::not_found("file not found")),
            // Client-side routes (/signin, /orgs/…/dashboards/…) get the app.
            None => {
                resolve(&root, "/index.html")?.ok_or_else(|| Error::not_found("path not found"))?
            }
        };
        // The first accepted encoding that makes the file smaller.
        for encoding in encodings {
            let encoded = assets.cache.get(&file, encoding)?;
            if encoded.encoding.is_some() || encoding == Encoding::Identity {
                return Ok((file, path, encoded));
            }
        }
        Err(Error::internal("no encoding left to serve"))
    })
    .await
    .map_err(Error::internal)??;
    let (file, path, encoded) = served;
    let unchanged = not_modified(&req, &encoded.etag);
    let mut res = if unchanged {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::CONTENT_TYPE, content_type(&file)))
        .insert_header((header::CACHE_CONTROL, cache_control(&path, &file)))
        .insert_header((header::ETAG, encoded.etag.clone()))
        .insert_header((header::VARY, "Accept-Encoding"))
        .insert_header(("X-Content-Type-Options", "nosniff"));
    if let Some(coding) = encoded.encoding {
        res.insert_header((header::CONTENT_ENCODING, coding));
    }
    if unchanged {
        return Ok(res.finish());
    }
    // HEAD gets the same headers, Content-Length included; the server drops the body.
    Ok(res.body(encoded.bytes.clone()))
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

    #[test]
    fn files_and_client_routes() {
        for p in [
            "/static/abc123.js",
            "/static/abc123",
            "/favicon.ico",
            "/a/b.c",
        ] {
            assert!(looks_like_file(p), "{p}");
        }
        for p in [
            "/",
            "/signin",
            "/orgs/0a/dashboards/0b",
            "/some/client/route",
            "/.well",
            "/trailing.",
        ] {
            assert!(!looks_like_file(p), "{p}");
        }
    }

    #[test]
    fn compressed_bytes_come_back() {
        let text = "console.log('tessera');\n".repeat(200);
        for enc in [Encoding::Gzip, Encoding::Br] {
            let out = compress(text.as_bytes(), enc).expect("compress");
            assert!(out.len() < text.len() / 10, "{enc:?}");
            let mut back = Vec::new();
            match enc {
                Encoding::Gzip => std::io::Read::read_to_end(
                    &mut flate2::read::GzDecoder::new(&out[..]),
                    &mut back,
                ),
                _ => std::io::Read::read_to_end(
                    &mut brotli::Decompressor::new(&out[..], 4096),
                    &mut back,
                ),
            }
            .expect("decompress");
            assert_eq!(back, text.as_bytes());
        }
    }
}
