//! HTTP only: routing, extraction and rendering. Each resource module has a
//! `configure` that shows its route tree; rules live in `domain`.

pub mod assets;
pub mod backup;
pub mod credentials;
pub mod dashboards;
pub mod default_dashboards;
pub mod external_dashboards;
pub mod history;
pub mod identity;
pub mod labels;
pub mod members;
pub mod metrics;
pub mod middleware;
pub mod orgs;
pub mod rate_limit;
pub mod rendered;
pub mod roles;
pub mod stacks;
pub mod system;
pub mod templates;
pub mod trash;
pub mod ui;
pub mod unsupported;
pub mod variables;

use crate::domain::Service;
use crate::error::{Code, Error, Result};
use actix_web::dev::{AppService, HttpServiceFactory, Payload};
use actix_web::http::{header, Method, StatusCode};
use actix_web::{web, FromRequest, Handler, HttpRequest, HttpResponse, Responder};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::future::Future;
use std::pin::Pin;

pub const JSON_UTF8: &str = "application/json; charset=utf-8";

/// The whole URL tree.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(system::configure)
        .service(web::scope("/api/v2private").configure(ui::configure_private))
        .service(
            web::scope("/api/v2")
                .configure(backup::configure)
                .configure(dashboards::configure)
                .configure(external_dashboards::configure)
                .configure(history::configure)
                .configure(trash::configure)
                .configure(labels::configure)
                .configure(variables::configure)
                .configure(members::configure)
                .configure(roles::configure)
                .configure(default_dashboards::configure)
                .configure(orgs::configure)
                .configure(templates::configure)
                .configure(stacks::configure)
                .configure(identity::configure)
                .configure(ui::configure)
                .configure(unsupported::configure),
        );
}

/// Extractor configuration that turns path errors into the envelope.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, _req| {
        let msg = match &err {
            actix_web::error::PathError::Deserialize(e) => e.to_string(),
            other => other.to_string(),
        };
        Error::invalid(msg).into()
    })
}

/// 405 in the envelope, with `Allow` naming the methods the path answers.
fn method_not_allowed(req: &HttpRequest, allow: &str) -> HttpResponse {
    let err = Error::new(
        Code::MethodNotAllowed,
        format!("method {} not allowed on {}", req.method(), req.path()),
    );
    let mut res = actix_web::ResponseError::error_response(&err);
    if let Ok(v) = header::HeaderValue::from_str(allow) {
        res.headers_mut().insert(header::ALLOW, v);
    }
    res
}

/// A resource whose unmatched methods answer 405 in the envelope, with the
/// `Allow` header listing the methods it was given.
pub struct Resource {
    inner: actix_web::Resource,
    allowed: Vec<Method>,
}

pub fn resource(path: &str) -> Resource {
    Resource {
        inner: web::resource(path),
        allowed: Vec::new(),
    }
}

macro_rules! method_routes {
    ($($name:ident => $method:ident),* $(,)?) => {
        impl Resource {
            $(
                pub fn $name<F, Args>(mut self, handler: F) -> Self
                where
                    F: Handler<Args>,
                    Args: FromRequest + 'static,
                    F::Output: Responder + 'static,
                {
                    self.allowed.push(Method::$method);
                    self.inner = self.inner.route(web::$name().to(handler));
                    self
                }
            )*
        }
    };
}

method_routes!(get => GET, head => HEAD, post => POST, put => PUT, patch => PATCH, delete => DELETE);

impl HttpServiceFactory for Resource {
    fn register(self, config: &mut AppService) {
        let allow = self
            .allowed
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        self.inner
            .app_data(middleware::RouteMetrics::default())
            .default_service(web::to(move |req: HttpRequest| {
                let res = method_not_allowed(&req, &allow);
                async move { res }
            }))
            .register(config)
    }
}

