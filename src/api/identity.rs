//! Onboarding, sign-in, users and tokens: `/api/v2/setup`, `/signin`,
//! `/signout`, `/me`, `/users`, `/authorizations`, `/resources`, `/buckets`.

use super::credentials::{session_cookie, session_set_cookie, SESSION_COOKIE};
use super::orgs::org_json;
use super::{blocking, json, query_pairs, read, resource, Body};
use crate::auth::permission::{Actor, Permission, RESOURCE_TYPES};
use crate::auth::unauthorized;
use crate::domain::authorization::{
    Authorization, AuthorizationFilter, CreateAuthorization, PatchAuthorization,
};
use crate::domain::bucket::{Bucket, BucketFilter};
use crate::domain::setup::SetupRequest;
use crate::domain::user::{CreateUser, PasswordBody, PatchUser, Status, User};
use crate::domain::Service;
use crate::error::Result;
use crate::id::Id;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine;
use serde::Serialize;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/setup").get(setup_allowed).post(setup))
        .service(resource("/signin").post(sign_in))
        .service(resource("/signout").post(sign_out))
        .service(resource("/me").get(me))
        .service(resource("/me/password").put(me_password))
        .service(resource("/users").get(list_users).post(create_user))
        .service(
            resource("/users/{userID}")
                .get(get_user)
                .patch(patch_user)
                .delete(delete_user),
        )
        .service(
            resource("/users/{userID}/password")
                .post(set_user_password)
                .put(change_user_password),
        )
        .service(
            resource("/authorizations")
                .get(list_authorizations)
                .post(create_authorization),
        )
        .service(
            resource("/authorizations/{authID}")
                .get(get_authorization)
                .patch(patch_authorization)
                .delete(delete_authorization),
        )
        .service(resource("/resources").get(resource_types))
        .service(resource("/buckets").get(list_buckets))
        .service(resource("/buckets/{bucketID}").get(get_bucket));
}

fn get<'a>(pairs: &'a [(String, String)], k: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(key, v)| key == k && !v.is_empty())
        .map(|(_, v)| v.as_str())
}

#[derive(Serialize)]
struct SelfLink {
    #[serde(rename = "self")]
    this: String,
}

// ---- users ---------------------------------------------------------------

#[derive(Serialize)]
pub struct UserJson<'a> {
    links: SelfLink,
    id: Id,
    name: &'a str,
    status: Status,
}

pub fn user_json(u: &User) -> UserJson<'_> {
    UserJson {
        links: SelfLink {
            this: format!("/api/v2/users/{}", u.id),
        },
        id: u.id,
        name: &u.name,
        status: u.status,
    }
}

#[derive(Serialize)]
struct UserList<'a> {
    links: SelfLink,
    users: Vec<UserJson<'a>>,
}

async fn list_users(
    actor: Actor,
    svc: web::Data<Service>,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let pairs = query_pairs(&req);
    let id = get(&pairs, "id").map(Id::parse).transpose()?;
    let name = get(&pairs, "name").map(str::to_owned);
    let users = read(&svc, move |s| s.list_users(&actor, name.as_deref(), id)).await?;
    json(
        StatusCode::OK,
        &UserList {
            links: SelfLink {
                this: "/api/v2/users".into(),
            },
            users: users.iter().map(user_json).collect(),
        },
    )
}

async fn create_user(actor: Actor, svc: web::Data<Service>, body: Body) -> Result<HttpResponse> {
    let req: CreateUser = body.json()?;
    let u = blocking(&svc, move |s| s.create_user(&actor, req)).await?;
    json(StatusCode::CREATED, &user_json(&u))
}

async fn get_user(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<(Id,)>,
) -> Result<HttpResponse> {
    let id = path.0;
    let u = read(&svc, move |s| s.user(&actor, id)).await?;
    json(StatusCode::OK, &user_json(&u))
}

async fn patch_user(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<(Id,)>,
    body: Body,
) -> Result<HttpResponse> {
    let upd: PatchUser = body.json()?;
    let id = path.0;
    let u = blocking(&svc, move |s| s.update_user(&actor, id, upd)).await?;
    json(StatusCode::OK, &user_json(&u))
}

