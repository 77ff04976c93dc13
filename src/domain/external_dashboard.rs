//! External dashboards: dashboards that live elsewhere (an HTTPS page shown
//! in an iframe), listed beside an org's own, as the Microsoft portal keeps
//! them. Whether the page may be framed is learned by probing its headers
//! (`X-Frame-Options`, CSP `frame-ancestors`); the probe itself is
//! `crate::probe`, the rules that read its answer are here.

use super::time::Timestamp;
use crate::error::{Code, Error, Result};
use crate::id::Id;
use serde::{Deserialize, Deserializer, Serialize};

pub const ERR_EXTERNAL_DASHBOARD_NOT_FOUND: &str = "external dashboard not found";
pub const MAX_NAME_CHARS: usize = 255;
pub const MAX_DESCRIPTION_CHARS: usize = 1000;
pub const MAX_URL_BYTES: usize = 2048;
pub const MAX_DISPLAY_ORDER: i64 = 1000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalDashboard {
    pub id: Id,
    #[serde(rename = "orgID")]
    pub org_id: Id,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub url: String,
    #[serde(rename = "iconUrl", default)]
    pub icon_url: Option<String>,
    #[serde(rename = "displayOrder")]
    pub display_order: u16,
    #[serde(rename = "isActive")]
    pub is_active: bool,
    /// Members holding one of these roles see it; none: every org reader.
    #[serde(rename = "roleIDs", default)]
    pub role_ids: Vec<Id>,
    #[serde(default)]
    pub probe: Probe,
    #[serde(rename = "createdAt")]
    pub created_at: Timestamp,
    #[serde(rename = "updatedAt")]
    pub updated_at: Timestamp,
}

/// What the last probe of the URL found; all `None` before the first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Probe {
    #[serde(rename = "allowInIframe", default)]
    pub allow_in_iframe: Option<bool>,
    #[serde(rename = "framePolicy", default)]
    pub frame_policy: Option<FramePolicy>,
    /// The sources of CSP `frame-ancestors` when it lists some.
    #[serde(rename = "frameAncestors", default)]
    pub frame_ancestors: Option<Vec<String>>,
    #[serde(rename = "probedAt", default)]
    pub probed_at: Option<Timestamp>,
    #[serde(rename = "probeError", default)]
    pub probe_error: Option<String>,
}

/// Who may frame the page, as its headers say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FramePolicy {
    /// Neither header restricts framing.
    Any,
    /// `X-Frame-Options: DENY` or `frame-ancestors 'none'`.
    Deny,
    /// `X-Frame-Options: SAMEORIGIN` or `frame-ancestors 'self'`.
    SameOrigin,
    /// `frame-ancestors` with a list of sources (`frameAncestors`).
    Allowlist,
}

/// A probe's outcome: the headers that decide framing, or why there were none.
#[derive(Debug, Clone)]
pub enum ProbeOutcome {
    Headers {
        x_frame_options: Vec<String>,
        content_security_policy: Vec<String>,
    },
    Failed(String),
}

