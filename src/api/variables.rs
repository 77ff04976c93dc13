//! `/api/v2/variables` and the labels on a variable:
//! `/api/v2/variables/{variableID}/labels[/{labelID}]`.

use super::labels::{configure_labels_of, label_json, LabelJson, LabelledKind};
use super::{blocking, json, query_pairs, read, resource, Body};
use crate::auth::permission::Actor;
use crate::domain::label::{AddLabel, Label};
use crate::domain::paging::{paging_links, FindOptions, PagingLinks};
use crate::domain::variable::{
    Arguments, PatchVariable, VariableFilter, VariableInput, VariableWithLabels,
};
use crate::domain::Service;
use crate::error::Result;
use crate::id::Id;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/variables").get(list).post(create))
        .service(
            resource("/variables/{variableID}")
                .get(get)
                .patch(patch)
                .put(replace)
                .delete(delete),
        )
        .configure(|c| configure_labels_of::<Variables>(c, "/variables", "variableID"));
}

/// Labels on variables.
struct Variables;

impl LabelledKind for Variables {
    fn labels(svc: &Service, actor: &Actor, id: Id) -> Result<Vec<Label>> {
        svc.variable_labels(actor, id)
    }
    fn add_label(svc: &Service, actor: &Actor, id: Id, req: AddLabel) -> Result<Label> {
        svc.add_variable_label(actor, id, req)
    }
    fn remove_label(svc: &Service, actor: &Actor, id: Id, label: Id) -> Result<()> {
        svc.remove_variable_label(actor, id, label)
    }
}

// ---- wire shapes ---------------------------------------------------------

#[derive(Serialize)]
struct VariableLinks {
    #[serde(rename = "self")]
    this: String,
    labels: String,
    org: String,
}

/// InfluxDB's `variableResponse`: the variable, its labels and links.
#[derive(Serialize)]
struct VariableJson<'a> {
    id: Id,
    #[serde(rename = "orgID")]
    org_id: Id,
    name: &'a str,
    description: &'a str,
    selected: &'a Option<Vec<String>>,
    arguments: &'a Arguments,
    #[serde(rename = "createdAt")]
    created_at: String,
    #[serde(rename = "updatedAt")]
    updated_at: String,
    labels: Vec<LabelJson<'a>>,
    links: VariableLinks,
}

fn variable_json(v: &VariableWithLabels) -> VariableJson<'_> {
    let var = &v.variable;
    VariableJson {
        id: var.id,
        org_id: var.org_id,
        name: &var.name,
        description: &var.description,
        selected: &var.selected,
        arguments: &var.arguments,
        created_at: var.created_at.rfc3339(),
        updated_at: var.updated_at.rfc3339(),
        labels: v.labels.iter().map(label_json).collect(),
        links: VariableLinks {
            this: format!("/api/v2/variables/{}", var.id),
            labels: format!("/api/v2/variables/{}/labels", var.id),
            org: format!("/api/v2/orgs/{}", var.org_id),
        },
    }
}

#[derive(Serialize)]
struct VariablesResponse<'a> {
    variables: Vec<VariableJson<'a>>,
    links: PagingLinks,
}

// ---- handlers ------------------------------------------------------------

/// `orgID`, `org` (a name) and `id`; empty values count as absent.
fn list_filter(pairs: &[(String, String)]) -> Result<(VariableFilter, Vec<(String, String)>)> {
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, v)| key == k && !v.is_empty())
            .map(|(_, v)| v.clone())
    };
    let filter = VariableFilter {
        org_id: get("orgID").map(|v| Id::parse(&v)).transpose()?,
        org: get("org"),
        id: get("id").map(|v| Id::parse(&v)).transpose()?,
    };
    let echo = ["id", "orgID", "org"]
        .iter()
        .filter_map(|k| get(k).map(|v| (k.to_string(), v)))
        .collect();
    Ok((filter, echo))
}

async fn list(actor: Actor, svc: web::Data<Service>, req: HttpRequest) -> Result<HttpResponse> {
    let pairs = query_pairs(&req);
    let opts = FindOptions::from_query(&pairs)?;
    let (filter, echo) = list_filter(&pairs)?;
    let found = {
        let opts = opts.clone();
        read(&svc, move |s| s.list_variables(&actor, filter, &opts)).await?
    };
    let body = VariablesResponse {
        variables: found.iter().map(variable_json).collect(),
        links: paging_links("/api/v2/variables", &opts, &echo, found.len()),
    };
    json(StatusCode::OK, &body)
}

async fn create(actor: Actor, svc: web::Data<Service>, body: Body) -> Result<HttpResponse> {
    let req: VariableInput = body.json()?;
    let variable = blocking(&svc, move |s| s.create_variable(&actor, req)).await?;
    let v = VariableWithLabels {
        variable,
        labels: Vec::new(),
    };
    json(StatusCode::CREATED, &variable_json(&v))
}

async fn get(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<(Id,)>,
) -> Result<HttpResponse> {
    let id = path.0;
    let v = read(&svc, move |s| s.variable(&actor, id)).await?;
    json(StatusCode::OK, &variable_json(&v))
}

async fn patch(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<(Id,)>,
    body: Body,
) -> Result<HttpResponse> {
    let upd: PatchVariable = body.json()?;
    let id = path.0;
    let v = blocking(&svc, move |s| s.update_variable(&actor, id, upd)).await?;
    json(StatusCode::OK, &variable_json(&v))
}

async fn replace(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<(Id,)>,
    body: Body,
) -> Result<HttpResponse> {
    let req: VariableInput = body.json()?;
    let id = path.0;
    let v = blocking(&svc, move |s| s.replace_variable(&actor, id, req)).await?;
    json(StatusCode::OK, &variable_json(&v))
}

async fn delete(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<(Id,)>,
) -> Result<HttpResponse> {
    let id = path.0;
    blocking(&svc, move |s| s.delete_variable(&actor, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
