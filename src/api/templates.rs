//! `/api/v2/templates`: apply and export templates (InfluxDB's pkger).

use super::{blocking, json, resource, Body, BodyLimit};
use crate::auth::permission::Actor;
use crate::domain::template::export::{ExportRequest, OrgExport, ResourceToClone};
use crate::domain::template::parse::{Encoding, Kind};
use crate::domain::template::plan::Skips;
use crate::domain::template::{ApplyInput, ApplyOutcome, TemplateSource};
use crate::domain::Service;
use crate::error::{Code, Error, Result};
use crate::id::Id;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/templates/apply").post(apply))
        .service(resource("/templates/export").post(export));
}

/// `X-Platform-Error-Code`, as `HeaderName::from_static` wants it.
const PLATFORM_ERROR_HEADER_LC: &str = "x-platform-error-code";

/// How long fetching one remote template may take.
const REMOTE_TIMEOUT: Duration = Duration::from_secs(20);

// ---- request shapes (pkger's ReqApply, ReqExport) -------------------------

#[derive(Debug, Default, Deserialize)]
struct ReqApply {
    #[serde(rename = "dryRun", default)]
    dry_run: bool,
    #[serde(rename = "orgID", default)]
    org_id: String,
    #[serde(rename = "stackID", default)]
    stack_id: Option<String>,
    #[serde(default)]
    remotes: Vec<ReqRemote>,
    #[serde(default)]
    templates: Vec<ReqRawTemplate>,
    #[serde(default)]
    template: Option<ReqRawTemplate>,
    #[serde(rename = "envRefs", default)]
    env_refs: Option<HashMap<String, Value>>,
    #[serde(default)]
    actions: Vec<ReqAction>,
}

#[derive(Debug, Default, Deserialize)]
struct ReqRemote {
    #[serde(default)]
    url: String,
    #[serde(rename = "contentType", default)]
    content_type: String,
}

