//! Request ids, the access log, the cookie of a session renewed on the way,
//! and a last guard that rewrites any error a framework layer answered in
//! plain text into the Influx envelope.

use super::credentials::{session_set_cookie, RenewedSession};
use crate::error::{envelope_bytes, Code, PLATFORM_ERROR_HEADER};
use crate::metrics::METRICS;
use actix_web::body::{to_bytes, BodySize, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue, CONTENT_TYPE, SET_COOKIE};
use actix_web::http::Method;
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::HttpMessage;
use prometheus::{Histogram, IntCounter};
use std::cell::OnceCell;
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

/// Who a request acted as, for the access log: IDs only, never a
/// credential (a session ID is one).
#[derive(Clone, Copy)]
pub struct ActedAs {
    pub user: crate::id::Id,
    pub token: Option<crate::id::Id>,
}

/// Counts a request in flight until dropped, also when the client goes away
/// and the request's future is dropped unfinished.
struct InFlight;

impl InFlight {
    fn start() -> InFlight {
        METRICS.http_in_flight.inc();
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        METRICS.http_in_flight.dec();
    }
}

const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

fn status_class_index(status: StatusCode) -> usize {
    match status.as_u16() {
        100..=199 => 0,
        200..=299 => 1,
        300..=399 => 2,
        400..=499 => 3,
        _ => 4,
    }
}

const METHODS: [Method; 6] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

/// A resource's route template and its metric series, kept in the
/// resource's app data (one per worker). Finding the template again with
/// `match_pattern` re-matched the path against every route and allocated,
/// and each labelled lookup hashed its labels: per request, both showed in
/// profiles. Series are made on first use, as `with_label_values` makes
/// them, so `/metrics` lists the same series as before.
#[derive(Default)]
pub struct RouteMetrics {
    route: OnceCell<String>,
    requests: [[OnceCell<IntCounter>; 5]; METHODS.len()],
    duration: [OnceCell<Histogram>; METHODS.len()],
}

impl RouteMetrics {
    fn record(&self, route: &str, method: &Method, status: StatusCode, secs: f64) {
        let class = status_class_index(status);
        let Some(m) = METHODS.iter().position(|x| x == method) else {
            return record_by_labels(route, method, status, secs);
        };
        self.requests[m][class]
            .get_or_init(|| {
                METRICS.http_requests.with_label_values(&[
                    route,
                    method.as_str(),
                    STATUS_CLASSES[class],
                ])
            })
            .inc();
        self.duration[m]
            .get_or_init(|| {
                METRICS
                    .http_duration
                    .with_label_values(&[route, method.as_str()])
            })
            .observe(secs);
    }
}

fn record_by_labels(route: &str, method: &Method, status: StatusCode, secs: f64) {
    METRICS
        .http_requests
        .with_label_values(&[
            route,
            method.as_str(),
            STATUS_CLASSES[status_class_index(status)],
        ])
        .inc();
    METRICS
        .http_duration
        .with_label_values(&[route, method.as_str()])
        .observe(secs);
}

fn route_of(req: &actix_web::HttpRequest) -> String {
    req.match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned())
}

pub async fn request_context<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let _in_flight = InFlight::start();
    let rid = request_id(&req);
    let method = req.method().clone();
    let path = req.path().to_owned();

    let mut res = match next.call(req).await {
        Ok(res) => res.map_into_boxed_body(),
        Err(e) => {
            log::error!(target: "tessera::http", "{method} {path} failed: {e} request_id={rid}");
            return Err(e);
        }
    };

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
            .insert_header(crate::api::json_content_type())
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
    let took = started.elapsed();
    let status = res.status();
    // Templates, not paths: one series per route however many IDs exist.
    let route_metrics = res.request().app_data::<RouteMetrics>();
    let unlisted;
    let route: &str = match route_metrics {
        Some(m) => {
            let route = m.route.get_or_init(|| route_of(res.request()));
            m.record(route, &method, status, took.as_secs_f64());
            route
        }
        None => {
            unlisted = route_of(res.request());
            record_by_labels(&unlisted, &method, status, took.as_secs_f64());
            &unlisted
        }
    };
    // The cause of a 5xx, with the request's ID to find it by.
    if status.is_server_error() {
        if let Some(e) = res.response().error() {
            log::error!(
                target: "tessera::http",
                request_id = rid.as_str();
                "{method} {path} answered {}: {e}", status.as_u16()
            );
        }
    }
    // The access log's fields are only made when it is written.
    if !log::log_enabled!(target: "tessera::http", log::Level::Info) {
        return Ok(res);
    }
    // A streamed body's size is not known here; the field is left out.
    let bytes = match res.response().body().size() {
        BodySize::Sized(n) => log::kv::Value::from(n),
        BodySize::None => log::kv::Value::from(0u64),
        BodySize::Stream => log::kv::Value::from(""),
    };
    let acted = res.request().extensions().get::<ActedAs>().copied();
    let user = acted.map(|a| a.user.to_string()).unwrap_or_default();
    let token = acted
        .and_then(|a| a.token)
        .map(|t| t.to_string())
        .unwrap_or_default();
    let duration_ms = (took.as_secs_f64() * 1_000_000.0).round() / 1000.0;
    log::info!(
        target: "tessera::http",
        request_id = rid.as_str(),
        method = method.as_str(),
        route = route,
        path = path.as_str(),
        status = status.as_u16(),
        duration_ms = duration_ms,
        bytes = bytes,
        user_id = user.as_str(),
        token_id = token.as_str();
        "{method} {path} {}", status.as_u16()
    );
    Ok(res)
}
