//! `/api/v2/externalDashboards`: dashboards that live elsewhere, with their
//! labels and `POST …/{id}/probe` (frame policy of the URL, see
//! `crate::probe`).

use super::labels::{configure_labels_of, label_json, LabelJson, LabelledKind};
use super::{blocking, json, query_pairs, read, resource, Body};
use crate::auth::permission::Actor;
use crate::domain::external_dashboard::{
    CreateExternalDashboard, ExternalWithLabels, FramePolicy, PatchExternalDashboard,
};
use crate::domain::label::{AddLabel, Label};
use crate::domain::Service;
use crate::error::{Error, Result};
use crate::id::Id;
use crate::probe::Prober;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

const BASE: &str = "/externalDashboards";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource(BASE).get(list).post(create))
        .service(
            resource("/externalDashboards/{externalDashboardID}")
                .get(get)
                .patch(patch)
                .delete(delete),
        )
        .service(resource("/externalDashboards/{externalDashboardID}/probe").post(probe));
    configure_labels_of::<External>(cfg, BASE, "externalDashboardID");
}

struct External;

impl LabelledKind for External {
    fn labels(svc: &Service, actor: &Actor, id: Id) -> Result<Vec<Label>> {
        svc.external_dashboard_labels(actor, id)
    }
    fn add_label(svc: &Service, actor: &Actor, id: Id, req: AddLabel) -> Result<Label> {
        svc.add_external_dashboard_label(actor, id, req)
    }
    fn remove_label(svc: &Service, actor: &Actor, id: Id, label: Id) -> Result<()> {
        svc.remove_external_dashboard_label(actor, id, label)
    }
}

// ---- wire shapes ---------------------------------------------------------

#[derive(Serialize)]
struct Links {
    #[serde(rename = "self")]
    this: String,
    labels: String,
    probe: String,
    org: String,
}

#[derive(Serialize)]
struct ExternalJson<'a> {
    id: Id,
    #[serde(rename = "orgID")]
    org_id: Id,
    name: &'a str,
    description: &'a str,
    url: &'a str,
    #[serde(rename = "iconUrl")]
    icon_url: Option<&'a str>,
    #[serde(rename = "displayOrder")]
    display_order: u16,
    #[serde(rename = "isActive")]
    is_active: bool,
    #[serde(rename = "roleIDs")]
    role_ids: &'a [Id],
    #[serde(rename = "allowInIframe")]
    allow_in_iframe: Option<bool>,
    #[serde(rename = "framePolicy")]
    frame_policy: Option<FramePolicy>,
    #[serde(rename = "frameAncestors")]
    frame_ancestors: Option<&'a [String]>,
    #[serde(rename = "probedAt")]
    probed_at: Option<String>,
    #[serde(rename = "probeError")]
    probe_error: Option<&'a str>,
    #[serde(rename = "createdAt")]
    created_at: String,
    #[serde(rename = "updatedAt")]
    updated_at: String,
    labels: Vec<LabelJson<'a>>,
    links: Links,
}

fn external_json(e: &ExternalWithLabels) -> ExternalJson<'_> {
    let d = &e.dashboard;
    let this = format!("/api/v2/externalDashboards/{}", d.id);
    ExternalJson {
        id: d.id,
        org_id: d.org_id,
        name: &d.name,
        description: &d.description,
        url: &d.url,
        icon_url: d.icon_url.as_deref(),
        display_order: d.display_order,
        is_active: d.is_active,
        role_ids: &d.role_ids,
        allow_in_iframe: d.probe.allow_in_iframe,
        frame_policy: d.probe.frame_policy,
        frame_ancestors: d.probe.frame_ancestors.as_deref(),
        probed_at: d.probe.probed_at.map(|t| t.rfc3339()),
        probe_error: d.probe.probe_error.as_deref(),
        created_at: d.created_at.rfc3339(),
        updated_at: d.updated_at.rfc3339(),
        labels: e.labels.iter().map(label_json).collect(),
        links: Links {
            labels: format!("{this}/labels"),
            probe: format!("{this}/probe"),
            org: format!("/api/v2/orgs/{}", d.org_id),
            this,
        },
    }
}

