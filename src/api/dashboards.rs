//! `/api/v2/dashboards`: dashboards, cells and cell views.

use super::labels::{label_json, LabelJson};
use super::rendered::{Rendered, RenderedDashboards};
use super::{blocking, json, query_pairs, read, resource, Body};
use crate::auth::permission::Actor;
use crate::domain::clone::CloneDashboard;
use crate::domain::dashboard::{
    etag, Cell, CreateCell, CreateDashboard, Dashboard, DashboardFilter, IfMatch, ListedBody,
    PatchCell, PatchDashboard, PatchView, PlacedCell, Prerendered, Tagged,
};
use crate::domain::default_dashboard::DefaultFlags;
use crate::domain::label::Label;
use crate::domain::paging::{paging_links, FindOptions};
use crate::domain::view::View;
use crate::domain::Service;
use crate::error::{Error, Result};
use crate::id::Id;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/dashboards").get(list).post(create))
        .service(
            resource("/dashboards/{dashboardID}")
                .get(get)
                .patch(patch)
                .delete(delete),
        )
        .service(resource("/dashboards/{dashboardID}/clone").post(clone))
        .service(
            resource("/dashboards/{dashboardID}/cells")
                .post(add_cell)
                .put(replace_cells),
        )
        .service(
            resource("/dashboards/{dashboardID}/cells/{cellID}")
                .patch(patch_cell)
                .delete(delete_cell),
        )
        .service(
            resource("/dashboards/{dashboardID}/cells/{cellID}/view")
                .get(get_view)
                .patch(patch_view),
        );
}

#[derive(Deserialize)]
pub struct DashboardPath {
    #[serde(rename = "dashboardID")]
    pub dashboard: Id,
}

#[derive(Deserialize)]
pub struct CellPath {
    #[serde(rename = "dashboardID")]
    dashboard: Id,
    #[serde(rename = "cellID")]
    cell: Id,
}

// ---- wire shapes ---------------------------------------------------------

#[derive(Serialize)]
pub struct DashboardJson<'a> {
    id: Id,
    #[serde(rename = "orgID")]
    org_id: Id,
    name: &'a str,
    description: &'a str,
    /// Tessera's: clients that do not know it ignore it.
    private: bool,
    meta: Meta,
    cells: Vec<CellJson<'a>>,
    labels: Vec<LabelJson<'a>>,
    /// For the reader, on GET and list answers only (see `for_reader`).
    #[serde(rename = "isDefaultForUser", skip_serializing_if = "Option::is_none")]
    is_default_for_user: Option<bool>,
    #[serde(rename = "isDefaultForOrg", skip_serializing_if = "Option::is_none")]
    is_default_for_org: Option<bool>,
    links: DashboardLinks,
}

impl DashboardJson<'_> {
    pub fn for_reader(mut self, f: DefaultFlags) -> Self {
        self.is_default_for_user = Some(f.for_user);
        self.is_default_for_org = Some(f.for_org);
        self
    }
}

/// The reader's default flags as they sit after the labels array, for
/// answers spliced from rendered bytes (`api::rendered`).
fn default_flags_bytes(f: DefaultFlags) -> &'static [u8] {
    // Four answers in all; no formatting per request.
    match (f.for_user, f.for_org) {
        (false, false) => super::rendered::NOT_DEFAULT,
        (false, true) => b",\"isDefaultForUser\":false,\"isDefaultForOrg\":true",
        (true, false) => b",\"isDefaultForUser\":true,\"isDefaultForOrg\":false",
        (true, true) => b",\"isDefaultForUser\":true,\"isDefaultForOrg\":true",
    }
}

#[derive(Serialize)]
struct Meta {
    #[serde(rename = "createdAt")]
    created_at: String,
    #[serde(rename = "updatedAt")]
    updated_at: String,
    #[serde(rename = "createdBy", skip_serializing_if = "Option::is_none")]
    created_by: Option<Id>,
    #[serde(rename = "updatedBy", skip_serializing_if = "Option::is_none")]
    updated_by: Option<Id>,
}