/// The frame policy the headers set. CSP `frame-ancestors` governs when
/// present (browsers then ignore `X-Frame-Options`); several policies all
/// apply, so the strictest wins. Tessera's own origin is not known to the
/// server, so a list of sources allows framing only when it admits every
/// HTTPS origin (`*`, `https:`).
pub fn frame_policy(x_frame_options: &[String], csp: &[String]) -> Probe {
    let mut policy: Option<FramePolicy> = None;
    let mut sources: Option<Vec<String>> = None;
    let stricter = |a: FramePolicy, b: FramePolicy| {
        let rank = |p| match p {
            FramePolicy::Deny => 3,
            FramePolicy::SameOrigin => 2,
            FramePolicy::Allowlist => 1,
            FramePolicy::Any => 0,
        };
        if rank(b) > rank(a) {
            b
        } else {
            a
        }
    };
    // A header may carry several policies separated by commas.
    for one in csp.iter().flat_map(|h| h.split(',')) {
        let Some(directive) = one.split(';').map(str::trim).find(|d| {
            d.split_ascii_whitespace()
                .next()
                .is_some_and(|n| n.eq_ignore_ascii_case("frame-ancestors"))
        }) else {
            continue;
        };
        let list: Vec<String> = directive
            .split_ascii_whitespace()
            .skip(1)
            .map(str::to_string)
            .collect();
        let this = if list.is_empty() || list.iter().any(|s| s.eq_ignore_ascii_case("'none'")) {
            FramePolicy::Deny
        } else if list.iter().all(|s| s.eq_ignore_ascii_case("'self'")) {
            FramePolicy::SameOrigin
        } else {
            if sources.is_none() {
                sources = Some(list);
            }
            FramePolicy::Allowlist
        };
        policy = Some(policy.map_or(this, |p| stricter(p, this)));
    }
    let policy = match policy {
        Some(p) => p,
        None => {
            let values: Vec<String> = x_frame_options
                .iter()
                .flat_map(|h| h.split(','))
                .map(|v| v.trim().to_ascii_uppercase())
                .collect();
            if values.iter().any(|v| v == "DENY") {
                FramePolicy::Deny
            } else if values.iter().any(|v| v == "SAMEORIGIN") {
                FramePolicy::SameOrigin
            } else {
                // ALLOW-FROM and anything else: browsers ignore them.
                FramePolicy::Any
            }
        }
    };
    let allow = match policy {
        FramePolicy::Any => true,
        FramePolicy::Deny | FramePolicy::SameOrigin => false,
        FramePolicy::Allowlist => sources
            .iter()
            .flatten()
            .any(|s| s == "*" || s.eq_ignore_ascii_case("https:")),
    };
    Probe {
        allow_in_iframe: Some(allow),
        frame_policy: Some(policy),
        frame_ancestors: if policy == FramePolicy::Allowlist {
            sources
        } else {
            None
        },
        probed_at: Some(Timestamp::now()),
        probe_error: None,
    }
}

impl ProbeOutcome {
    pub fn into_probe(self) -> Probe {
        match self {
            ProbeOutcome::Headers {
                x_frame_options,
                content_security_policy,
            } => frame_policy(&x_frame_options, &content_security_policy),
            ProbeOutcome::Failed(why) => Probe {
                probed_at: Some(Timestamp::now()),
                probe_error: Some(why),
                ..Probe::default()
            },
        }
    }
}

// ---- input ---------------------------------------------------------------

/// `Some(None)` for an explicit `null` (clears), `None` when absent.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> std::result::Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// `POST /api/v2/externalDashboards`.
#[derive(Debug, Default, Deserialize)]
pub struct CreateExternalDashboard {
    #[serde(rename = "orgID", default)]
    pub org_id: Option<Id>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(rename = "iconUrl", default)]
    pub icon_url: Option<String>,
    #[serde(rename = "displayOrder", default)]
    pub display_order: Option<i64>,
    #[serde(rename = "isActive", default)]
    pub is_active: Option<bool>,
    #[serde(rename = "roleIDs", default)]
    pub role_ids: Option<Vec<String>>,
}

/// `PATCH /api/v2/externalDashboards/{id}`: absent fields stay; `iconUrl:
/// null` removes the icon.
#[derive(Debug, Default, Deserialize)]
pub struct PatchExternalDashboard {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(rename = "iconUrl", default, deserialize_with = "nullable")]
    pub icon_url: Option<Option<String>>,
    #[serde(rename = "displayOrder", default)]
    pub display_order: Option<i64>,
    #[serde(rename = "isActive", default)]
    pub is_active: Option<bool>,
    #[serde(rename = "roleIDs", default)]
    pub role_ids: Option<Vec<String>>,
}

pub fn check_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::invalid("name is required"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(Error::invalid(format!(
            "name must be at most {MAX_NAME_CHARS} characters"
        )));
    }
    Ok(name.to_string())
}

fn check_description(d: String) -> Result<String> {
    if d.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(Error::invalid(format!(
            "description must be at most {MAX_DESCRIPTION_CHARS} characters"
        )));
    }
    Ok(d)
}

/// An absolute `https://` URL with a host and no credentials in it.
pub fn check_https_url(field: &str, raw: &str) -> Result<String> {
    let raw = raw.trim();
    if raw.len() > MAX_URL_BYTES {
        return Err(Error::invalid(format!(
            "{field} must be at most {MAX_URL_BYTES} bytes"
        )));
    }
    let parsed = url::Url::parse(raw)
        .map_err(|e| Error::invalid(format!("{field} must be an absolute https:// URL: {e}")))?;
    if parsed.scheme() != "https" {
        return Err(Error::invalid(format!(
            "{field} must be an absolute https:// URL, not {}:",
            parsed.scheme()
        )));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(Error::invalid(format!("{field} must name a host")));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::invalid(format!(
            "{field} must not carry credentials"
        )));
    }
    Ok(parsed.to_string())
}