#[derive(Serialize)]
struct SelfLink {
    #[serde(rename = "self")]
    this: String,
}

#[derive(Serialize)]
struct ListResponse<'a> {
    #[serde(rename = "externalDashboards")]
    external_dashboards: Vec<ExternalJson<'a>>,
    links: SelfLink,
}

// ---- handlers ------------------------------------------------------------

/// Probes the URL off the async workers and records what it found. The
/// record exists already: if recording fails, the caller still gets it.
async fn probe_and_record(
    svc: &web::Data<Service>,
    prober: &web::Data<Prober>,
    actor: Actor,
    current: ExternalWithLabels,
) -> Result<ExternalWithLabels> {
    let url = current.dashboard.url.clone();
    let id = current.dashboard.id;
    let p = prober.clone().into_inner();
    let asked = url.clone();
    let outcome = web::block(move || p.probe(&asked))
        .await
        .map_err(Error::internal)?;
    match blocking(svc, move |s| {
        s.record_probe(&actor, id, &url, outcome.into_probe())
    })
    .await
    {
        Ok(done) => Ok(done),
        Err(e) => {
            log::warn!("recording the probe of external dashboard {id} failed: {e}");
            Ok(current)
        }
    }
}

async fn list(actor: Actor, svc: web::Data<Service>, req: HttpRequest) -> Result<HttpResponse> {
    let org = query_pairs(&req)
        .into_iter()
        .find(|(k, v)| k == "orgID" && !v.is_empty())
        .map(|(_, v)| Id::parse(&v))
        .transpose()?;
    let found = read(&svc, move |s| s.list_external_dashboards(&actor, org)).await?;
    let this = match org {
        Some(org) => format!("/api/v2{BASE}?orgID={org}"),
        None => format!("/api/v2{BASE}"),
    };
    let body = ListResponse {
        external_dashboards: found.iter().map(external_json).collect(),
        links: SelfLink { this },
    };
    json(StatusCode::OK, &body)
}

async fn create(
    actor: Actor,
    svc: web::Data<Service>,
    prober: web::Data<Prober>,
    body: Body,
) -> Result<HttpResponse> {
    let req: CreateExternalDashboard = body.json()?;
    let creator = actor.clone();
    let dashboard = blocking(&svc, move |s| s.create_external_dashboard(&creator, req)).await?;
    let created = ExternalWithLabels {
        dashboard,
        labels: Vec::new(),
    };
    let probed = probe_and_record(&svc, &prober, actor, created).await?;
    json(StatusCode::CREATED, &external_json(&probed))
}

async fn get(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<(Id,)>,
) -> Result<HttpResponse> {
    let id = path.0;
    let d = read(&svc, move |s| s.external_dashboard(&actor, id)).await?;
    json(StatusCode::OK, &external_json(&d))
}

async fn patch(
    actor: Actor,
    svc: web::Data<Service>,
    prober: web::Data<Prober>,
    path: web::Path<(Id,)>,
    body: Body,
) -> Result<HttpResponse> {
    let upd: PatchExternalDashboard = body.json()?;
    let id = path.0;
    let editor = actor.clone();
    let mut d = blocking(&svc, move |s| s.update_external_dashboard(&editor, id, upd)).await?;
    // A new URL has not been probed yet.
    if d.dashboard.probe.probed_at.is_none() {
        d = probe_and_record(&svc, &prober, actor, d).await?;
    }
    json(StatusCode::OK, &external_json(&d))
}

async fn delete(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<(Id,)>,
) -> Result<HttpResponse> {
    let id = path.0;
    blocking(&svc, move |s| s.delete_external_dashboard(&actor, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn probe(
    actor: Actor,
    svc: web::Data<Service>,
    prober: web::Data<Prober>,
    path: web::Path<(Id,)>,
) -> Result<HttpResponse> {
    let id = path.0;
    let reader = actor.clone();
    let current = read(&svc, move |s| s.external_dashboard_to_change(&reader, id)).await?;
    let d = probe_and_record(&svc, &prober, actor, current).await?;
    json(StatusCode::OK, &external_json(&d))
}