#[derive(Serialize)]
struct DashboardLinks {
    #[serde(rename = "self")]
    this: String,
    cells: String,
    members: String,
    owners: String,
    labels: String,
    org: String,
}

#[derive(Serialize)]
pub struct CellJson<'a> {
    id: Id,
    x: i32,
    y: i32,
    w: i32,
    h: i32,
    #[serde(rename = "viewID")]
    view_id: Id,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<&'a RawValue>,
    links: CellLinks,
}

#[derive(Serialize)]
struct CellLinks {
    #[serde(rename = "self")]
    this: String,
    view: String,
}

#[derive(Serialize)]
struct ViewJson<'a> {
    id: Id,
    name: &'a str,
    properties: &'a RawValue,
    links: SelfLink,
}

#[derive(Serialize)]
struct SelfLink {
    #[serde(rename = "self")]
    this: String,
}

pub fn cell_json<'a>(dashboard: Id, cell: &Cell, view: Option<&'a View>) -> CellJson<'a> {
    let base = format!("/api/v2/dashboards/{dashboard}/cells/{}", cell.id);
    CellJson {
        id: cell.id,
        x: cell.pos.x,
        y: cell.pos.y,
        w: cell.pos.w,
        h: cell.pos.h,
        view_id: cell.id,
        // InfluxDB omits an empty name.
        name: view.map(|v| v.name.as_str()).filter(|n| !n.is_empty()),
        properties: view.map(|v| v.properties.as_ref()),
        links: CellLinks {
            view: format!("{base}/view"),
            this: base,
        },
    }
}

pub fn dashboard_json<'a>(
    d: &'a Dashboard,
    views: Option<&'a HashMap<Id, View>>,
    labels: &'a [Label],
) -> DashboardJson<'a> {
    let base = format!("/api/v2/dashboards/{}", d.id);
    DashboardJson {
        id: d.id,
        org_id: d.org_id,
        name: &d.name,
        description: &d.description,
        private: d.private,
        meta: Meta {
            created_at: d.created_at.rfc3339(),
            updated_at: d.updated_at.rfc3339(),
            created_by: d.created_by,
            updated_by: d.updated_by,
        },
        cells: d
            .cells
            .iter()
            .map(|c| cell_json(d.id, c, views.and_then(|v| v.get(&c.id))))
            .collect(),
        labels: labels.iter().map(label_json).collect(),
        is_default_for_user: None,
        is_default_for_org: None,
        links: DashboardLinks {
            cells: format!("{base}/cells"),
            members: format!("{base}/members"),
            owners: format!("{base}/owners"),
            labels: format!("{base}/labels"),
            org: format!("/api/v2/orgs/{}", d.org_id),
            this: base,
        },
    }
}

// ---- handlers ------------------------------------------------------------

/// Reads the filter in InfluxDB's precedence: `id` > `ownerID`/`owner` >
/// `orgID` > `org`. Several ids may come as repeated keys, comma-joined (the
/// JS client) or as a Python list repr (the Python client).
fn list_filter(pairs: &[(String, String)]) -> Result<(DashboardFilter, Vec<(String, String)>)> {
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, v)| key == k && !v.is_empty())
            .map(|(_, v)| v.clone())
    };
    let raw_ids: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "id")
        .flat_map(|(_, v)| v.split(','))
        .map(|s| {
            s.trim()
                .trim_matches(|c| matches!(c, '[' | ']' | '\'' | '"' | ' '))
        })
        .filter(|s| !s.is_empty())
        .collect();
    if !raw_ids.is_empty() {
        let ids = raw_ids
            .iter()
            .map(|s| Id::parse(s))
            .collect::<Result<Vec<_>>>()?;
        let echo = ids
            .iter()
            .map(|id| ("id".to_string(), id.to_string()))
            .collect();
        return Ok((DashboardFilter::Ids(ids), echo));
    }
    if let Some(owner) = get("ownerID").or_else(|| get("owner")) {
        let id = Id::parse(&owner)?;
        return Ok((DashboardFilter::Owner(id), vec![("owner".into(), owner)]));
    }
    if let Some(org) = get("orgID") {
        let id = Id::parse(&org)?;
        return Ok((DashboardFilter::Org(id), vec![("orgID".into(), org)]));
    }
    if let Some(name) = get("org") {
        return Ok((
            DashboardFilter::OrgName(name.clone()),
            vec![("org".into(), name)],
        ));
    }
    Ok((DashboardFilter::All, Vec::new()))
}