fn check_display_order(n: i64) -> Result<u16> {
    if !(0..=MAX_DISPLAY_ORDER).contains(&n) {
        return Err(Error::invalid(format!(
            "displayOrder must be between 0 and {MAX_DISPLAY_ORDER}"
        )));
    }
    Ok(n as u16)
}

/// Role IDs are checked for their form only: roles live elsewhere.
fn check_role_ids(ids: Vec<String>) -> Result<Vec<Id>> {
    let mut out: Vec<Id> = Vec::with_capacity(ids.len());
    for (i, s) in ids.iter().enumerate() {
        let id =
            Id::parse(s).map_err(|e| Error::invalid(format!("roleIDs[{i}]: {}", e.message)))?;
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

/// A checked create request.
struct NewExternalDashboard {
    org_id: Id,
    name: String,
    description: String,
    url: String,
    icon_url: Option<String>,
    display_order: u16,
    is_active: bool,
    role_ids: Vec<Id>,
}

impl CreateExternalDashboard {
    fn check(self) -> Result<NewExternalDashboard> {
        let name = check_name(self.name.as_deref().unwrap_or_default())?;
        let org_id = self
            .org_id
            .ok_or_else(|| Error::invalid("orgID is required"))?;
        let url = match self.url.as_deref() {
            Some(u) if !u.trim().is_empty() => check_https_url("url", u)?,
            _ => return Err(Error::invalid("url is required")),
        };
        Ok(NewExternalDashboard {
            org_id,
            name,
            description: check_description(self.description.unwrap_or_default())?,
            url,
            icon_url: self
                .icon_url
                .filter(|u| !u.trim().is_empty())
                .map(|u| check_https_url("iconUrl", &u))
                .transpose()?,
            display_order: check_display_order(self.display_order.unwrap_or(0))?,
            is_active: self.is_active.unwrap_or(true),
            role_ids: check_role_ids(self.role_ids.unwrap_or_default())?,
        })
    }
}

/// A checked patch.
struct ExternalDashboardUpdate {
    name: Option<String>,
    description: Option<String>,
    url: Option<String>,
    icon_url: Option<Option<String>>,
    display_order: Option<u16>,
    is_active: Option<bool>,
    role_ids: Option<Vec<Id>>,
}

impl PatchExternalDashboard {
    fn check(self) -> Result<ExternalDashboardUpdate> {
        Ok(ExternalDashboardUpdate {
            name: self.name.as_deref().map(check_name).transpose()?,
            description: self.description.map(check_description).transpose()?,
            url: self
                .url
                .as_deref()
                .map(|u| check_https_url("url", u))
                .transpose()?,
            icon_url: match self.icon_url {
                None => None,
                Some(None) => Some(None),
                Some(Some(u)) if u.trim().is_empty() => Some(None),
                Some(Some(u)) => Some(Some(check_https_url("iconUrl", &u)?)),
            },
            display_order: self.display_order.map(check_display_order).transpose()?,
            is_active: self.is_active,
            role_ids: self.role_ids.map(check_role_ids).transpose()?,
        })
    }
}

// ---- rules ---------------------------------------------------------------

use super::label::{self, Label};
use super::org::ERR_ORG_NOT_FOUND;
use super::Service;
use crate::auth::permission::{Action, Actor};
use crate::store::{Change, StoreRead};
use std::collections::HashMap;

/// External dashboards are governed by the `dashboards` rights of their org.
pub const PERMISSION_TYPE: &str = "dashboards";
/// How label mappings name them.
pub const RESOURCE_TYPE: &str = "externalDashboards";

pub(super) fn load(store: &dyn StoreRead, id: Id) -> Result<ExternalDashboard> {
    store
        .external_dashboard(id)?
        .ok_or_else(|| Error::not_found(ERR_EXTERNAL_DASHBOARD_NOT_FOUND))
}

/// Whether the actor sees the external dashboard: any reader of the org's
/// dashboards when it names no roles; otherwise those who may change it
/// (org owners, operators) and members holding one of its `roleIDs` (the
/// built-in Org Admin and Viewer included).
pub fn visible_to(store: &dyn StoreRead, actor: &Actor, d: &ExternalDashboard) -> Result<bool> {
    if !actor.can(Action::Read, PERMISSION_TYPE, Some(d.org_id), Some(d.id)) {
        return Ok(false);
    }
    if d.role_ids.is_empty()
        || actor.can(Action::Write, PERMISSION_TYPE, Some(d.org_id), Some(d.id))
    {
        return Ok(true);
    }
    let held = super::role::roles_held(store, actor.user_id, d.org_id)?;
    Ok(d.role_ids.iter().any(|r| held.contains(r)))
}

/// Every role named must be one of the org's: built-in or its own.
fn check_roles_exist(store: &dyn StoreRead, org: Id, ids: &[Id]) -> Result<()> {
    for id in ids {
        let known = super::role::BuiltIn::of(org, *id).is_some()
            || store.role(*id)?.is_some_and(|r| r.org_id == org);
        if !known {
            return Err(Error::invalid(format!(
                "roleIDs: role {id} is not a role of this org"
            )));
        }
    }
    Ok(())
}

/// Loads one the actor may act on: 404 when it does not exist, the right to
/// read it, 404 when its roles hide it from the actor, then the right.
pub(super) fn load_for(
    store: &dyn StoreRead,
    actor: &Actor,
    id: Id,
    action: Action,
) -> Result<ExternalDashboard> {
    let d = load(store, id)?;
    // As dashboards answer: 401 naming the right that is missing.
    actor.require(Action::Read, PERMISSION_TYPE, Some(d.org_id), Some(d.id))?;
    if !visible_to(store, actor, &d)? {
        return Err(Error::not_found(ERR_EXTERNAL_DASHBOARD_NOT_FOUND));
    }
    actor.require(action, PERMISSION_TYPE, Some(d.org_id), Some(d.id))?;
    Ok(d)
}

fn name_taken(name: &str) -> Error {
    Error::new(
        Code::AlreadyExists,
        format!("external dashboard with name {name} already exists"),
    )
}

fn check_name_free(store: &dyn StoreRead, org: Id, name: &str, except: Option<Id>) -> Result<()> {
    match store.external_dashboard_by_name(org, name)? {
        Some(other) if Some(other.id) != except => Err(name_taken(name)),
        _ => Ok(()),
    }
}

/// A unique constraint that caught a concurrent writer is the same 409.
fn conflict_is_409(e: Error) -> Error {
    if e.code == Code::Conflict {
        Error::new(Code::AlreadyExists, e.message)
    } else {
        e
    }
}

/// List order: `displayOrder`, then name without case, then ID.
fn by_display_order(a: &ExternalDashboard, b: &ExternalDashboard) -> std::cmp::Ordering {
    a.display_order
        .cmp(&b.display_order)
        .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
        .then_with(|| a.id.cmp(&b.id))
}

/// An external dashboard with the labels the actor may read on it.
#[derive(Debug, Clone)]
pub struct ExternalWithLabels {
    pub dashboard: ExternalDashboard,
    pub labels: Vec<Label>,
}

impl Service {
    pub fn create_external_dashboard(
        &self,
        actor: &Actor,
        req: CreateExternalDashboard,
    ) -> Result<ExternalDashboard> {
        let new = req.check()?;
        actor.require(Action::Write, PERMISSION_TYPE, Some(new.org_id), None)?;
        self.write(|store| {
            if store.org(new.org_id)?.is_none() {
                return Err(Error::not_found(ERR_ORG_NOT_FOUND));
            }
            check_name_free(store, new.org_id, &new.name, None)?;
            check_roles_exist(store, new.org_id, &new.role_ids)?;
            let now = Timestamp::now();
            let d = ExternalDashboard {
                id: store.new_id(),
                org_id: new.org_id,
                name: new.name,
                description: new.description,
                url: new.url,
                icon_url: new.icon_url,
                display_order: new.display_order,
                is_active: new.is_active,
                role_ids: new.role_ids,
                probe: Probe::default(),
                created_at: now,
                updated_at: now,
            };
            let change = Change::PutExternalDashboard {
                dashboard: d.clone(),
                previous_name: None,
            };
            Ok((d, vec![change]))
        })
        .map_err(conflict_is_409)
    }

    pub fn external_dashboard(&self, actor: &Actor, id: Id) -> Result<ExternalWithLabels> {
        self.read(|store| {
            let dashboard = load_for(store, actor, id, Action::Read)?;
            let labels = label::labels_in(store, actor, id)?;
            Ok(ExternalWithLabels { dashboard, labels })
        })
    }

    /// The external dashboards of an org (or of every org) the actor sees,
    /// by `displayOrder`.
    pub fn list_external_dashboards(
        &self,
        actor: &Actor,
        org: Option<Id>,
    ) -> Result<Vec<ExternalWithLabels>> {
        self.read(|store| {
            if let Some(org) = org {
                if store.org(org)?.is_none() {
                    return Err(Error::not_found(ERR_ORG_NOT_FOUND));
                }
            }
            let mut found = Vec::new();
            for d in store.external_dashboards(org)? {
                if visible_to(store, actor, &d)? {
                    found.push(d);
                }
            }
            found.sort_by(by_display_order);
            let mut seen = HashMap::new();
            found
                .into_iter()
                .map(|dashboard| {
                    let labels = label::readable_labels_of(store, actor, dashboard.id, &mut seen)?;
                    Ok(ExternalWithLabels { dashboard, labels })
                })
                .collect()
        })
    }

    /// Applies a patch. A new `url` forgets the last probe's findings (the
    /// caller probes again).
    pub fn update_external_dashboard(
        &self,
        actor: &Actor,
        id: Id,
        patch: PatchExternalDashboard,
    ) -> Result<ExternalWithLabels> {
        let upd = patch.check()?;
        self.write(|store| {
            let mut d = load_for(store, actor, id, Action::Write)?;
            let previous_name = d.name.clone();
            if let Some(name) = upd.name {
                check_name_free(store, d.org_id, &name, Some(id))?;
                d.name = name;
            }
            if let Some(v) = upd.description {
                d.description = v;
            }
            if let Some(url) = upd.url {
                if url != d.url {
                    d.probe = Probe::default();
                }
                d.url = url;
            }
            if let Some(v) = upd.icon_url {
                d.icon_url = v;
            }
            if let Some(v) = upd.display_order {
                d.display_order = v;
            }
            if let Some(v) = upd.is_active {
                d.is_active = v;
            }
            if let Some(v) = upd.role_ids {
                check_roles_exist(store, d.org_id, &v)?;
                d.role_ids = v;
            }
            d.updated_at = Timestamp::now_after(d.updated_at);
            let labels = label::labels_in(store, actor, id)?;
            let change = Change::PutExternalDashboard {
                dashboard: d.clone(),
                previous_name: Some(previous_name),
            };
            Ok((
                ExternalWithLabels {
                    dashboard: d,
                    labels,
                },
                vec![change],
            ))
        })
        .map_err(conflict_is_409)
    }

    /// The external dashboard, for an actor who may change it (to probe it).
    pub fn external_dashboard_to_change(
        &self,
        actor: &Actor,
        id: Id,
    ) -> Result<ExternalWithLabels> {
        self.read(|store| {
            let dashboard = load_for(store, actor, id, Action::Write)?;
            let labels = label::labels_in(store, actor, id)?;
            Ok(ExternalWithLabels { dashboard, labels })
        })
    }

    /// Records a probe of `url`; a probe of a URL that was changed meanwhile
    /// is dropped.
    pub fn record_probe(
        &self,
        actor: &Actor,
        id: Id,
        url: &str,
        probe: Probe,
    ) -> Result<ExternalWithLabels> {
        self.write(|store| {
            let mut d = load_for(store, actor, id, Action::Write)?;
            let labels = label::labels_in(store, actor, id)?;
            if d.url != url {
                return Ok((
                    ExternalWithLabels {
                        dashboard: d,
                        labels,
                    },
                    Vec::new(),
                ));
            }
            d.probe = probe;
            let change = Change::PutExternalDashboard {
                dashboard: d.clone(),
                previous_name: Some(d.name.clone()),
            };
            Ok((
                ExternalWithLabels {
                    dashboard: d,
                    labels,
                },
                vec![change],
            ))
        })
    }

    /// Deletes it and takes its labels off it.
    pub fn delete_external_dashboard(&self, actor: &Actor, id: Id) -> Result<()> {
        self.write(|store| {
            let d = load_for(store, actor, id, Action::Write)?;
            Ok((
                (),
                vec![Change::DeleteExternalDashboard {
                    id,
                    org: d.org_id,
                    name: d.name,
                }],
            ))
        })
    }

    /// `GET …/externalDashboards/{id}/labels`: read on it.
    pub fn external_dashboard_labels(&self, actor: &Actor, id: Id) -> Result<Vec<Label>> {
        self.read(|store| {
            load_for(store, actor, id, Action::Read)?;
            label::labels_in(store, actor, id)
        })
    }

    pub fn add_external_dashboard_label(
        &self,
        actor: &Actor,
        id: Id,
        req: label::AddLabel,
    ) -> Result<Label> {
        self.write(|store| {
            let d = load_for(store, actor, id, Action::Read)?;
            label::attach(store, actor, labelled(&d), req)
        })
    }

    pub fn remove_external_dashboard_label(
        &self,
        actor: &Actor,
        id: Id,
        label_id: Id,
    ) -> Result<()> {
        self.write(|store| {
            let d = load_for(store, actor, id, Action::Read)?;
            label::detach(store, actor, labelled(&d), label_id)
        })
    }
}

fn labelled(d: &ExternalDashboard) -> label::Labelled {
    label::Labelled::new(PERMISSION_TYPE, d.id, d.org_id).mapped_as(RESOURCE_TYPE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(xfo: &[&str], csp: &[&str]) -> Probe {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        frame_policy(&s(xfo), &s(csp))
    }

    #[test]
    fn frame_policies_from_headers() {
        let p = policy(&[], &[]);
        assert_eq!(
            (p.allow_in_iframe, p.frame_policy),
            (Some(true), Some(FramePolicy::Any))
        );
        let p = policy(&["DENY"], &[]);
        assert_eq!(p.frame_policy, Some(FramePolicy::Deny));
        assert_eq!(p.allow_in_iframe, Some(false));
        let p = policy(&["sameorigin"], &[]);
        assert_eq!(p.frame_policy, Some(FramePolicy::SameOrigin));
        let p = policy(&["ALLOW-FROM https://a.example"], &[]);
        assert_eq!(p.frame_policy, Some(FramePolicy::Any));
        let p = policy(&[], &["default-src 'self'; frame-ancestors 'none'"]);
        assert_eq!(p.frame_policy, Some(FramePolicy::Deny));
        let p = policy(&[], &["frame-ancestors 'self'"]);
        assert_eq!(p.frame_policy, Some(FramePolicy::SameOrigin));
        let p = policy(&[], &["frame-ancestors 'self' https://a.example"]);
        assert_eq!(p.frame_policy, Some(FramePolicy::Allowlist));
        assert_eq!(p.allow_in_iframe, Some(false));
        assert_eq!(
            p.frame_ancestors,
            Some(vec!["'self'".to_string(), "https://a.example".to_string()])
        );
        let p = policy(&[], &["frame-ancestors https:"]);
        assert_eq!(p.allow_in_iframe, Some(true));
        // CSP governs over X-Frame-Options; the strictest policy wins.
        let p = policy(&["DENY"], &["frame-ancestors *"]);
        assert_eq!(p.frame_policy, Some(FramePolicy::Allowlist));
        assert_eq!(p.allow_in_iframe, Some(true));
        let p = policy(&[], &["frame-ancestors *", "frame-ancestors 'none'"]);
        assert_eq!(p.frame_policy, Some(FramePolicy::Deny));
        assert_eq!(p.frame_ancestors, None);
    }

    #[test]
    fn urls_must_be_absolute_https() {
        assert!(check_https_url("url", "https://grafana.example/d/1?x=y").is_ok());
        for bad in [
            "http://grafana.example/",
            "grafana.example",
            "/relative",
            "https://user:pw@grafana.example/",
            "ftp://x.example/",
            "javascript:alert(1)",
        ] {
            let e = check_https_url("url", bad).expect_err(bad);
            assert_eq!(e.code, Code::Invalid, "{bad}");
        }
    }

    #[test]
    fn fields_are_bounded() {
        let long = "x".repeat(MAX_NAME_CHARS + 1);
        assert!(check_name(&long).is_err());
        assert!(check_name(" ").is_err());
        assert!(check_name(&"é".repeat(MAX_NAME_CHARS)).is_ok());
        assert!(check_display_order(1001).is_err());
        assert!(check_display_order(-1).is_err());
        assert_eq!(check_display_order(1000).ok(), Some(1000));
        assert!(check_role_ids(vec!["nope".into()]).is_err());
        assert_eq!(
            check_role_ids(vec!["0000000000000001".into(), "0000000000000001".into()])
                .map(|v| v.len())
                .ok(),
            Some(1)
        );
    }
}
