//! `/api/v2/trash/dashboards`: deleted dashboards, their restore and purge.

use super::dashboards::{changed_dashboard, DashboardPath};
use super::{blocking, json, query_pairs, read, resource};
use crate::auth::permission::Actor;
use crate::domain::history::Author;
use crate::domain::trash::Trashed;
use crate::domain::Service;
use crate::error::{Error, Result};
use crate::id::Id;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/trash/dashboards").get(list))
        .service(resource("/trash/dashboards/{dashboardID}").delete(purge))
        .service(resource("/trash/dashboards/{dashboardID}/restore").post(restore));
}

#[derive(Serialize)]
struct TrashedJson<'a> {
    id: Id,
    name: &'a str,
    #[serde(rename = "orgID")]
    org_id: Id,
    #[serde(rename = "deletedAt")]
    deleted_at: String,
    #[serde(rename = "deletedBy")]
    deleted_by: &'a Author,
    links: TrashedLinks,
}

#[derive(Serialize)]
struct TrashedLinks {
    #[serde(rename = "self")]
    this: String,
    restore: String,
}

#[derive(Serialize)]
struct TrashList<'a> {
    dashboards: Vec<TrashedJson<'a>>,
    links: SelfLink,
}

#[derive(Serialize)]
struct SelfLink {
    #[serde(rename = "self")]
    this: String,
}

fn trashed_json(t: &Trashed) -> TrashedJson<'_> {
    let this = format!("/api/v2/trash/dashboards/{}", t.dashboard.id);
    TrashedJson {
        id: t.dashboard.id,
        name: &t.dashboard.name,
        org_id: t.dashboard.org_id,
        deleted_at: t.deleted_at.rfc3339(),
        deleted_by: &t.deleted_by,
        links: TrashedLinks {
            restore: format!("{this}/restore"),
            this,
        },
    }
}

async fn list(actor: Actor, svc: web::Data<Service>, req: HttpRequest) -> Result<HttpResponse> {
    let org = query_pairs(&req)
        .into_iter()
        .find(|(k, v)| k == "orgID" && !v.is_empty())
        .map(|(_, v)| v)
        .ok_or_else(|| Error::invalid("orgID is required"))?;
    let org = Id::parse(&org)?;
    let trashed = read(&svc, move |s| s.list_trash(&actor, org)).await?;
    let body = TrashList {
        dashboards: trashed.iter().map(trashed_json).collect(),
        links: SelfLink {
            this: format!("/api/v2/trash/dashboards?orgID={org}"),
        },
    };
    json(StatusCode::OK, &body)
}

async fn restore(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<DashboardPath>,
) -> Result<HttpResponse> {
    let id = path.dashboard;
    changed_dashboard(&svc, actor, move |s, a| s.restore_trashed(a, id)).await
}

async fn purge(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<DashboardPath>,
) -> Result<HttpResponse> {
    let id = path.dashboard;
    blocking(&svc, move |s| s.purge_trashed(&actor, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
