//! `/health`, `/ping`, `/ready`: answered without credentials.

use super::{json, resource};
use crate::domain::Service;
use crate::error::Result;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use std::time::Instant;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Set `TESSERA_COMMIT` at build time to stamp the binary.
pub const COMMIT: &str = match option_env!("TESSERA_COMMIT") {
    Some(c) => c,
    None => "unknown",
};

/// When the server started, for `/ready`.
#[derive(Clone, Copy)]
pub struct Started {
    pub at: crate::domain::time::Timestamp,
    pub instant: Instant,
}

impl Started {
    pub fn now() -> Self {
        Started {
            at: crate::domain::time::Timestamp::now(),
            instant: Instant::now(),
        }
    }
}

/// The OpenAPI document, converted from `openapi/openapi.yaml` at build time.
pub const OPENAPI_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.json"));
const OPENAPI_YAML: &str = include_str!("../../openapi/openapi.yaml");

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/v2/openapi.json").get(openapi_json))
        .service(resource("/api/v2/openapi.yaml").get(openapi_yaml))
        .service(resource("/health").get(health))
        .service(resource("/ping").get(ping).head(ping))
        .service(resource("/ready").get(ready));
}

#[derive(Serialize)]
struct Health {
    name: &'static str,
    message: String,
    status: &'static str,
    checks: Vec<()>,
    version: &'static str,
    commit: &'static str,
}

/// `pass`, or `fail` with 503 and the error a write would meet now (a full
/// data volume, PostgreSQL unreachable), as influxd reports a failed check.
async fn health(svc: web::Data<Service>) -> Result<HttpResponse> {
    let checked = web::block(move || svc.store_check())
        .await
        .map_err(crate::error::Error::internal)?;
    let (status, message, pass) = match checked {
        Ok(()) => (
            StatusCode::OK,
            "ready for queries and writes".into(),
            "pass",
        ),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string(), "fail"),
    };
    json(
        status,
        &Health {
            name: "influxdb",
            message,
            status: pass,
            checks: Vec::new(),
            version: VERSION,
            commit: COMMIT,
        },
    )
}

async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(super::json_content_type())
        .body(OPENAPI_JSON)
}

async fn openapi_yaml() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Content-Type", "application/yaml; charset=utf-8"))
        .body(OPENAPI_YAML)
}

async fn ping() -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header(("X-Influxdb-Version", VERSION))
        .insert_header(("X-Influxdb-Build", "OSS"))
        .finish()
}

#[derive(Serialize)]
struct Ready {
    status: &'static str,
    started: String,
    up: String,
}

async fn ready(started: web::Data<Started>) -> Result<HttpResponse> {
    let up = started.instant.elapsed();
    json(
        StatusCode::OK,
        &Ready {
            status: "ready",
            started: started.at.rfc3339(),
            up: format!("{:.3}s", up.as_secs_f64()),
        },
    )
}
