//! `/api/v2/labels` and the labels on a dashboard:
//! `/api/v2/dashboards/{dashboardID}/labels[/{labelID}]`.

use super::{blocking, json, query_pairs, read, resource, Body};
use crate::auth::permission::Actor;
use crate::domain::label::{
    AddLabel, CreateLabel, Label, LabelFilter, LabelOrg, PatchLabel, Properties,
};
use crate::domain::Service;
use crate::error::Result;
use crate::id::Id;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/labels").get(list).post(create))
        .service(
            resource("/labels/{labelID}")
                .get(get)
                .patch(patch)
                .delete(delete),
        )
        .configure(|c| configure_labels_of::<Dashboards>(c, "/dashboards", "dashboardID"));
}

// ---- wire shapes ---------------------------------------------------------

#[derive(Serialize)]
pub struct LabelJson<'a> {
    id: Id,
    #[serde(rename = "orgID")]
    org_id: Id,
    name: &'a str,
    /// InfluxDB omits empty properties (`omitempty`).
    #[serde(skip_serializing_if = "no_properties")]
    properties: &'a Properties,
}

fn no_properties(p: &&Properties) -> bool {
    p.is_empty()
}

pub fn label_json(l: &Label) -> LabelJson<'_> {
    LabelJson {
        id: l.id,
        org_id: l.org_id,
        name: &l.name,
        properties: &l.properties,
    }
}

#[derive(Serialize)]
struct SelfLink {
    #[serde(rename = "self")]
    this: String,
}

#[derive(Serialize)]
struct LabelResponse<'a> {
    links: SelfLink,
    label: LabelJson<'a>,
}

/// InfluxDB links a label to itself wherever it is answered, attach included.
pub fn label_response(status: StatusCode, l: &Label) -> Result<HttpResponse> {
    let body = LabelResponse {
        links: SelfLink {
            this: format!("/api/v2/labels/{}", l.id),
        },
        label: label_json(l),
    };
    json(status, &body)
}

#[derive(Serialize)]
struct LabelsResponse<'a> {
    links: SelfLink,
    labels: Vec<LabelJson<'a>>,
}

/// InfluxDB links every label list, a dashboard's too, to `/api/v2/labels`.
pub fn labels_response(ls: &[Label]) -> Result<HttpResponse> {
    let body = LabelsResponse {
        links: SelfLink {
            this: "/api/v2/labels".into(),
        },
        labels: ls.iter().map(label_json).collect(),
    };
    json(StatusCode::OK, &body)
}

// ---- handlers ------------------------------------------------------------

/// `orgID` over `org` (a name); `name` narrows further. Empty values count as absent.
fn list_filter(pairs: &[(String, String)]) -> Result<LabelFilter> {
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, v)| key == k && !v.is_empty())
            .map(|(_, v)| v.clone())
    };
    let org = match (get("orgID"), get("org")) {
        (Some(id), _) => Some(LabelOrg::Id(Id::parse(&id)?)),
        (None, Some(name)) => Some(LabelOrg::Name(name)),
        (None, None) => None,
    };
    Ok(LabelFilter {
        org,
        name: get("name"),
    })
}

async fn list(actor: Actor, svc: web::Data<Service>, req: HttpRequest) -> Result<HttpResponse> {
    let filter = list_filter(&query_pairs(&req))?;
    let labels = read(&svc, move |s| s.list_labels(&actor, filter)).await?;
    labels_response(&labels)
}

async fn create(actor: Actor, svc: web::Data<Service>, body: Body) -> Result<HttpResponse> {
    let req: CreateLabel = body.json()?;
    let l = blocking(&svc, move |s| s.create_label(&actor, req)).await?;
    label_response(StatusCode::CREATED, &l)
}

async fn get(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<(Id,)>,
) -> Result<HttpResponse> {
    let id = path.0;
    let l = read(&svc, move |s| s.label(&actor, id)).await?;
    label_response(StatusCode::OK, &l)
}

async fn patch(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<(Id,)>,
    body: Body,
) -> Result<HttpResponse> {
    let upd: PatchLabel = body.json()?;
    let id = path.0;
    let l = blocking(&svc, move |s| s.update_label(&actor, id, upd)).await?;
    label_response(StatusCode::OK, &l)
}

async fn delete(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<(Id,)>,
) -> Result<HttpResponse> {
    let id = path.0;
    blocking(&svc, move |s| s.delete_label(&actor, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---- the label routes of any labelled kind --------------------------------

/// A resource kind that carries labels: what its three label routes call.
pub trait LabelledKind: 'static {
    fn labels(svc: &Service, actor: &Actor, id: Id) -> Result<Vec<Label>>;
    fn add_label(svc: &Service, actor: &Actor, id: Id, req: AddLabel) -> Result<Label>;
    fn remove_label(svc: &Service, actor: &Actor, id: Id, label: Id) -> Result<()>;
}

/// Labels on dashboards.
pub struct Dashboards;

impl LabelledKind for Dashboards {
    fn labels(svc: &Service, actor: &Actor, id: Id) -> Result<Vec<Label>> {
        svc.dashboard_labels(actor, id)
    }
    fn add_label(svc: &Service, actor: &Actor, id: Id, req: AddLabel) -> Result<Label> {
        svc.add_dashboard_label(actor, id, req)
    }
    fn remove_label(svc: &Service, actor: &Actor, id: Id, label: Id) -> Result<()> {
        svc.remove_dashboard_label(actor, id, label)
    }
}

/// `{base}/{id}/labels` (GET, POST) and `{base}/{id}/labels/{labelID}`
/// (DELETE) for a labelled kind, answered as on dashboards.
pub fn configure_labels_of<K: LabelledKind>(cfg: &mut web::ServiceConfig, base: &str, id: &str) {
    cfg.service(
        resource(&format!("{base}/{{{id}}}/labels"))
            .get(list_on::<K>)
            .post(add_to::<K>),
    )
    .service(resource(&format!("{base}/{{{id}}}/labels/{{labelID}}")).delete(remove_from::<K>));
}

async fn list_on<K: LabelledKind>(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<(Id,)>,
) -> Result<HttpResponse> {
    let id = path.0;
    let labels = read(&svc, move |s| K::labels(s, &actor, id)).await?;
    labels_response(&labels)
}

async fn add_to<K: LabelledKind>(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<(Id,)>,
    body: Body,
) -> Result<HttpResponse> {
    let req: AddLabel = body.json_or("Invalid post label map request")?;
    let id = path.0;
    let l = blocking(&svc, move |s| K::add_label(s, &actor, id, req)).await?;
    label_response(StatusCode::CREATED, &l)
}

async fn remove_from<K: LabelledKind>(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<(Id, Id)>,
) -> Result<HttpResponse> {
    let (id, label) = path.into_inner();
    blocking(&svc, move |s| K::remove_label(s, &actor, id, label)).await?;
    Ok(HttpResponse::NoContent().finish())
}