/// Each dashboard of a list is the JSON a GET of it answers (without views):
/// served from `RenderedDashboards` when its version was rendered before,
/// rendered and kept otherwise, with the reader's labels spliced in.
async fn list(
    actor: Actor,
    svc: web::Data<Service>,
    rendered: web::Data<RenderedDashboards>,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let pairs = query_pairs(&req);
    let opts = FindOptions::from_query(&pairs)?;
    let (filter, echo) = list_filter(&pairs)?;
    let o = opts.clone();
    let cache = rendered.clone();
    let items = read(&svc, move |s| {
        s.list_dashboard_page(&actor, filter, &o, |id, version| {
            cache.get(id, false, version)
        })
    })
    .await?;
    crate::metrics::METRICS.cache_hits(
        "rendered_dashboards",
        items
            .iter()
            .filter(|l| matches!(l.body, ListedBody::Rendered(_)))
            .count(),
        items.len(),
    );
    let links = paging_links("/api/v2/dashboards", &opts, &echo, items.len());
    let mut out = Vec::with_capacity(256 + items.len() * 3 * 1024);
    out.extend_from_slice(br#"{"links":"#);
    serde_json::to_writer(&mut out, &links).map_err(Error::internal)?;
    out.extend_from_slice(br#","dashboards":["#);
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let labels = labels_bytes(&item.labels)?;
        let flags = default_flags_bytes(item.defaults);
        match &item.body {
            ListedBody::Rendered(r) => r
                .write_with_reader(&mut out, &labels, flags)
                .map_err(Error::internal)?,
            ListedBody::Decoded(d) => {
                let bare =
                    serde_json::to_vec(&dashboard_json(d, None, &[])).map_err(Error::internal)?;
                match rendered.put(d.id, false, d.updated_at.nanos(), bare) {
                    Some(r) => r
                        .write_with_reader(&mut out, &labels, flags)
                        .map_err(Error::internal)?,
                    None => serde_json::to_writer(
                        &mut out,
                        &dashboard_json(d, None, &item.labels).for_reader(item.defaults),
                    )
                    .map_err(Error::internal)?,
                }
            }
        }
    }
    out.extend_from_slice(b"]}");
    Ok(HttpResponse::Ok()
        .insert_header(super::json_content_type())
        .body(out))
}

/// A dashboard's labels as the JSON array its answer carries.
fn labels_bytes(labels: &[Label]) -> Result<Cow<'static, [u8]>> {
    if labels.is_empty() {
        return Ok(Cow::Borrowed(b"[]"));
    }
    serde_json::to_vec(&labels.iter().map(label_json).collect::<Vec<LabelJson>>())
        .map(Cow::Owned)
        .map_err(Error::internal)
}

async fn create(actor: Actor, svc: web::Data<Service>, body: Body) -> Result<HttpResponse> {
    let req: CreateDashboard = body.json()?;
    let d = blocking(&svc, move |s| s.create_dashboard(&actor, req)).await?;
    // A new dashboard carries no labels.
    json(StatusCode::CREATED, &dashboard_json(&d, None, &[]))
}

