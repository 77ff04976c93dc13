//! What InfluxDB runs and Tessera does not: checks, notification endpoints
//! and rules, tasks, Telegraf configurations and scrapers. Their lists answer
//! empty in InfluxDB's shape, so the Influx UI's pages open without an error;
//! creating one answers 501, saying what Tessera is for.

use super::{json, resource};
use crate::auth::permission::Actor;
use crate::error::{Code, Error, Result};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

/// How InfluxDB links a list of this kind.
#[derive(Clone, Copy)]
enum Links {
    /// `{"self": path?query}` (`PagingLinks`; no `next` on an empty page).
    WithQuery,
    /// `{"self": path}`, the query left out (scrapers).
    PathOnly,
    /// No `links` at all (telegrafs).
    Absent,
}

/// One kind of thing Tessera does not run.
#[derive(Clone, Copy)]
struct Kind {
    path: &'static str,
    /// The list's key in InfluxDB's answer.
    key: &'static str,
    /// Whether InfluxDB puts `links` before the list (tasks, scrapers).
    links_first: bool,
    links: Links,
    /// What creating one would need, for the 501.
    refusal: &'static str,
}

const KINDS: &[Kind] = &[
    Kind {
        path: "/checks",
        key: "checks",
        links_first: false,
        links: Links::WithQuery,
        refusal: "Tessera stores dashboards; it does not run checks",
    },
    Kind {
        path: "/notificationEndpoints",
        key: "notificationEndpoints",
        links_first: false,
        links: Links::WithQuery,
        refusal: "Tessera stores dashboards; it does not send notifications",
    },
    Kind {
        path: "/notificationRules",
        key: "notificationRules",
        links_first: false,
        links: Links::WithQuery,
        refusal: "Tessera stores dashboards; it does not send notifications",
    },
    Kind {
        path: "/tasks",
        key: "tasks",
        links_first: true,
        links: Links::WithQuery,
        refusal: "Tessera stores dashboards; it does not run tasks",
    },
    Kind {
        path: "/telegrafs",
        key: "configurations",
        links_first: false,
        links: Links::Absent,
        refusal: "Tessera stores dashboards; it does not keep Telegraf configurations",
    },
    Kind {
        path: "/scrapers",
        key: "configurations",
        links_first: true,
        links: Links::PathOnly,
        refusal: "Tessera stores dashboards; it does not scrape metrics",
    },
];

/// Routes under `/api/v2`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    for &kind in KINDS {
        cfg.service(
            resource(kind.path)
                .get(move |_actor: Actor, req: HttpRequest| async move { list(kind, &req) })
                .post(move |_actor: Actor| async move { refuse(kind) }),
        );
    }
}

fn list(kind: Kind, req: &HttpRequest) -> Result<HttpResponse> {
    let path = format!("/api/v2{}", kind.path);
    let links = match (kind.links, req.query_string()) {
        (Links::Absent, _) => None,
        (Links::WithQuery, q) if !q.is_empty() => Some(json!({"self": format!("{path}?{q}")})),
        _ => Some(json!({ "self": path })),
    };
    let mut body = Map::new();
    if let (true, Some(l)) = (kind.links_first, &links) {
        body.insert("links".into(), l.clone());
    }
    body.insert(kind.key.into(), Value::Array(Vec::new()));
    if let (false, Some(l)) = (kind.links_first, links) {
        body.insert("links".into(), l);
    }
    json(StatusCode::OK, &body)
}

fn refuse(kind: Kind) -> Result<HttpResponse> {
    Err(Error::new(Code::NotImplemented, kind.refusal))
}
