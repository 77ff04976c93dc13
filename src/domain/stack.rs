//! Stacks: the record of what applying templates created in an org, so a
//! later apply updates those resources in place and an uninstall removes
//! them (pkger's `Stack`).

use super::time::Timestamp;
use crate::error::{Error, Result};
use crate::id::Id;
use serde::{Deserialize, Serialize};

pub const ERR_STACK_NOT_FOUND: &str = "stack not found";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stack {
    pub id: Id,
    #[serde(rename = "orgID")]
    pub org_id: Id,
    #[serde(rename = "createdAt")]
    pub created_at: Timestamp,
    pub events: Vec<StackEvent>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    Create,
    Update,
    Uninstall,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StackEvent {
    #[serde(rename = "eventType")]
    pub event_type: EventType,
    pub name: String,
    pub description: String,
    pub sources: Vec<String>,
    pub urls: Vec<String>,
    pub resources: Vec<StackResource>,
    #[serde(rename = "updatedAt")]
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackResource {
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    pub id: Id,
    pub kind: String,
    #[serde(rename = "templateMetaName")]
    pub meta_name: String,
    pub associations: Vec<StackAssociation>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackAssociation {
    pub kind: String,
    #[serde(rename = "metaName")]
    pub meta_name: String,
}

impl Stack {
    pub fn new(id: Id, org_id: Id, name: String, description: String, urls: Vec<String>) -> Stack {
        let now = Timestamp::now();
        Stack {
            id,
            org_id,
            created_at: now,
            events: vec![StackEvent {
                event_type: EventType::Create,
                name,
                description,
                sources: Vec::new(),
                urls,
                resources: Vec::new(),
                updated_at: now,
            }],
        }
    }

    /// The newest event: the stack's current state.
    pub fn latest(&self) -> StackEvent {
        let mut events = self.events.clone();
        events.sort_by_key(|e| e.updated_at);
        events.pop().unwrap_or(StackEvent {
            event_type: EventType::Create,
            name: String::new(),
            description: String::new(),
            sources: Vec::new(),
            urls: Vec::new(),
            resources: Vec::new(),
            updated_at: self.created_at,
        })
    }

    /// Appends an event derived from the latest one.
    pub fn push_event(&mut self, event_type: EventType, f: impl FnOnce(&mut StackEvent)) {
        let mut ev = self.latest();
        ev.event_type = event_type;
        ev.updated_at = Timestamp::now_after(ev.updated_at);
        f(&mut ev);
        self.events.push(ev);
    }
}

/// `POST /api/v2/stacks`.
#[derive(Debug, Deserialize)]
pub struct CreateStack {
    #[serde(rename = "orgID", default)]
    pub org_id: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub urls: Vec<String>,
}

impl CreateStack {
    pub fn org(&self) -> Result<Id> {
        let raw = self.org_id.clone().unwrap_or_default();
        Id::parse(&raw).map_err(|_| Error::invalid(format!("provided org id[{raw:?}] is invalid")))
    }
}

/// `PATCH /api/v2/stacks/{id}`.
#[derive(Debug, Default, Deserialize)]
pub struct PatchStack {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(rename = "templateURLs", default)]
    pub template_urls: Option<Vec<String>>,
    #[serde(default)]
    pub urls: Option<Vec<String>>,
    #[serde(rename = "additionalResources", default)]
    pub additional_resources: Vec<AdditionalResource>,
}

#[derive(Debug, Deserialize)]
pub struct AdditionalResource {
    #[serde(rename = "resourceID", default)]
    pub id: String,
    #[serde(default)]
    pub kind: String,
    #[serde(rename = "templateMetaName", default)]
    pub meta_name: String,
}

// ---- rules ---------------------------------------------------------------

use super::org::ERR_ORG_NOT_FOUND;
use super::template::parse::{Kind, API_VERSION};
use super::template::unique_meta_name;
use super::Service;
use crate::auth::permission::{Action, Actor};
use crate::store::{Change, StoreRead};
use std::collections::HashSet;

/// Stacks are guarded by the org, as InfluxDB's `IsWritable`/`OrgPermissions`.
pub(crate) fn require_org(actor: &Actor, org: Id, action: Action) -> Result<()> {
    if actor.can(action, "orgs", Some(org), Some(org)) {
        return Ok(());
    }
    Err(Error::unauthorized(match action {
        Action::Write => "not authorized to create stack".to_string(),
        Action::Read => format!("read:orgs/{org} is unauthorized"),
    }))
}

pub(crate) fn load(store: &dyn StoreRead, id: Id) -> Result<Stack> {
    store
        .stack(id)?
        .ok_or_else(|| Error::not_found(ERR_STACK_NOT_FOUND))
}

impl Service {
    pub fn create_stack(&self, actor: &Actor, req: CreateStack) -> Result<Stack> {
        let org = req.org()?;
        require_org(actor, org, Action::Write)?;
        self.write(|store| {
            if store.org(org)?.is_none() {
                return Err(Error::conflict(format!(
                    "organization dependency does not exist for id[{:?}]",
                    org.to_string()
                )));
            }
            let stack = Stack::new(store.new_id(), org, req.name, req.description, req.urls);
            Ok((stack.clone(), vec![Change::PutStack(stack)]))
        })
    }

    pub fn stack(&self, actor: &Actor, id: Id) -> Result<Stack> {
        self.read(|store| {
            let st = load(store, id)?;
            require_org(actor, st.org_id, Action::Read)?;
            Ok(st)
        })
    }

    /// Stacks of an org, optionally only those with the given IDs or names.
    pub fn list_stacks(
        &self,
        actor: &Actor,
        org: Id,
        ids: &[Id],
        names: &[String],
    ) -> Result<Vec<Stack>> {
        require_org(actor, org, Action::Read)?;
        self.read(|store| {
            if store.org(org)?.is_none() {
                return Err(Error::not_found(ERR_ORG_NOT_FOUND));
            }
            Ok(store
                .stacks(org)?
                .into_iter()
                .filter(|s| ids.is_empty() || ids.contains(&s.id))
                .filter(|s| names.is_empty() || names.contains(&s.latest().name))
                .collect())
        })
    }

    pub fn update_stack(&self, actor: &Actor, id: Id, patch: PatchStack) -> Result<Stack> {
        let mut extra = Vec::new();
        for r in &patch.additional_resources {
            let rid = Id::parse(&r.id).map_err(|e| {
                Error::invalid(format!("stack resource id {:?}: {}", r.id, e.message))
            })?;
            let kind = Kind::check(&r.kind).map_err(|m| Error::invalid(m.to_string()))?;
            extra.push((rid, kind, r.meta_name.clone()));
        }
        self.write(|store| {
            let mut st = load(store, id)?;
            require_org(actor, st.org_id, Action::Write)?;
            let urls = match (&patch.template_urls, &patch.urls) {
                (None, None) => None,
                (a, b) => Some(
                    a.iter()
                        .flatten()
                        .chain(b.iter().flatten())
                        .cloned()
                        .collect::<Vec<_>>(),
                ),
            };
            st.push_event(EventType::Update, |ev| {
                if let Some(n) = &patch.name {
                    ev.name = n.clone();
                }
                if let Some(d) = &patch.description {
                    ev.description = d.clone();
                }
                if let Some(u) = urls {
                    ev.urls = u;
                }
                let mut names: HashSet<String> =
                    ev.resources.iter().map(|r| r.meta_name.clone()).collect();
                for (rid, kind, meta) in extra {
                    if ev
                        .resources
                        .iter()
                        .any(|r| r.id == rid && r.kind == kind.as_str())
                    {
                        continue;
                    }
                    let meta = if meta.is_empty() || names.contains(&meta) {
                        unique_meta_name(rid, &names)
                    } else {
                        meta
                    };
                    names.insert(meta.clone());
                    ev.resources.push(StackResource {
                        api_version: API_VERSION.into(),
                        id: rid,
                        kind: kind.as_str().into(),
                        meta_name: meta,
                        associations: Vec::new(),
                    });
                }
                sort_resources(&mut ev.resources);
            });
            Ok((st.clone(), vec![Change::PutStack(st)]))
        })
    }
}

/// Kinds in pkger's priority order, then by metadata name.
pub fn sort_resources(rs: &mut [StackResource]) {
    let prio = |k: &str| Kind::parse(k).map(Kind::priority).unwrap_or(usize::MAX);
    rs.sort_by(|a, b| {
        prio(&a.kind)
            .cmp(&prio(&b.kind))
            .then_with(|| a.meta_name.cmp(&b.meta_name))
    });
}