async fn get(
    actor: Actor,
    svc: web::Data<Service>,
    rendered: web::Data<RenderedDashboards>,
    path: web::Path<DashboardPath>,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let with_views = query_pairs(&req)
        .iter()
        .any(|(k, v)| k == "include" && v == "properties");
    let id = path.dashboard;
    // Served from rendered bytes when this version was rendered before, or
    // spliced from the bare answer and the views' records.
    let a = actor.clone();
    let cache = rendered.clone();
    let stamp = read(&svc, move |s| {
        s.dashboard_stamp_and_labels(&a, id, |version| {
            match (cache.get(id, with_views, version), with_views) {
                (Some(r), _) => Prerendered::Answer(r),
                (None, true) => match cache.get(id, false, version) {
                    Some(bare) => Prerendered::WithoutViews(bare),
                    None => Prerendered::Nothing,
                },
                (None, false) => Prerendered::Nothing,
            }
        })
    })
    .await?;
    if let Some(st) = stamp {
        let tag = etag(id, st.version);
        if none_match(&req, &tag) {
            return Ok(not_modified(&tag));
        }
        let hit = matches!(st.rendered, Prerendered::Answer(_));
        crate::metrics::METRICS.cache("rendered_dashboards", hit);
        let answer = match (st.rendered, st.view_records) {
            (Prerendered::Answer(r), _) => Some(r),
            (Prerendered::WithoutViews(bare), Some(records)) => bare
                .with_views(id, &records)
                .map(|r| rendered.keep(id, true, r)),
            _ => None,
        };
        if let Some(r) = answer {
            return rendered_answer(&r, &st.labels, st.defaults, &tag);
        }
    }
    // Rendered without views first: the bare answer is kept for GETs and
    // lists, and an answer with views is spliced from it.
    let a = actor.clone();
    let d = read(&svc, move |s| s.dashboard(&a, id, false)).await?;
    let bare =
        serde_json::to_vec(&dashboard_json(&d.dashboard, None, &[])).map_err(Error::internal)?;
    let version = d.dashboard.updated_at.nanos();
    let tag = etag(id, version);
    if none_match(&req, &tag) {
        return Ok(not_modified(&tag));
    }
    let bare = rendered.put(id, false, version, bare);
    let spliced = match (&bare, with_views) {
        (Some(_), true) => with_stored_views(&svc, &rendered, &actor, id, version).await?,
        _ => None,
    };
    match (bare, spliced, with_views) {
        (Some(r), _, false) | (_, Some(r), true) => {
            rendered_answer(&r, &d.labels, d.defaults, &tag)
        }
        (None, _, false) => tagged_json(
            StatusCode::OK,
            &dashboard_json(&d.dashboard, None, &d.labels).for_reader(d.defaults),
            &tag,
        ),
        (_, None, true) => render_with_views(&svc, &rendered, &req, actor, id).await,
    }
}

/// A GET with views rendered from the decoded dashboard and views (a view
/// record that needs decoding, or no rendered answer to splice into).
async fn render_with_views(
    svc: &web::Data<Service>,
    rendered: &RenderedDashboards,
    req: &HttpRequest,
    actor: Actor,
    id: Id,
) -> Result<HttpResponse> {
    let d = read(svc, move |s| s.dashboard(&actor, id, true)).await?;
    let full = serde_json::to_vec(&dashboard_json(&d.dashboard, d.views.as_ref(), &[]))
        .map_err(Error::internal)?;
    let version = d.dashboard.updated_at.nanos();
    let tag = etag(id, version);
    if none_match(req, &tag) {
        return Ok(not_modified(&tag));
    }
    match rendered.put(id, true, version, full) {
        Some(r) => rendered_answer(&r, &d.labels, d.defaults, &tag),
        None => tagged_json(
            StatusCode::OK,
            &dashboard_json(&d.dashboard, d.views.as_ref(), &d.labels).for_reader(d.defaults),
            &tag,
        ),
    }
}

