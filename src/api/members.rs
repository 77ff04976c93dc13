//! Owners and members of orgs and dashboards:
//! `/api/v2/{orgs,dashboards}/{id}/{members,owners}[/{userID}]`.

use super::identity::user_json;
use super::{blocking, json, read, resource, Body};
use crate::auth::permission::Actor;
use crate::domain::member::{member_id, AddMember, Owned, Role};
use crate::domain::user::User;
use crate::domain::Service;
use crate::error::Result;
use crate::id::Id;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Serialize;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/orgs/{orgID}/members")
            .get(list::<false, false>)
            .post(add::<false, false>),
    )
    .service(resource("/orgs/{orgID}/members/{userID}").delete(remove::<false, false>))
    .service(
        resource("/orgs/{orgID}/owners")
            .get(list::<false, true>)
            .post(add::<false, true>),
    )
    .service(resource("/orgs/{orgID}/owners/{userID}").delete(remove::<false, true>))
    .service(
        resource("/dashboards/{dashboardID}/members")
            .get(list::<true, false>)
            .post(add::<true, false>),
    )
    .service(resource("/dashboards/{dashboardID}/members/{userID}").delete(remove::<true, false>))
    .service(
        resource("/dashboards/{dashboardID}/owners")
            .get(list::<true, true>)
            .post(add::<true, true>),
    )
    .service(resource("/dashboards/{dashboardID}/owners/{userID}").delete(remove::<true, true>));
}

fn target<const DASHBOARD: bool, const OWNER: bool>(id: Id) -> (Owned, Role) {
    let res = if DASHBOARD {
        Owned::Dashboard(id)
    } else {
        Owned::Org(id)
    };
    (res, if OWNER { Role::Owner } else { Role::Member })
}

fn base(res: Owned, role: Role) -> String {
    format!("/api/v2/{}/{}/{}s", res.kind(), res.id(), role.as_str())
}

#[derive(Serialize)]
struct MemberJson<'a> {
    #[serde(flatten)]
    user: super::identity::UserJson<'a>,
    role: &'static str,
}

fn member_json(u: &User, role: Role) -> MemberJson<'_> {
    MemberJson {
        user: user_json(u),
        role: role.as_str(),
    }
}

async fn list<const D: bool, const O: bool>(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<(Id,)>,
) -> Result<HttpResponse> {
    let (res, role) = target::<D, O>(path.0);
    let users = read(&svc, move |s| s.members(&actor, res, role)).await?;
    let list: Vec<MemberJson> = users.iter().map(|(u, r)| member_json(u, *r)).collect();
    json(
        StatusCode::OK,
        &serde_json::json!({"links": {"self": base(res, role)}, "users": list}),
    )
}

async fn add<const D: bool, const O: bool>(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<(Id,)>,
    body: Body,
) -> Result<HttpResponse> {
    let (res, role) = target::<D, O>(path.0);
    let req: AddMember = body.json()?;
    let user = member_id(&req)?;
    let u = blocking(&svc, move |s| s.add_member(&actor, res, user, role)).await?;
    json(StatusCode::CREATED, &member_json(&u, role))
}

async fn remove<const D: bool, const O: bool>(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<(Id, Id)>,
) -> Result<HttpResponse> {
    let (res, role) = target::<D, O>(path.0);
    let user = path.1;
    blocking(&svc, move |s| s.remove_member(&actor, res, user, role)).await?;
    Ok(HttpResponse::NoContent().finish())
}
