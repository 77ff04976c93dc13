//! `/api/v2/orgs`.

use super::{blocking, json, query_pairs, read, resource, Body};
use crate::auth::permission::Actor;
use crate::domain::org::{CreateOrg, Org, PatchOrg};
use crate::domain::Service;
use crate::error::Result;
use crate::id::Id;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/orgs").get(list).post(create))
        .service(
            resource("/orgs/{orgID}")
                .get(get)
                .patch(patch)
                .delete(delete),
        );
}

#[derive(Deserialize)]
struct OrgPath {
    #[serde(rename = "orgID")]
    org: Id,
}

#[derive(Serialize)]
pub struct OrgJson<'a> {
    links: OrgLinks,
    id: Id,
    name: &'a str,
    description: &'a str,
    #[serde(rename = "createdAt")]
    created_at: String,
    #[serde(rename = "updatedAt")]
    updated_at: String,
}

#[derive(Serialize)]
struct OrgLinks {
    #[serde(rename = "self")]
    this: String,
    members: String,
    owners: String,
    labels: String,
    secrets: String,
    buckets: String,
    tasks: String,
    dashboards: String,
}

pub fn org_json(o: &Org) -> OrgJson<'_> {
    let base = format!("/api/v2/orgs/{}", o.id);
    let by_name: String = form_urlencoded::byte_serialize(o.name.as_bytes()).collect();
    OrgJson {
        links: OrgLinks {
            members: format!("{base}/members"),
            owners: format!("{base}/owners"),
            labels: format!("{base}/labels"),
            secrets: format!("{base}/secrets"),
            buckets: format!("/api/v2/buckets?org={by_name}"),
            tasks: format!("/api/v2/tasks?org={by_name}"),
            dashboards: format!("/api/v2/dashboards?org={by_name}"),
            this: base,
        },
        id: o.id,
        name: &o.name,
        description: &o.description,
        created_at: o.created_at.rfc3339(),
        updated_at: o.updated_at.rfc3339(),
    }
}

#[derive(Serialize)]
struct OrgList<'a> {
    links: SelfLink,
    orgs: Vec<OrgJson<'a>>,
}

#[derive(Serialize)]
struct SelfLink {
    #[serde(rename = "self")]
    this: &'static str,
}

async fn list(actor: Actor, svc: web::Data<Service>, req: HttpRequest) -> Result<HttpResponse> {
    let pairs = query_pairs(&req);
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, v)| key == k && !v.is_empty())
            .map(|(_, v)| v.clone())
    };
    let id = get("orgID").map(|v| Id::parse(&v)).transpose()?;
    let name = get("org");
    let user = get("userID").map(|v| Id::parse(&v)).transpose()?;
    let orgs = read(&svc, move |s| {
        s.list_orgs(&actor, name.as_deref(), id, user)
    })
    .await?;
    json(
        StatusCode::OK,
        &OrgList {
            links: SelfLink {
                this: "/api/v2/orgs",
            },
            orgs: orgs.iter().map(org_json).collect(),
        },
    )
}

async fn create(actor: Actor, svc: web::Data<Service>, body: Body) -> Result<HttpResponse> {
    let req: CreateOrg = body.json()?;
    let org = blocking(&svc, move |s| s.create_org(&actor, req)).await?;
    json(StatusCode::CREATED, &org_json(&org))
}

async fn get(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<OrgPath>,
) -> Result<HttpResponse> {
    let id = path.org;
    let org = read(&svc, move |s| s.org(&actor, id)).await?;
    json(StatusCode::OK, &org_json(&org))
}

async fn patch(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<OrgPath>,
    body: Body,
) -> Result<HttpResponse> {
    let upd: PatchOrg = body.json()?;
    let id = path.org;
    let org = blocking(&svc, move |s| s.update_org(&actor, id, upd)).await?;
    json(StatusCode::OK, &org_json(&org))
}

async fn delete(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<OrgPath>,
) -> Result<HttpResponse> {
    let id = path.org;
    blocking(&svc, move |s| s.delete_org(&actor, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