/// The answer with views of `version`, made from its bare rendered answer
/// and the stored view records without decoding any, and kept; `None` when
/// the bare answer is not at hand, the dashboard moved on or a record needs
/// decoding.
async fn with_stored_views(
    svc: &web::Data<Service>,
    rendered: &RenderedDashboards,
    actor: &Actor,
    id: Id,
    version: i64,
) -> Result<Option<Arc<Rendered>>> {
    let Some(bare) = rendered.get(id, false, version) else {
        return Ok(None);
    };
    let a = actor.clone();
    let Some(records) = read(svc, move |s| s.dashboard_view_records(&a, id, version)).await? else {
        return Ok(None);
    };
    Ok(bare
        .with_views(id, &records)
        .map(|r| rendered.keep(id, true, r)))
}

/// A GET's answer from its rendered JSON, with the reader's labels and flags.
fn rendered_answer(
    r: &Rendered,
    labels: &[Label],
    defaults: DefaultFlags,
    tag: &str,
) -> Result<HttpResponse> {
    let body = r
        .answer(&labels_bytes(labels)?, default_flags_bytes(defaults))
        .map_err(Error::internal)?;
    Ok(HttpResponse::Ok()
        .insert_header(super::json_content_type())
        .insert_header((header::ETAG, tag))
        .body(body))
}

/// A JSON answer carrying the dashboard's `ETag`.
pub fn tagged_json<T: Serialize>(status: StatusCode, body: &T, tag: &str) -> Result<HttpResponse> {
    let mut res = json(status, body)?;
    if let Ok(v) = header::HeaderValue::from_str(tag) {
        res.headers_mut().insert(header::ETAG, v);
    }
    Ok(res)
}

fn not_modified(tag: &str) -> HttpResponse {
    HttpResponse::NotModified()
        .insert_header((header::ETAG, tag))
        .finish()
}

/// The entity tags a header lists; `None` when the header is absent.
fn tags(req: &HttpRequest, name: header::HeaderName) -> Option<Vec<String>> {
    if !req.headers().contains_key(&name) {
        return None;
    }
    Some(
        req.headers()
            .get_all(name)
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect(),
    )
}

/// `If-Match`, checked against the dashboard inside the write.
pub fn if_match(req: &HttpRequest) -> IfMatch {
    IfMatch(tags(req, header::IF_MATCH))
}

/// Whether `If-None-Match` names `tag` (weak comparison, as for GET).
fn none_match(req: &HttpRequest, tag: &str) -> bool {
    tags(req, header::IF_NONE_MATCH).is_some_and(|ts| {
        ts.iter()
            .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == tag)
    })
}

async fn patch(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<DashboardPath>,
    body: Body,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let upd: PatchDashboard = body.json()?;
    let id = path.dashboard;
    let pre = if_match(&req);
    changed_dashboard(&svc, actor, move |s, a| {
        s.update_dashboard(a, id, upd, &pre)
    })
    .await
}

/// Runs a write that gives back a whole dashboard (PATCH, a restore) and
/// answers it as PATCH does: with the labels the actor may see and its ETag.
pub(super) async fn changed_dashboard<F>(
    svc: &web::Data<Service>,
    actor: Actor,
    write: F,
) -> Result<HttpResponse>
where
    F: FnOnce(&Service, &Actor) -> Result<Tagged<Dashboard>> + Send + 'static,
{
    let (d, labels) = blocking(svc, move |s| {
        let d = write(s, &actor)?;
        let id = d.value.id;
        let mut labels = s.labels_of_dashboards(&actor, std::slice::from_ref(&d.value))?;
        Ok((d, labels.remove(&id).unwrap_or_default()))
    })
    .await?;
    tagged_json(
        StatusCode::OK,
        &dashboard_json(&d.value, None, &labels),
        &d.etag,
    )
}