#[derive(Debug, Default, Deserialize)]
struct ReqRawTemplate {
    #[serde(rename = "contentType", default)]
    content_type: String,
    #[serde(default)]
    sources: Vec<String>,
    #[serde(default)]
    contents: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct ReqAction {
    #[serde(default)]
    action: String,
    #[serde(default)]
    properties: Value,
}

#[derive(Debug, Default, Deserialize)]
struct ReqExport {
    #[serde(rename = "stackID", default)]
    stack_id: String,
    #[serde(rename = "orgIDs", default)]
    org_ids: Vec<ReqExportOrg>,
    #[serde(default)]
    resources: Vec<ReqResource>,
}

#[derive(Debug, Default, Deserialize)]
struct ReqExportOrg {
    #[serde(rename = "orgID", default)]
    org_id: String,
    #[serde(rename = "resourceFilters", default)]
    filters: ReqFilters,
}

#[derive(Debug, Default, Deserialize)]
struct ReqFilters {
    #[serde(rename = "byLabel", default)]
    by_label: Vec<String>,
    #[serde(rename = "byResourceKind", default)]
    by_kind: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ReqResource {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: String,
}

// ---- helpers ---------------------------------------------------------------

fn is_yaml_type(req: &HttpRequest, name: header::HeaderName) -> bool {
    let v = req
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    [
        "text/yml",
        "text/yaml",
        "application/x-yaml",
        "application/yaml",
    ]
    .iter()
    .any(|t| v.split([',', ';']).any(|p| p.trim() == *t))
}

fn unprocessable(msg: String) -> Error {
    Error::new(Code::UnprocessableEntity, msg)
}

/// pkger's `convertEncoding`: the content type, else the source's extension.
fn encoding_of(content_type: &str, source: &str) -> Option<Encoding> {
    let ct = content_type.to_lowercase();
    let ext = source
        .rsplit('/')
        .next()
        .and_then(|f| f.rsplit_once('.'))
        .map(|(_, e)| e.to_lowercase());
    match (ct.as_str(), ext.as_deref()) {
        ("jsonnet", _) | (_, Some("jsonnet")) => None,
        ("json", _) | (_, Some("json")) => Some(Encoding::Json),
        ("yml" | "yaml", _) | (_, Some("yml" | "yaml")) => Some(Encoding::Yaml),
        _ => Some(Encoding::Source),
    }
}

fn jsonnet_refused(what: &str) -> Error {
    unprocessable(format!(
        "template from {what} had an issue: invalid encoding provided"
    ))
}

/// A GitHub page URL of a template file becomes its raw-content URL, as
/// pkger does.
fn github_raw(url: &str) -> String {
    let Some(rest) = url.strip_prefix("https://github.com/") else {
        return url.to_string();
    };
    let ext_ok = [".yaml", ".yml", ".json"].iter().any(|e| rest.ends_with(e));
    let parts: Vec<&str> = rest.split('/').collect();
    if !ext_ok || parts.len() < 4 {
        return url.to_string();
    }
    let mut kept = vec![parts[0], parts[1]];
    kept.extend(&parts[3..]);
    format!("https://raw.githubusercontent.com/{}", kept.join("/"))
}

/// Fetches a remote template with a timeout and a size limit.
async fn fetch_remote(url: &str, limit: usize) -> std::result::Result<Vec<u8>, String> {
    let url = github_raw(url);
    if !url.starts_with("http://") && !url.starts_with("https://") {
        return Err("only http and https URLs can be fetched".into());
    }
    let client = awc::Client::builder().timeout(REMOTE_TIMEOUT).finish();
    let mut resp = client.get(&url).send().await.map_err(|e| e.to_string())?;
    let body = resp.body().limit(limit).await.map_err(|e| e.to_string())?;
    if !resp.status().is_success() {
        return Err(format!(
            "bad response: address={url} status_code={} body={:?}",
            resp.status().as_u16(),
            String::from_utf8_lossy(&body).trim()
        ));
    }
    Ok(body.to_vec())
}

fn decode_body<T: DeserializeOwned + Default>(req: &HttpRequest, body: &Body) -> Result<T> {
    if body.bytes().iter().all(u8::is_ascii_whitespace) {
        return Err(Error::invalid("unable to unmarshal json").with_err("EOF"));
    }
    if is_yaml_type(req, header::CONTENT_TYPE) {
        serde_norway::from_slice(body.bytes())
            .map_err(|e| Error::invalid("unable to unmarshal yaml").with_err(e))
    } else {
        serde_json::from_slice(body.bytes())
            .map_err(|e| Error::invalid("unable to unmarshal json").with_err(e))
    }
}

fn parse_kind(raw: &str) -> std::result::Result<Kind, String> {
    Kind::check(raw).map_err(str::to_string)
}

fn skips(actions: &[ReqAction]) -> Result<Skips> {
    let mut s = Skips::default();
    for (i, a) in actions.iter().enumerate() {
        let kind = a
            .properties
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let bad_kind = |e: String| {
            Error::invalid(format!("invalid kind for actions[{i}] {:?}: {e}", a.action))
        };
        match a.action.as_str() {
            "skipKind" => {
                s.kinds.insert(parse_kind(kind).map_err(bad_kind)?.family());
            }
            "skipResource" => {
                let k = parse_kind(kind).map_err(bad_kind)?.family();
                let meta = a
                    .properties
                    .get("resourceTemplateName")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                s.resources.insert((k, meta.to_string()));
            }
            other => {
                return Err(Error::invalid(format!(
                    "invalid action type {other:?} provided for actions[{i}] ; Must be one of [skipResource]"
                )))
            }
        }
    }
    Ok(s)
}

/// The body of one `template`/`templates` entry, and how it is written.
fn raw_template(t: &ReqRawTemplate) -> Result<Option<TemplateSource>> {
    let Some(contents) = &t.contents else {
        return Ok(None);
    };
    if contents.is_null() {
        return Ok(None);
    }
    let source = if t.sources.is_empty() {
        "byte stream".to_string()
    } else {
        t.sources.join("; ")
    };
    let encoding = encoding_of(
        &t.content_type,
        t.sources.first().map(String::as_str).unwrap_or(""),
    )
    .ok_or_else(|| jsonnet_refused(&format!("source(s) {source:?}")))?;
    // Tessera also takes the template's text as a string (YAML or JSON);
    // any other value is the template itself.
    let (bytes, encoding) = match contents {
        Value::String(text) => (text.clone().into_bytes(), encoding),
        other => (
            serde_json::to_vec(other).map_err(Error::internal)?,
            Encoding::Json,
        ),
    };
    Ok(Some(TemplateSource {
        bytes,
        encoding,
        source,
    }))
}

// ---- handlers --------------------------------------------------------------

async fn apply(
    actor: Actor,
    svc: web::Data<Service>,
    req: HttpRequest,
    body: Body,
) -> Result<HttpResponse> {
    let r: ReqApply = decode_body(&req, &body)?;
    let org = Id::parse(&r.org_id)
        .map_err(|_| Error::invalid(format!("invalid organization ID provided: {:?}", r.org_id)))?;
    let stack = match &r.stack_id {
        Some(s) => Some(
            Id::parse(s)
                .map_err(|_| Error::invalid(format!("invalid stack ID provided: {s:?}")))?,
        ),
        None => None,
    };
    let limit = req.app_data::<BodyLimit>().map(|l| l.0).unwrap_or(10 << 20);
    let mut templates = Vec::new();
    for rem in r.remotes.iter().filter(|r| !r.url.is_empty()) {
        let Some(encoding) = encoding_of(&rem.content_type, &rem.url) else {
            return Err(jsonnet_refused(&format!("url[{:?}]", rem.url)));
        };
        let bytes = fetch_remote(&rem.url, limit).await.map_err(|e| {
            unprocessable(format!("template from url[{}] had an issue: {e}", rem.url))
        })?;
        templates.push(TemplateSource {
            bytes,
            encoding,
            source: rem.url.clone(),
        });
    }
    for t in r.templates.iter().chain(r.template.iter()) {
        templates.extend(raw_template(t)?);
    }
    let input = ApplyInput {
        org,
        stack,
        dry_run: r.dry_run,
        templates,
        env_refs: r.env_refs.unwrap_or_default(),
        skips: skips(&r.actions)?,
    };
    match blocking(&svc, move |s| s.apply_template(&actor, input)).await? {
        ApplyOutcome::DryRun(report) => json(StatusCode::OK, &report),
        ApplyOutcome::Applied(report) => json(StatusCode::CREATED, &report),
        ApplyOutcome::Invalid(report) => {
            let mut resp = json(StatusCode::UNPROCESSABLE_ENTITY, &report)?;
            resp.headers_mut().insert(
                header::HeaderName::from_static(PLATFORM_ERROR_HEADER_LC),
                header::HeaderValue::from_static("unprocessable entity"),
            );
            Ok(resp)
        }
    }
}

fn export_request(r: ReqExport) -> Result<ExportRequest> {
    if r.resources.is_empty() && r.org_ids.is_empty() && r.stack_id.is_empty() {
        return Err(unprocessable(
            "at least 1 resource, 1 org id, or stack id must be provided".into(),
        ));
    }
    let mut out = ExportRequest::default();
    for o in r.org_ids {
        let org = Id::parse(&o.org_id)
            .map_err(|_| Error::invalid(format!("provided org id is invalid: {:?}", o.org_id)))?;
        let mut by_kind = Vec::new();
        for k in &o.filters.by_kind {
            by_kind.push(parse_kind(k).map_err(Error::invalid)?.family());
        }
        out.orgs.push(OrgExport {
            org,
            by_label: o.filters.by_label,
            by_kind,
        });
    }
    if !r.stack_id.is_empty() {
        out.stack =
            Some(Id::parse(&r.stack_id).map_err(|_| {
                Error::invalid(format!("invalid stack ID provided: {:?}", r.stack_id))
            })?);
    }
    for res in r.resources {
        let kind = parse_kind(&res.kind).map_err(Error::invalid)?;
        let id = match res.id.as_deref() {
            None | Some("") => None,
            Some(s) => Some(Id::parse(s)?),
        };
        if id.is_none() && res.name.is_empty() {
            return Err(Error::invalid("must provide an ID or name"));
        }
        out.resources.push(ResourceToClone {
            kind,
            id,
            name: res.name,
            meta: String::new(),
        });
    }
    Ok(out)
}

async fn export(
    actor: Actor,
    svc: web::Data<Service>,
    req: HttpRequest,
    body: Body,
) -> Result<HttpResponse> {
    let r: ReqExport = decode_body(&req, &body)?;
    let er = export_request(r)?;
    let objects = blocking(&svc, move |s| s.export_template(&actor, er)).await?;
    if is_yaml_type(&req, header::ACCEPT) {
        let text = serde_norway::to_string(&objects).map_err(Error::internal)?;
        return Ok(HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, "application/x-yaml"))
            .body(text));
    }
    // Go's encoder: tab-indented, with a trailing newline.
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    serde::Serialize::serialize(&objects, &mut ser).map_err(Error::internal)?;
    buf.push(b'\n');
    Ok(HttpResponse::Ok()
        .insert_header(super::json_content_type())
        .body(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_urls_become_raw() {
        assert_eq!(
            github_raw("https://github.com/influxdata/community-templates/blob/master/docker/docker.yml"),
            "https://raw.githubusercontent.com/influxdata/community-templates/master/docker/docker.yml"
        );
        assert_eq!(github_raw("http://x/y.yml"), "http://x/y.yml");
    }
}
