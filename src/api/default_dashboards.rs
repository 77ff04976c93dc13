//! Default dashboards: `/api/v2/me/default-dashboard` (the caller's own)
//! and `/api/v2/orgs/{orgID}/default-dashboard` (the org's).

use super::{blocking, json, read, resource, Body};
use crate::auth::permission::Actor;
use crate::domain::default_dashboard::{Scope, SetDefault};
use crate::domain::Service;
use crate::error::Result;
use crate::id::Id;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Serialize;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/me/default-dashboard")
            .get(get_mine)
            .put(set_mine)
            .delete(clear_mine),
    )
    .service(
        resource("/orgs/{orgID}/default-dashboard")
            .get(get_org)
            .put(set_org)
            .delete(clear_org),
    );
}

#[derive(Serialize)]
struct DefaultJson {
    #[serde(rename = "dashboardID")]
    dashboard_id: Id,
    links: Links,
}

#[derive(Serialize)]
struct Links {
    #[serde(rename = "self")]
    this: String,
    dashboard: String,
}

fn answer(this: String, dashboard: Id) -> Result<HttpResponse> {
    json(
        StatusCode::OK,
        &DefaultJson {
            dashboard_id: dashboard,
            links: Links {
                this,
                dashboard: format!("/api/v2/dashboards/{dashboard}"),
            },
        },
    )
}

const MINE: &str = "/api/v2/me/default-dashboard";

fn of_org(org: Id) -> String {
    format!("/api/v2/orgs/{org}/default-dashboard")
}

async fn get_mine(actor: Actor, svc: web::Data<Service>) -> Result<HttpResponse> {
    let id = read(&svc, move |s| {
        s.default_dashboard(&actor, Scope::User, actor.user_id)
    })
    .await?;
    answer(MINE.into(), id)
}

async fn set_mine(actor: Actor, svc: web::Data<Service>, body: Body) -> Result<HttpResponse> {
    let req: SetDefault = body.json()?;
    let id = blocking(&svc, move |s| {
        s.set_default_dashboard(&actor, Scope::User, actor.user_id, req)
    })
    .await?;
    answer(MINE.into(), id)
}

async fn clear_mine(actor: Actor, svc: web::Data<Service>) -> Result<HttpResponse> {
    blocking(&svc, move |s| {
        s.clear_default_dashboard(&actor, Scope::User, actor.user_id)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn get_org(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<(Id,)>,
) -> Result<HttpResponse> {
    let org = path.0;
    let id = read(&svc, move |s| s.default_dashboard(&actor, Scope::Org, org)).await?;
    answer(of_org(org), id)
}

async fn set_org(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<(Id,)>,
    body: Body,
) -> Result<HttpResponse> {
    let org = path.0;
    let req: SetDefault = body.json()?;
    let id = blocking(&svc, move |s| {
        s.set_default_dashboard(&actor, Scope::Org, org, req)
    })
    .await?;
    answer(of_org(org), id)
}

async fn clear_org(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<(Id,)>,
) -> Result<HttpResponse> {
    let org = path.0;
    blocking(&svc, move |s| {
        s.clear_default_dashboard(&actor, Scope::Org, org)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