async fn delete(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<DashboardPath>,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let id = path.dashboard;
    let pre = if_match(&req);
    blocking(&svc, move |s| s.delete_dashboard(&actor, id, &pre)).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn clone(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<DashboardPath>,
    body: Body,
) -> Result<HttpResponse> {
    let id = path.dashboard;
    let req: CloneDashboard = if body.bytes().iter().all(u8::is_ascii_whitespace) {
        CloneDashboard::default()
    } else {
        body.json()?
    };
    let (d, labels) = blocking(&svc, move |s| s.clone_dashboard(&actor, id, req)).await?;
    json(StatusCode::CREATED, &dashboard_json(&d, None, &labels))
}

async fn add_cell(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<DashboardPath>,
    body: Body,
    http: HttpRequest,
) -> Result<HttpResponse> {
    let req: CreateCell = body.json_or("bad request json body")?;
    let id = path.dashboard;
    let pre = if_match(&http);
    let cell = blocking(&svc, move |s| s.add_cell(&actor, id, req, &pre)).await?;
    tagged_json(
        StatusCode::CREATED,
        &cell_json(id, &cell.value, None),
        &cell.etag,
    )
}

#[derive(Serialize)]
struct CellsJson<'a> {
    cells: Vec<CellJson<'a>>,
    links: SelfLink,
}

async fn replace_cells(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<DashboardPath>,
    body: Body,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let placed: Vec<PlacedCell> = body.json_or("bad request json body")?;
    let id = path.dashboard;
    let pre = if_match(&req);
    let cells = blocking(&svc, move |s| s.replace_cells(&actor, id, placed, &pre)).await?;
    let body = CellsJson {
        cells: cells.value.iter().map(|c| cell_json(id, c, None)).collect(),
        links: SelfLink {
            this: format!("/api/v2/dashboards/{id}/cells"),
        },
    };
    tagged_json(StatusCode::CREATED, &body, &cells.etag)
}

async fn patch_cell(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<CellPath>,
    body: Body,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let upd: PatchCell = body.json()?;
    let (id, cell_id) = (path.dashboard, path.cell);
    let pre = if_match(&req);
    let cell = blocking(&svc, move |s| s.update_cell(&actor, id, cell_id, upd, &pre)).await?;
    tagged_json(
        StatusCode::OK,
        &cell_json(id, &cell.value, None),
        &cell.etag,
    )
}

async fn delete_cell(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<CellPath>,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let (id, cell_id) = (path.dashboard, path.cell);
    let pre = if_match(&req);
    let done = blocking(&svc, move |s| s.remove_cell(&actor, id, cell_id, &pre)).await?;
    Ok(HttpResponse::NoContent()
        .insert_header((header::ETAG, done.etag))
        .finish())
}

fn view_response(dashboard: Id, cell: Id, view: &Tagged<View>) -> Result<HttpResponse> {
    tagged_json(
        StatusCode::OK,
        &ViewJson {
            id: cell,
            name: &view.value.name,
            properties: &view.value.properties,
            links: SelfLink {
                this: format!("/api/v2/dashboards/{dashboard}/cells/{cell}"),
            },
        },
        &view.etag,
    )
}

async fn get_view(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<CellPath>,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let (id, cell_id) = (path.dashboard, path.cell);
    let view = read(&svc, move |s| s.view(&actor, id, cell_id)).await?;
    if none_match(&req, &view.etag) {
        return Ok(not_modified(&view.etag));
    }
    view_response(id, cell_id, &view)
}

async fn patch_view(
    actor: Actor,
    svc: web::Data<Service>,
    path: web::Path<CellPath>,
    body: Body,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let upd: PatchView = body.json()?;
    let (id, cell_id) = (path.dashboard, path.cell);
    let pre = if_match(&req);
    let view = blocking(&svc, move |s| s.update_view(&actor, id, cell_id, upd, &pre)).await?;
    view_response(id, cell_id, &view)
}
