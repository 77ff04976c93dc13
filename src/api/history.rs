//! `/api/v2/dashboards/{id}/versions`: a dashboard's history, restore and diff.

use super::dashboards::{changed_dashboard, dashboard_json, if_match, DashboardPath};
use super::{json, query_pairs, read, resource};
use crate::auth::permission::Actor;
use crate::domain::history::{Author, Version};
use crate::domain::Service;
use crate::error::{Error, Result};
use crate::id::Id;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/dashboards/{dashboardID}/versions").get(list))
        .service(resource("/dashboards/{dashboardID}/versions/{version}").get(get))
        .service(resource("/dashboards/{dashboardID}/versions/{version}/restore").post(restore))
        .service(resource("/dashboards/{dashboardID}/versions/{from}/diff/{to}").get(diff));
}

#[derive(Deserialize)]
struct VersionPath {
    #[serde(rename = "dashboardID")]
    dashboard: Id,
    version: u64,
}

#[derive(Deserialize)]
struct DiffPath {
    #[serde(rename = "dashboardID")]
    dashboard: Id,
    from: u64,
    to: u64,
}

const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 100;

#[derive(Serialize)]
struct VersionJson<'a> {
    version: u64,
    #[serde(rename = "createdAt")]
    created_at: String,
    #[serde(rename = "createdBy")]
    created_by: &'a Author,
    summary: &'a str,
    #[serde(rename = "restoredFrom", skip_serializing_if = "Option::is_none")]
    restored_from: Option<u64>,
    links: VersionLinks,
}

#[derive(Serialize)]
struct VersionLinks {
    #[serde(rename = "self")]
    this: String,
    restore: String,
}

#[derive(Serialize)]
struct VersionList<'a> {
    versions: Vec<VersionJson<'a>>,
    links: HashMap<&'static str, String>,
}

fn version_json(dashboard: Id, v: &Version) -> VersionJson<'_> {
    let this = format!("/api/v2/dashboards/{dashboard}/versions/{}", v.version);
    VersionJson {
        version: v.version,
        created_at: v.created_at.rfc3339(),
        created_by: &v.created_by,
        summary: &v.summary,
        restored_from: v.restored_from,
        links: VersionLinks {
            restore: format!("{this}/restore"),
            this,
        },
    }
}

fn paging(req: &HttpRequest) -> Result<(usize, usize)> {
    let mut offset = 0;
    let mut limit = DEFAULT_LIMIT;
    for (k, v) in query_pairs(req) {
        let n = || {
            v.parse::<usize>()
                .map_err(|_| Error::invalid(format!("{k} must be a non-negative integer")))
        };
        match k.as_str() {
            "offset" => offset = n()?,
            "limit" => limit = n()?,
            _ => {}
        }
    }
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(Error::invalid(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    Ok((offset, limit))
}

async fn list(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<DashboardPath>,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let id = path.dashboard;
    let (offset, limit) = paging(&req)?;
    // One more than a page tells whether a next page exists.
    let versions = read(&svc, move |s| {
        s.dashboard_versions(&actor, id, offset, limit + 1)
    })
    .await?;
    let base = format!("/api/v2/dashboards/{id}/versions");
    let mut links = HashMap::from([("self", format!("{base}?offset={offset}&limit={limit}"))]);
    if versions.len() > limit {
        links.insert(
            "next",
            format!("{base}?offset={}&limit={limit}", offset + limit),
        );
    }
    if offset > 0 {
        let prev = offset.saturating_sub(limit);
        links.insert("prev", format!("{base}?offset={prev}&limit={limit}"));
    }
    let body = VersionList {
        versions: versions
            .iter()
            .take(limit)
            .map(|v| version_json(id, v))
            .collect(),
        links,
    };
    json(StatusCode::OK, &body)
}

async fn get(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<VersionPath>,
) -> Result<HttpResponse> {
    let (id, n) = (path.dashboard, path.version);
    let v = read(&svc, move |s| s.dashboard_version(&actor, id, n)).await?;
    let views: HashMap<Id, _> = v.views.into_iter().collect();
    json(
        StatusCode::OK,
        &dashboard_json(&v.dashboard, Some(&views), &v.labels),
    )
}

async fn restore(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<VersionPath>,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let (id, n) = (path.dashboard, path.version);
    let pre = if_match(&req);
    changed_dashboard(&svc, actor, move |s, a| {
        s.restore_dashboard_version(a, id, n, &pre)
    })
    .await
}

async fn diff(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<DiffPath>,
) -> Result<HttpResponse> {
    let (id, a, b) = (path.dashboard, path.from, path.to);
    let d = read(&svc, move |s| s.diff_dashboard_versions(&actor, id, a, b)).await?;
    json(StatusCode::OK, &d)
}