async fn delete_user(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<(Id,)>,
) -> Result<HttpResponse> {
    let id = path.0;
    blocking(&svc, move |s| s.delete_user(&actor, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST …/users/{id}/password`: set by someone with write on the user.
async fn set_user_password(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<(Id,)>,
    body: Body,
) -> Result<HttpResponse> {
    let req: PasswordBody = body.json()?;
    let id = path.0;
    blocking(&svc, move |s| s.set_password(&actor, id, req.password)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The current password, from HTTP Basic, as InfluxDB's PUT password routes read it.
fn old_password(req: &HttpRequest) -> Result<String> {
    basic_credentials(req)
        .map(|(_, p)| p)
        .ok_or_else(|| crate::error::Error::unauthorized("invalid basic auth"))
}

/// `PUT …/users/{id}/password`: change, proving the old password.
async fn change_user_password(
    svc: web::Data<Service>,
    path: web::Path<(Id,)>,
    req: HttpRequest,
    body: Body,
) -> Result<HttpResponse> {
    let old = old_password(&req)?;
    let new: PasswordBody = body.json()?;
    let id = path.0;
    blocking(&svc, move |s| s.change_password(id, &old, new.password)).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn me(actor: Actor, svc: web::Data<Service>) -> Result<HttpResponse> {
    let u = read(&svc, move |s| s.me(&actor)).await?;
    json(StatusCode::OK, &user_json(&u))
}

/// `PUT /api/v2/me/password`: the signed-in user (or, with Basic alone, the
/// user it names) changes its password, proving the old one.
async fn me_password(
    actor: Option<Actor>,
    svc: web::Data<Service>,
    req: HttpRequest,
    body: Body,
) -> Result<HttpResponse> {
    let (name, old) = basic_credentials(&req)
        .ok_or_else(|| crate::error::Error::unauthorized("invalid basic auth"))?;
    let new: PasswordBody = body.json()?;
    blocking(&svc, move |s| {
        let id = match actor {
            Some(a) => a.user_id,
            None => s.user_id_by_name(&name)?,
        };
        s.change_password(id, &old, new.password)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---- sessions ------------------------------------------------------------

fn basic_credentials(req: &HttpRequest) -> Option<(String, String)> {
    let v = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

async fn sign_in(svc: web::Data<Service>, req: HttpRequest) -> Result<HttpResponse> {
    let (user, password) = basic_credentials(&req).ok_or_else(unauthorized)?;
    let session = blocking(&svc, move |s| s.sign_in(&user, &password)).await?;
    Ok(HttpResponse::NoContent()
        .insert_header((
            header::SET_COOKIE,
            session_set_cookie(&session.id, session.expires_at),
        ))
        .finish())
}

async fn sign_out(svc: web::Data<Service>, req: HttpRequest) -> Result<HttpResponse> {
    let id = session_cookie(&req).ok_or_else(unauthorized)?;
    blocking(&svc, move |s| s.sign_out(&id)).await?;
    let expired = format!("{SESSION_COOKIE}=; Path=/api/; Max-Age=0; HttpOnly; SameSite=Strict");
    Ok(HttpResponse::NoContent()
        .insert_header((header::SET_COOKIE, expired))
        .finish())
}

// ---- setup ---------------------------------------------------------------

#[derive(Serialize)]
struct Allowed {
    allowed: bool,
}

async fn setup_allowed(svc: web::Data<Service>) -> Result<HttpResponse> {
    let allowed = read(&svc, |s| s.setup_allowed()).await?;
    json(StatusCode::OK, &Allowed { allowed })
}

async fn setup(svc: web::Data<Service>, body: Body) -> Result<HttpResponse> {
    let req: SetupRequest = body.json()?;
    let r = blocking(&svc, move |s| s.setup(req)).await?;
    let names = Names {
        org: r.org.name.clone(),
        user: r.user.name.clone(),
    };
    json(
        StatusCode::CREATED,
        &serde_json::json!({
            "user": user_json(&r.user),
            "org": org_json(&r.org),
            "bucket": bucket_json(&r.bucket),
            "auth": authorization_json(&r.authorization, Some(&r.token), &names),
        }),
    )
}

// ---- buckets -------------------------------------------------------------

/// InfluxDB's default shard group duration for a retention period.
fn shard_group_seconds(retention: u64) -> u64 {
    match retention {
        0 => 604_800,
        r if r < 2 * 86_400 => 3_600,
        r if r < 180 * 86_400 => 86_400,
        _ => 604_800,
    }
}

pub fn bucket_json(b: &Bucket) -> serde_json::Value {
    let base = format!("/api/v2/buckets/{}", b.id);
    serde_json::json!({
        "links": {
            "self": base,
            "org": format!("/api/v2/orgs/{}", b.org_id),
            "members": format!("{base}/members"),
            "owners": format!("{base}/owners"),
            "labels": format!("{base}/labels"),
            "write": format!("/api/v2/write?org={}&bucket={}", b.org_id, b.id),
        },
        "id": b.id,
        "orgID": b.org_id,
        "type": "user",
        "name": b.name,
        "description": b.description,
        "retentionRules": [{
            "type": "expire",
            "everySeconds": b.retention_seconds,
            "shardGroupDurationSeconds": shard_group_seconds(b.retention_seconds),
        }],
        "createdAt": b.created_at.rfc3339(),
        "updatedAt": b.updated_at.rfc3339(),
        "labels": [],
    })
}

async fn list_buckets(
    actor: Actor,
    svc: web::Data<Service>,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let pairs = query_pairs(&req);
    let opts = crate::domain::paging::FindOptions::from_query(&pairs)?;
    let f = BucketFilter {
        org_id: get(&pairs, "orgID").map(Id::parse).transpose()?,
        org: get(&pairs, "org").map(str::to_owned),
        name: get(&pairs, "name").map(str::to_owned),
    };
    let buckets = read(&svc, move |s| s.list_buckets(&actor, f)).await?;
    let page: Vec<serde_json::Value> = buckets
        .iter()
        .skip(opts.offset)
        .take(opts.limit)
        .map(bucket_json)
        .collect();
    json(
        StatusCode::OK,
        &serde_json::json!({"links": {"self": "/api/v2/buckets"}, "buckets": page}),
    )
}

async fn get_bucket(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<(Id,)>,
) -> Result<HttpResponse> {
    let id = path.0;
    let b = read(&svc, move |s| s.bucket(&actor, id)).await?;
    json(StatusCode::OK, &bucket_json(&b))
}

// ---- authorizations ------------------------------------------------------

pub struct Names {
    pub org: String,
    pub user: String,
}

#[derive(Serialize)]
struct AuthorizationJson<'a> {
    id: Id,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<&'a str>,
    status: Status,
    description: &'a str,
    #[serde(rename = "orgID")]
    org_id: Id,
    org: &'a str,
    #[serde(rename = "userID")]
    user_id: Id,
    user: &'a str,
    permissions: &'a [Permission],
    links: AuthLinks,
    #[serde(rename = "createdAt")]
    created_at: String,
    #[serde(rename = "updatedAt")]
    updated_at: String,
}

#[derive(Serialize)]
struct AuthLinks {
    #[serde(rename = "self")]
    this: String,
    user: String,
}

fn authorization_json<'a>(
    a: &'a Authorization,
    token: Option<&'a str>,
    names: &'a Names,
) -> AuthorizationJson<'a> {
    AuthorizationJson {
        id: a.id,
        token,
        status: a.status,
        description: &a.description,
        org_id: a.org_id,
        org: &names.org,
        user_id: a.user_id,
        user: &names.user,
        permissions: &a.permissions,
        links: AuthLinks {
            this: format!("/api/v2/authorizations/{}", a.id),
            user: format!("/api/v2/users/{}", a.user_id),
        },
        created_at: a.created_at.rfc3339(),
        updated_at: a.updated_at.rfc3339(),
    }
}

fn names_of(s: &Service, a: &Authorization) -> Result<Names> {
    let (org, user) = s.names(a.org_id, a.user_id)?;
    Ok(Names { org, user })
}

async fn create_authorization(
    actor: Actor,
    svc: web::Data<Service>,
    body: Body,
) -> Result<HttpResponse> {
    let req: CreateAuthorization = body.json()?;
    let (a, token, names) = blocking(&svc, move |s| {
        let (a, token) = s.create_authorization(&actor, req)?;
        let names = names_of(s, &a)?;
        Ok((a, token, names))
    })
    .await?;
    json(
        StatusCode::CREATED,
        &authorization_json(&a, Some(&token), &names),
    )
}

/// Every permission type, as InfluxDB lists them; the UI's token forms are
/// built from this list.
async fn resource_types(_actor: Actor) -> Result<HttpResponse> {
    json(StatusCode::OK, &RESOURCE_TYPES)
}

async fn list_authorizations(
    actor: Actor,
    svc: web::Data<Service>,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let pairs = query_pairs(&req);
    let f = AuthorizationFilter {
        user_id: get(&pairs, "userID").map(Id::parse).transpose()?,
        user: get(&pairs, "user").map(str::to_owned),
        org_id: get(&pairs, "orgID").map(Id::parse).transpose()?,
        org: get(&pairs, "org").map(str::to_owned),
    };
    let found = read(&svc, move |s| {
        s.list_authorizations(&actor, f)?
            .into_iter()
            .map(|a| {
                let n = names_of(s, &a)?;
                Ok((a, n))
            })
            .collect::<Result<Vec<_>>>()
    })
    .await?;
    let list: Vec<AuthorizationJson> = found
        .iter()
        .map(|(a, n)| authorization_json(a, None, n))
        .collect();
    json(
        StatusCode::OK,
        &serde_json::json!({"links": {"self": "/api/v2/authorizations"}, "authorizations": list}),
    )
}

async fn get_authorization(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<(Id,)>,
) -> Result<HttpResponse> {
    let id = path.0;
    let (a, n) = read(&svc, move |s| {
        let a = s.authorization(&actor, id)?;
        let n = names_of(s, &a)?;
        Ok((a, n))
    })
    .await?;
    json(StatusCode::OK, &authorization_json(&a, None, &n))
}

async fn patch_authorization(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<(Id,)>,
    body: Body,
) -> Result<HttpResponse> {
    let upd: PatchAuthorization = body.json()?;
    let id = path.0;
    let (a, n) = blocking(&svc, move |s| {
        let a = s.update_authorization(&actor, id, upd)?;
        let n = names_of(s, &a)?;
        Ok((a, n))
    })
    .await?;
    json(StatusCode::OK, &authorization_json(&a, None, &n))
}

async fn delete_authorization(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<(Id,)>,
) -> Result<HttpResponse> {
    let id = path.0;
    blocking(&svc, move |s| s.delete_authorization(&actor, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
