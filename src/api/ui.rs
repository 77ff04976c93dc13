//! What the Influx UI needs around dashboards: the small endpoints it calls
//! on every page, and `/api/v2/query` forwarded to a real InfluxDB (Tessera
//! stores no series). Its static files are served by `assets`.

use super::{json, resource};
use crate::auth::permission::Actor;
use crate::error::{Code, Error, Result};
use actix_web::http::{header, Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

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
    /// TLS trusting `--query-upstream-ca`; without it, the public roots.
    pub tls: Option<std::sync::Arc<rustls::ClientConfig>>,
}

/// A TLS client configuration trusting only the CA certificates in `ca`.
pub fn upstream_tls(ca: &std::path::Path) -> std::result::Result<rustls::ClientConfig, String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    let certs = CertificateDer::pem_file_iter(ca)
        .and_then(|certs| certs.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| format!("query upstream CA {} does not load: {e}", ca.display()))?;
    let mut roots = rustls::RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(format!(
            "query upstream CA {} holds no usable certificate",
            ca.display()
        ));
    }
    let mut config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("TLS: {e}"))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
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
            // The fix first: a one-row cell shows only the start of it.
            "no query upstream: start Tessera with --query-upstream URL --query-upstream-token TOKEN \
             (TESSERA_QUERY_UPSTREAM, TESSERA_QUERY_UPSTREAM_TOKEN) naming the InfluxDB that holds \
             your data; Tessera stores dashboards, not time series",
        ));
    };
    let mut url = format!("{}{}", base.trim_end_matches('/'), req.path());
    if !req.query_string().is_empty() {
        url.push('?');
        url.push_str(req.query_string());
    }
    let timeout = std::time::Duration::from_secs(300);
    let client = match &upstream.tls {
        Some(tls) => awc::Client::builder()
            .timeout(timeout)
            .connector(awc::Connector::new().rustls_0_23(tls.clone()))
            .finish(),
        None => awc::Client::builder().timeout(timeout).finish(),
    };
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
