//! Request ids, the access log, the cookie of a session renewed on the way,
//! and a last guard that rewrites any error a framework layer answered in
//! plain text into the Influx envelope.

use super::credentials::{session_set_cookie, RenewedSession};
use crate::error::{envelope_bytes, Code, PLATFORM_ERROR_HEADER};
use actix_web::body::{to_bytes, BoxBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue, CONTENT_TYPE, SET_COOKIE};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::HttpMessage;
use std::time::Instant;

pub const REQUEST_ID: &str = "x-request-id";
const MAX_REQUEST_ID_LEN: usize = 128;

/// The caller's request id if it is short and plain; otherwise a fresh ULID.
fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= MAX_REQUEST_ID_LEN
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| ulid::Ulid::new().to_string())
}

fn code_for(status: StatusCode) -> Code {
    match status.as_u16() {
        401 => Code::Unauthorized,
        403 => Code::Forbidden,
        404 => Code::NotFound,
        405 => Code::MethodNotAllowed,
        413 => Code::RequestTooLarge,
        415 => Code::UnsupportedMediaType,
        422 => Code::UnprocessableEntity,
        429 => Code::TooManyRequests,
        501 => Code::NotImplemented,
        503 => Code::Unavailable,
        s if s >= 500 => Code::Internal,
        _ => Code::Invalid,
    }
}

pub async fn request_context(
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let rid = request_id(&req);
    let method = req.method().clone();
    let path = req.path().to_owned();

    let mut res = next.call(req).await?;

    let status = res.status();
    let is_json = res
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if status.as_u16() >= 400 && !is_json {
        let (http_req, old) = res.into_parts();
        let text = to_bytes(old.into_body()).await.unwrap_or_default();
        let code = code_for(status);
        let message = match String::from_utf8_lossy(&text).trim() {
            "" => status.canonical_reason().unwrap_or("error").to_lowercase(),
            t => t.chars().take(512).collect(),
        };
        let mut new = actix_web::HttpResponse::build(status)
            .insert_header((CONTENT_TYPE, crate::api::JSON_UTF8))
            .insert_header((PLATFORM_ERROR_HEADER, code.as_str()))
            .body(envelope_bytes(code, &message, None, None));
        new.head_mut().set_camel_case_headers(false);
        res = ServiceResponse::new(http_req, new);
    }

    let renewed = res.request().extensions().get::<RenewedSession>().cloned();
    if let Some(r) = renewed {
        if let Ok(v) = HeaderValue::from_str(&session_set_cookie(&r.id, r.expires_at)) {
            res.headers_mut().append(SET_COOKIE, v);
        }
    }

    if let Ok(v) = HeaderValue::from_str(&rid) {
        res.headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID), v);
    }
    log::info!(
        target: "tessera::http",
        "{method} {path} {} {:.3}ms request_id={rid}",
        res.status().as_u16(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    Ok(res)
}
