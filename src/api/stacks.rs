//! `/api/v2/stacks`: what template applies created, per org.

use super::{blocking, json, query_pairs, read, resource, Body};
use crate::auth::permission::Actor;
use crate::domain::stack::{CreateStack, PatchStack, Stack, StackEvent};
use crate::domain::Service;
use crate::error::{Error, Result};
use crate::id::Id;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/stacks").get(list).post(create))
        .service(
            resource("/stacks/{stack_id}")
                .get(get)
                .patch(patch)
                .delete(delete),
        )
        .service(resource("/stacks/{stack_id}/uninstall").post(uninstall));
}

// ---- wire shapes (pkger's RespStack) ---------------------------------------

#[derive(Serialize)]
struct StackJson {
    id: String,
    #[serde(rename = "orgID")]
    org_id: String,
    #[serde(rename = "createdAt")]
    created_at: String,
    events: Vec<EventJson>,
    #[serde(flatten)]
    latest: EventJson,
}

#[derive(Serialize)]
struct EventJson {
    #[serde(rename = "eventType")]
    event_type: &'static str,
    name: String,
    description: String,
    resources: Vec<ResourceJson>,
    sources: Vec<String>,
    urls: Vec<String>,
    #[serde(rename = "updatedAt")]
    updated_at: String,
}

#[derive(Serialize)]
struct ResourceJson {
    #[serde(rename = "apiVersion")]
    api_version: String,
    #[serde(rename = "resourceID")]
    id: String,
    kind: String,
    #[serde(rename = "templateMetaName")]
    meta_name: String,
    associations: Vec<AssocJson>,
    links: Links,
}

#[derive(Serialize)]
struct AssocJson {
    kind: String,
    #[serde(rename = "metaName")]
    meta_name: String,
}

#[derive(Serialize)]
struct Links {
    #[serde(rename = "self")]
    this: String,
}

fn link_type(kind: &str) -> &'static str {
    match kind {
        "Bucket" => "buckets",
        "Check" | "CheckDeadman" | "CheckThreshold" => "checks",
        "Dashboard" => "dashboards",
        "Label" => "labels",
        "NotificationRule" => "notificationRules",
        "Task" => "tasks",
        "Telegraf" => "telegrafs",
        "Variable" => "variables",
        k if k.starts_with("NotificationEndpoint") => "notificationEndpoints",
        _ => "",
    }
}

fn event_json(ev: &StackEvent) -> EventJson {
    EventJson {
        event_type: match ev.event_type {
            crate::domain::stack::EventType::Create => "create",
            crate::domain::stack::EventType::Update => "update",
            crate::domain::stack::EventType::Uninstall => "uninstall",
        },
        name: ev.name.clone(),
        description: ev.description.clone(),
        resources: ev
            .resources
            .iter()
            .map(|r| ResourceJson {
                api_version: r.api_version.clone(),
                id: r.id.to_string(),
                kind: r.kind.clone(),
                meta_name: r.meta_name.clone(),
                associations: r
                    .associations
                    .iter()
                    .map(|a| AssocJson {
                        kind: a.kind.clone(),
                        meta_name: a.meta_name.clone(),
                    })
                    .collect(),
                links: Links {
                    this: format!("/api/v2/{}/{}", link_type(&r.kind), r.id),
                },
            })
            .collect(),
        sources: ev.sources.clone(),
        urls: ev.urls.clone(),
        updated_at: ev.updated_at.rfc3339(),
    }
}

fn stack_json(st: &Stack) -> StackJson {
    StackJson {
        id: st.id.to_string(),
        org_id: st.org_id.to_string(),
        created_at: st.created_at.rfc3339(),
        events: st.events.iter().map(event_json).collect(),
        latest: event_json(&st.latest()),
    }
}

#[derive(Serialize)]
struct StacksJson {
    stacks: Vec<StackJson>,
}

// ---- handlers --------------------------------------------------------------

fn stack_id(raw: &str) -> Result<Id> {
    Id::parse(raw).map_err(|e| {
        Error::invalid("the stack id provided in the path was invalid").with_err(e.message)
    })
}

/// `orgID` is required on delete and uninstall.
fn required_org(req: &HttpRequest) -> Result<Id> {
    let pairs = query_pairs(req);
    let raw = pairs
        .iter()
        .find(|(k, _)| k == "orgID")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    if raw.is_empty() {
        return Err(Error::invalid("the orgID query param is required"));
    }
    Id::parse(raw)
        .map_err(|e| Error::invalid("the orgID query param was invalid").with_err(e.message))
}

async fn list(actor: Actor, svc: web::Data<Service>, req: HttpRequest) -> Result<HttpResponse> {
    let pairs = query_pairs(&req);
    let raw_org = pairs
        .iter()
        .find(|(k, _)| k == "orgID")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let org = Id::parse(&raw_org).map_err(|e| {
        Error::invalid(format!("organization id[{raw_org:?}] is invalid")).with_err(e.message)
    })?;
    let mut ids = Vec::new();
    for (_, v) in pairs.iter().filter(|(k, _)| k == "stackID") {
        ids.push(Id::parse(v).map_err(|e| {
            Error::invalid(format!("stack ID[{v:?}] provided is invalid")).with_err(e.message)
        })?);
    }
    let names: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "name")
        .map(|(_, v)| v.clone())
        .collect();
    let stacks = read(&svc, move |s| s.list_stacks(&actor, org, &ids, &names)).await?;
    json(
        StatusCode::OK,
        &StacksJson {
            stacks: stacks.iter().map(stack_json).collect(),
        },
    )
}

async fn create(actor: Actor, svc: web::Data<Service>, body: Body) -> Result<HttpResponse> {
    let req: CreateStack = body.json()?;
    let st = blocking(&svc, move |s| s.create_stack(&actor, req)).await?;
    json(StatusCode::CREATED, &stack_json(&st))
}

async fn get(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<(String,)>,
) -> Result<HttpResponse> {
    let id = stack_id(&path.0)?;
    let st = read(&svc, move |s| s.stack(&actor, id)).await?;
    json(StatusCode::OK, &stack_json(&st))
}

async fn patch(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<(String,)>,
    body: Body,
) -> Result<HttpResponse> {
    let id = stack_id(&path.0)?;
    let upd: PatchStack = body.json()?;
    let st = blocking(&svc, move |s| s.update_stack(&actor, id, upd)).await?;
    json(StatusCode::OK, &stack_json(&st))
}

async fn delete(
    actor: Actor,
    svc: web::Data<Service>,
    req: HttpRequest,
    path: web::Path<(String,)>,
) -> Result<HttpResponse> {
    let org = required_org(&req)?;
    let id = stack_id(&path.0)?;
    blocking(&svc, move |s| s.uninstall_stack(&actor, org, id, true)).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn uninstall(
    actor: Actor,
    svc: web::Data<Service>,
    req: HttpRequest,
    path: web::Path<(String,)>,
) -> Result<HttpResponse> {
    let org = required_org(&req)?;
    let id = stack_id(&path.0)?;
    let st = blocking(&svc, move |s| s.uninstall_stack(&actor, org, id, false)).await?;
    match st {
        Some(st) => json(StatusCode::OK, &stack_json(&st)),
        None => Err(Error::not_found(crate::domain::stack::ERR_STACK_NOT_FOUND)),
    }
}
