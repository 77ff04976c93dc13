//! Custom roles of an org and the roles its members hold:
//! `/api/v2/orgs/{orgID}/roles[/{roleID}]` and
//! `/api/v2/orgs/{orgID}/members/{userID}/roles`.

use super::{blocking, json, read, resource, Body};
use crate::auth::permission::{Actor, Permission};
use crate::domain::role::{RoleBody, RoleView, SetMemberRoles};
use crate::domain::Service;
use crate::error::Result;
use crate::id::Id;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Serialize;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/orgs/{orgID}/roles").get(list).post(create))
        .service(
            resource("/orgs/{orgID}/roles/{roleID}")
                .get(get)
                .patch(patch)
                .delete(delete),
        )
        .service(
            resource("/orgs/{orgID}/members/{userID}/roles")
                .get(member_roles)
                .put(set_member_roles),
        );
}

#[derive(Serialize)]
struct RoleJson<'a> {
    id: Id,
    #[serde(rename = "orgID")]
    org_id: Id,
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    description: &'a str,
    permissions: &'a [Permission],
    #[serde(rename = "builtIn")]
    built_in: bool,
    #[serde(rename = "createdAt")]
    created_at: String,
    #[serde(rename = "updatedAt")]
    updated_at: String,
    links: SelfLink,
}

#[derive(Serialize)]
struct SelfLink {
    #[serde(rename = "self")]
    this: String,
}

fn role_json(r: &RoleView) -> RoleJson<'_> {
    let role = &r.role;
    RoleJson {
        id: role.id,
        org_id: role.org_id,
        name: &role.name,
        description: &role.description,
        permissions: &role.permissions,
        built_in: r.built_in,
        created_at: role.created_at.rfc3339(),
        updated_at: role.updated_at.rfc3339(),
        links: SelfLink {
            this: format!("/api/v2/orgs/{}/roles/{}", role.org_id, role.id),
        },
    }
}

#[derive(Serialize)]
struct RoleList<'a> {
    links: SelfLink,
    roles: Vec<RoleJson<'a>>,
}

fn role_list(this: String, roles: &[RoleView]) -> Result<HttpResponse> {
    json(
        StatusCode::OK,
        &RoleList {
            links: SelfLink { this },
            roles: roles.iter().map(role_json).collect(),
        },
    )
}

async fn list(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<(Id,)>,
) -> Result<HttpResponse> {
    let org = path.0;
    let roles = read(&svc, move |s| s.list_roles(&actor, org)).await?;
    role_list(format!("/api/v2/orgs/{org}/roles"), &roles)
}

async fn create(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<(Id,)>,
    body: Body,
) -> Result<HttpResponse> {
    let org = path.0;
    let req: RoleBody = body.json()?;
    let r = blocking(&svc, move |s| s.create_role(&actor, org, req)).await?;
    json(StatusCode::CREATED, &role_json(&r))
}

async fn get(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<(Id, Id)>,
) -> Result<HttpResponse> {
    let (org, id) = path.into_inner();
    let r = read(&svc, move |s| s.role(&actor, org, id)).await?;
    json(StatusCode::OK, &role_json(&r))
}

async fn patch(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<(Id, Id)>,
    body: Body,
) -> Result<HttpResponse> {
    let (org, id) = path.into_inner();
    let req: RoleBody = body.json()?;
    let r = blocking(&svc, move |s| s.update_role(&actor, org, id, req)).await?;
    json(StatusCode::OK, &role_json(&r))
}

async fn delete(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<(Id, Id)>,
) -> Result<HttpResponse> {
    let (org, id) = path.into_inner();
    blocking(&svc, move |s| s.delete_role(&actor, org, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn member_roles(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<(Id, Id)>,
) -> Result<HttpResponse> {
    let (org, user) = path.into_inner();
    let roles = read(&svc, move |s| s.member_roles(&actor, org, user)).await?;
    role_list(format!("/api/v2/orgs/{org}/members/{user}/roles"), &roles)
}

async fn set_member_roles(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<(Id, Id)>,
    body: Body,
) -> Result<HttpResponse> {
    let (org, user) = path.into_inner();
    let req: SetMemberRoles = body.json()?;
    let roles = blocking(&svc, move |s| s.set_member_roles(&actor, org, user, req)).await?;
    role_list(format!("/api/v2/orgs/{org}/members/{user}/roles"), &roles)
}