/// Runs a read where the store says reads belong. sled serves reads from
/// its in-memory page cache in microseconds, and handing them to the
/// blocking pool cost more than the read itself (a third of a GET's CPU went
/// to thread switches, see docs/performance.md), so they run on the calling
/// worker. A networked store's reads wait on the network: they go to the
/// blocking pool, like writes, so no async worker stalls.
pub async fn read<T, F>(svc: &web::Data<Service>, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&Service) -> Result<T> + Send + 'static,
{
    if svc.reads_in_place() {
        f(svc)
    } else {
        blocking(svc, f).await
    }
}

/// Runs blocking domain work on the blocking pool, off the async workers.
pub async fn blocking<T, F>(svc: &web::Data<Service>, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&Service) -> Result<T> + Send + 'static,
{
    let svc = svc.clone().into_inner();
    web::block(move || f(&svc)).await.map_err(Error::internal)?
}

/// The `Content-Type` of a JSON answer as a static value, which is not
/// copied and checked again on every answer as the `&str` would be.
pub fn json_content_type() -> (header::HeaderName, header::HeaderValue) {
    (
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(JSON_UTF8),
    )
}

pub fn json<T: Serialize>(status: StatusCode, body: &T) -> Result<HttpResponse> {
    let bytes = serde_json::to_vec(body).map_err(Error::internal)?;
    Ok(HttpResponse::build(status)
        .insert_header(json_content_type())
        .body(bytes))
}

/// The query string as ordered pairs (repeated keys kept).
pub fn query_pairs(req: &HttpRequest) -> Vec<(String, String)> {
    form_urlencoded::parse(req.query_string().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Largest request body accepted (`--max-body-bytes`).
#[derive(Clone, Copy)]
pub struct BodyLimit(pub usize);

/// A request body, size-checked and with an acceptable content type, not yet
/// parsed: handlers choose the error prefix InfluxDB uses for each route.
pub struct Body(web::Bytes);

impl Body {
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        self.json_or("failed to unmarshal json")
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn json_or<T: DeserializeOwned>(&self, prefix: &str) -> Result<T> {
        serde_json::from_slice(&self.0).map_err(|e| Error::invalid(format!("{prefix}: {e}")))
    }
}

/// Media types we parse as JSON. Absent and form-encoded are accepted because
/// InfluxDB ignores the header and `curl -d` sends the latter by default.
fn acceptable_content_type(req: &HttpRequest) -> Result<()> {
    let Some(ct) = req.headers().get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let ct = ct.to_str().unwrap_or("").to_ascii_lowercase();
    let essence = ct.split(';').next().unwrap_or("").trim();
    let ok = essence.is_empty()
        || essence == "application/json"
        || essence.ends_with("+json")
        || essence == "text/json"
        || essence == "application/x-www-form-urlencoded"
        || essence == "text/plain"
        // Template routes read YAML bodies.
        || essence == "application/x-yaml"
        || essence == "application/yaml"
        || essence == "text/yml"
        || essence == "text/yaml";
    if ok {
        Ok(())
    } else {
        Err(Error::new(
            Code::UnsupportedMediaType,
            format!("unsupported media type {essence:?}; send application/json"),
        ))
    }
}

impl FromRequest for Body {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Body>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req.app_data::<BodyLimit>().map(|l| l.0).unwrap_or(10 << 20);
        let too_large = move || {
            Error::new(
                Code::RequestTooLarge,
                format!("request body is larger than the limit of {limit} bytes"),
            )
        };
        if let Err(e) = acceptable_content_type(req) {
            return Box::pin(async move { Err(e) });
        }
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > limit) {
            return Box::pin(async move { Err(too_large()) });
        }
        let fut = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            match fut.await {
                Ok(bytes) => Ok(Body(bytes)),
                Err(e) if e.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE => {
                    Err(too_large())
                }
                Err(e) => Err(Error::invalid(format!("cannot read request body: {e}"))),
            }
        })
    }
}
